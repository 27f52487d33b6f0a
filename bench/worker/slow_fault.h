// Test-only fault ALLOCMARK_TEST_FAULT=slow:<adapter>:<percent>: the adapter's
// calls do real extra work, so the CI gate can be shown to catch a slowdown.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "allocators/allocator.h"
#include "bench/probes/clock.h"
#include "bench/replay/cell_runner.h"
#include "bench/spec/rng.h"
#include "bench/spec/size_sampler.h"

namespace allocmark {

/// The percent of `slow:<adapter>:<percent>` when the fault names `adapter`,
/// else nullopt. A malformed percent is ignored like any other fault.
inline std::optional<double> SlowFaultPercent(const std::string& adapter) {
  const char* env = std::getenv("ALLOCMARK_TEST_FAULT");
  const std::string prefix = "slow:" + adapter + ":";
  if (env == nullptr ||
      std::string_view(env).substr(0, prefix.size()) != prefix)
    return std::nullopt;
  char* end = nullptr;
  const double pct = std::strtod(env + prefix.size(), &end);
  if (*end != '\0' || !(pct > 0) || pct > 1000) return std::nullopt;
  return pct;
}

namespace internal {

// A dependent multiply-add chain: the compiler can neither drop nor vectorise
// it, so each step costs the same instructions and cycles on every run.
inline void SpinSteps(std::uint32_t steps) {
  std::uint64_t x = steps;
  for (std::uint32_t i = 0; i < steps; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    asm volatile("" : "+r"(x));
  }
}

}  // namespace internal

/// Steps are counted in 1/256: a 5 % slowdown of a 20 ns call is less than
/// one step, so each call adds its share and spins the whole steps carried.
inline constexpr std::uint32_t kStepFraction = 256;

/// `A` with `steps`/256 spin steps after each call, on average. A wrapper,
/// so unfaulted runs replay the adapter itself and their hot loop does not
/// change.
template <Allocator A>
class SlowedAdapter {
 public:
  static constexpr std::string_view kName = A::kName;
  SlowedAdapter(A* inner, std::uint32_t steps) : inner_(inner), steps_(steps) {}

  void* Allocate(std::size_t n, std::size_t align) {
    void* p = inner_->Allocate(n, align);
    Spin();
    return p;
  }
  void Deallocate(void* p, std::size_t n, std::size_t align) {
    inner_->Deallocate(p, n, align);
    Spin();
  }
  void* Reallocate(void* p, std::size_t old_n, std::size_t new_n) {
    void* q = inner_->Reallocate(p, old_n, new_n);
    Spin();
    return q;
  }
  std::size_t UsableSize(void* p) { return inner_->UsableSize(p); }
  std::string Version() { return inner_->Version(); }
  IdentityReport CheckIdentity() { return inner_->CheckIdentity(); }
  std::vector<AllocatorStat> Stats() requires HasStats<A> {
    return inner_->Stats();
  }
  void Purge() requires HasPurge<A> { inner_->Purge(); }
  bool ThreadInit() requires HasThreadInit<A> { return inner_->ThreadInit(); }

 private:
  // Per thread, so the steps each thread spins depend on its calls alone.
  void Spin() {
    static thread_local std::uint32_t carry = 0;
    carry += steps_;
    internal::SpinSteps(carry / kStepFraction);
    carry %= kStepFraction;
  }
  A* inner_;
  std::uint32_t steps_;
};

/// Spin steps per call, in 1/256, worth `percent` % of one call of `alloc` on
/// the workload's first-phase sizes, timed like the batch probe (median of 7
/// rounds of 256 allocations and frees) against timed spins. Approximate by
/// design; the gate measurement reports the change each tier really saw.
template <Allocator A, class Clock>
std::uint32_t SlowStepsFor(A& alloc, const SizeSpec& sizes, double percent,
                           const ClockCalibration& clock) {
  constexpr int kBlocks = 256, kRounds = 7;
  constexpr std::uint32_t kSpin = 1 << 16;
  SizeSampler sampler(sizes);
  Rng rng(0x736c6f77ULL);
  std::uint64_t size[kBlocks];
  void* block[kBlocks];
  for (auto& s : size)
    s = std::min<std::uint64_t>(sampler.Sample(rng), 1 << 20);
  const std::size_t align = sizes.align > 16 ? sizes.align : 0;
  std::vector<double> op_ns, step_ns;
  for (int round = 0; round < kRounds; ++round) {
    const std::uint64_t t0 = Clock::Now();
    for (int i = 0; i < kBlocks; ++i) block[i] = alloc.Allocate(size[i], align);
    for (int i = 0; i < kBlocks; ++i)
      if (block[i] != nullptr) alloc.Deallocate(block[i], size[i], align);
    const std::uint64_t t1 = Clock::Now();
    internal::SpinSteps(kSpin);
    const std::uint64_t t2 = Clock::Now();
    op_ns.push_back(clock.TicksToNs(t1 - t0) / (2 * kBlocks));
    step_ns.push_back(clock.TicksToNs(t2 - t1) / kSpin);
  }
  std::sort(op_ns.begin(), op_ns.end());
  std::sort(step_ns.begin(), step_ns.end());
  const double per_step = std::max(step_ns[kRounds / 2], 1e-3);
  return static_cast<std::uint32_t>(
      std::max(1.0, std::round(percent / 100 * op_ns[kRounds / 2] / per_step)));
}

/// Steps the runner measured in the native throughput pass and hands to the
/// callgrind pass: under valgrind the timing would be skewed (memory
/// accesses are simulated at a higher cost than arithmetic), so that pass
/// does the work the native one did.
inline std::optional<std::uint32_t> SlowStepsGiven() {
  const char* env = std::getenv("ALLOCMARK_TEST_FAULT_SLOW_STEPS");
  if (env == nullptr) return std::nullopt;
  char* end = nullptr;
  const unsigned long v = std::strtoul(env, &end, 10);
  if (*end != '\0' || v == 0 || v > (1u << 30)) return std::nullopt;
  return static_cast<std::uint32_t>(v);
}

/// RunCell on `alloc` slowed by `percent` %; the steps used go to `*steps`.
template <Allocator A, class Clock>
CellMeasurement RunSlowedCell(A& alloc, double percent,
                              const WorkloadSpec& spec,
                              const CellOptions& options,
                              const ClockCalibration& clock,
                              std::uint32_t* steps) {
  const std::optional<std::uint32_t> given = SlowStepsGiven();
  *steps = given ? *given
                 : SlowStepsFor<A, Clock>(alloc, spec.phases[0].sizes, percent,
                                          clock);
  static SlowedAdapter<A> slowed(&alloc, *steps);
  return RunCell<SlowedAdapter<A>, Clock>(slowed, spec, options);
}

}  // namespace allocmark
