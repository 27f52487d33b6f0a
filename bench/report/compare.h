// Compares two results documents cell by cell: per-metric change, a
// Mann-Whitney U test over the repetitions and a verdict against thresholds.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace allocmark {

/// Bad input to a reporter (unreadable file, not a results document, ...).
/// The message names the input; the CLI prints it and exits 2.
class ResultsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Reads and checks a results document (schema_version 1, cells[] present).
/// Throws ResultsError naming `path` on any problem.
nlohmann::json ReadResultsFile(const std::string& path);
/// Parses and checks the text of a results document (ReadResultsFile without
/// the file); `name` is used in messages.
nlohmann::json ParseResultsText(const std::string& text,
                                const std::string& name);
/// The same checks on an already parsed document; `name` is used in messages.
/// Everything a reader (compare, history, export, console) reads is checked
/// for type and range here, so readers may index it without re-checking.
void CheckResultsDocument(const nlohmann::json& doc, const std::string& name);

/// One comparable figure of a cell; all are "lower is better".
struct MetricDef {
  const char* key;    ///< stable id: ns_per_op, alloc_p99, ...
  const char* label;  ///< short column label
};
/// ns_per_op, alloc_p99, free_p99, peak_rss, instructions_per_op.
const std::vector<MetricDef>& CompareMetrics();
/// The value of metric `key` in one cell, or NaN when the cell lacks it.
double CellMetric(const nlohmann::json& cell, const std::string& key);

struct CompareOptions {
  double default_threshold_pct = 5;
  std::map<std::string, double> threshold_pct;  ///< per metric key
  double alpha = 0.05;
  /// Compare cells whose stream digests differ instead of refusing.
  bool allow_different_streams = false;
  /// A change beyond the threshold that too few repetitions cannot test
  /// counts as a regression.
  bool strict = false;
  double ThresholdFor(const std::string& metric) const;
};

/// Parses one --threshold value: "5%", "p99=10%", "ns_per_op=3". Throws
/// ResultsError on a malformed value or unknown metric.
void ParseThreshold(const std::string& text, CompareOptions* options);

enum class Verdict {
  kUnchanged,  ///< within the threshold, or not significant
  kImproved,   ///< significant and beyond the threshold, faster/smaller
  kRegressed,  ///< significant and beyond the threshold, slower/larger
  kUntested,   ///< beyond the threshold but too few repetitions to test
  kMissing,    ///< metric absent on one side
};
const char* VerdictName(Verdict v);

struct MetricResult {
  std::string metric;
  std::vector<double> base, now;  ///< one value per ok repetition
  double base_median = 0, new_median = 0;
  double change_pct = 0;
  double p_value = 1;  ///< two-sided; NaN when not testable
  double threshold_pct = 0;
  Verdict verdict = Verdict::kUnchanged;
  std::string note;
};

struct CellResult {
  std::string allocator, workload;
  unsigned threads = 0;
  std::string base_digest, new_digest;
  bool different_streams = false;
  bool failed = false;  ///< ok in the base, failed in the new run
  std::string note;
  std::vector<MetricResult> metrics;
  std::string Name() const;
};

struct Comparison {
  std::string base_name, new_name;
  nlohmann::json base_context, new_context;
  CompareOptions options;
  std::vector<CellResult> cells;
  std::vector<std::string> notes;  ///< cells on one side only, skipped, ...
  int regressions = 0, improvements = 0, untested = 0, unchanged = 0;
  bool Regressed() const { return regressions > 0; }
};

/// Two-sided Mann-Whitney U p-value: exact without ties for small samples,
/// normal approximation with tie and continuity correction otherwise.
double MannWhitneyP(const std::vector<double>& a, const std::vector<double>& b);
/// Smallest two-sided p-value any outcome can reach with samples of m and n.
double MinimumMannWhitneyP(std::size_t m, std::size_t n);

/// Throws ResultsError when streams differ and the options do not allow it.
Comparison CompareResults(const nlohmann::json& base, const nlohmann::json& now,
                          const CompareOptions& options,
                          const std::string& base_name = "base",
                          const std::string& new_name = "new");

std::string FormatComparisonText(const Comparison& c);
std::string FormatComparisonMarkdown(const Comparison& c);
nlohmann::json ComparisonJson(const Comparison& c);

}  // namespace allocmark
