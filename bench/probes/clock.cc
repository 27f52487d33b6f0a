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

// Read pairs with a delay of 0 .. kSweepSpan - 1 empty loop iterations
// between them. Back-to-back pairs may all land on one or two multiples of
// the step (a 24.45-tick step read in 49 or 50 ticks says nothing about
// whether the step is 49.5 ticks or 24.45); swept delays spread intervals
// over a dozen consecutive multiples, so the lattice shows.
constexpr unsigned kSweepSpan = 256;
constexpr unsigned kSweepStride = 97;  // coprime with the span: every delay

template <TickClock Clock>
internal::IntervalStats MeasureIntervals() {
  std::vector<std::uint64_t> pairs(kIntervalSamples);
  for (auto& s : pairs) {
    std::uint64_t a = Clock::Now();
    std::uint64_t b = Clock::Now();
    s = b - a;
  }
  std::vector<std::uint64_t> swept(kIntervalSamples);
  unsigned delay = 0;
  for (auto& s : swept) {
    delay = (delay + kSweepStride) % kSweepSpan;
    std::uint64_t a = Clock::Now();
    for (unsigned j = 0; j < delay; ++j) asm volatile("");
    std::uint64_t b = Clock::Now();
    s = b - a;
  }
  return internal::SummarizeIntervals(pairs, swept);
}

template <TickClock Clock>
void SpinTicks(std::uint64_t ticks) {
  const std::uint64_t start = Clock::Now();
  while (Clock::Now() - start < ticks) {
  }
}

}  // namespace

namespace internal {

// A counter that moves in steps of s ticks (s real: a 10 ns step of a
// 2.445 GHz TSC is 24.45 ticks) shows an interval spanning k steps as
// floor(k*s) or ceil(k*s) ticks, so the recurring values come in clusters
// of one or two adjacent values whose weighted centres sit on k*s (exactly,
// on average over the phase of the first read). The step is the slope of
// the centres against their multiple k. The gap between two recurring
// values is no estimate: 49 and 50 differ by 1 on a 24.45-tick lattice.
// Values seen in under 0.1 % of intervals are dropped so a stray interval
// cannot fake a cluster. A counter finer than two ticks shows long runs of
// adjacent values instead of clusters: its step is the counter's unit.
double FindClockStep(std::span<std::uint64_t> intervals) {
  if (intervals.empty()) return 1.0;
  std::sort(intervals.begin(), intervals.end());
  const std::size_t min_repeats =
      std::max<std::size_t>(1, intervals.size() / 1000);
  struct Cluster {
    double weighted_sum = 0, count = 0;
    std::uint64_t first = 0, last = 0;
  };
  std::vector<Cluster> clusters;
  for (auto run = intervals.begin(); run != intervals.end();) {
    auto run_end = std::upper_bound(run, intervals.end(), *run);
    const auto count = static_cast<std::size_t>(run_end - run);
    if (count >= min_repeats) {
      if (clusters.empty() || *run != clusters.back().last + 1)
        clusters.push_back({0, 0, *run, *run});
      Cluster& c = clusters.back();
      c.weighted_sum += static_cast<double>(*run) * static_cast<double>(count);
      c.count += static_cast<double>(count);
      c.last = *run;
    }
    run = run_end;
  }
  if (clusters.empty()) return 1.0;
  // A lattice of two ticks or more leaves at most three adjacent values per
  // multiple (two, plus one when the step jitters); longer runs holding most
  // intervals mean a fine counter.
  double total = 0, in_long_runs = 0;
  for (const Cluster& c : clusters) {
    total += c.count;
    if (c.last - c.first >= 3) in_long_runs += c.count;
  }
  if (2 * in_long_runs >= total) return 1.0;
  std::vector<double> centre;
  for (const Cluster& c : clusters) centre.push_back(c.weighted_sum / c.count);
  // One cluster: the clock never moved (step unknown, 1 tick is the honest
  // floor) or every interval spanned the same steps (the step is no coarser
  // than that span).
  if (centre.size() == 1) return std::max(centre[0], 1.0);
  double gap = INFINITY;
  for (std::size_t i = 1; i < centre.size(); ++i)
    gap = std::min(gap, centre[i] - centre[i - 1]);
  // Multiples relative to the first cluster, from the smallest gap, then
  // once more from the fitted slope; least squares over all clusters.
  double step = gap;
  for (int pass = 0; pass < 2; ++pass) {
    std::vector<double> k(centre.size(), 0.0);
    for (std::size_t i = 1; i < centre.size(); ++i)
      k[i] = k[i - 1] +
             std::max(1.0, std::round((centre[i] - centre[i - 1]) / step));
    double mean_k = 0, mean_c = 0;
    for (std::size_t i = 0; i < centre.size(); ++i) {
      mean_k += k[i];
      mean_c += centre[i];
    }
    mean_k /= static_cast<double>(centre.size());
    mean_c /= static_cast<double>(centre.size());
    double cov = 0, var = 0;
    for (std::size_t i = 0; i < centre.size(); ++i) {
      cov += (k[i] - mean_k) * (centre[i] - mean_c);
      var += (k[i] - mean_k) * (k[i] - mean_k);
    }
    step = cov / var;
  }
  return std::max(step, 1.0);
}

// The mean, not the median: a read pair spans two or three steps in
// proportions that vary from process to process, and the median jumps a
// whole step (10 ns) when the proportions cross one half, while the mean
// follows the pair's real cost. Interrupted pairs (median + 3 steps) are
// left out: one 10 us preemption in 10^4 pairs would add 1 ns.
double MeanReadPairCost(std::span<std::uint64_t> intervals, double step) {
  if (intervals.empty()) return 0.0;
  const auto mid = intervals.begin() + intervals.size() / 2;
  std::nth_element(intervals.begin(), mid, intervals.end());
  const double limit = static_cast<double>(*mid) + 3 * std::max(step, 1.0);
  double sum = 0, count = 0;
  for (std::uint64_t v : intervals) {
    if (static_cast<double>(v) > limit) continue;
    sum += static_cast<double>(v);
    ++count;
  }
  return sum / count;
}

IntervalStats SummarizeIntervals(std::span<std::uint64_t> pairs,
                                 std::span<std::uint64_t> swept) {
  std::vector<std::uint64_t> all(pairs.begin(), pairs.end());
  all.insert(all.end(), swept.begin(), swept.end());
  const double step = FindClockStep(all);
  return {step, MeanReadPairCost(pairs, step)};
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
    cal.overhead_ticks =
        static_cast<std::uint64_t>(std::llround(stats.overhead));
  });
  cal.resolution_ns = cal.resolution_ticks / cal.ticks_per_ns;
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
