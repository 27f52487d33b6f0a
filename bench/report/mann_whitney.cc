// The Mann-Whitney U test over repetitions: exact null distribution without
// ties for small samples, normal approximation with tie correction otherwise.
#include "bench/report/mann_whitney.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace allocmark {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

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

}  // namespace allocmark
