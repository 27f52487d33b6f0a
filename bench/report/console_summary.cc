// The one-screen summary (see console_summary.h). Reads CellSummary only.
#include "bench/report/console_summary.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <tuple>

#include "bench/report/cell_reasons.h"
#include "bench/report/cell_summary.h"
#include "bench/report/report_format.h"
#include "bench/report/text_table.h"

namespace allocmark {

namespace {

constexpr double kWaitFlag = 0.05;  // README, Cross-thread work

using Index = std::map<std::tuple<std::string, std::uint32_t, std::string>,
                       const CellSummary*>;

std::string Ratio(double r) {
  if (r >= 100) return Fmt("%.0f", r);
  if (r >= 10) return Fmt("%.1f", r);
  if (r >= 0.1) return Fmt("%.2f", r);
  return Fmt(r >= 0.01 ? "%.3f" : "%.4f", r);
}
std::string Ns(double ns) { return Fmt(ns >= 1000 ? "%.0f" : "%.1f", ns); }
std::string ShortNs(double ns) {
  if (ns < 1e4) return Fmt("%.0f", ns);
  if (ns < 1e7) return Fmt("%.0fk", ns / 1e3);
  return Fmt("%.0fM", ns / 1e6);
}
std::string Mib(double bytes) {
  const double m = bytes / (1 << 20);
  return Fmt(m < 0.095 ? "%.2f" : m < 9.95 ? "%.1f" : "%.0f", m);
}

// A column header: the allocator's name over the unit, long names split at
// a dash so the matrices stay narrow.
std::vector<std::string> Header(const std::string& name,
                                const std::string& unit) {
  std::string n = name;
  if (n.rfind("preload:", 0) == 0 && n.find('/') != std::string::npos)
    n = "preload:" + n.substr(n.rfind('/') + 1);
  const std::size_t dash = n.find('-', 1);
  if (n.size() > 9 && dash != std::string::npos)
    return {n.substr(0, dash + 1), n.substr(dash + 1), unit};
  return {n, unit};
}

// One matrix cell: a figure and its marks, padded so figures line up.
struct Entry {
  std::string value, marks;
};

class Matrix {
 public:
  Matrix(const std::vector<std::string>& workloads) : rows_(workloads) {}
  void AddColumn(std::vector<std::string> header, std::vector<Entry> entries) {
    headers_.push_back(std::move(header));
    columns_.push_back(std::move(entries));
  }
  bool empty() const { return columns_.empty(); }
  std::string Render(std::size_t width) const {
    TextTable t(1);
    t.AddColumn({"workload"}, Align::kLeft);
    std::vector<std::size_t> marks(columns_.size(), 0);
    for (std::size_t c = 0; c < columns_.size(); ++c) {
      t.AddColumn(headers_[c], Align::kRight);
      for (const Entry& e : columns_[c])
        marks[c] = std::max(marks[c], e.marks.size());
    }
    for (std::size_t r = 0; r < rows_.size(); ++r) {
      std::vector<std::string> row = {rows_[r]};
      for (std::size_t c = 0; c < columns_.size(); ++c) {
        const Entry& e = columns_[c][r];
        row.push_back(e.value + e.marks +
                      std::string(marks[c] - e.marks.size(), ' '));
      }
      t.AddRow(std::move(row));
    }
    return t.Render(width);
  }

 private:
  std::vector<std::string> rows_;
  std::vector<std::vector<std::string>> headers_;
  std::vector<std::vector<Entry>> columns_;
};

struct Run {
  std::vector<CellSummary> cells;
  Index index;
  std::vector<std::string> workloads, allocators;  // measured somewhere
  const CellSummary* Find(const std::string& w, std::uint32_t t,
                          const std::string& a) const {
    const auto it = index.find({w, t, a});
    return it == index.end() ? nullptr : it->second;
  }
};

// The lowest figure of a row among allocators (never the floor).
double Best(const Run& run, const std::string& w, std::uint32_t t,
            const std::function<double(const CellSummary&)>& figure) {
  double best = NAN;
  for (const std::string& a : run.allocators) {
    const CellSummary* c = run.Find(w, t, a);
    if (!c || !c->measured() || c->is_floor()) continue;
    const double v = figure(*c);
    if (std::isfinite(v) && !(v >= best)) best = v;
  }
  return best;
}

Entry Missing(const CellSummary* c) {
  if (c == nullptr) return {"", ""};
  return {c->failed ? "FAIL" : "-", ""};
}

std::vector<std::string> RowsAt(const Run& run, std::uint32_t t) {
  std::vector<std::string> rows;
  for (const std::string& w : run.workloads) {
    for (const std::string& a : run.allocators) {
      const CellSummary* c = run.Find(w, t, a);
      if (c && c->measured()) {
        rows.push_back(w);
        break;
      }
    }
  }
  return rows;
}

std::string Headline(const Run& run, std::uint32_t t,
                     const std::vector<std::string>& rows, std::size_t width,
                     bool& marked) {
  const bool have_base =
      std::count(run.allocators.begin(), run.allocators.end(), "system") > 0;
  Matrix m(rows);
  auto ns = [](const CellSummary& c) { return c.ns_per_op; };
  for (const std::string& a : run.allocators) {
    const bool floor = a == "null";
    const bool ratio = have_base && a != "system" && !floor;
    std::vector<Entry> col;
    for (const std::string& w : rows) {
      const CellSummary* c = run.Find(w, t, a);
      if (!c || !c->measured()) {
        col.push_back(Missing(c));
        continue;
      }
      const CellSummary* base = run.Find(w, t, "system");
      Entry e;
      if (!ratio)
        e.value = Ns(c->ns_per_op);
      else if (base && base->measured() && base->ns_per_op > 0)
        e.value = Ratio(c->ns_per_op / base->ns_per_op);
      else
        e.value = Ns(c->ns_per_op) + "ns";  // no baseline in this row
      if (!floor && c->ns_per_op == Best(run, w, t, ns)) e.marks += "*";
      if (c->noisy) e.marks += "~";
      if (c->wait_share > kWaitFlag) e.marks += "w";
      marked |= !e.marks.empty();
      col.push_back(e);
    }
    m.AddColumn(Header(a, floor   ? "floor ns"
                          : ratio ? "x sys"
                                  : "ns/op"),
                std::move(col));
  }
  return "ns/op" + std::string(have_base ? " relative to system" : "") +
         ", lower is better:\n" + m.Render(width);
}

std::string Memory(const Run& run, std::uint32_t t,
                   const std::vector<std::string>& rows, std::size_t width) {
  Matrix m(rows);
  auto peak = [](const CellSummary& c) { return c.peak_rss; };
  for (const std::string& a : run.allocators) {
    if (a == "null") continue;  // harness memory, not a heap
    std::vector<Entry> col;
    bool any = false;
    for (const std::string& w : rows) {
      const CellSummary* c = run.Find(w, t, a);
      if (!c || !std::isfinite(c->peak_rss)) {
        col.push_back(Missing(c));
        continue;
      }
      any = true;
      Entry e{Mib(c->peak_rss) + "/" +
                  (std::isfinite(c->rss_after_purge) ? Mib(c->rss_after_purge)
                                                     : "-"),
              c->peak_rss == Best(run, w, t, peak) ? "*" : ""};
      col.push_back(e);
    }
    if (any) m.AddColumn(Header(a, "MiB"), std::move(col));
  }
  if (m.empty()) return "";
  return "\nallocator memory, peak RSS / RSS after purge:\n" + m.Render(width);
}

std::string Tails(const Run& run, std::uint32_t t,
                  const std::vector<std::string>& rows, std::size_t width,
                  bool& batched) {
  Matrix m(rows);
  auto p99 = [](const CellSummary& c) { return c.alloc_p99; };
  for (const std::string& a : run.allocators) {
    std::vector<Entry> col;
    bool any = false;
    for (const std::string& w : rows) {
      const CellSummary* c = run.Find(w, t, a);
      if (!c || !std::isfinite(c->alloc_p99)) {
        col.push_back(Missing(c));
        continue;
      }
      any = true;
      Entry e{ShortNs(c->alloc_p99), ""};
      if (a != "null" && c->alloc_p99 == Best(run, w, t, p99)) e.marks += "*";
      if (c->timing_mode == "batched") e.marks += "b";
      batched |= c->timing_mode == "batched";
      col.push_back(e);
    }
    if (any)
      m.AddColumn(Header(a, a == "null" ? "floor ns" : "ns"), std::move(col));
  }
  if (m.empty()) return "";
  return "\nalloc p99 latency:\n" + m.Render(width);
}

std::string Counts(const Run& run, const nlohmann::json& results) {
  int ok = 0, failed = 0, skipped = 0;
  for (const CellSummary& c : run.cells) {
    if (c.failed) ++failed;
    if (c.ok) ++ok;
    if (!c.ok && !c.failed) ++skipped;
  }
  std::string reps;
  if (results.contains("run") && results["run"].is_object() &&
      results["run"].value("repetitions", nlohmann::json()).is_number())
    reps = ", " + results["run"]["repetitions"].dump() + " repetitions each";
  return std::to_string(run.cells.size()) +
         " cells (allocator x workload x threads" + reps +
         "): " + std::to_string(ok) + " measured, " + std::to_string(failed) +
         " failed, " + std::to_string(skipped) + " skipped";
}

}  // namespace

std::string ConsoleSummary(const nlohmann::json& results, std::size_t width) {
  Run run;
  run.cells = SummarizeCells(results);
  for (const CellSummary& c : run.cells) {
    run.index[{c.workload, c.threads, c.allocator}] = &c;
    if (!c.measured()) continue;
    if (std::find(run.workloads.begin(), run.workloads.end(), c.workload) ==
        run.workloads.end())
      run.workloads.push_back(c.workload);
  }
  for (const std::string& a : Allocators(run.cells)) {
    if (std::any_of(run.cells.begin(), run.cells.end(),
                    [&](auto& c) { return c.allocator == a && c.measured(); }))
      run.allocators.push_back(a);
  }
  std::string out;
  bool marked = false, batched = false;
  for (std::uint32_t t : ThreadCounts(run.cells)) {
    const std::vector<std::string> rows = RowsAt(run, t);
    if (rows.empty()) continue;
    const std::string title = "== " + std::to_string(t) +
                              (t == 1 ? " thread " : " threads ") +
                              std::string(width > 20 ? width - 20 : 0, '=');
    out += (out.empty() ? "" : "\n") + title.substr(0, width) + "\n";
    out += Headline(run, t, rows, width, marked);
    out += Memory(run, t, rows, width);
    out += Tails(run, t, rows, width, batched);
  }
  const std::string reasons = NotMeasuredReasons(run.cells, width);
  if (!reasons.empty()) out += "\n" + reasons;
  std::string legend =
      "Medians over the ok repetitions. system shows its own ns/op, the "
      "others x sys = their ns/op over system's (busy time per op per "
      "thread, waits excluded); null is the harness floor, left out of "
      "'best' and of memory. * best in its row";
  if (marked)
    legend +=
        ", ~ noisy (CV of ns/op above 2 % at 1 thread, 5 % at more), "
        "w threads waited for each other over 5 % of the time";
  if (batched)
    legend += ", b timed in batches: p99 of K-op averages (README, Latency)";
  legend +=
      ". FAIL failed, - skipped (reasons above). Every figure per "
      "cell: --details.";
  out += "\n" + Wrap(legend, width, "", "") +
         Wrap(Counts(run, results), width, "", "  ");
  return out;
}

}  // namespace allocmark
