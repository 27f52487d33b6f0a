// Tests for the benchmark clock: calibration figures are plausible, tick
// conversion is monotonic, and SpinFor waits at least as long as asked.
#include "bench/probes/clock.h"

#include <gtest/gtest.h>
#include <time.h>

#include <cstdint>
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
  EXPECT_GT(cal.resolution_ticks, 0u);
  EXPECT_GT(cal.resolution_ns, 0.0);
  EXPECT_GE(cal.overhead_ns, 0.0);
  EXPECT_DOUBLE_EQ(cal.resolution_ns, cal.TicksToNs(cal.resolution_ticks));
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

TEST(SummarizeIntervals, FindsStepCoarserThanOneRead) {
  // This machine's TSC: 26-tick steps, a read pair spans 52 or 78 ticks, and
  // an interrupt now and then.
  std::vector<std::uint64_t> v;
  for (int i = 0; i < 6000; ++i) v.push_back(52);
  for (int i = 0; i < 3990; ++i) v.push_back(78);
  for (int i = 0; i < 5; ++i) v.push_back(79);  // stray: must not make it 1
  for (int i = 0; i < 5; ++i) v.push_back(9000);
  const internal::IntervalStats s = internal::SummarizeIntervals(v);
  EXPECT_EQ(s.resolution, 26u);
  EXPECT_EQ(s.overhead, 52u);
}

TEST(SummarizeIntervals, FineClockWithZeroIntervals) {
  // A clock faster than its step: most pairs see 0, the rest one step of 10.
  std::vector<std::uint64_t> v(700, 0);
  v.insert(v.end(), 300, 10);
  const internal::IntervalStats s = internal::SummarizeIntervals(v);
  EXPECT_EQ(s.resolution, 10u);
  EXPECT_EQ(s.overhead, 0u);
}

TEST(SummarizeIntervals, SingleValueAndDegenerateInputs) {
  std::vector<std::uint64_t> same(1000, 40);
  EXPECT_EQ(internal::SummarizeIntervals(same).resolution, 40u);
  std::vector<std::uint64_t> zeros(1000, 0);
  EXPECT_EQ(internal::SummarizeIntervals(zeros).resolution, 1u);
  EXPECT_EQ(internal::SummarizeIntervals({}).resolution, 1u);
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
