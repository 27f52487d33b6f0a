// Locality figures: exact values for packed, strided and reused blocks and for
// the null adapter's bump ring; lines spanned never below the ideal; sharing.
#include "bench/probes/locality.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <thread>
#include <vector>

#include "allocators/null.h"
#include "bench/probes/locality_record.h"

namespace allocmark {
namespace {

// Feeds `n` blocks of `size` bytes starting at `base`, `stride` apart.
LocalityCounts Strided(std::uint64_t base, std::uint64_t stride,
                       std::uint64_t size, std::uint64_t n) {
  LocalityTracker t;
  for (std::uint64_t i = 0; i < n; ++i)
    t.OnAlloc(reinterpret_cast<void*>(base + i * stride), size);
  return t.counts;
}

TEST(Locality, PackedLineAlignedBlocksAreIdeal) {
  const LocalityCounts c = Strided(1 << 20, 64, 64, 4 * kLocalityWindow);
  EXPECT_EQ(c.windows, 4u);
  EXPECT_EQ(c.lines_spanned, 4 * kLocalityWindow);
  EXPECT_EQ(c.ideal_lines, c.lines_spanned);
  EXPECT_EQ(c.pages_spanned, 4u);  // 16 x 64 B = 1 KiB, 4 windows in a page
  EXPECT_EQ(c.ideal_pages, 4u);
  EXPECT_EQ(c.pairs, 4 * kLocalityWindow - 1);
  EXPECT_EQ(c.near_pairs, c.pairs);
}

TEST(Locality, ScatteredBlocksSpanALineEachAndAreNotNear) {
  // 16-byte blocks a page apart: 16 lines and 16 pages per window, where
  // their 256 bytes would fill 4 lines and one page.
  const LocalityCounts c = Strided(1 << 20, 4096, 16, kLocalityWindow);
  EXPECT_EQ(c.lines_spanned, kLocalityWindow);
  EXPECT_EQ(c.ideal_lines, 4u);
  EXPECT_EQ(c.pages_spanned, kLocalityWindow);
  EXPECT_EQ(c.ideal_pages, 1u);
  EXPECT_EQ(c.near_pairs, 0u);
}

TEST(Locality, GapOf128IsNearAnd129IsNot) {
  EXPECT_EQ(Strided(1 << 20, 64 + 128, 64, 2).near_pairs, 1u);
  EXPECT_EQ(Strided(1 << 20, 64 + 129, 64, 2).near_pairs, 0u);
  // Downwards too: the next block ends 128 bytes before the previous starts.
  EXPECT_EQ(Strided(1 << 20, static_cast<std::uint64_t>(-(64 + 128)), 64, 2)
                .near_pairs,
            1u);
}

TEST(Locality, ReusedAddressCountsItsBytesOnce) {
  // An allocator handing back the block just freed: one line, ideal one.
  const LocalityCounts c = Strided(1 << 20, 0, 48, kLocalityWindow);
  EXPECT_EQ(c.lines_spanned, 1u);
  EXPECT_EQ(c.ideal_lines, 1u);
  EXPECT_EQ(c.near_pairs, c.pairs);
}

TEST(Locality, LinesSpannedNeverBelowIdeal) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 2000; ++round) {
    LocalityTracker t;
    const std::uint64_t base = 1 << 24;
    for (std::uint32_t i = 0; i < kLocalityWindow; ++i) {
      const std::uint64_t at = base + rng() % 8192;  // overlaps allowed
      t.OnAlloc(reinterpret_cast<void*>(at), 1 + rng() % 700);
    }
    ASSERT_EQ(t.counts.windows, 1u);
    ASSERT_GE(t.counts.lines_spanned, t.counts.ideal_lines);
    ASSERT_GE(t.counts.pages_spanned, t.counts.ideal_pages);
  }
}

// The null adapter bumps through a page-aligned ring: an 8-byte size header,
// then the block aligned to 16. A 64-byte block therefore starts 16 bytes into
// the ring and the next one 80 bytes later, so a window of 16 covers
// 15 * 80 + 64 = 1264 bytes from a line offset of 16: 20 lines where 16 would
// do, and every pair 16 bytes apart.
TEST(Locality, NullAdapterExactFigures) {
  constexpr std::uint64_t kBlocks = 1600;  // well inside one ring cycle
  LocalityCounts c;
  std::uintptr_t first = 0;
  std::thread([&] {  // fresh thread: fresh rings
    NullAllocator a;
    ASSERT_TRUE(a.ThreadInit());
    LocalityTracker t;
    for (std::uint64_t i = 0; i < kBlocks; ++i) {
      void* p = a.Allocate(64, 0);
      if (i == 0) first = reinterpret_cast<std::uintptr_t>(p);
      t.OnAlloc(p, 64);
    }
    c = t.counts;
  })
      .join();
  ASSERT_EQ(first % 4096, 16u);
  const std::uint64_t windows = kBlocks / kLocalityWindow;
  EXPECT_EQ(c.windows, windows);
  EXPECT_EQ(c.lines_spanned, 20 * windows);
  EXPECT_EQ(c.ideal_lines, 16 * windows);
  EXPECT_EQ(c.ideal_pages, windows);
  // A window crosses a page boundary when its 1264 bytes straddle one.
  std::uint64_t pages = 0;
  for (std::uint64_t w = 0; w < windows; ++w) {
    const std::uint64_t lo = 16 + 1280 * w, hi = lo + 1264 - 1;
    pages += hi / 4096 - lo / 4096 + 1;
  }
  EXPECT_EQ(c.pages_spanned, pages);
  EXPECT_EQ(c.pairs, kBlocks - 1);
  EXPECT_EQ(c.near_pairs, kBlocks - 1);
}

TEST(Sharing, BlocksOfTwoThreadsInOneLineShareIt) {
  std::vector<LiveBlock> b = {{128, 160, 0}, {160, 192, 1}, {256, 320, 0}};
  const SharingFigures f = ScanSharing(b);
  EXPECT_EQ(f.lines, 2u);  // line 2 (128..191) and line 4 (256..319)
  EXPECT_EQ(f.shared_lines, 1u);
}

TEST(Sharing, OneThreadNeverShares) {
  std::vector<LiveBlock> b = {{100, 130, 0}, {130, 140, 0}, {140, 500, 0}};
  const SharingFigures f = ScanSharing(b);
  EXPECT_EQ(f.lines, 7u);  // lines 1..7
  EXPECT_EQ(f.shared_lines, 0u);
}

TEST(Sharing, ALineWithThreeBlocksCountsOnce) {
  // t0 ends in line 1, a t0 block inside it, then t1 and t0 again.
  std::vector<LiveBlock> b = {
      {90, 100, 1}, {40, 70, 0}, {70, 80, 0}, {100, 128, 0}};
  const SharingFigures f = ScanSharing(b);  // unsorted on purpose
  EXPECT_EQ(f.lines, 2u);
  EXPECT_EQ(f.shared_lines, 1u);
}

TEST(Sharing, SamplesKeepTheWorstShare) {
  SharingSamples s;
  s.Add({0, 0});  // nothing live: not a sample
  s.Add({10, 1});
  s.Add({4, 2});
  EXPECT_EQ(s.samples, 2u);
  EXPECT_EQ(s.max_shared_lines, 2u);
  EXPECT_DOUBLE_EQ(s.max_shared_share, 0.5);
  const LocalityCounts none[1] = {};
  const nlohmann::json j = LocalityJson(none, s);
  EXPECT_DOUBLE_EQ(j["false_sharing"]["shared_share"].get<double>(), 3.0 / 14);
  EXPECT_TRUE(j["score"].is_null());
}

}  // namespace
}  // namespace allocmark
