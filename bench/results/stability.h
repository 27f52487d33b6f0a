// How stable a cell's figure is over its repetitions: coefficient of
// variation and a distribution-free confidence interval of the median.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace allocmark {

/// The spread of one figure over a cell's repetitions.
struct Stability {
  std::size_t n = 0;
  double median = 0;
  /// Sample standard deviation over the mean, in percent; 0 for n < 2.
  double cv_pct = 0;
  /// Order statistics bracketing the median: [x_(j), x_(n+1-j)] holds the
  /// true median with probability `ci_level` whatever the distribution
  /// (binomial with p = 1/2). The narrowest such interval with a level of at
  /// least 95 %; when n is too small for that, [min, max] and its level
  /// (75 % for 3 repetitions, 94 % for 5).
  double ci_low = 0, ci_high = 0, ci_level = 0;
};

/// CV above which a cell is marked noisy: the issue-14 goals, 2 % with one
/// thread and 5 % with more (threads share two noisy cores).
inline double NoisyCvPct(unsigned threads) { return threads <= 1 ? 2.0 : 5.0; }

inline Stability StabilityOf(std::vector<double> v) {
  Stability s;
  s.n = v.size();
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  double mean = 0;
  for (double x : v) mean += x;
  mean /= static_cast<double>(n);
  if (n >= 2 && mean > 0) {
    double ss = 0;
    for (double x : v) ss += (x - mean) * (x - mean);
    s.cv_pct = std::sqrt(ss / static_cast<double>(n - 1)) / mean * 100;
  }
  // P(x_(j) <= median <= x_(n+1-j)) = 1 - 2 * P(Binomial(n, 1/2) < j).
  auto level = [n](std::size_t j) {
    double below = 0, term = std::pow(0.5, static_cast<double>(n));
    for (std::size_t i = 0; i < j; ++i) {
      below += term;  // term = C(n, i) / 2^n
      term = term * static_cast<double>(n - i) / static_cast<double>(i + 1);
    }
    return 1 - 2 * below;
  };
  std::size_t j = 1;  // 1-based rank of the lower bound
  while (2 * (j + 1) <= n + 1 && level(j + 1) >= 0.95) ++j;
  s.ci_low = v[j - 1];
  s.ci_high = v[n - j];
  s.ci_level = level(j);
  return s;
}

}  // namespace allocmark
