// --batch auto: picks the smallest batch length K for which the clock's
// resolution is at most 5 % of a batch's duration on this allocator.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "allocators/allocator.h"
#include "bench/probes/clock.h"
#include "bench/replay/replay.h"
#include "bench/spec/rng.h"
#include "bench/spec/size_sampler.h"

namespace allocmark {

/// Times batches of allocations and frees of the workload's first-phase sizes
/// (outside the stream, before it starts) to estimate one op's cost, then
/// returns the smallest power of two K with resolution <= 5 % of K * cost.
template <Allocator A, class Clock>
std::uint32_t ProbeBatch(A& alloc, const SizeSpec& sizes,
                         const ClockCalibration& clock) {
  constexpr int kBlocks = 256, kRounds = 7;
  SizeSampler sampler(sizes);
  Rng rng(0x70726f6265ULL);
  std::uint64_t size[kBlocks];
  void* block[kBlocks];
  for (auto& s : size)
    s = std::min<std::uint64_t>(sampler.Sample(rng), 1 << 20);
  const std::size_t align = sizes.align > 16 ? sizes.align : 0;
  std::vector<double> per_op;
  for (int round = 0; round < kRounds; ++round) {
    const std::uint64_t t0 = Clock::Now();
    for (int i = 0; i < kBlocks; ++i) block[i] = alloc.Allocate(size[i], align);
    const std::uint64_t t1 = Clock::Now();
    for (int i = 0; i < kBlocks; ++i) {
      if (block[i] != nullptr) alloc.Deallocate(block[i], size[i], align);
    }
    const std::uint64_t t2 = Clock::Now();
    per_op.push_back(clock.TicksToNs(std::min(t1 - t0, t2 - t1)) / kBlocks);
  }
  std::nth_element(per_op.begin(), per_op.begin() + kRounds / 2, per_op.end());
  const double op_ns = std::max(per_op[kRounds / 2], 0.1);
  std::uint32_t k = 1;
  while (k < kMaxBatch && clock.resolution_ns > 0.05 * k * op_ns) k *= 2;
  return k;
}

}  // namespace allocmark
