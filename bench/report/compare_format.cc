// `allocmark compare` output: the text table, the pull-request markdown and
// the JSON for machines, all from one Comparison.
#include "bench/report/compare_format.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "bench/report/json_path.h"
#include "bench/report/report_format.h"

namespace allocmark {

using nlohmann::json;

namespace {

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

}  // namespace

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
  if (!o.noise_pct.empty())
    s += "; wall-clock cells with measured noise: " +
         Fmt("%g", o.noise_multiple) + " x noise (at least " +
         Fmt("%g%%)", kNoiseThresholdFloorPct);
  return s + "; alpha " + Fmt("%g", o.alpha) +
         " (Mann-Whitney U, two-sided, over repetitions; deterministic "
         "figures by threshold alone)";
}

std::string GateLine(const Comparison& c) {
  return std::string("gate: ") +
         (c.gate_all ? "both tiers"
                     : std::string(TierName(c.gated_tier)) + " tier") +
         " (--gate " + GateTierName(c.options.gate) + ")";
}

std::string VerdictText(const MetricResult& m) {
  std::string v = VerdictName(m.verdict);
  return m.gated ? v : v + " (not gated)";
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
  if (c.ungated_regressions > 0)
    s += "; " + std::to_string(c.ungated_regressions) +
         " regression(s) in the tier not gated";
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
  o << "thresholds: " << ThresholdLine(c.options) << "\n";
  o << GateLine(c) << "\n\n";
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
                      PValue(m.p_value), NValue(m), VerdictText(m), note});
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
      if (m.verdict == Verdict::kRegressed && m.gated)
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
    << ")  \nthresholds: " << ThresholdLine(c.options) << "  \n"
    << GateLine(c) << "\n\n";
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
      << (m.verdict == Verdict::kRegressed && m.gated ? "**REGRESSION**"
                                                      : VerdictText(m))
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
  out["gate"] = GateTierName(c.options.gate);
  out["gated_tiers"] =
      c.gate_all
          ? json::array({TierName(Tier::kDeterministic), TierName(Tier::kWall)})
          : json::array({TierName(c.gated_tier)});
  out["noise_multiple"] = c.options.noise_multiple;
  out["test"] = "mann-whitney-u two-sided";
  out["regression"] = c.Regressed();
  out["summary"] = {{"regressions", c.regressions},
                    {"improvements", c.improvements},
                    {"unchanged", c.unchanged},
                    {"untested", c.untested},
                    {"ungated_regressions", c.ungated_regressions}};
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
                         {"tier", TierName(m.tier)},
                         {"gated", m.gated},
                         {"threshold_source", m.threshold_source},
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
