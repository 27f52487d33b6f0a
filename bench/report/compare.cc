// `allocmark compare` logic: matches cells, tests repetitions with
// Mann-Whitney U, applies thresholds, and formats text, markdown and JSON.
#include "bench/report/compare.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <tuple>

#include "bench/report/report_format.h"

namespace allocmark {

using nlohmann::json;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Values are shown in the metric's natural unit, with 3-4 significant digits.
std::string Value(const std::string& metric, double v) {
  if (std::isnan(v)) return "-";
  if (metric == "peak_rss") {
    if (v >= 1 << 30) return Fmt("%.2fG", v / (1 << 30));
    if (v >= 1 << 20) return Fmt("%.1fM", v / (1 << 20));
    return Fmt("%.0fK", v / 1024);
  }
  if (v >= 1e6) return Fmt("%.2fms", v / 1e6);
  if (v >= 1e4) return Fmt("%.1fus", v / 1e3);
  if (v >= 100) return Fmt("%.0f", v);
  return Fmt("%.3g", v);
}

std::string Pct(double v) {
  if (std::isnan(v)) return "-";
  return Fmt("%+.1f%%", v);
}

std::string PValue(double p) {
  if (std::isnan(p)) return "-";
  if (p < 0.0001) return "<0.0001";
  return Fmt("%.4f", p);
}

const json* Find(const json& j, std::initializer_list<const char*> path) {
  const json* at = &j;
  for (const char* k : path) {
    if (!at->is_object()) return nullptr;
    auto it = at->find(k);
    if (it == at->end()) return nullptr;
    at = &*it;
  }
  return at;
}

double Number(const json* j) {
  return j && j->is_number() ? j->get<double>() : kNaN;
}

// Exact null distribution of U for samples of m and n without ties:
// count[m][n][u] = count[m-1][n][u-n] + count[m][n-1][u], as doubles.
std::vector<double> ExactUCounts(std::size_t m, std::size_t n) {
  // table[i][j] is a vector over u for sizes (i, j).
  std::vector<std::vector<std::vector<double>>> t(
      m + 1, std::vector<std::vector<double>>(n + 1));
  for (std::size_t i = 0; i <= m; ++i) {
    for (std::size_t j = 0; j <= n; ++j) {
      std::vector<double>& c = t[i][j];
      c.assign(i * j + 1, 0);
      if (i == 0 || j == 0) {
        c[0] = 1;
        continue;
      }
      // The largest value belongs to sample a (beats all j of b) or to b.
      for (std::size_t u = 0; u <= i * j; ++u) {
        if (u >= j && u - j < t[i - 1][j].size()) c[u] += t[i - 1][j][u - j];
        if (u < t[i][j - 1].size()) c[u] += t[i][j - 1][u];
      }
    }
  }
  return t[m][n];
}

constexpr std::size_t kExactLimit = 30;

}  // namespace

double MinimumMannWhitneyP(std::size_t m, std::size_t n) {
  if (m == 0 || n == 0) return 1;
  // 2 / C(m+n, m): both extreme orderings, two-sided.
  double c = 1;
  for (std::size_t k = 1; k <= m; ++k) c = c * double(n + k) / double(k);
  return std::min(1.0, 2 / c);
}

double MannWhitneyP(const std::vector<double>& a,
                    const std::vector<double>& b) {
  const std::size_t m = a.size(), n = b.size();
  if (m == 0 || n == 0) return kNaN;
  // Ranks with ties averaged.
  std::vector<std::pair<double, int>> all;
  for (double v : a) all.push_back({v, 0});
  for (double v : b) all.push_back({v, 1});
  std::sort(all.begin(), all.end());
  const std::size_t N = all.size();
  double rank_sum_a = 0, tie_term = 0;
  bool ties = false;
  for (std::size_t i = 0; i < N;) {
    std::size_t j = i;
    while (j < N && all[j].first == all[i].first) ++j;
    const double rank = (double(i + 1) + double(j)) / 2;
    const double t = double(j - i);
    if (t > 1) ties = true;
    tie_term += t * t * t - t;
    for (std::size_t k = i; k < j; ++k)
      if (all[k].second == 0) rank_sum_a += rank;
    i = j;
  }
  const double u = rank_sum_a - double(m) * double(m + 1) / 2;
  const double mean = double(m) * double(n) / 2;
  if (!ties && m <= kExactLimit && n <= kExactLimit) {
    const std::vector<double> counts = ExactUCounts(m, n);
    double total = 0, below = 0, above = 0;
    const auto ui = static_cast<std::size_t>(std::llround(u));
    for (std::size_t k = 0; k < counts.size(); ++k) {
      total += counts[k];
      if (k <= ui) below += counts[k];
      if (k >= ui) above += counts[k];
    }
    return std::min(1.0, 2 * std::min(below, above) / total);
  }
  const double var = double(m) * double(n) / 12 *
                     (double(N + 1) - tie_term / (double(N) * double(N - 1)));
  if (var <= 0) return 1;  // every value equal: no evidence of a shift
  const double z = std::max(0.0, std::fabs(u - mean) - 0.5) / std::sqrt(var);
  return std::min(1.0, std::erfc(z / std::sqrt(2.0)));
}

namespace {

// What a reader may assume about one cell after CheckResultsDocument: the
// fields compare, history, export and the console read, typed as
// results/schema.json defines them. A wrong type is refused here, once,
// instead of surfacing as a crash or a silent NaN in one of the readers.
std::string CellProblem(const json& c) {
  if (!c.is_object()) return "is not an object";
  const json* allocator = Find(c, {"allocator"});
  const json* workload = Find(c, {"workload"});
  const json* threads = Find(c, {"threads"});
  const json* status = Find(c, {"status"});
  if (!allocator || !allocator->is_string() || !workload ||
      !workload->is_string() || !threads || !threads->is_number_integer() ||
      !status || !status->is_string())
    return "lacks allocator, workload, threads or status";
  if (threads->get<std::int64_t>() < 1 ||
      threads->get<std::int64_t>() > (1 << 20))
    return "threads " + threads->dump() + " is not a thread count";
  const std::string st = status->get<std::string>();
  if (st != "ok" && st != "failed" && st != "skipped")
    return "status " + status->dump() + " is not ok, failed or skipped";
  auto figure = [&](std::initializer_list<const char*> path,
                    const std::string& label, bool required) -> std::string {
    const json* v = Find(c, path);
    if (v == nullptr || v->is_null())
      return required ? label + (v ? " is null" : " is missing") +
                            " (an ok cell needs a number)"
                      : "";
    if (!v->is_number() || !(v->get<double>() >= 0) ||
        !std::isfinite(v->get<double>()))
      return label + " is " + v->dump().substr(0, 40) +
             ", expected a number >= 0 or null";
    return "";
  };
  auto object_or_null = [&](const char* key) -> std::string {
    const json* v = Find(c, {key});
    if (v == nullptr || v->is_null() || v->is_object()) return "";
    return std::string(key) + " is " + v->dump().substr(0, 40) +
           ", expected an object or null";
  };
  for (const char* key : {"latency", "memory", "cache", "timing"}) {
    if (std::string p = object_or_null(key); !p.empty()) return p;
  }
  for (const char* key : {"reason", "stream_digest"}) {
    const json* v = Find(c, {key});
    if (v != nullptr && !v->is_null() && !v->is_string())
      return std::string(key) + " is " + v->dump().substr(0, 40) +
             ", expected a string or null";
  }
  if (const json* rep = Find(c, {"repetition"});
      rep != nullptr && (!rep->is_number_integer() || rep->get<double>() < 0))
    return "repetition " + rep->dump().substr(0, 40) +
           " is not an integer >= 0";
  for (const char* side : {"alloc", "free"}) {
    const json* lat = Find(c, {"latency", side});
    if (lat != nullptr && !lat->is_null() && !lat->is_object())
      return std::string("latency.") + side + " is not an object";
  }
  const std::string problems[] = {
      figure({"ns_per_op"}, "ns_per_op", st == "ok"),
      figure({"mops_per_s"}, "mops_per_s", false),
      figure({"wall_ns"}, "wall_ns", false),
      figure({"ops"}, "ops", false),
      figure({"latency", "alloc", "p99_ns"}, "latency.alloc.p99_ns", false),
      figure({"latency", "free", "p99_ns"}, "latency.free.p99_ns", false),
      figure({"memory", "peak_rss_bytes"}, "memory.peak_rss_bytes", false),
      figure({"cache", "events", "instructions"}, "cache.events.instructions",
             false),
  };
  for (const std::string& p : problems) {
    if (!p.empty()) return p;
  }
  return "";
}

}  // namespace

void CheckResultsDocument(const json& doc, const std::string& name) {
  if (!doc.is_object())
    throw ResultsError(name +
                       ": not an allocmark results document (expected "
                       "a JSON object)");
  const json* v = Find(doc, {"schema_version"});
  if (!v)
    throw ResultsError(name +
                       ": no schema_version: not an allocmark "
                       "results document");
  if (!v->is_number_integer() || v->get<std::int64_t>() != 1)
    throw ResultsError(name + ": schema_version " + v->dump().substr(0, 40) +
                       " is not supported (this allocmark reads 1)");
  for (const char* key : {"context", "run"}) {
    const json* part = Find(doc, {key});
    if (part != nullptr && !part->is_object())
      throw ResultsError(name + ": " + key + " is " +
                         part->dump().substr(0, 40) + ", expected an object");
  }
  if (const json* adapters = Find(doc, {"adapters"});
      adapters != nullptr && !adapters->is_array())
    throw ResultsError(name + ": adapters is not an array");
  const json* cells = Find(doc, {"cells"});
  if (!cells || !cells->is_array())
    throw ResultsError(name + ": no cells[] array");
  if (cells->empty()) throw ResultsError(name + ": no cells: the run is empty");
  std::size_t i = 0;
  for (const json& c : *cells) {
    if (const std::string p = CellProblem(c); !p.empty()) {
      std::string label;
      if (c.is_object() && c.value("allocator", json()).is_string() &&
          c.value("workload", json()).is_string())
        label = " (" + c["allocator"].get<std::string>() + "/" +
                c["workload"].get<std::string>() + ")";
      throw ResultsError(name + ": cells[" + std::to_string(i) + "]" + label +
                         ": " + p);
    }
    ++i;
  }
}

json ParseResultsText(const std::string& text, const std::string& name) {
  if (text.find_first_not_of(" \t\r\n") == std::string::npos)
    throw ResultsError(name + ": the file is empty");
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {  // out_of_range: a number like 1E400
    throw ResultsError(name + ": not valid JSON (" + e.what() + ")");
  }
  CheckResultsDocument(doc, name);
  return doc;
}

json ReadResultsFile(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw ResultsError(path + ": is a directory, not a results file");
  std::ifstream in(path);
  if (!in) throw ResultsError(path + ": cannot read the file");
  std::stringstream s;
  s << in.rdbuf();
  return ParseResultsText(s.str(), path);
}

const std::vector<MetricDef>& CompareMetrics() {
  static const std::vector<MetricDef> kMetrics = {
      {"ns_per_op", "ns/op"},
      {"alloc_p99", "alloc p99"},
      {"free_p99", "free p99"},
      {"peak_rss", "peak RSS"},
      {"instructions_per_op", "instr/op"},
  };
  return kMetrics;
}

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
  return kNaN;
}

double CompareOptions::ThresholdFor(const std::string& metric) const {
  auto it = threshold_pct.find(metric);
  return it == threshold_pct.end() ? default_threshold_pct : it->second;
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
                       "peak_rss, instructions_per_op)");
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

MetricResult CompareMetric(const std::string& key, const Side& b, const Side& n,
                           const CompareOptions& o) {
  MetricResult r;
  r.metric = key;
  r.threshold_pct = o.ThresholdFor(key);
  for (const json* c : b.ok)
    if (double v = CellMetric(*c, key); !std::isnan(v)) r.base.push_back(v);
  for (const json* c : n.ok)
    if (double v = CellMetric(*c, key); !std::isnan(v)) r.now.push_back(v);
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
    return r;
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
  return r;
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
      MetricResult r = CompareMetric(m.key, sb, sn, options);
      // Optional probes absent on both sides are not worth a row.
      if (r.verdict == Verdict::kMissing && r.base.empty() && r.now.empty())
        continue;
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

namespace {

std::string Describe(const json& ctx) {
  std::string s;
  auto add = [&](const char* key) {
    const json* v = Find(ctx, {key});
    if (v && v->is_string() && !v->get<std::string>().empty()) {
      if (!s.empty()) s += ", ";
      s += v->get<std::string>();
    }
  };
  add("host");
  add("date");
  add("git_revision");
  return s.empty() ? "no context" : s;
}

std::string ThresholdLine(const CompareOptions& o) {
  std::string s;
  for (const MetricDef& m : CompareMetrics()) {
    if (!s.empty()) s += ", ";
    s += std::string(m.key) + " " + Fmt("%g%%", o.ThresholdFor(m.key));
  }
  return s + "; alpha " + Fmt("%g", o.alpha) +
         " (Mann-Whitney U, two-sided, over repetitions)";
}

std::string Label(const std::string& key) {
  for (const MetricDef& m : CompareMetrics())
    if (key == m.key) return m.label;
  return key;
}

std::string Summary(const Comparison& c) {
  std::string s = std::to_string(c.regressions) + " regression(s), " +
                  std::to_string(c.improvements) + " improvement(s), " +
                  std::to_string(c.unchanged) + " unchanged, " +
                  std::to_string(c.untested) +
                  " beyond a threshold but untested (too few repetitions)";
  return s;
}

std::string Pad(const std::string& s, std::size_t w) {
  return s.size() >= w ? s : s + std::string(w - s.size(), ' ');
}

std::string NValue(const MetricResult& m) {
  return std::to_string(m.base.size()) + "/" + std::to_string(m.now.size());
}

}  // namespace

std::string FormatComparisonText(const Comparison& c) {
  std::ostringstream o;
  o << "base: " << c.base_name << " (" << Describe(c.base_context) << ")\n";
  o << "new:  " << c.new_name << " (" << Describe(c.new_context) << ")\n";
  o << "thresholds: " << ThresholdLine(c.options) << "\n\n";
  std::vector<std::vector<std::string>> rows = {
      {"cell", "metric", "base", "new", "change", "p", "n", "verdict", "note"}};
  for (const CellResult& cell : c.cells) {
    if (cell.failed) {
      rows.push_back(
          {cell.Name(), "-", "-", "-", "-", "-", "-", "REGRESSION", cell.note});
      continue;
    }
    bool first = true;
    for (const MetricResult& m : cell.metrics) {
      std::string note = m.note;
      if (first && !cell.note.empty())
        note = cell.note + (note.empty() ? "" : "; " + note);
      rows.push_back({first ? cell.Name() : "", Label(m.metric),
                      Value(m.metric, m.base_median),
                      Value(m.metric, m.new_median), Pct(m.change_pct),
                      PValue(m.p_value), NValue(m), VerdictName(m.verdict),
                      note});
      first = false;
    }
  }
  std::vector<std::size_t> width(rows[0].size(), 0);
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size(); ++i)
      width[i] = std::max(width[i], r[i].size());
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i)
      line += (i + 1 < r.size() ? Pad(r[i], width[i] + 2) : r[i]);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    o << line << "\n";
  }
  for (const std::string& n : c.notes) o << "note: " << n << "\n";
  o << "\n" << Summary(c) << "\n";
  for (const CellResult& cell : c.cells) {
    if (cell.failed)
      o << "regression: " << cell.Name() << " " << cell.note << "\n";
    for (const MetricResult& m : cell.metrics)
      if (m.verdict == Verdict::kRegressed)
        o << "regression: " << cell.Name() << " " << m.metric << " "
          << Pct(m.change_pct) << " (p " << PValue(m.p_value) << ")\n";
  }
  return o.str();
}

std::string FormatComparisonMarkdown(const Comparison& c) {
  std::ostringstream o;
  o << "### allocmark compare: "
    << (c.Regressed() ? "❌ " + std::to_string(c.regressions) + " regression(s)"
                      : std::string("✅ no regression"))
    << "\n\n";
  o << "**base** `" << c.base_name << "` (" << Describe(c.base_context)
    << ")  \n**new** `" << c.new_name << "` (" << Describe(c.new_context)
    << ")  \nthresholds: " << ThresholdLine(c.options) << "\n\n";
  o << Summary(c) << ".\n\n";
  auto header = [&] {
    o << "| cell | metric | base | new | change | p | n | verdict |\n"
      << "|---|---|---:|---:|---:|---:|---:|---|\n";
  };
  auto row = [&](const CellResult& cell, const MetricResult& m) {
    o << "| " << cell.Name() << " | " << Label(m.metric) << " | "
      << Value(m.metric, m.base_median) << " | "
      << Value(m.metric, m.new_median) << " | " << Pct(m.change_pct) << " | "
      << PValue(m.p_value) << " | " << NValue(m) << " | "
      << (m.verdict == Verdict::kRegressed ? "**REGRESSION**"
                                           : VerdictName(m.verdict))
      << (m.note.empty() ? "" : " (" + m.note + ")") << " |\n";
  };
  bool any = false;
  for (const CellResult& cell : c.cells) {
    for (const MetricResult& m : cell.metrics) {
      if (m.verdict == Verdict::kUnchanged || m.verdict == Verdict::kMissing)
        continue;
      if (!any) header();
      any = true;
      row(cell, m);
    }
  }
  for (const CellResult& cell : c.cells)
    if (cell.failed)
      o << (any ? "" : "\n") << "- **" << cell.Name() << "**: " << cell.note
        << "\n";
  if (!c.notes.empty()) {
    o << "\n";
    for (const std::string& n : c.notes) o << "- " << n << "\n";
  }
  o << "\n<details><summary>all cells</summary>\n\n";
  header();
  for (const CellResult& cell : c.cells)
    for (const MetricResult& m : cell.metrics) row(cell, m);
  o << "\n</details>\n";
  return o.str();
}

json ComparisonJson(const Comparison& c) {
  auto num = [](double v) -> json {
    return std::isfinite(v) ? json(v) : json(nullptr);
  };
  json out;
  out["base"] = {{"file", c.base_name}, {"context", c.base_context}};
  out["new"] = {{"file", c.new_name}, {"context", c.new_context}};
  json thresholds = json::object();
  for (const MetricDef& m : CompareMetrics())
    thresholds[m.key] = c.options.ThresholdFor(m.key);
  out["thresholds_pct"] = thresholds;
  out["alpha"] = c.options.alpha;
  out["test"] = "mann-whitney-u two-sided";
  out["regression"] = c.Regressed();
  out["summary"] = {{"regressions", c.regressions},
                    {"improvements", c.improvements},
                    {"unchanged", c.unchanged},
                    {"untested", c.untested}};
  out["notes"] = c.notes;
  json cells = json::array();
  for (const CellResult& cell : c.cells) {
    json jc = {{"allocator", cell.allocator},
               {"workload", cell.workload},
               {"threads", cell.threads},
               {"base_digest", cell.base_digest},
               {"new_digest", cell.new_digest},
               {"different_streams", cell.different_streams},
               {"failed", cell.failed},
               {"note", cell.note}};
    json metrics = json::array();
    for (const MetricResult& m : cell.metrics) {
      metrics.push_back({{"metric", m.metric},
                         {"base", m.base},
                         {"new", m.now},
                         {"base_median", num(m.base_median)},
                         {"new_median", num(m.new_median)},
                         {"change_pct", num(m.change_pct)},
                         {"p_value", num(m.p_value)},
                         {"threshold_pct", m.threshold_pct},
                         {"verdict", VerdictName(m.verdict)},
                         {"note", m.note}});
    }
    jc["metrics"] = metrics;
    cells.push_back(jc);
  }
  out["cells"] = cells;
  return out;
}

}  // namespace allocmark
