// Text tables of the run history: the runs list and a metric's trend, one
// block per thread count and one column per allocator.
#include "bench/report/history_format.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

namespace allocmark {

namespace {

std::string Table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> w;
  for (const auto& r : rows) {
    w.resize(std::max(w.size(), r.size()), 0);
    for (std::size_t i = 0; i < r.size(); ++i)
      w[i] = std::max(w[i], r[i].size());
  }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(w[i] - r[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace

std::string FormatTrend(const std::vector<TrendPoint>& points,
                        const std::string& metric,
                        const std::string& workload) {
  if (points.empty())
    return "no ok cells of workload " + workload + " with " + metric +
           " in the history\n";
  std::map<unsigned, std::vector<const TrendPoint*>> by_threads;
  for (const TrendPoint& p : points) by_threads[p.threads].push_back(&p);
  std::ostringstream o;
  for (const auto& [threads, pts] : by_threads) {
    std::set<std::string> allocators;
    std::map<std::int64_t, std::map<std::string, const TrendPoint*>> rows;
    for (const TrendPoint* p : pts) {
      allocators.insert(p->allocator);
      rows[p->run_id][p->allocator] = p;
    }
    o << metric << " of " << workload << ", " << threads
      << " thread(s): median over repetitions, one column per allocator\n";
    std::vector<std::vector<std::string>> table;
    std::vector<std::string> header = {"run", "date", "revision"};
    header.insert(header.end(), allocators.begin(), allocators.end());
    table.push_back(header);
    for (const auto& [run, by_alloc] : rows) {
      const TrendPoint* any = by_alloc.begin()->second;
      std::vector<std::string> row = {std::to_string(run), any->date,
                                      any->git_revision};
      for (const std::string& a : allocators) {
        auto it = by_alloc.find(a);
        char buf[32] = "-";
        if (it != by_alloc.end())
          std::snprintf(buf, sizeof(buf), "%.4g", it->second->median);
        row.push_back(buf);
      }
      table.push_back(row);
    }
    o << Table(table) << "\n";
  }
  return o.str();
}

std::string FormatRuns(const std::vector<HistoryRun>& runs) {
  if (runs.empty()) return "no runs in the history\n";
  std::vector<std::vector<std::string>> table = {
      {"run", "date", "revision", "host", "profile", "ok", "failed", "skipped",
       "label", "source"}};
  for (const HistoryRun& r : runs)
    table.push_back({std::to_string(r.id), r.date, r.git_revision, r.host,
                     r.profile, std::to_string(r.cells_ok),
                     std::to_string(r.cells_failed),
                     std::to_string(r.cells_skipped), r.label, r.source});
  return Table(table);
}

}  // namespace allocmark
