// The Mann-Whitney U test compare uses on repetitions: distribution-free,
// so a few slow outliers of a shared machine do not fake a shift.
#pragma once

#include <cstddef>
#include <vector>

namespace allocmark {

/// Two-sided Mann-Whitney U p-value: exact without ties for small samples,
/// normal approximation with tie and continuity correction otherwise.
double MannWhitneyP(const std::vector<double>& a, const std::vector<double>& b);
/// Smallest two-sided p-value any outcome can reach with samples of m and n.
double MinimumMannWhitneyP(std::size_t m, std::size_t n);

}  // namespace allocmark
