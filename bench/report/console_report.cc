// Formats the results document as an aligned text table.
#include "bench/report/console_report.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <tuple>
#include <vector>

#include "bench/report/report_format.h"
#include "bench/results/stability.h"

namespace allocmark {

using nlohmann::json;

namespace {

double Median0(const std::vector<double>& v) { return Median(v, 0); }

std::string Ns(double ns) {
  if (ns >= 1e6) return Fmt("%.1fms", ns / 1e6);
  if (ns >= 1e4) return Fmt("%.1fus", ns / 1e3);
  return Fmt("%.0f", ns);
}

std::string Bytes(double b) {
  if (b >= 1 << 30) return Fmt("%.1fG", b / (1 << 30));
  if (b >= 1 << 20) return Fmt("%.1fM", b / (1 << 20));
  return Fmt("%.0fK", b / 1024);
}

// The median wait share, flagged past 5 %: the cell's threads spent that
// much of their time on each other rather than on the allocator.
std::string WaitShare(const std::vector<double>& shares) {
  if (shares.empty()) return "-";
  const double share = Median0(shares);
  return Fmt("%.1f%%", share * 100) + (share > 0.05 ? "!" : "");
}

struct Row {
  std::vector<std::string> cols;
};

}  // namespace

std::string ConsoleTable(const json& results) {
  using Key = std::tuple<std::string, std::uint32_t,
                         std::string>;  // workload, threads, allocator
  std::map<Key, std::vector<const json*>> groups;
  std::vector<Key> order;
  bool programs = false;
  for (const json& c : results["cells"]) {
    // Program cells have their own table (program_report.h).
    if (c["workload"].get<std::string>().rfind("program:", 0) == 0) {
      programs = true;
      continue;
    }
    Key k{c["workload"], c["threads"], c["allocator"]};
    if (!groups.count(k)) order.push_back(k);
    groups[k].push_back(&c);
  }
  if (order.empty() && programs) return "";
  // Baseline: system's median ns/op for each workload and thread count.
  std::map<std::pair<std::string, std::uint32_t>, double> baseline;
  std::map<Key, double> median_ns;
  // Memory baselines: system's median peak RSS and RSS after purge. Leaking
  // cells fail but their memory figures are still measured, so count them.
  std::map<std::pair<std::string, std::uint32_t>, double> base_rss, base_purge;
  auto measured = [](const json& c) {
    return c["status"] == "ok" ||
           (c.contains("leak") && c["leak"].is_object() &&
            c["leak"]["message"].is_string());
  };
  // null's pre-faulted rings are harness, not an allocator's heap: it is
  // the harness floor for time and has no place in memory comparisons.
  auto memory_compared = [](const Key& k) { return std::get<2>(k) != "null"; };
  for (const auto& [k, cells] : groups) {
    std::vector<double> ns, rss, purge;
    for (const json* c : cells) {
      if ((*c)["status"] == "ok") ns.push_back((*c)["ns_per_op"].get<double>());
      if (!measured(*c)) continue;
      rss.push_back((*c)["memory"]["peak_rss_bytes"].get<double>());
      if ((*c)["memory"]["rss_after_purge_bytes"].is_number())
        purge.push_back((*c)["memory"]["rss_after_purge_bytes"].get<double>());
    }
    if (std::get<2>(k) == "system" && !rss.empty())
      base_rss[{std::get<0>(k), std::get<1>(k)}] = Median0(rss);
    if (std::get<2>(k) == "system" && !purge.empty())
      base_purge[{std::get<0>(k), std::get<1>(k)}] = Median0(purge);
    if (!ns.empty()) median_ns[k] = Median0(ns);
    if (std::get<2>(k) == "system" && !ns.empty())
      baseline[{std::get<0>(k), std::get<1>(k)}] = Median0(ns);
  }

  std::vector<Row> rows;
  rows.push_back(
      {{"workload",   "thr",      "allocator", "ns/op",         "CV%",
        "median CI",  "Mops/s",   "wait",      "vs system",     "alloc p50",
        "p99",        "p99.9",    "free p50",  "p99",           "p99.9",
        "timing",     "peak RSS", "vs sys",    "RSS/live",      "THP",
        "purged RSS", "vs sys",   "instr/op",  "D1 rd miss/op", "locality",
        "status"}});
  bool any_batched = false, any_noisy = false;
  for (const Key& k : order) {
    const auto& cells = groups[k];
    Row row;
    row.cols = {std::get<0>(k), std::to_string(std::get<1>(k)), std::get<2>(k)};
    std::vector<double> ns_reps, mops, wait, a50, a99, a999, f50, f99, f999,
        rss, ratio, purged, thp, instr, d1, loc;
    std::string cache_mode;
    int ok = 0, failed = 0, skipped = 0;
    std::string reason, timing = "-";
    for (const json* c : cells) {
      const std::string status = (*c)["status"];
      if (status != "ok") {
        (status == "failed" ? failed : skipped)++;
        if (reason.empty() && (*c)["reason"].is_string())
          reason = (*c)["reason"];
        continue;
      }
      ++ok;
      ns_reps.push_back((*c)["ns_per_op"].get<double>());
      mops.push_back((*c)["mops_per_s"].get<double>());
      if (c->contains("wait") && (*c)["wait"].is_object())
        wait.push_back((*c)["wait"]["wait_share"].get<double>());
      const json& mem = (*c)["memory"];
      rss.push_back(mem["peak_rss_bytes"].get<double>());
      if (mem.value("rss_over_live_at_peak", json()).is_number())
        ratio.push_back(mem["rss_over_live_at_peak"].get<double>());
      if (mem["rss_after_purge_bytes"].is_number())
        purged.push_back(mem["rss_after_purge_bytes"].get<double>());
      if (mem.value("hugepage_coverage", json()).is_number())
        thp.push_back(mem["hugepage_coverage"].get<double>());
      if (const json& cache = (*c).value("cache", json()); cache.is_object()) {
        const json& ev = cache["events"];
        if (ev.value("instructions", json()).is_number())
          instr.push_back(ev["instructions"].get<double>());
        if (ev.value("d1_read_misses", json()).is_number())
          d1.push_back(ev["d1_read_misses"].get<double>());
        if (cache["locality"].is_object() &&
            cache["locality"]["score"].is_number())
          loc.push_back(cache["locality"]["score"].get<double>());
        cache_mode = cache["mode"];
      }
      const json& lat = (*c)["latency"];
      if (lat.is_object()) {
        a50.push_back(lat["alloc"]["p50_ns"]);
        a99.push_back(lat["alloc"]["p99_ns"]);
        a999.push_back(lat["alloc"]["p999_ns"]);
        f50.push_back(lat["free"]["p50_ns"]);
        f99.push_back(lat["free"]["p99_ns"]);
        f999.push_back(lat["free"]["p999_ns"]);
        const json& t = (*c)["timing"];
        timing = t["mode"] == "batched"
                     ? "K=" + std::to_string(t["batch"].get<int>()) + "*"
                     : t["mode"].get<std::string>();
        any_batched |= t["mode"] == "batched";
      }
    }
    if (ok == 0) {
      row.cols.insert(row.cols.end(), 22, "-");
      row.cols.push_back((failed ? "FAILED: " : "skipped: ") + reason);
      rows.push_back(std::move(row));
      continue;
    }
    const double ns = median_ns[k];
    const Stability stab = StabilityOf(ns_reps);
    const bool noisy = stab.n >= 2 && stab.cv_pct > NoisyCvPct(std::get<1>(k));
    any_noisy |= noisy;
    const auto base = baseline.find({std::get<0>(k), std::get<1>(k)});
    const bool have_lat = !a50.empty();
    auto lat = [&](const std::vector<double>& v) {
      return have_lat ? Ns(Median0(v)) : "-";
    };
    row.cols.insert(
        row.cols.end(),
        {Fmt("%.1f", ns),
         stab.n >= 2 ? Fmt("%.1f", stab.cv_pct) + (noisy ? "!" : "") : "-",
         stab.n >= 2 ? Fmt("%.1f", stab.ci_low) + Fmt("-%.1f", stab.ci_high)
                     : "-",
         Fmt("%.1f", Median0(mops)), WaitShare(wait),
         base != baseline.end() ? Fmt("%.2fx", ns / base->second) : "-",
         lat(a50), lat(a99), lat(a999), lat(f50), lat(f99), lat(f999), timing,
         memory_compared(k) ? Bytes(Median0(rss)) : "-"});
    const std::pair<std::string, std::uint32_t> wt{std::get<0>(k),
                                                   std::get<1>(k)};
    auto relative = [](const auto& base, const auto& key, double v) {
      const auto b = base.find(key);
      return b != base.end() && b->second > 0 ? Fmt("%.2fx", v / b->second)
                                              : std::string("-");
    };
    if (!memory_compared(k)) {
      rss.clear();
      ratio.clear();
      thp.clear();
      purged.clear();
    }
    row.cols.push_back(rss.empty() ? "-"
                                   : relative(base_rss, wt, Median0(rss)));
    row.cols.push_back(ratio.empty() ? "-" : Fmt("%.2f", Median0(ratio)));
    row.cols.push_back(thp.empty() ? "-" : Fmt("%.0f%%", 100 * Median0(thp)));
    row.cols.push_back(purged.empty() ? "-" : Bytes(Median0(purged)));
    row.cols.push_back(
        purged.empty() ? "-" : relative(base_purge, wt, Median0(purged)));
    // (sim) marks simulated counts: exact and repeatable, unlike hw ones.
    const std::string tag = cache_mode == "sim" ? " (sim)" : "";
    row.cols.push_back(instr.empty() ? "-" : Fmt("%.1f", Median0(instr)) + tag);
    row.cols.push_back(d1.empty() ? "-" : Fmt("%.3f", Median0(d1)) + tag);
    row.cols.push_back(loc.empty() ? "-" : Fmt("%.2f", Median0(loc)));
    std::string status = "ok";
    if (failed) status = std::to_string(failed) + " failed: " + reason;
    row.cols.push_back(status);
    rows.push_back(std::move(row));
  }

  std::vector<std::size_t> width(rows[0].cols.size(), 0);
  for (const Row& r : rows) {
    for (std::size_t i = 0; i + 1 < r.cols.size(); ++i)
      width[i] = std::max(width[i], r.cols[i].size());
  }
  std::string out;
  for (const Row& r : rows) {
    for (std::size_t i = 0; i < r.cols.size(); ++i) {
      const bool left = i == 0 || i == 2 || i + 1 == r.cols.size();
      const std::string& s = r.cols[i];
      const std::string pad(i + 1 < r.cols.size() ? width[i] - s.size() : 0,
                            ' ');
      out += left ? s + pad : pad + s;
      if (i + 1 < r.cols.size()) out += "  ";
    }
    out += "\n";
  }
  out +=
      "latencies in ns (median of repetitions); ns/op = busy time per op per "
      "thread, waits excluded; Mops/s = all threads' ops over the cell's wall "
      "time; wait = share of the threads' time spent waiting for each other "
      "(hand-offs, barriers), '!' above 5 %: part of what the cell measured is "
      "scheduling; "
      "vs system = ns/op relative to glibc\n"
      "peak RSS = the allocator's part of the worker's resident memory (RSS "
      "- baseline - harness mappings, see README, Memory); RSS/live = peak "
      "RSS / peak live requested bytes; THP = AnonHugePages / anonymous RSS "
      "outside the harness; purged RSS = the allocator's RSS after its purge "
      "hook; vs sys = relative to glibc; null is the harness floor, left "
      "out of memory columns\n"
      "instr/op, D1 rd miss/op = cache counters per op (hw: perf events, "
      "'-' where the machine has none; (sim): callgrind); locality = ideal / "
      "spanned cache lines of 16 consecutive allocations, 1 is ideal (see "
      "README, Cache)\n";
  out +=
      "CV% = coefficient of variation of ns/op over the repetitions; median "
      "CI = the order statistics bracketing the median (75 % confidence with "
      "3 repetitions, 94 % with 5, >= 95 % from 6; results' \"stability\")\n";
  if (any_noisy)
    out +=
        "! noisy: CV above 2 % (1 thread) or 5 % (more threads); differences "
        "smaller than the CI are not measured (see README, Noise)\n";
  if (any_batched)
    out +=
        "* batched: the clock is too coarse for single calls, so percentiles "
        "are of "
        "K-op batch averages (see README, Latency)\n";
  return out;
}

}  // namespace allocmark
