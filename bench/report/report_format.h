// Small helpers the reporters share: the median of repetitions and printf-
// style number formatting. Reporters only; the engine never includes this.
#pragma once

#include <algorithm>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

namespace allocmark {

/// Median of `v`; `empty` when there is nothing to take it of.
inline double Median(std::vector<double> v,
                     double empty = std::numeric_limits<double>::quiet_NaN()) {
  if (v.empty()) return empty;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/// One number through a printf format, e.g. Fmt("%.1f", x).
inline std::string Fmt(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), fmt, v);
  return buf;
}

}  // namespace allocmark
