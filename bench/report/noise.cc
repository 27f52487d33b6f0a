// A/A noise per cell and metric: what two runs of one build disagree by,
// the yardstick a wall-clock threshold must stand above.
#include "bench/report/noise.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "bench/report/json_path.h"
#include "bench/report/report_format.h"
#include "bench/report/results_reader.h"

namespace allocmark {

using nlohmann::json;

namespace {

constexpr int kNoiseFormat = 1;

std::string CellName(const json& c) {
  return c["allocator"].get<std::string>() + "/" +
         c["workload"].get<std::string>() + "/" +
         std::to_string(c["threads"].get<int>()) + "t";
}

}  // namespace

json MeasureNoise(const std::vector<NamedResults>& runs) {
  if (runs.empty()) throw ResultsError("noise needs at least one results file");
  for (const auto& [name, doc] : runs) CheckResultsDocument(doc, name);
  for (std::size_t i = 1; i < runs.size(); ++i)
    for (const char* key : {"host", "git_revision", "build_type"}) {
      const json* a = Find(runs[0].second, {"context", key});
      const json* b = Find(runs[i].second, {"context", key});
      if ((a ? *a : json()) != (b ? *b : json()))
        throw ResultsError(runs[i].first + ": context." + key +
                           " differs from " + runs[0].first +
                           "'s: A/A noise needs runs of one build on one "
                           "machine");
    }
  // groups[cell|metric][group] = values; a group is a run, or a parity
  // half of the only run.
  std::map<std::string, std::map<std::size_t, std::vector<double>>> groups;
  std::vector<std::string> order;
  for (std::size_t r = 0; r < runs.size(); ++r) {
    for (const json& c : runs[r].second["cells"]) {
      if (c["status"] != "ok") continue;
      const std::size_t group =
          runs.size() > 1
              ? r
              : static_cast<std::size_t>(
                    c.value("repetition", json(0)).get<std::int64_t>() % 2);
      for (const MetricDef& m : CompareMetrics()) {
        if (m.tier != Tier::kWall) continue;
        const double v = CellMetric(c, m.key);
        if (std::isnan(v)) continue;
        const std::string key = NoiseKey(CellName(c), m.key);
        if (!groups.count(key)) order.push_back(key);
        groups[key][group].push_back(v);
      }
    }
  }
  json cells = json::array();
  for (const std::string& key : order) {
    const auto& g = groups[key];
    if (g.size() < 2) continue;
    double worst = 0;
    int comparisons = 0;
    for (auto a = g.begin(); a != g.end(); ++a)
      for (auto b = std::next(a); b != g.end(); ++b) {
        const double ma = Median(a->second), mb = Median(b->second);
        if (!(ma > 0)) continue;
        worst = std::max(worst, std::fabs(mb / ma - 1) * 100);
        ++comparisons;
      }
    if (comparisons == 0) continue;
    const std::size_t bar = key.find('|');
    cells.push_back({{"cell", key.substr(0, bar)},
                     {"metric", key.substr(bar + 1)},
                     {"noise_pct", worst},
                     {"comparisons", comparisons}});
  }
  if (cells.empty())
    throw ResultsError(
        runs[0].first +
        ": no cell has two groups of repetitions to compare (give two runs, "
        "or one run with --repetitions 2 or more)");
  json sources = json::array();
  for (const auto& [name, doc] : runs) sources.push_back(name);
  const json& ctx = runs[0].second.value("context", json::object());
  return {{"allocmark_noise", kNoiseFormat},
          {"method", runs.size() > 1
                         ? "largest change of the median between two runs"
                         : "change of the median between the even and odd "
                           "repetitions"},
          {"context",
           {{"host", ctx.value("host", json())},
            {"cpu_model", ctx.value("cpu_model", json())},
            {"git_revision", ctx.value("git_revision", json())}}},
          {"sources", sources},
          {"cells", cells}};
}

void LoadNoise(const json& doc, const std::string& name,
               CompareOptions* options) {
  const json* format = Find(doc, {"allocmark_noise"});
  const json* cells = Find(doc, {"cells"});
  if (!format || *format != kNoiseFormat || !cells || !cells->is_array())
    throw ResultsError(name +
                       ": not an allocmark noise file (make one with "
                       "`allocmark noise RUN.json -o noise.json`)");
  for (const json& c : *cells) {
    const json* cell = Find(c, {"cell"});
    const json* metric = Find(c, {"metric"});
    const double pct = Number(Find(c, {"noise_pct"}));
    if (!cell || !cell->is_string() || !metric || !metric->is_string() ||
        !(pct >= 0) || !std::isfinite(pct))
      throw ResultsError(name +
                         ": a cell entry lacks cell, metric or a "
                         "noise_pct >= 0");
    options->noise_pct[NoiseKey(*cell, *metric)] = pct;
  }
}

}  // namespace allocmark
