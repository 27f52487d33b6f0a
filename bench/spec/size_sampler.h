// Draws block sizes from a SizeSpec: fixed, uniform, log-uniform, Pareto
// (power law, inverse-square) or an empirical (size, weight) table.
#pragma once

#include <cstdint>
#include <vector>

#include "bench/spec/rng.h"
#include "bench/spec/workload_spec.h"

namespace allocmark {

class SizeSampler {
 public:
  explicit SizeSampler(const SizeSpec& spec);
  std::uint64_t Sample(Rng& rng) const;

 private:
  SizeSpec spec_;
  std::vector<double> cumulative_;  // table: running weight sums
};

}  // namespace allocmark
