// Compares two results documents cell by cell: per-metric change and a
// verdict, by threshold alone (deterministic tier) or with a U test (wall).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench/report/results_reader.h"

namespace allocmark {

/// How a figure varies between runs of one build, which decides how it is
/// judged. Deterministic figures (callgrind counts at one thread) are equal
/// on every run, so any change beyond the threshold is real; wall-clock
/// figures need repetitions, a U test and a threshold above their noise.
enum class Tier { kWall, kDeterministic };
const char* TierName(Tier t);

/// One comparable figure of a cell; all are "lower is better".
struct MetricDef {
  const char* key;    ///< stable id: ns_per_op, alloc_p99, ...
  const char* label;  ///< short column label
  Tier tier;
};
/// ns_per_op, alloc_p99, free_p99, peak_rss, instructions_per_op (wall
/// tier); sim_instructions, sim_cycles (deterministic tier).
const std::vector<MetricDef>& CompareMetrics();
/// The value of metric `key` in one cell, or NaN when the cell lacks it.
double CellMetric(const nlohmann::json& cell, const std::string& key);

/// Default thresholds: wall-clock figures move by percents between A/A runs;
/// deterministic ones do not move at all, so a small change is already real.
inline constexpr double kWallThresholdPct = 5;
inline constexpr double kDeterministicThresholdPct = 1;
/// A noise-derived threshold never drops below this (a cell whose A/A runs
/// happened to agree exactly is not noise-free).
inline constexpr double kNoiseThresholdFloorPct = 1;

/// Which tiers decide the verdict (exit code); the others are shown only.
/// kAuto gates on the deterministic tier when both runs carry its figures
/// (`--cache sim`, as in `run --profile ci`), else on the wall-clock tier.
enum class GateTier { kAuto, kDeterministic, kWall, kAll };

struct CompareOptions {
  double default_threshold_pct = kWallThresholdPct;  ///< wall-clock metrics
  double deterministic_threshold_pct = kDeterministicThresholdPct;
  std::map<std::string, double> threshold_pct;  ///< per metric key, explicit
  /// Measured A/A noise per "cell|metric" (allocmark noise); a wall metric
  /// without an explicit threshold then gets noise_multiple x its noise.
  std::map<std::string, double> noise_pct;
  double noise_multiple = 3;
  GateTier gate = GateTier::kAuto;
  double alpha = 0.05;
  /// Compare cells whose stream digests differ instead of refusing.
  bool allow_different_streams = false;
  /// A change beyond the threshold that too few repetitions cannot test
  /// counts as a regression.
  bool strict = false;
  /// The threshold of `metric` without a cell's noise: explicit, else the
  /// tier's default.
  double ThresholdFor(const std::string& metric) const;
  /// The threshold for one cell ("allocator/workload/Nt"): explicit, else
  /// noise-derived when the noise of that cell and metric was measured,
  /// else the tier's default. `source` says which.
  double ThresholdFor(const std::string& cell, const std::string& metric,
                      std::string* source) const;
};

/// Key of `noise_pct`: "allocator/workload/Nt|metric".
std::string NoiseKey(const std::string& cell, const std::string& metric);

/// Parses a --gate value: auto, deterministic, wall or all. Throws
/// ResultsError otherwise.
GateTier ParseGateTier(const std::string& text);
const char* GateTierName(GateTier g);

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
  Tier tier = Tier::kWall;
  bool gated = true;              ///< decides the verdict; else shown only
  std::vector<double> base, now;  ///< one value per ok repetition
  double base_median = 0, new_median = 0;
  double change_pct = 0;
  double p_value = 1;  ///< two-sided; NaN when not testable
  double threshold_pct = 0;
  std::string threshold_source;  ///< explicit, default, noise x3 (1.2%)
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
  Tier gated_tier = Tier::kWall;  ///< kAuto resolved (kAll: both gated)
  bool gate_all = false;
  std::vector<CellResult> cells;
  std::vector<std::string> notes;  ///< cells on one side only, skipped, ...
  /// Counts of gated metrics (and failed cells); ungated ones are shown
  /// with their verdict but counted apart.
  int regressions = 0, improvements = 0, untested = 0, unchanged = 0;
  int ungated_regressions = 0;
  bool Regressed() const { return regressions > 0; }
};

/// Throws ResultsError when streams differ and the options do not allow it.
Comparison CompareResults(const nlohmann::json& base, const nlohmann::json& now,
                          const CompareOptions& options,
                          const std::string& base_name = "base",
                          const std::string& new_name = "new");

}  // namespace allocmark
