// Clock calibration: invariant-TSC detection, TSC frequency against
// CLOCK_MONOTONIC, resolution and read overhead, and the test spin-wait.
#include "bench/probes/clock.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#ifdef ALLOCMARK_HAVE_TSC
#include <cpuid.h>
#endif

namespace allocmark {
namespace {

// Long enough that the ~100 ns uncertainty of each reference read is a few
// ppm of the interval; three tries keep the whole calibration under 100 ms.
constexpr std::uint64_t kFrequencyIntervalNs = 20'000'000;
constexpr int kFrequencyTries = 3;
// Reads per reference point: the one with the tightest TSC bracket wins, which
// filters out the reads an interrupt or preemption landed in.
constexpr int kBracketReads = 64;
constexpr int kIntervalSamples = 10'001;

bool CpuinfoHasInvariantTsc() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream flags(line.substr(line.find(':') + 1));
    bool constant = false, nonstop = false;
    for (std::string flag; flags >> flag;) {
      constant |= flag == "constant_tsc";
      nonstop |= flag == "nonstop_tsc";
    }
    return constant && nonstop;
  }
  return false;
}

#ifdef ALLOCMARK_HAVE_TSC
// A TSC value taken at the same instant as a CLOCK_MONOTONIC value.
struct ReferencePoint {
  double tsc;
  std::uint64_t mono_ns;
  std::uint64_t bracket_ticks;  // width of the TSC reads around mono_ns
};

ReferencePoint TakeReferencePoint() {
  ReferencePoint best{0, 0, UINT64_MAX};
  for (int i = 0; i < kBracketReads; ++i) {
    std::uint64_t before = TscClock::Now();
    std::uint64_t mono = MonotonicClock::Now();
    std::uint64_t after = TscClock::Now();
    if (after - before < best.bracket_ticks) {
      best = {before + (after - before) / 2.0, mono, after - before};
    }
  }
  return best;
}

// Returns ticks per ns and sets rel_error to the uncertainty of the estimate
// from the attempt with the tightest brackets.
double MeasureTscFrequency(double& rel_error) {
  double best_rate = 0;
  rel_error = INFINITY;
  for (int i = 0; i < kFrequencyTries; ++i) {
    ReferencePoint start = TakeReferencePoint();
    while (MonotonicClock::Now() - start.mono_ns < kFrequencyIntervalNs) {
    }
    ReferencePoint end = TakeReferencePoint();
    double ticks = end.tsc - start.tsc;
    double error = (start.bracket_ticks + end.bracket_ticks) / 2.0 / ticks;
    if (error < rel_error) {
      rel_error = error;
      best_rate = ticks / static_cast<double>(end.mono_ns - start.mono_ns);
    }
  }
  return best_rate;
}
#endif

template <TickClock Clock>
internal::IntervalStats MeasureIntervals() {
  std::vector<std::uint64_t> samples(kIntervalSamples);
  for (auto& s : samples) {
    std::uint64_t a = Clock::Now();
    std::uint64_t b = Clock::Now();
    s = b - a;
  }
  return internal::SummarizeIntervals(samples);
}

template <TickClock Clock>
void SpinTicks(std::uint64_t ticks) {
  const std::uint64_t start = Clock::Now();
  while (Clock::Now() - start < ticks) {
  }
}

}  // namespace

namespace internal {

// Overhead is the median, not the mean: interrupts put a long tail on empty
// intervals and the engine wants the typical cost a sample paid.
// Resolution is the counter's step, not the shortest interval: a fenced read
// can cost more than one step (here rdtsc moves in 26-tick steps while a read
// pair spans 52 or 78), so it is the smallest gap between interval values
// that recur. Values seen in under 0.1 % of pairs are dropped so a stray
// interval cannot fake a finer step.
IntervalStats SummarizeIntervals(std::span<std::uint64_t> intervals) {
  if (intervals.empty()) return {1, 0};
  std::sort(intervals.begin(), intervals.end());
  const std::size_t min_repeats =
      std::max<std::size_t>(1, intervals.size() / 1000);
  std::uint64_t smallest_nonzero = UINT64_MAX, step = UINT64_MAX;
  bool have_previous = false;
  std::uint64_t previous = 0;  // last recurring value
  for (auto run = intervals.begin(); run != intervals.end();) {
    auto run_end = std::upper_bound(run, intervals.end(), *run);
    if (static_cast<std::size_t>(run_end - run) >= min_repeats) {
      if (*run != 0) smallest_nonzero = std::min(smallest_nonzero, *run);
      if (have_previous) step = std::min(step, *run - previous);
      have_previous = true;
      previous = *run;
    }
    run = run_end;
  }
  // One recurring value: the step is no coarser than it. None non-zero: the
  // clock never moved in a read pair; 1 tick is the honest floor, not 0.
  if (step == UINT64_MAX) step = smallest_nonzero;
  if (step == UINT64_MAX) step = 1;
  return {step, intervals[intervals.size() / 2]};
}

}  // namespace internal

const char* ClockCalibration::SourceName() const {
  return source == ClockSource::kTsc ? "tsc" : "clock_gettime";
}

std::uint64_t ClockCalibration::NsToTicks(double ns) const {
  return static_cast<std::uint64_t>(std::ceil(ns * ticks_per_ns));
}

bool HasInvariantTsc() {
#ifdef ALLOCMARK_HAVE_TSC
  unsigned eax, ebx, ecx, edx;
  if (__get_cpuid_max(0x80000000, nullptr) >= 0x80000007 &&
      __get_cpuid(0x80000007, &eax, &ebx, &ecx, &edx) && (edx & (1u << 8))) {
    return true;
  }
  return CpuinfoHasInvariantTsc();
#else
  return false;
#endif
}

ClockSource PreferredClockSource() {
  return HasInvariantTsc() ? ClockSource::kTsc : ClockSource::kMonotonic;
}

ClockCalibration Calibrate(ClockSource source) {
  ClockCalibration cal;
#ifdef ALLOCMARK_HAVE_TSC
  if (source == ClockSource::kTsc) {
    cal.source = ClockSource::kTsc;
    cal.ticks_per_ns = MeasureTscFrequency(cal.ticks_per_ns_rel_error);
  }
#else
  (void)source;
#endif
  return CalibrateWithFrequency(cal);
}

ClockCalibration CalibrateWithFrequency(ClockCalibration cal) {
  WithClock(cal.source, [&cal]<TickClock Clock>(Clock) {
    const internal::IntervalStats stats = MeasureIntervals<Clock>();
    cal.resolution_ticks = stats.resolution;
    cal.overhead_ticks = stats.overhead;
  });
  cal.resolution_ns = cal.TicksToNs(cal.resolution_ticks);
  cal.overhead_ns = cal.TicksToNs(cal.overhead_ticks);
  return cal;
}

ClockCalibration Calibrate() { return Calibrate(PreferredClockSource()); }

const ClockCalibration& ProcessClock() {
  static const ClockCalibration cal = Calibrate();
  return cal;
}

void SpinFor(const ClockCalibration& cal, std::uint64_t ns) {
  // Stretched by the frequency uncertainty so the wait is at least `ns` on
  // CLOCK_MONOTONIC too, not merely on the calibrated estimate of it.
  const std::uint64_t ticks =
      cal.NsToTicks(static_cast<double>(ns) * (1 + cal.ticks_per_ns_rel_error));
  WithClock(cal.source,
            [ticks]<TickClock Clock>(Clock) { SpinTicks<Clock>(ticks); });
}

void SpinFor(std::uint64_t ns) { SpinFor(ProcessClock(), ns); }

}  // namespace allocmark
