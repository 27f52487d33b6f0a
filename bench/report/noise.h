// `allocmark noise`: the A/A noise of every cell's wall-clock figures, from
// runs of one build, which compare turns into per-cell thresholds.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench/report/compare.h"
#include "bench/report/merge.h"

namespace allocmark {

/// Per cell and wall-clock metric, the largest change of the median between
/// two groups of repetitions of the same build: between every pair of runs
/// when given several, else between the even and odd repetitions of one
/// run (interleaved halves). Throws ResultsError naming the input when runs
/// are of different machines or builds, or no cell has two groups.
nlohmann::json MeasureNoise(const std::vector<NamedResults>& runs);

/// Loads a noise document into `options->noise_pct`; throws ResultsError
/// naming `name` when it is not one.
void LoadNoise(const nlohmann::json& doc, const std::string& name,
               CompareOptions* options);

}  // namespace allocmark
