// ThreadCounters: software events open and count what a workload did, only
// while started; events that cannot be opened say why and the rest go on.
#include "bench/probes/perf_counters.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <ctime>
#include <thread>

#include "bench/probes/perf_counters_record.h"
#include "tests/sanitize/sanitized.h"

namespace allocmark {
namespace {

constexpr std::size_t kPage = 4096;

// Maps `pages` fresh anonymous pages with transparent huge pages off, so each
// first write is exactly one page fault.
char* MapFresh(std::size_t pages) {
  void* p = mmap(nullptr, pages * kPage, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  madvise(p, pages * kPage, MADV_NOHUGEPAGE);
  return static_cast<char*>(p);
}

void TouchPages(char* p, std::size_t pages) {
  for (std::size_t i = 0; i < pages; ++i)
    static_cast<volatile char*>(p)[i * kPage] = 1;
}

constexpr int Index(PerfEvent e) { return static_cast<int>(e); }

// Sanitizer builds: an instrumented store also touches the shadow of its
// address, so writing fresh pages may fault in shadow pages too. ASan keeps
// a shadow byte per 8 bytes (a shadow page per 8 pages), TSan writes a
// shadow page per page touched here (measured: 576 and 1025 faults for 512
// pages, against 512 unsanitized).
constexpr std::size_t ShadowFaults(std::size_t pages) {
  if (testing::kAddressSanitized) return pages / 8 + 1;
  if (testing::kThreadSanitized) return pages + 1;
  return 0;
}

TEST(PerfCounters, PageFaultsOfFreshPagesAreCounted) {
  constexpr std::size_t kPages = 512;
  char* mem = MapFresh(kPages);
  ASSERT_NE(mem, nullptr);
  ThreadCounters c;
  c.Open(PerfBit(PerfEvent::kPageFaults));
  c.Start();
  TouchPages(mem, kPages);
  c.Stop();
  PerfReading r;
  c.ReadInto(r);
  ASSERT_EQ(r.status[Index(PerfEvent::kPageFaults)], 0)
      << PerfUnavailableReason(r.status[Index(PerfEvent::kPageFaults)], false);
  const std::uint64_t faults = r.value[Index(PerfEvent::kPageFaults)];
  // One fault per page; a few more may come from the test's own code/stack.
  EXPECT_GE(faults, kPages);
  EXPECT_LE(faults, kPages + ShadowFaults(kPages) + 16);
  munmap(mem, kPages * kPage);
}

TEST(PerfCounters, CountsOnlyWhileStarted) {
  constexpr std::size_t kPages = 256;
  char* mem = MapFresh(3 * kPages);
  ASSERT_NE(mem, nullptr);
  ThreadCounters c;
  c.Open(PerfBit(PerfEvent::kPageFaults));
  TouchPages(mem, kPages);  // before Start: not counted
  c.Start();
  TouchPages(mem + kPages * kPage, kPages);
  c.Stop();
  TouchPages(mem + 2 * kPages * kPage, kPages);  // after Stop: not counted
  PerfReading r;
  c.ReadInto(r);
  const std::uint64_t faults = r.value[Index(PerfEvent::kPageFaults)];
  EXPECT_GE(faults, kPages);
  EXPECT_LE(faults, kPages + ShadowFaults(kPages) + 16);
  munmap(mem, 3 * kPages * kPage);
}

TEST(PerfCounters, ReadingsAccumulateOverReopens) {
  // A respawned replay thread reopens its counters and adds to one reading.
  constexpr std::size_t kPages = 128;
  char* mem = MapFresh(2 * kPages);
  ASSERT_NE(mem, nullptr);
  PerfReading r;
  for (int round = 0; round < 2; ++round) {
    std::thread([&] {
      ThreadCounters c;
      c.Open(PerfBit(PerfEvent::kPageFaults));
      c.Start();
      TouchPages(mem + round * kPages * kPage, kPages);
      c.Stop();
      c.ReadInto(r);
    }).join();
  }
  const std::uint64_t faults = r.value[Index(PerfEvent::kPageFaults)];
  EXPECT_GE(faults, 2 * kPages);
  EXPECT_LE(faults, 2 * kPages + ShadowFaults(2 * kPages) + 32);
  munmap(mem, 2 * kPages * kPage);
}

TEST(PerfCounters, EveryEventCountsOrSaysWhyAndSoftwareGoesOn) {
  ThreadCounters c;
  c.Open(kPerfAllMask);
  c.Start();
  usleep(2000);  // sleeping switches context at least once
  // Burn 5 ms of this thread's CPU time: the task clock must see all of it.
  timespec t0, t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
  volatile std::uint64_t sink = 0;
  do {
    for (int i = 0; i < 10000; ++i) sink = sink + i;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  } while ((t.tv_sec - t0.tv_sec) * 1000000000L + t.tv_nsec - t0.tv_nsec <
           5000000L);
  c.Stop();
  PerfReading r;
  c.ReadInto(r);
  EXPECT_EQ(r.requested, kPerfAllMask);
  for (int i = 0; i < kPerfEventCount; ++i) {
    if (r.status[i] != 0) {
      // Only hardware events may be missing (no PMU in a VM).
      EXPECT_TRUE(PerfEventIsHardware(i)) << PerfEventName(i);
      EXPECT_FALSE(PerfUnavailableReason(r.status[i], false).empty());
    }
  }
  EXPECT_EQ(r.status[Index(PerfEvent::kTaskClock)], 0);
  EXPECT_GE(r.value[Index(PerfEvent::kTaskClock)], 5000000u);
  EXPECT_GE(r.value[Index(PerfEvent::kContextSwitches)], 1u);
  if (r.status[Index(PerfEvent::kInstructions)] == 0) {
    EXPECT_GT(r.value[Index(PerfEvent::kInstructions)], 1000000u);
  }
}

TEST(PerfCounters, JsonGivesNullsWithReasonsAndPerOpValues) {
  PerfReading a, b;
  a.requested = b.requested = kPerfAllMask;
  a.status[Index(PerfEvent::kCycles)] = ENOENT;
  a.value[Index(PerfEvent::kPageFaults)] = 30;
  b.value[Index(PerfEvent::kPageFaults)] = 10;
  const PerfReading both[] = {a, b};
  const std::uint64_t ops[] = {100, 300};
  const nlohmann::json j = PerfEventsJson(both, ops);
  EXPECT_TRUE(j["events"]["cycles"].is_null());
  EXPECT_EQ(j["unavailable"]["cycles"],
            "ENOENT: no hardware PMU (virtual machine)");
  EXPECT_DOUBLE_EQ(j["events"]["page_faults"].get<double>(), 40.0 / 400);
  EXPECT_DOUBLE_EQ(j["per_thread"][0]["events"]["page_faults"].get<double>(),
                   0.3);
  EXPECT_TRUE(j["per_thread"][1]["events"]["cycles"].is_null());
  EXPECT_FALSE(j["unavailable"].contains("page_faults"));
}

TEST(PerfCounters, ReasonsNameTheErrno) {
  EXPECT_EQ(PerfUnavailableReason(ENOENT, true),
            "ENOENT: no hardware PMU (virtual machine)");
  EXPECT_EQ(PerfUnavailableReason(ENOENT, false).rfind("ENOENT", 0), 0u);
  EXPECT_EQ(PerfUnavailableReason(EACCES, false).rfind("EACCES", 0), 0u);
  EXPECT_EQ(PerfUnavailableReason(ENOSYS, false).rfind("ENOSYS", 0), 0u);
}

}  // namespace
}  // namespace allocmark
