// The per-cell table behind `--details` (see console_report.h).
#include "bench/report/console_report.h"

#include <cmath>
#include <map>
#include <utility>

#include "bench/report/cell_reasons.h"
#include "bench/report/cell_summary.h"
#include "bench/report/report_format.h"
#include "bench/report/text_table.h"

namespace allocmark {

namespace {

constexpr std::size_t kUnlimited = 1 << 20;  // one line per cell: greppable

std::string Num(const char* fmt, double v, double scale = 1) {
  return std::isfinite(v) ? Fmt(fmt, v * scale) : "-";
}

std::string Relative(double v, double base) {
  return std::isfinite(v) && std::isfinite(base) && base > 0
             ? Fmt("%.2f", v / base)
             : "-";
}

struct Column {
  std::vector<std::string> header;
  Align align;
};

}  // namespace

std::string ConsoleDetails(const nlohmann::json& results) {
  const std::vector<CellSummary> cells = SummarizeCells(results);
  std::map<std::pair<std::string, std::uint32_t>, const CellSummary*> system;
  for (const CellSummary& c : cells)
    if (c.allocator == "system" && c.measured())
      system[{c.workload, c.threads}] = &c;

  const std::vector<Column> columns = {
      {{"workload"}, Align::kLeft},
      {{"thr"}, Align::kRight},
      {{"allocator"}, Align::kLeft},
      {{"ns/op"}, Align::kRight},
      {{"ns/op", "CV %"}, Align::kRight},
      {{"median CI", "ns/op"}, Align::kRight},
      {{"Mops/s"}, Align::kRight},
      {{"wait", "%"}, Align::kRight},
      {{"ns/op", "x sys"}, Align::kRight},
      {{"alloc", "p50 ns"}, Align::kRight},
      {{"alloc", "p99 ns"}, Align::kRight},
      {{"alloc", "p99.9 ns"}, Align::kRight},
      {{"free", "p50 ns"}, Align::kRight},
      {{"free", "p99 ns"}, Align::kRight},
      {{"free", "p99.9 ns"}, Align::kRight},
      {{"timing"}, Align::kLeft},
      {{"peak RSS", "MiB"}, Align::kRight},
      {{"peak RSS", "x sys"}, Align::kRight},
      {{"RSS/live"}, Align::kRight},
      {{"THP", "%"}, Align::kRight},
      {{"purged", "MiB"}, Align::kRight},
      {{"purged", "x sys"}, Align::kRight},
      {{"instr", "/op"}, Align::kRight},
      {{"D1 rd miss", "/op"}, Align::kRight},
      {{"locality"}, Align::kRight},
      {{"status"}, Align::kLeft},
  };
  std::vector<std::vector<std::string>> rows;
  bool any_batched = false, any_noisy = false, any_wait = false;
  for (const CellSummary& c : cells) {
    if (!c.measured()) continue;  // listed once per reason below
    const auto base_it = system.find({c.workload, c.threads});
    const CellSummary* base =
        base_it == system.end() ? nullptr : base_it->second;
    const Stability& s = c.stability;
    const bool lat = std::isfinite(c.alloc_p50);
    const std::string sim = c.cache_mode == "sim" ? " (sim)" : "";
    std::string timing = "-";
    if (lat && c.timing_mode == "batched") {
      timing = "K=" + std::to_string(c.batch) + "*";
      any_batched = true;
    } else if (lat) {
      timing = c.timing_mode;
    }
    any_noisy |= c.noisy;
    any_wait |= c.wait_share > 0.05;
    std::string status = "ok";
    if (c.failed)
      status = std::to_string(c.failed) + " of " +
               std::to_string(c.failed + c.ok) + " FAILED: " + c.reason;
    rows.push_back({
        c.workload,
        std::to_string(c.threads),
        c.allocator,
        Fmt("%.1f", c.ns_per_op),
        s.n >= 2 ? Fmt("%.1f", s.cv_pct) + (c.noisy ? "!" : "") : "-",
        s.n >= 2 ? Fmt("%.1f", s.ci_low) + Fmt("-%.1f", s.ci_high) : "-",
        Num("%.1f", c.mops_per_s),
        std::isfinite(c.wait_share)
            ? Fmt("%.1f", c.wait_share * 100) + (c.wait_share > 0.05 ? "!" : "")
            : "-",
        base ? Relative(c.ns_per_op, base->ns_per_op) : "-",
        Num("%.0f", c.alloc_p50),
        Num("%.0f", c.alloc_p99),
        Num("%.0f", c.alloc_p999),
        Num("%.0f", c.free_p50),
        Num("%.0f", c.free_p99),
        Num("%.0f", c.free_p999),
        timing,
        Num("%.1f", c.peak_rss, 1.0 / (1 << 20)),
        base ? Relative(c.peak_rss, base->peak_rss) : "-",
        Num("%.2f", c.rss_over_live),
        Num("%.0f", c.hugepage_coverage, 100),
        Num("%.1f", c.rss_after_purge, 1.0 / (1 << 20)),
        base ? Relative(c.rss_after_purge, base->rss_after_purge) : "-",
        std::isfinite(c.instructions) ? Fmt("%.1f", c.instructions) + sim : "-",
        std::isfinite(c.d1_read_misses) ? Fmt("%.3f", c.d1_read_misses) + sim
                                        : "-",
        Num("%.2f", c.locality),
        status,
    });
  }
  // Leave out the columns nothing was measured in (no PMU, no sim pass).
  std::vector<bool> keep(columns.size(), rows.empty());
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size(); ++i) keep[i] = keep[i] || r[i] != "-";
  TextTable table(3);
  for (std::size_t i = 0; i < columns.size(); ++i)
    if (keep[i]) table.AddColumn(columns[i].header, columns[i].align);
  for (const auto& r : rows) {
    std::vector<std::string> kept;
    for (std::size_t i = 0; i < r.size(); ++i)
      if (keep[i]) kept.push_back(r[i]);
    table.AddRow(std::move(kept));
  }
  std::string out = table.Render(kUnlimited);
  const std::string reasons = NotMeasuredReasons(cells, 100);
  if (!reasons.empty()) out += "\n" + reasons;
  std::string legend =
      "Medians over the ok repetitions. ns/op = busy time per op per thread, "
      "waits excluded; Mops/s = all threads' ops over the cell's wall time; "
      "wait = share of the threads' time spent waiting for each other; x sys "
      "= relative to system (glibc) on the same workload and threads; "
      "latencies from the timed pass; peak RSS, purged (after the "
      "allocator's purge hook), RSS/live (over peak live requested bytes) "
      "and THP (hugepage coverage) are the allocator's part of the worker's "
      "memory (README, Memory); null is the harness floor, left out of "
      "memory; instr, D1 rd miss per op from perf counters or (sim) "
      "callgrind; locality = ideal / spanned cache lines, 1 is ideal. median "
      "CI = order statistics bracketing the median (75 % with 3 "
      "repetitions, 94 % with 5, >= 95 % from 6). Columns nothing was "
      "measured in are left out.";
  if (any_noisy)
    legend += " ! after CV: noisy (above 2 % at 1 thread, 5 % at more).";
  if (any_wait)
    legend +=
        " ! after wait: over 5 %, part of what the cell measured is "
        "scheduling.";
  if (any_batched)
    legend +=
        " K=n*: timed in batches of n ops, percentiles of batch "
        "averages (README, Latency).";
  return out + "\n" + Wrap(legend, 100, "", "");
}

}  // namespace allocmark
