// The memory split: harness mappings counted page by page with mincore, the
// worker's own peak (VmHWM and its reset), the allocator's part of an RSS.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench/base/harness_mappings.h"
#include "bench/base/mapped_array.h"
#include "bench/probes/process_memory.h"
#include "bench/probes/rss_sampler.h"

namespace allocmark {
namespace {

const std::size_t kPage = static_cast<std::size_t>(getpagesize());

TEST(HarnessMappings, CountsExactlyTheTouchedPagesOfEachMapping) {
  HarnessMappings::ResetPeak();
  const std::uint64_t mapped0 = HarnessMappings::MappedBytes();
  const std::uint64_t resident0 = HarnessMappings::ResidentBytes();
  {
    // 64 pages and a bit: the registry rounds up to what mmap maps.
    MappedArray<char> a(64 * kPage + 1);
    EXPECT_EQ(HarnessMappings::MappedBytes(), mapped0 + 65 * kPage);
    EXPECT_EQ(HarnessMappings::ResidentBytes(), resident0);
    for (std::size_t p = 0; p < 10; ++p) a[p * 3 * kPage] = 1;
    EXPECT_EQ(HarnessMappings::ResidentBytes(), resident0 + 10 * kPage);
    MappedArray<char> b(8 * kPage);
    b[0] = 1;
    EXPECT_EQ(HarnessMappings::ResidentBytes(), resident0 + 11 * kPage);
    EXPECT_EQ(HarnessMappings::PeakMappedBytes(), mapped0 + 73 * kPage);
  }
  // Gone, but the peak keeps the most that was resident at once.
  EXPECT_EQ(HarnessMappings::MappedBytes(), mapped0);
  EXPECT_EQ(HarnessMappings::ResidentBytes(), resident0);
  EXPECT_EQ(HarnessMappings::PeakResidentBytes(), resident0 + 11 * kPage);
  HarnessMappings::ResetPeak();
  EXPECT_EQ(HarnessMappings::PeakResidentBytes(), resident0);
}

TEST(HarnessMappings, ArePartOfTheProcessRss) {
  const std::uint64_t rss0 = ReadRssBytes();
  MappedArray<char> a(4096 * kPage);
  for (std::size_t p = 0; p < 4096; ++p) a[p * kPage] = 1;
  const ProcessMemory m = ReadProcessMemory();
  // 16 MiB of harness pages are in statm's RSS, give or take a little
  // unrelated growth, and all of them are in the harness figure.
  EXPECT_GE(m.harness_bytes, 4096 * kPage);
  EXPECT_GE(m.rss_bytes, rss0 + 4096 * kPage - 64 * kPage);
}

TEST(AllocatorRss, SubtractsBaselineAndHarnessGrowthAndClamps) {
  const MemoryBaseline base{4 << 20, 1 << 20};
  // 10 MiB RSS, harness grew from 1 to 3 MiB: 10 - 4 - 2 = 4 MiB.
  EXPECT_EQ(AllocatorRss(base, 10 << 20, 3 << 20), 4u << 20);
  // The harness shrank below its baseline: those pages left the RSS too.
  EXPECT_EQ(AllocatorRss(base, 5 << 20, 0), 2u << 20);
  // Never below zero, never above the raw figure.
  EXPECT_EQ(AllocatorRss(base, 3 << 20, 1 << 20), 0u);
  EXPECT_EQ(AllocatorRss({0, 8 << 20}, 1 << 20, 0), 1u << 20);
}

TEST(ProcessMemory, ParsesVmHwm) {
  std::uint64_t bytes = 0;
  ASSERT_TRUE(
      ParseVmHwm("Name:\tx\nVmPeak:\t 9 kB\nVmHWM:\t  1264 kB\n", &bytes));
  EXPECT_EQ(bytes, 1264u * 1024);
  ASSERT_TRUE(ParseVmHwm("VmHWM: 7 kB\n", &bytes));
  EXPECT_EQ(bytes, 7u * 1024);
  EXPECT_FALSE(ParseVmHwm("VmRSS: 7 kB\n", &bytes));
  EXPECT_FALSE(ParseVmHwm("VmHWM: kB\n", &bytes));
}

TEST(ProcessMemory, PeakIsThisProcessesAndResets) {
  constexpr std::size_t kBytes = 64 << 20;
  if (!ResetPeakRss()) GTEST_SKIP() << "/proc/self/clear_refs not writable";
  const std::uint64_t before = ReadProcessMemory().rss_bytes;
  void* p = mmap(nullptr, kBytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  for (std::size_t i = 0; i < kBytes; i += kPage)
    static_cast<volatile char*>(p)[i] = 1;
  munmap(p, kBytes);
  // The pages are gone; the high-water mark remembers them.
  const ProcessMemory after = ReadProcessMemory();
  // Slack: pages unrelated to this test may leave the RSS meanwhile.
  EXPECT_GE(after.peak_rss_bytes, before + kBytes - (1 << 20));
  EXPECT_LT(after.rss_bytes + kBytes / 2, after.peak_rss_bytes);
  ASSERT_TRUE(ResetPeakRss());
  EXPECT_LT(ReadProcessMemory().peak_rss_bytes, before + kBytes / 2);
}

TEST(SmapsRollup, ReadsAnonymousAndHugePages) {
  const char* text =
      "Rss:                4096 kB\n"
      "Anonymous:          3072 kB\n"
      "LazyFree:              0 kB\n"
      "AnonHugePages:      2048 kB\n";
  RssSnapshot snap{};
  ASSERT_TRUE(ParseSmapsRollup(text, &snap));
  EXPECT_EQ(snap.smaps_rss_bytes, 4096u * 1024);
  EXPECT_EQ(snap.anon_bytes, 3072u * 1024);
  EXPECT_EQ(snap.anon_huge_bytes, 2048u * 1024);
  RssSnapshot old{};
  ASSERT_TRUE(ParseSmapsRollup("Rss: 8 kB\n", &old));
  EXPECT_EQ(old.anon_huge_bytes, 0u);
}

}  // namespace
}  // namespace allocmark
