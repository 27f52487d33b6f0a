// Tests for the benchmark clock: calibration figures are plausible, the step
// is found on synthetic lattices and on this machine's own intervals, tick
// conversion is monotonic, and SpinFor waits at least as long as asked.
#include "bench/probes/clock.h"

#include <gtest/gtest.h>
#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <vector>

namespace allocmark {
namespace {

// Wall-clock ns on CLOCK_MONOTONIC, read independently of the clock types.
std::uint64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + ts.tv_nsec;
}

// Calibration is ~70 ms; do it once per source for the whole suite.
const ClockCalibration& Tsc() {
  static const ClockCalibration cal = Calibrate(ClockSource::kTsc);
  return cal;
}
const ClockCalibration& Monotonic() {
  static const ClockCalibration cal = Calibrate(ClockSource::kMonotonic);
  return cal;
}

void ExpectSane(const ClockCalibration& cal) {
  EXPECT_GE(cal.resolution_ticks, 1.0);
  EXPECT_GT(cal.resolution_ns, 0.0);
  EXPECT_GE(cal.overhead_ns, 0.0);
  EXPECT_DOUBLE_EQ(cal.resolution_ns, cal.resolution_ticks / cal.ticks_per_ns);
  EXPECT_DOUBLE_EQ(cal.overhead_ns, cal.TicksToNs(cal.overhead_ticks));
}

TEST(Clock, PreferredSourceFollowsInvariantTsc) {
  EXPECT_EQ(PreferredClockSource(),
            HasInvariantTsc() ? ClockSource::kTsc : ClockSource::kMonotonic);
  EXPECT_EQ(Calibrate().source, PreferredClockSource());
}

TEST(Clock, MonotonicCalibrationIsNsExactly) {
  const ClockCalibration& cal = Monotonic();
  EXPECT_EQ(cal.source, ClockSource::kMonotonic);
  EXPECT_STREQ(cal.SourceName(), "clock_gettime");
  EXPECT_EQ(cal.ticks_per_ns, 1.0);
  EXPECT_EQ(cal.ticks_per_ns_rel_error, 0.0);
  ExpectSane(cal);
}

TEST(Clock, TscCalibrationIsPlausible) {
  if (!HasInvariantTsc()) GTEST_SKIP() << "no invariant TSC on this machine";
  const ClockCalibration& cal = Tsc();
  EXPECT_EQ(cal.source, ClockSource::kTsc);
  EXPECT_STREQ(cal.SourceName(), "tsc");
  // A deliberately wide band: catches unit mix-ups (Hz vs GHz), not drift.
  EXPECT_GT(cal.ticks_per_ns, 0.1);
  EXPECT_LT(cal.ticks_per_ns, 10.0);
  EXPECT_GE(cal.ticks_per_ns_rel_error, 0.0);
  EXPECT_LT(cal.ticks_per_ns_rel_error, 0.01);
  ExpectSane(cal);
}

TEST(Clock, TscTicksAdvanceWithMonotonicTime) {
  if (!HasInvariantTsc()) GTEST_SKIP() << "no invariant TSC on this machine";
  const std::uint64_t t0 = TscClock::Now();
  const std::uint64_t m0 = MonotonicNs();
  while (MonotonicNs() - m0 < 1'000'000) {
  }
  // One-sided: 1 ms passed, so the TSC must have moved by a visible amount.
  EXPECT_GT(TscClock::Now() - t0, Tsc().NsToTicks(500'000));
}

// Intervals of a counter that advances in steps of `step` ticks: an interval
// spanning k steps, started at a uniformly random phase, reads as
// floor(x + k * step) - floor(x).
std::vector<std::uint64_t> LatticeIntervals(double step,
                                            std::vector<int> multiples,
                                            std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> phase(0.0, 1e6);
  std::vector<std::uint64_t> v;
  for (std::size_t i = 0; i < n; ++i) {
    const double x = phase(rng);
    const int k = multiples[i % multiples.size()];
    v.push_back(static_cast<std::uint64_t>(std::floor(x + k * step)) -
                static_cast<std::uint64_t>(std::floor(x)));
  }
  return v;
}

std::vector<int> Range(int from, int to) {
  std::vector<int> out;
  for (int k = from; k <= to; ++k) out.push_back(k);
  return out;
}

TEST(FindClockStep, NonIntegerStepFromSweptMultiples) {
  // The 2.445 GHz TSC of issue 14: 10 ns steps are 24.45 ticks.
  auto v = LatticeIntervals(24.45, Range(2, 12), 20000, 1);
  EXPECT_NEAR(internal::FindClockStep(v), 24.45, 0.1);
}

TEST(FindClockStep, NonIntegerStepFromTwoAdjacentMultiples) {
  // Read pairs alone: 48/49 (two steps) and 73/74 (three steps). The gap
  // between 48 and 49 is not the step.
  auto v = LatticeIntervals(24.45, {2, 2, 3}, 10000, 2);
  v.insert(v.end(), 5, 9000);  // interrupted pairs
  EXPECT_NEAR(internal::FindClockStep(v), 24.45, 0.3);
}

TEST(FindClockStep, TwoAdjacentValuesAreOneClusterNotAOneTickStep) {
  // The values that made the old reduction report 1 tick: when every pair
  // spans the same steps the step is unknown, and no coarser than the span.
  std::vector<std::uint64_t> v(5000, 49);
  v.insert(v.end(), 5000, 50);
  EXPECT_NEAR(internal::FindClockStep(v), 49.5, 1e-9);
}

TEST(FindClockStep, IntegerStep) {
  // 26-tick steps, a read pair spans 52 or 78 ticks, and a stray value.
  std::vector<std::uint64_t> v(6000, 52);
  v.insert(v.end(), 3990, 78);
  v.insert(v.end(), 5, 79);  // stray: must not make it 1
  v.insert(v.end(), 5, 9000);
  EXPECT_NEAR(internal::FindClockStep(v), 26.0, 1e-9);
  auto swept = LatticeIntervals(26.0, Range(1, 10), 20000, 3);
  EXPECT_NEAR(internal::FindClockStep(swept), 26.0, 1e-9);
}

TEST(FindClockStep, JitteredStepStillClusters) {
  // A step that wanders by +-1 tick gives three adjacent values per multiple.
  std::mt19937_64 rng(4);
  std::vector<std::uint64_t> v;
  for (int i = 0; i < 20000; ++i) {
    const int k = 2 + i % 8;
    v.push_back(static_cast<std::uint64_t>(21 * k) + rng() % 3 - 1);
  }
  EXPECT_NEAR(internal::FindClockStep(v), 21.0, 0.2);
}

TEST(FindClockStep, FineCounterIsOneTick) {
  // A TSC that ticks with the core: read pairs of 30-45 ticks, swept delays
  // of 0.93 ticks per loop iteration.
  std::mt19937_64 rng(5);
  std::normal_distribution<double> pair(38.0, 3.0);
  std::vector<std::uint64_t> v;
  for (int i = 0; i < 10000; ++i)
    v.push_back(static_cast<std::uint64_t>(std::max(0.0, pair(rng))));
  for (int d = 0; d < 10000; ++d)
    v.push_back(static_cast<std::uint64_t>(38 + (d * 97 % 256) * 0.93));
  EXPECT_EQ(internal::FindClockStep(v), 1.0);
}

TEST(FindClockStep, ClockGettimeInNanoseconds) {
  // CLOCK_MONOTONIC through the vDSO: ns ticks, reads of ~20 ns that vary.
  std::mt19937_64 rng(6);
  std::vector<std::uint64_t> v;
  for (int i = 0; i < 10000; ++i) v.push_back(17 + rng() % 9);
  for (int d = 0; d < 10000; ++d)
    v.push_back(static_cast<std::uint64_t>(20 + (d * 97 % 256) * 0.41 +
                                           static_cast<double>(rng() % 3)));
  EXPECT_EQ(internal::FindClockStep(v), 1.0);
  // A coarse CLOCK_MONOTONIC (1 us jiffy-like steps): zeros and one step.
  std::vector<std::uint64_t> coarse(7000, 0);
  coarse.insert(coarse.end(), 3000, 1000);
  EXPECT_NEAR(internal::FindClockStep(coarse), 1000.0, 1e-9);
}

TEST(FindClockStep, StepCoarserThanTheRead) {
  // Most pairs see 0, the rest one step of 10.
  std::vector<std::uint64_t> v(700, 0);
  v.insert(v.end(), 300, 10);
  EXPECT_NEAR(internal::FindClockStep(v), 10.0, 1e-9);
}

TEST(FindClockStep, DegenerateInputs) {
  std::vector<std::uint64_t> same(1000, 40);
  EXPECT_EQ(internal::FindClockStep(same), 40.0);
  std::vector<std::uint64_t> zeros(1000, 0);
  EXPECT_EQ(internal::FindClockStep(zeros), 1.0);
  EXPECT_EQ(internal::FindClockStep({}), 1.0);
}

TEST(MeanReadPairCost, StableWhereTheMedianJumpsAStep) {
  // Two processes whose read pairs span two steps 49 % and 51 % of the time:
  // their medians sit a whole step apart, their means 0.5 tick.
  auto a = LatticeIntervals(24.45, {2, 3}, 10000, 7);
  std::vector<int> mostly_two(100, 3);
  for (int i = 0; i < 51; ++i) mostly_two[i] = 2;
  auto b = LatticeIntervals(24.45, mostly_two, 10000, 8);
  const double mean_a = internal::MeanReadPairCost(a, 24.45);
  const double mean_b = internal::MeanReadPairCost(b, 24.45);
  EXPECT_NEAR(mean_a, 2.5 * 24.45, 0.5);
  EXPECT_NEAR(mean_a, mean_b, 1.0);
}

TEST(MeanReadPairCost, InterruptedPairsAreLeftOut) {
  std::vector<std::uint64_t> v(9990, 42);
  v.insert(v.end(), 10, 30000);
  EXPECT_DOUBLE_EQ(internal::MeanReadPairCost(v, 21.0), 42.0);
}

// The independent yardstick of /work/shared/tools/clock-step, in
// miniature: the largest step s (in 0.01-tick increments) such that every
// recurring interval lies within a tick of a multiple of s (CLOCK_MONOTONIC
// scaled from a 10 ns TSC step reads 29, 30 and 31 ns for three steps).
double LargestFittingLattice(const std::vector<std::uint64_t>& recurring) {
  double best = 1.0;
  const double limit = static_cast<double>(recurring.front());
  for (double s = 1.0; s <= limit; s += 0.01) {
    bool fits = true;
    for (std::uint64_t v : recurring) {
      const double d = static_cast<double>(v);
      if (std::abs(d - std::round(d / s) * s) > 1.0 + 1e-9) {
        fits = false;
        break;
      }
    }
    if (fits) best = s;
  }
  return best;
}

template <TickClock Clock>
void ExpectStepMatchesQuantisation(const ClockCalibration& cal) {
  // Timed segments of work that varies from 0 to ~250 ns, like the engine's,
  // measured with this test's own loop rather than the calibration's.
  std::mt19937_64 rng(9);
  std::vector<std::uint64_t> intervals;
  for (int i = 0; i < 20000; ++i) {
    const unsigned work = static_cast<unsigned>(rng() % 512);
    const std::uint64_t a = Clock::Now();
    for (unsigned j = 0; j < work; ++j) asm volatile("");
    intervals.push_back(Clock::Now() - a);
  }
  std::map<std::uint64_t, int> counts;
  for (std::uint64_t v : intervals) ++counts[v];
  std::vector<std::uint64_t> recurring;
  for (auto [v, n] : counts) {
    if (n >= 40 && v > 0) recurring.push_back(v);
  }
  ASSERT_FALSE(recurring.empty());
  const double yardstick = LargestFittingLattice(recurring);
  EXPECT_NEAR(cal.resolution_ticks, yardstick, std::max(2.0, 0.03 * yardstick))
      << "calibrated step " << cal.resolution_ticks << " ticks, intervals sit "
      << "on a lattice of " << yardstick;
}

TEST(Clock, TscStepMatchesQuantisationOfMeasuredIntervals) {
  if (!HasInvariantTsc()) GTEST_SKIP() << "no invariant TSC on this machine";
  ExpectStepMatchesQuantisation<TscClock>(Tsc());
}

TEST(Clock, MonotonicStepMatchesQuantisationOfMeasuredIntervals) {
  ExpectStepMatchesQuantisation<MonotonicClock>(Monotonic());
}

TEST(Clock, TicksToNsIsMonotonic) {
  for (const ClockCalibration* cal : {&Tsc(), &Monotonic()}) {
    double previous = cal->TicksToNs(0);
    EXPECT_EQ(previous, 0.0);
    for (std::uint64_t t = 1; t != 0 && t < UINT64_MAX / 3; t = t * 3 + 1) {
      for (std::uint64_t d : {std::uint64_t{0}, std::uint64_t{1}}) {
        const double ns = cal->TicksToNs(t + d);
        EXPECT_GE(ns, previous) << t + d;
        previous = ns;
      }
    }
    EXPECT_GE(cal->TicksToNs(UINT64_MAX), previous);
  }
}

TEST(Clock, NsToTicksRoundsUp) {
  ClockCalibration cal;
  cal.ticks_per_ns = 2.5;
  EXPECT_EQ(cal.NsToTicks(0), 0u);
  EXPECT_EQ(cal.NsToTicks(1), 3u);
  EXPECT_EQ(cal.NsToTicks(2), 5u);
  EXPECT_GE(cal.TicksToNs(cal.NsToTicks(7)), 7.0);
}

TEST(Clock, WithClockDispatchesOnSource) {
  auto source_of = [](auto clock) { return decltype(clock)::kSource; };
  EXPECT_EQ(WithClock(ClockSource::kMonotonic, source_of),
            ClockSource::kMonotonic);
#ifdef ALLOCMARK_HAVE_TSC
  EXPECT_EQ(WithClock(ClockSource::kTsc, source_of), ClockSource::kTsc);
#endif
}

TEST(Clock, SpinForWaitsAtLeastTheRequestedTime) {
  constexpr std::uint64_t kSpinNs = 200'000;
  // Lower bound only: a noisy machine may stretch the wait, never shorten it.
  for (const ClockCalibration* cal : {&Tsc(), &Monotonic()}) {
    for (int i = 0; i < 5; ++i) {
      const std::uint64_t start = MonotonicNs();
      SpinFor(*cal, kSpinNs);
      EXPECT_GE(MonotonicNs() - start, kSpinNs) << cal->SourceName();
    }
  }
  const std::uint64_t start = MonotonicNs();
  SpinFor(kSpinNs);
  EXPECT_GE(MonotonicNs() - start, kSpinNs);
}

}  // namespace
}  // namespace allocmark
