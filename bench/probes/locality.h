// Cache locality from the addresses an allocator returned, no counters needed:
// lines and pages spanned by consecutive allocations, near pairs, false
// sharing.
#pragma once

#include <cstdint>
#include <span>

namespace allocmark {

inline constexpr std::uint32_t kLocalityWindow =
    16;                                           ///< allocations per window
inline constexpr std::uint64_t kNearBytes = 128;  ///< an adjacent-line pair
inline constexpr std::uint64_t kLineBytes = 64;
inline constexpr std::uint64_t kPageBytes = 4096;

/// Sums over a thread's allocations (plain data, merged by adding).
struct LocalityCounts {
  std::uint64_t allocations = 0;
  std::uint64_t windows = 0;  ///< full windows of kLocalityWindow
  std::uint64_t lines_spanned =
      0;                          ///< distinct lines the window's blocks cover
  std::uint64_t ideal_lines = 0;  ///< ceil(distinct bytes / line)
  std::uint64_t pages_spanned = 0;
  std::uint64_t ideal_pages = 0;
  std::uint64_t pairs = 0;       ///< consecutive allocation pairs
  std::uint64_t near_pairs = 0;  ///< ... at most kNearBytes apart
};

/// Distinct `unit`-sized lines covered by the byte ranges [begin, end), and
/// the bytes their union covers. Sorts the ranges in place.
struct SpanFigures {
  std::uint64_t units = 0;
  std::uint64_t bytes = 0;
};
SpanFigures SpanOf(std::uint64_t* begin, std::uint64_t* end, std::size_t n,
                   std::uint64_t unit);

/// Fed with every allocation of one thread, outside the timed region. Plain
/// data: it lives in mmapped harness memory and survives thread respawns.
struct LocalityTracker {
  LocalityCounts counts;
  std::uint64_t prev_begin = 0, prev_end = 0;
  std::uint64_t begin[kLocalityWindow] = {}, end[kLocalityWindow] = {};
  std::uint32_t filled = 0;

  void OnAlloc(const void* p, std::uint64_t size) {
    const auto b = reinterpret_cast<std::uintptr_t>(p);
    const std::uint64_t e = b + (size ? size : 1);
    if (counts.allocations++ > 0) {
      // Distance between the two byte ranges; 0 when they overlap (reuse).
      const std::uint64_t gap = b >= prev_end     ? b - prev_end
                                : prev_begin >= e ? prev_begin - e
                                                  : 0;
      ++counts.pairs;
      counts.near_pairs += gap <= kNearBytes;
    }
    prev_begin = b;
    prev_end = e;
    begin[filled] = b;
    end[filled] = e;
    if (++filled == kLocalityWindow) CloseWindow();
  }
  void CloseWindow();
};

/// A live block and the thread holding it, for the false-sharing scan.
struct LiveBlock {
  std::uint64_t begin, end;
  std::uint32_t thread;
};

/// Cache lines holding live blocks, and how many of them hold blocks of two or
/// more threads. Sorts `blocks` in place.
struct SharingFigures {
  std::uint64_t lines = 0;
  std::uint64_t shared_lines = 0;
};
SharingFigures ScanSharing(std::span<LiveBlock> blocks);

/// Samples of SharingFigures over a run (plain data).
struct SharingSamples {
  std::uint64_t samples = 0;  ///< samples that found live blocks
  std::uint64_t lines = 0, shared_lines = 0;
  std::uint64_t max_shared_lines = 0;
  double max_shared_share = 0;
  void Add(const SharingFigures& f);
};

}  // namespace allocmark
