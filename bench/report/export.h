// Converts a results document to other tools' formats: Google Benchmark JSON
// (for compare.py), Bencher's metric format and github-action-benchmark's.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace allocmark {

/// Google Benchmark JSON: one "iteration" run per ok repetition (real_time =
/// ns/op), plus mean/median/stddev aggregates when a cell has repetitions.
nlohmann::json ExportGoogleBenchmark(const nlohmann::json& results);
/// Bencher Metric Format: {cell: {measure: {value, lower_value, upper_value}}}.
nlohmann::json ExportBencher(const nlohmann::json& results);
/// github-action-benchmark "customSmallerIsBetter": [{name, unit, value, ...}].
nlohmann::json ExportGithubActionBenchmark(const nlohmann::json& results);

/// Dispatches on "gbench", "bencher" or "gab"; throws ResultsError otherwise.
nlohmann::json ExportResults(const nlohmann::json& results,
                             const std::string& format);

}  // namespace allocmark
