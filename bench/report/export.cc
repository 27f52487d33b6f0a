// Export formats of a results document. Every figure is a median (or a single
// value) over the ok repetitions of one allocator x workload x threads cell.
#include "bench/report/export.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <tuple>
#include <type_traits>
#include <vector>

#include "bench/report/compare.h"
#include "bench/results/cell_figures.h"
#include "bench/results/cell_record.h"

namespace allocmark {

using nlohmann::json;

namespace {

using Key = std::tuple<std::string, std::string, unsigned>;

struct CellGroup {
  Key key;
  std::vector<CellRecord> ok;
};

// Cells in document order, ok repetitions only (failed/skipped have no figure).
std::vector<CellGroup> OkGroups(const json& results) {
  std::vector<CellRecord> cells;
  try {
    cells = ReadCellRecords(results);
  } catch (const RecordError& e) {
    throw ResultsError(std::string("results: ") + e.what());
  }
  std::vector<CellGroup> groups;
  std::map<Key, std::size_t> index;
  for (CellRecord& c : cells) {
    if (!c.ok()) continue;
    Key k{c.allocator, c.workload, c.threads};
    auto [it, inserted] = index.emplace(k, groups.size());
    if (inserted) groups.push_back({k, {}});
    groups[it->second].ok.push_back(std::move(c));
  }
  return groups;
}

std::string Name(const Key& k) {
  return std::get<0>(k) + "/" + std::get<1>(k) + "/" +
         std::to_string(std::get<2>(k)) + "t";
}

struct Stats {
  std::size_t n = 0;
  double median = NAN, mean = NAN, stddev = NAN, min = NAN, max = NAN;
};

Stats Summarize(const std::vector<CellRecord>& cells, const std::string& key) {
  std::vector<double> v;
  for (const CellRecord& c : cells)
    if (double x = CellFigure(c, key); !std::isnan(x)) v.push_back(x);
  Stats s;
  s.n = v.size();
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.min = v.front();
  s.max = v.back();
  s.median = v.size() % 2 ? v[v.size() / 2]
                          : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / double(v.size());
  double sq = 0;
  for (double x : v) sq += (x - s.mean) * (x - s.mean);
  s.stddev = v.size() > 1 ? std::sqrt(sq / double(v.size() - 1)) : 0;
  return s;
}

// Context fields are descriptive and typed loosely across versions: a field
// of an unexpected type is exported as its default, never thrown on.
template <class T>
T Field(const json& obj, const char* key, T fallback) {
  if (!obj.is_object()) return fallback;
  auto it = obj.find(key);
  if (it == obj.end()) return fallback;
  if constexpr (std::is_same_v<T, std::string>) {
    return it->is_string() ? it->get<std::string>() : fallback;
  } else {
    return it->is_number() ? it->get<T>() : fallback;
  }
}

json GbenchContext(const json& results) {
  const json none = json::object();
  const json& ctx = results.contains("context") ? results.at("context") : none;
  json caches = json::array();
  const json* listed =
      ctx.is_object() && ctx.contains("caches") && ctx["caches"].is_array()
          ? &ctx.at("caches")
          : nullptr;
  for (const json& c : listed ? *listed : json::array()) {
    // "32K" -> bytes, the unit Google Benchmark uses.
    std::string size = Field<std::string>(c, "size", "0");
    double bytes = std::strtod(size.c_str(), nullptr);
    if (!size.empty() && (size.back() == 'K' || size.back() == 'k'))
      bytes *= 1024;
    if (!size.empty() && size.back() == 'M') bytes *= 1 << 20;
    if (!(bytes >= 0 && bytes < 1e18)) bytes = 0;
    caches.push_back({{"type", Field<std::string>(c, "type", "")},
                      {"level", Field<int>(c, "level", 0)},
                      {"size", static_cast<std::int64_t>(bytes)},
                      {"num_sharing", 0}});
  }
  const json clock =
      ctx.is_object() && ctx.contains("clock") ? ctx.at("clock") : json();
  double ticks = Field<double>(clock, "ticks_per_ns", 0.0);
  if (!(ticks >= 0 && ticks < 1e6)) ticks = 0;
  const json run = results.contains("run") ? results.at("run") : json();
  return {
      {"date", Field<std::string>(ctx, "date", "")},
      {"host_name", Field<std::string>(ctx, "host", "")},
      {"executable", "allocmark"},
      {"num_cpus", Field<std::int64_t>(ctx, "cores", 0)},
      {"mhz_per_cpu", static_cast<int>(ticks * 1000)},
      {"cpu_scaling_enabled", false},
      {"caches", caches},
      {"load_avg", json::array()},
      {"library_build_type",
       Field<std::string>(ctx, "build_type", "") == "Debug" ? "debug"
                                                            : "release"},
      {"allocmark_git_revision", Field<std::string>(ctx, "git_revision", "")},
      {"allocmark_profile", Field<std::string>(run, "profile", "")}};
}

}  // namespace

json ExportGoogleBenchmark(const json& results) {
  CheckResultsDocument(results, "results");
  json benchmarks = json::array();
  int family = 0;
  for (const CellGroup& g : OkGroups(results)) {
    const std::string name = Name(g.key);
    const int reps = static_cast<int>(g.ok.size());
    int index = 0;
    for (const CellRecord& c : g.ok) {
      // allocmark measures busy time per thread, not CPU time separately;
      // both fields carry ns/op so compare.py's two columns agree.
      const double ns = CellFigure(c, "ns_per_op");
      json b = {{"name", name},
                {"family_index", family},
                {"per_family_instance_index", 0},
                {"run_name", name},
                {"run_type", "iteration"},
                {"repetitions", reps},
                {"repetition_index", index++},
                {"threads", std::get<2>(g.key)},
                {"iterations", c.ops.value_or(0)},
                {"real_time", ns},
                {"cpu_time", ns},
                {"time_unit", "ns"}};
      for (const char* m : {"alloc_p99", "free_p99", "peak_rss"}) {
        const double v = CellFigure(c, m);
        if (!std::isnan(v)) b[std::string(m)] = v;
      }
      if (const double mops = CellFigure(c, "mops_per_s"); !std::isnan(mops))
        b["items_per_second"] = mops * 1e6;
      benchmarks.push_back(b);
    }
    if (reps > 1) {
      const Stats s = Summarize(g.ok, "ns_per_op");
      for (auto [agg, v] : {std::pair{"mean", s.mean},
                            {"median", s.median},
                            {"stddev", s.stddev}}) {
        benchmarks.push_back({{"name", name + "_" + agg},
                              {"family_index", family},
                              {"per_family_instance_index", 0},
                              {"run_name", name},
                              {"run_type", "aggregate"},
                              {"repetitions", reps},
                              {"threads", std::get<2>(g.key)},
                              {"aggregate_name", agg},
                              {"aggregate_unit", "time"},
                              {"iterations", reps},
                              {"real_time", v},
                              {"cpu_time", v},
                              {"time_unit", "ns"}});
      }
    }
    ++family;
  }
  return {{"context", GbenchContext(results)}, {"benchmarks", benchmarks}};
}

json ExportBencher(const json& results) {
  CheckResultsDocument(results, "results");
  json out = json::object();
  for (const CellGroup& g : OkGroups(results)) {
    json measures = json::object();
    auto add = [&](const char* measure, const Stats& s, double scale) {
      if (s.n == 0) return;
      measures[measure] = {{"value", s.median * scale},
                           {"lower_value", s.min * scale},
                           {"upper_value", s.max * scale}};
    };
    // "latency" (ns) and "throughput" (ops/s) are Bencher's built-in measures.
    add("latency", Summarize(g.ok, "ns_per_op"), 1);
    std::vector<double> mops;
    for (const CellRecord& c : g.ok)
      if (double m = CellFigure(c, "mops_per_s"); !std::isnan(m))
        mops.push_back(m);
    if (!mops.empty()) {
      std::sort(mops.begin(), mops.end());
      const double med =
          mops.size() % 2
              ? mops[mops.size() / 2]
              : (mops[mops.size() / 2 - 1] + mops[mops.size() / 2]) / 2;
      measures["throughput"] = {{"value", med * 1e6},
                                {"lower_value", mops.front() * 1e6},
                                {"upper_value", mops.back() * 1e6}};
    }
    add("alloc-p99-latency", Summarize(g.ok, "alloc_p99"), 1);
    add("free-p99-latency", Summarize(g.ok, "free_p99"), 1);
    add("peak-rss", Summarize(g.ok, "peak_rss"), 1);
    add("instructions-per-op", Summarize(g.ok, "instructions_per_op"), 1);
    out[Name(g.key)] = measures;
  }
  return out;
}

json ExportGithubActionBenchmark(const json& results) {
  CheckResultsDocument(results, "results");
  json out = json::array();
  for (const CellGroup& g : OkGroups(results)) {
    const std::string digest = g.ok[0].stream_digest.value_or("");
    auto add = [&](const char* suffix, const char* unit, const Stats& s,
                   double scale) {
      if (s.n == 0) return;
      char range[48];
      std::snprintf(range, sizeof(range), "± %.3g", s.stddev * scale);
      out.push_back({{"name", Name(g.key) + " " + suffix},
                     {"unit", unit},
                     {"value", s.median * scale},
                     {"range", range},
                     {"extra", "median of " + std::to_string(s.n) +
                                   " repetition(s); stream " + digest}});
    };
    add("ns/op", "ns/op", Summarize(g.ok, "ns_per_op"), 1);
    add("alloc p99", "ns", Summarize(g.ok, "alloc_p99"), 1);
    add("free p99", "ns", Summarize(g.ok, "free_p99"), 1);
    add("peak RSS", "MiB", Summarize(g.ok, "peak_rss"), 1.0 / (1 << 20));
  }
  return out;
}

json ExportResults(const json& results, const std::string& format) {
  if (format == "gbench") return ExportGoogleBenchmark(results);
  if (format == "bencher") return ExportBencher(results);
  if (format == "gab") return ExportGithubActionBenchmark(results);
  throw ResultsError("--format: unknown export format '" + format +
                     "' (accepted: gbench, bencher, gab)");
}

}  // namespace allocmark
