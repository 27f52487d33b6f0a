// Groups failed and skipped repetitions by reason (see cell_reasons.h).
#include "bench/report/cell_reasons.h"

#include <algorithm>
#include <map>
#include <set>

#include "bench/report/text_table.h"

namespace allocmark {

namespace {

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string Threads(std::uint32_t t) {
  return std::to_string(t) + (t == 1 ? " thread" : " threads");
}

// Names the cells of one reason as briefly as the run allows.
std::vector<std::string> Describe(const std::vector<const CellSummary*>& hit,
                                  const std::vector<CellSummary>& all) {
  std::set<const CellSummary*> left(hit.begin(), hit.end());
  std::map<std::string, std::size_t> per_alloc, hit_alloc;
  for (const CellSummary& c : all) ++per_alloc[c.allocator];
  for (const CellSummary* c : hit) ++hit_alloc[c->allocator];
  std::vector<std::string> whole, lines;
  for (const std::string& a : Allocators(all)) {
    if (hit_alloc.count(a) && hit_alloc[a] == per_alloc[a]) whole.push_back(a);
  }
  if (!whole.empty()) {
    lines.push_back(Join(whole) + " (every cell)");
    std::erase_if(left, [&](const CellSummary* c) {
      return std::find(whole.begin(), whole.end(), c->allocator) != whole.end();
    });
  }
  // Whole rows: a workload at a thread count that no allocator measured
  // (other reasons may cover some of its cells: a missing adapter).
  std::map<std::uint32_t, std::vector<std::string>> rows;
  for (std::uint32_t t : ThreadCounts(all)) {
    std::vector<std::string> seen;
    for (const CellSummary& c : all) {
      if (c.threads != t ||
          std::find(whole.begin(), whole.end(), c.allocator) != whole.end() ||
          std::find(seen.begin(), seen.end(), c.workload) != seen.end())
        continue;
      seen.push_back(c.workload);
      const bool full = std::all_of(all.begin(), all.end(), [&](auto& o) {
        return o.threads != t || o.workload != c.workload ||
               std::find(whole.begin(), whole.end(), o.allocator) !=
                   whole.end() ||
               left.count(&o) || !o.measured();
      });
      const bool ours = std::any_of(left.begin(), left.end(), [&](auto* o) {
        return o->threads == t && o->workload == c.workload;
      });
      if (!full || !ours) continue;
      rows[t].push_back(c.workload);
      std::erase_if(left, [&](const CellSummary* o) {
        return o->threads == t && o->workload == c.workload;
      });
    }
  }
  for (const auto& [t, ws] : rows)
    lines.push_back(Join(ws) + " at " + Threads(t) + " (every allocator)");
  std::vector<std::string> singles;
  for (const CellSummary* c : hit) {
    if (!left.count(c)) continue;
    std::string s = c->allocator + " " + c->workload + " " +
                    std::to_string(c->threads) + "t";
    const int bad = c->failed + c->skipped;
    if (c->ok > 0)
      s += " (" + std::to_string(bad) + " of " + std::to_string(bad + c->ok) +
           " repetitions)";
    singles.push_back(s);
  }
  if (!singles.empty()) lines.push_back(Join(singles));
  return lines;
}

std::string Section(const char* title, bool failed,
                    const std::vector<CellSummary>& cells, std::size_t width) {
  std::map<std::string, std::vector<const CellSummary*>> by_reason;
  std::vector<std::string> order;
  for (const CellSummary& c : cells) {
    if ((failed ? c.failed : c.skipped) == 0) continue;
    const std::string reason = c.reason.empty() ? "no reason given" : c.reason;
    if (!by_reason.count(reason)) order.push_back(reason);
    by_reason[reason].push_back(&c);
  }
  if (order.empty()) return "";
  std::string out = std::string(title) + "\n";
  for (const std::string& reason : order) {
    for (const std::string& who : Describe(by_reason[reason], cells))
      out += Wrap(who + ":", width, "  ", "    ");
    out += Wrap(reason, width, "      ", "      ");
  }
  return out;
}

}  // namespace

std::string NotMeasuredReasons(const std::vector<CellSummary>& cells,
                               std::size_t width) {
  return Section("skipped (this machine lacks it), once per reason:", false,
                 cells, width) +
         Section("FAILED, once per reason:", true, cells, width);
}

}  // namespace allocmark
