// Inverse-transform sampling for each size distribution; only +,*,log,exp,pow
// on doubles, which glibc computes identically on every x86-64 machine.
#include "bench/spec/size_sampler.h"

#include <algorithm>
#include <cmath>

namespace allocmark {

SizeSampler::SizeSampler(const SizeSpec& spec) : spec_(spec) {
  double sum = 0;
  for (const auto& entry : spec_.table)
    cumulative_.push_back(sum += entry.second);
}

std::uint64_t SizeSampler::Sample(Rng& rng) const {
  const double lo = static_cast<double>(spec_.min);
  const double hi = static_cast<double>(spec_.max);
  double x = lo;
  switch (spec_.dist) {
    case SizeDist::kFixed:
      return spec_.min;
    case SizeDist::kUniform:
      return spec_.min + rng.Below(spec_.max - spec_.min + 1);
    case SizeDist::kLogUniform:
      // Uniform in log(size) over [min, max + 1) so max is reachable.
      x = std::exp(std::log(lo) +
                   rng.Unit() * (std::log(hi + 1) - std::log(lo)));
      break;
    case SizeDist::kPareto:
    case SizeDist::kInverseSquare: {
      // Truncated Pareto on [min, max + 1): invert its CDF.
      const double a =
          spec_.dist == SizeDist::kInverseSquare ? 1.0 : spec_.alpha;
      const double u = rng.Unit();
      const double ratio = std::pow(lo / (hi + 1), a);
      x = lo / std::pow(1 - u * (1 - ratio), 1 / a);
      break;
    }
    case SizeDist::kTable: {
      const double r = rng.Unit() * cumulative_.back();
      const auto it =
          std::upper_bound(cumulative_.begin(), cumulative_.end(), r);
      const std::size_t i = std::min<std::size_t>(it - cumulative_.begin(),
                                                  cumulative_.size() - 1);
      return spec_.table[i].first;
    }
  }
  const auto size = static_cast<std::uint64_t>(x);
  return std::clamp(size, spec_.min, spec_.max);
}

}  // namespace allocmark
