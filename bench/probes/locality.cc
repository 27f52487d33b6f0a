// Window figures (lines, pages against the packed ideal), the false-sharing
// scan over live blocks, and their JSON.
#include "bench/probes/locality.h"

#include <algorithm>
#include <utility>

#include "bench/probes/locality_record.h"

namespace allocmark {

using nlohmann::json;

SpanFigures SpanOf(std::uint64_t* begin, std::uint64_t* end, std::size_t n,
                   std::uint64_t unit) {
  // Insertion sort by begin: windows are short and nothing may allocate.
  for (std::size_t i = 1; i < n; ++i) {
    for (std::size_t j = i; j > 0 && begin[j - 1] > begin[j]; --j) {
      std::swap(begin[j - 1], begin[j]);
      std::swap(end[j - 1], end[j]);
    }
  }
  SpanFigures f;
  std::uint64_t covered_to = 0;  // bytes below this are counted
  std::uint64_t next_unit = 0;   // units below this are counted
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t b = std::max(begin[i], covered_to);
    if (end[i] > b) f.bytes += end[i] - b;
    covered_to = std::max(covered_to, end[i]);
    const std::uint64_t first = std::max(begin[i] / unit, next_unit);
    const std::uint64_t last = (end[i] - 1) / unit;
    if (last >= first) f.units += last - first + 1;
    next_unit = std::max(next_unit, last + 1);
  }
  return f;
}

void LocalityTracker::CloseWindow() {
  // The ideal packs the window's distinct bytes into as few lines (pages) as
  // they fill; SpanOf sorts, so pages must be taken from a second copy.
  std::uint64_t b[kLocalityWindow], e[kLocalityWindow];
  std::copy(begin, begin + filled, b);
  std::copy(end, end + filled, e);
  const SpanFigures lines = SpanOf(begin, end, filled, kLineBytes);
  const SpanFigures pages = SpanOf(b, e, filled, kPageBytes);
  counts.lines_spanned += lines.units;
  counts.ideal_lines += (lines.bytes + kLineBytes - 1) / kLineBytes;
  counts.pages_spanned += pages.units;
  counts.ideal_pages += (pages.bytes + kPageBytes - 1) / kPageBytes;
  ++counts.windows;
  filled = 0;
}

SharingFigures ScanSharing(std::span<LiveBlock> blocks) {
  std::sort(
      blocks.begin(), blocks.end(),
      [](const LiveBlock& a, const LiveBlock& b) { return a.begin < b.begin; });
  SharingFigures f;
  std::uint64_t next_line = 0;  // lines below this are counted
  std::uint64_t last_shared = UINT64_MAX;
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const LiveBlock& x = blocks[i];
    const std::uint64_t first = x.begin / kLineBytes;
    const std::uint64_t last = (x.end - 1) / kLineBytes;
    const std::uint64_t from = std::max(first, next_line);
    if (last >= from) f.lines += last - from + 1;
    next_line = std::max(next_line, last + 1);
    // Live blocks are disjoint, so two blocks share a line only if every
    // block between them (in address order) lies in that line too: checking
    // neighbours finds every shared line.
    if (i > 0) {
      const LiveBlock& p = blocks[i - 1];
      const std::uint64_t p_last = (p.end - 1) / kLineBytes;
      if (p.thread != x.thread && p_last == first && first != last_shared) {
        ++f.shared_lines;
        last_shared = first;
      }
    }
  }
  return f;
}

void SharingSamples::Add(const SharingFigures& f) {
  if (f.lines == 0) return;
  ++samples;
  lines += f.lines;
  shared_lines += f.shared_lines;
  max_shared_lines = std::max(max_shared_lines, f.shared_lines);
  max_shared_share =
      std::max(max_shared_share, static_cast<double>(f.shared_lines) /
                                     static_cast<double>(f.lines));
}

json LocalityJson(std::span<const LocalityCounts> per_thread,
                  const SharingSamples& sharing) {
  LocalityCounts c;
  for (const LocalityCounts& t : per_thread) {
    c.allocations += t.allocations;
    c.windows += t.windows;
    c.lines_spanned += t.lines_spanned;
    c.ideal_lines += t.ideal_lines;
    c.pages_spanned += t.pages_spanned;
    c.ideal_pages += t.ideal_pages;
    c.pairs += t.pairs;
    c.near_pairs += t.near_pairs;
  }
  auto ratio = [](std::uint64_t a, std::uint64_t b) -> json {
    return b ? json(static_cast<double>(a) / static_cast<double>(b))
             : json(nullptr);
  };
  return {{"window", kLocalityWindow},
          {"allocations", c.allocations},
          {"windows", c.windows},
          {"lines_spanned", c.lines_spanned},
          {"ideal_lines", c.ideal_lines},
          {"pages_spanned", c.pages_spanned},
          {"ideal_pages", c.ideal_pages},
          {"lines_per_window", ratio(c.lines_spanned, c.windows)},
          {"ideal_lines_per_window", ratio(c.ideal_lines, c.windows)},
          {"pages_per_window", ratio(c.pages_spanned, c.windows)},
          {"ideal_pages_per_window", ratio(c.ideal_pages, c.windows)},
          {"lines_over_ideal", ratio(c.lines_spanned, c.ideal_lines)},
          {"pages_over_ideal", ratio(c.pages_spanned, c.ideal_pages)},
          {"near_bytes", kNearBytes},
          {"pairs", c.pairs},
          {"near_pairs", c.near_pairs},
          {"near_share", ratio(c.near_pairs, c.pairs)},
          // 1 = every window as packed as its bytes allow; lower is worse.
          {"score", ratio(c.ideal_lines, c.lines_spanned)},
          {"false_sharing",
           {{"samples", sharing.samples},
            {"lines_with_live_blocks", sharing.lines},
            {"shared_lines", sharing.shared_lines},
            {"shared_share", ratio(sharing.shared_lines, sharing.lines)},
            {"max_shared_lines", sharing.max_shared_lines},
            {"max_shared_share", sharing.max_shared_share}}}};
}

}  // namespace allocmark
