// `allocmark compare` logic: matches cells, tests repetitions with
// Mann-Whitney U, applies thresholds per tier and decides verdicts.
#include "bench/report/compare.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>

#include "bench/report/json_path.h"
#include "bench/report/mann_whitney.h"
#include "bench/report/report_format.h"

namespace allocmark {

using nlohmann::json;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

const std::vector<MetricDef>& CompareMetrics() {
  static const std::vector<MetricDef> kMetrics = {
      {"ns_per_op", "ns/op", Tier::kWall},
      {"alloc_p99", "alloc p99", Tier::kWall},
      {"free_p99", "free p99", Tier::kWall},
      {"peak_rss", "peak RSS", Tier::kWall},
      {"instructions_per_op", "instr/op", Tier::kWall},
      {"sim_instructions", "instr/op (sim)", Tier::kDeterministic},
      {"sim_cycles", "est cycles/op (sim)", Tier::kDeterministic},
  };
  return kMetrics;
}

const char* TierName(Tier t) {
  return t == Tier::kDeterministic ? "deterministic" : "wall-clock";
}

namespace {

const MetricDef* FindMetric(const std::string& key) {
  for (const MetricDef& m : CompareMetrics())
    if (key == m.key) return &m;
  return nullptr;
}

// A callgrind figure counts only from a sim pass that ran to the end.
double SimEvent(const json& cell, const char* event) {
  const json* status = Find(cell, {"cache", "sim", "status"});
  if (status == nullptr || *status != "ok") return kNaN;
  return Number(Find(cell, {"cache", "sim", "events", event}));
}

}  // namespace

double CellMetric(const json& cell, const std::string& key) {
  if (key == "ns_per_op") return Number(Find(cell, {"ns_per_op"}));
  if (key == "alloc_p99")
    return Number(Find(cell, {"latency", "alloc", "p99_ns"}));
  if (key == "free_p99")
    return Number(Find(cell, {"latency", "free", "p99_ns"}));
  if (key == "peak_rss")
    return Number(Find(cell, {"memory", "peak_rss_bytes"}));
  if (key == "instructions_per_op") {
    // cache.events figures are per op already (hardware counters or the
    // simulated pass); null when the probe was unavailable.
    return Number(Find(cell, {"cache", "events", "instructions"}));
  }
  if (key == "sim_instructions") return SimEvent(cell, "instructions");
  if (key == "sim_cycles") return SimEvent(cell, "est_cycles");
  return kNaN;
}

double CompareOptions::ThresholdFor(const std::string& metric) const {
  auto it = threshold_pct.find(metric);
  if (it != threshold_pct.end()) return it->second;
  const MetricDef* m = FindMetric(metric);
  return m && m->tier == Tier::kDeterministic ? deterministic_threshold_pct
                                              : default_threshold_pct;
}

std::string NoiseKey(const std::string& cell, const std::string& metric) {
  return cell + "|" + metric;
}

double CompareOptions::ThresholdFor(const std::string& cell,
                                    const std::string& metric,
                                    std::string* source) const {
  if (threshold_pct.count(metric)) {
    *source = "explicit";
    return threshold_pct.at(metric);
  }
  const MetricDef* m = FindMetric(metric);
  const auto noise = noise_pct.find(NoiseKey(cell, metric));
  if (m && m->tier == Tier::kWall && noise != noise_pct.end()) {
    const double t =
        std::max(kNoiseThresholdFloorPct, noise_multiple * noise->second);
    *source = Fmt("noise %.2f%%", noise->second) + Fmt(" x %g", noise_multiple);
    return t;
  }
  *source = "default";
  return ThresholdFor(metric);
}

GateTier ParseGateTier(const std::string& text) {
  if (text == "auto") return GateTier::kAuto;
  if (text == "deterministic") return GateTier::kDeterministic;
  if (text == "wall") return GateTier::kWall;
  if (text == "all") return GateTier::kAll;
  throw ResultsError("--gate: unknown tier '" + text +
                     "' (accepted: auto, deterministic, wall, all)");
}

const char* GateTierName(GateTier g) {
  switch (g) {
    case GateTier::kAuto:
      return "auto";
    case GateTier::kDeterministic:
      return "deterministic";
    case GateTier::kWall:
      return "wall";
    case GateTier::kAll:
      return "all";
  }
  return "?";
}

void ParseThreshold(const std::string& text, CompareOptions* options) {
  std::string name, value = text;
  if (auto eq = text.find('='); eq != std::string::npos) {
    name = text.substr(0, eq);
    value = text.substr(eq + 1);
  }
  if (!value.empty() && value.back() == '%') value.pop_back();
  char* end = nullptr;
  const double pct = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || !(pct >= 0) || pct > 1000)
    throw ResultsError(
        "--threshold: expected PCT% or METRIC=PCT% with PCT in "
        "[0, 1000], got '" +
        text + "'");
  // Short names a user would type for the metrics.
  static const std::map<std::string, std::vector<std::string>> kAliases = {
      {"ns_per_op", {"ns_per_op"}},
      {"time", {"ns_per_op"}},
      {"ns", {"ns_per_op"}},
      {"p99", {"alloc_p99", "free_p99"}},
      {"alloc_p99", {"alloc_p99"}},
      {"free_p99", {"free_p99"}},
      {"rss", {"peak_rss"}},
      {"peak_rss", {"peak_rss"}},
      {"instructions", {"instructions_per_op"}},
      {"sim", {"sim_instructions", "sim_cycles"}},
      {"sim_instructions", {"sim_instructions"}},
      {"sim_cycles", {"sim_cycles"}},
      {"instructions_per_op", {"instructions_per_op"}},
  };
  if (name.empty()) {
    options->default_threshold_pct = pct;
    return;
  }
  auto it = kAliases.find(name);
  if (it == kAliases.end())
    throw ResultsError("--threshold: unknown metric '" + name +
                       "' (accepted: ns_per_op, p99, alloc_p99, free_p99, "
                       "peak_rss, instructions_per_op, sim, sim_instructions, "
                       "sim_cycles)");
  for (const std::string& m : it->second) options->threshold_pct[m] = pct;
}

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kUnchanged:
      return "unchanged";
    case Verdict::kImproved:
      return "improved";
    case Verdict::kRegressed:
      return "REGRESSION";
    case Verdict::kUntested:
      return "untested";
    case Verdict::kMissing:
      return "missing";
  }
  return "?";
}

std::string CellResult::Name() const {
  return allocator + "/" + workload + "/" + std::to_string(threads) + "t";
}

namespace {

using Key = std::tuple<std::string, std::string, unsigned>;

struct Side {
  std::vector<const json*> ok;
  std::vector<const json*> failed;
  std::vector<const json*> skipped;
  std::string digest;
};

std::map<Key, Side> Group(const json& doc, std::vector<Key>* order) {
  std::map<Key, Side> groups;
  for (const json& c : doc["cells"]) {
    Key k{c["allocator"].get<std::string>(), c["workload"].get<std::string>(),
          c["threads"].get<unsigned>()};
    if (!groups.count(k) && order) order->push_back(k);
    Side& s = groups[k];
    const std::string status = c["status"].get<std::string>();
    if (status == "ok") {
      s.ok.push_back(&c);
      const json* d = Find(c, {"stream_digest"});
      if (d && d->is_string() && s.digest.empty())
        s.digest = d->get<std::string>();
    } else if (status == "failed") {
      s.failed.push_back(&c);
    } else {
      s.skipped.push_back(&c);
    }
  }
  return groups;
}

std::string CellName(const Key& k) {
  return std::get<0>(k) + "/" + std::get<1>(k) + "/" +
         std::to_string(std::get<2>(k)) + "t";
}

std::string ReasonOf(const std::vector<const json*>& cells) {
  for (const json* c : cells) {
    const json* r = Find(*c, {"reason"});
    if (r && r->is_string()) return r->get<std::string>();
  }
  return "no reason given";
}

// Deterministic figures need no test: identical builds give identical
// values, so the verdict is the threshold's. Values that vary between
// repetitions of one side are not deterministic; a change within that
// spread cannot be told from it, so it is untested.
void JudgeDeterministic(MetricResult& r, const CompareOptions& o) {
  auto spread = [](const std::vector<double>& v) {
    const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
    const double med = Median(v);
    return med > 0 ? (*hi - *lo) / med * 100 : 0.0;
  };
  const double s = std::max(spread(r.base), spread(r.now));
  const bool beyond = std::fabs(r.change_pct) > r.threshold_pct;
  r.p_value = kNaN;
  if (s > 0)
    r.note =
        Fmt("varies %.3g%% between repetitions", s) + " (not deterministic)";
  if (!beyond) {
    r.verdict = Verdict::kUnchanged;
  } else if (s >= std::fabs(r.change_pct) / 2) {
    r.verdict =
        o.strict && r.change_pct > 0 ? Verdict::kRegressed : Verdict::kUntested;
  } else {
    r.verdict = r.change_pct > 0 ? Verdict::kRegressed : Verdict::kImproved;
  }
}

void JudgeWall(MetricResult& r, const CompareOptions& o) {
  const bool beyond = std::fabs(r.change_pct) > r.threshold_pct;
  const double min_p = MinimumMannWhitneyP(r.base.size(), r.now.size());
  if (min_p > o.alpha) {
    r.p_value = kNaN;
    r.note = "too few repetitions to test (" + std::to_string(r.base.size()) +
             " vs " + std::to_string(r.now.size()) + ": smallest p " +
             Fmt("%.3g", min_p) + " > alpha " + Fmt("%.3g", o.alpha) + ")";
    if (!beyond) {
      r.verdict = Verdict::kUnchanged;
    } else if (o.strict && r.change_pct > 0) {
      r.verdict = Verdict::kRegressed;
      r.note += "; counted as a regression (--strict)";
    } else {
      r.verdict = Verdict::kUntested;
    }
    return;
  }
  r.p_value = MannWhitneyP(r.base, r.now);
  const bool significant = r.p_value < o.alpha;
  if (significant && beyond)
    r.verdict = r.change_pct > 0 ? Verdict::kRegressed : Verdict::kImproved;
  else
    r.verdict = Verdict::kUnchanged;
  if (beyond && !significant)
    r.note = "beyond the threshold but not significant";
  if (significant && !beyond) r.note = "significant but within the threshold";
}

MetricResult CompareMetric(const MetricDef& m, const std::string& cell,
                           const Side& b, const Side& n,
                           const CompareOptions& o) {
  MetricResult r;
  r.metric = m.key;
  r.tier = m.tier;
  r.threshold_pct = o.ThresholdFor(cell, m.key, &r.threshold_source);
  for (const json* c : b.ok)
    if (double v = CellMetric(*c, m.key); !std::isnan(v)) r.base.push_back(v);
  for (const json* c : n.ok)
    if (double v = CellMetric(*c, m.key); !std::isnan(v)) r.now.push_back(v);
  r.base_median = Median(r.base);
  r.new_median = Median(r.now);
  if (r.base.empty() || r.now.empty()) {
    r.verdict = Verdict::kMissing;
    r.p_value = kNaN;
    r.change_pct = kNaN;
    r.note = r.base.empty() && r.now.empty() ? "absent in both runs"
             : r.base.empty()                ? "absent in the base run"
                                             : "absent in the new run";
    return r;
  }
  r.change_pct =
      r.base_median > 0
          ? (r.new_median / r.base_median - 1) * 100
          : (r.new_median > 0 ? std::numeric_limits<double>::infinity() : 0);
  if (m.tier == Tier::kDeterministic)
    JudgeDeterministic(r, o);
  else
    JudgeWall(r, o);
  return r;
}

// kAuto: the deterministic tier when both runs have its figures anywhere.
bool HasDeterministicFigures(const json& doc) {
  for (const json& c : doc["cells"])
    if (!std::isnan(CellMetric(c, "sim_instructions"))) return true;
  return false;
}

}  // namespace

Comparison CompareResults(const json& base, const json& now,
                          const CompareOptions& options,
                          const std::string& base_name,
                          const std::string& new_name) {
  CheckResultsDocument(base, base_name);
  CheckResultsDocument(now, new_name);
  Comparison out;
  out.base_name = base_name;
  out.new_name = new_name;
  out.options = options;
  if (const json* c = Find(base, {"context"})) out.base_context = *c;
  if (const json* c = Find(now, {"context"})) out.new_context = *c;
  out.gate_all = options.gate == GateTier::kAll;
  out.gated_tier =
      options.gate == GateTier::kDeterministic ||
              (options.gate == GateTier::kAuto &&
               HasDeterministicFigures(base) && HasDeterministicFigures(now))
          ? Tier::kDeterministic
          : Tier::kWall;
  std::vector<Key> order;
  const std::map<Key, Side> b = Group(base, &order);
  std::vector<Key> new_order;
  const std::map<Key, Side> n = Group(now, &new_order);

  std::vector<std::string> different;
  for (const Key& k : order) {
    auto it = n.find(k);
    if (it == n.end()) {
      out.notes.push_back(CellName(k) + ": only in " + base_name);
      continue;
    }
    const Side& sb = b.at(k);
    const Side& sn = it->second;
    CellResult cell;
    cell.allocator = std::get<0>(k);
    cell.workload = std::get<1>(k);
    cell.threads = std::get<2>(k);
    cell.base_digest = sb.digest;
    cell.new_digest = sn.digest;
    if (sb.ok.empty()) {
      out.notes.push_back(CellName(k) + ": no ok repetition in " + base_name +
                          " (" +
                          ReasonOf(sb.failed.empty() ? sb.skipped : sb.failed) +
                          "); not compared");
      continue;
    }
    if (sn.ok.empty() || !sn.failed.empty()) {
      if (!sn.failed.empty()) {
        cell.failed = true;
        cell.note = "failed in " + new_name + ": " + ReasonOf(sn.failed);
        ++out.regressions;
        out.cells.push_back(cell);
        continue;
      }
      out.notes.push_back(CellName(k) + ": skipped in " + new_name + " (" +
                          ReasonOf(sn.skipped) + "); not compared");
      continue;
    }
    if (!sb.digest.empty() && !sn.digest.empty() && sb.digest != sn.digest) {
      cell.different_streams = true;
      cell.note = "DIFFERENT STREAMS: digest " + sb.digest + " vs " + sn.digest;
      different.push_back(CellName(k) + " (" + sb.digest + " vs " + sn.digest +
                          ")");
    }
    for (const MetricDef& m : CompareMetrics()) {
      // In sim mode cache.events is the callgrind count: shown once, as
      // the deterministic figure.
      if (std::string(m.key) == "instructions_per_op" &&
          !std::isnan(CellMetric(*sb.ok[0], "sim_instructions")))
        continue;
      MetricResult r = CompareMetric(m, CellName(k), sb, sn, options);
      // Optional probes absent on both sides are not worth a row.
      if (r.verdict == Verdict::kMissing && r.base.empty() && r.now.empty())
        continue;
      r.gated = out.gate_all || r.tier == out.gated_tier;
      if (!r.gated) {
        if (r.verdict == Verdict::kRegressed) ++out.ungated_regressions;
        cell.metrics.push_back(std::move(r));
        continue;
      }
      switch (r.verdict) {
        case Verdict::kRegressed:
          ++out.regressions;
          break;
        case Verdict::kImproved:
          ++out.improvements;
          break;
        case Verdict::kUntested:
          ++out.untested;
          break;
        default:
          ++out.unchanged;
      }
      cell.metrics.push_back(std::move(r));
    }
    out.cells.push_back(std::move(cell));
  }
  for (const Key& k : new_order)
    if (!b.count(k)) out.notes.push_back(CellName(k) + ": only in " + new_name);
  if (!different.empty() && !options.allow_different_streams) {
    std::string msg = new_name + " replayed different op streams than " +
                      base_name + " for " + std::to_string(different.size()) +
                      " cell(s), e.g. " + different[0] +
                      ": compare runs of the same workloads, profile, ops and "
                      "seed (or pass --allow-different-streams)";
    throw ResultsError(msg);
  }
  if (!different.empty())
    out.notes.insert(out.notes.begin(),
                     "WARNING: " + std::to_string(different.size()) +
                         " cell(s) replayed different op streams; their "
                         "comparison is not like for like");
  if (out.cells.empty())
    throw ResultsError(base_name + " and " + new_name +
                       " have no cell (allocator, workload, threads) in "
                       "common with an ok repetition on both sides");
  return out;
}

}  // namespace allocmark
