// The benchmark clock: raw tick reads for the timed region (TSC or
// CLOCK_MONOTONIC) and the start-up calibration that turns ticks into ns.
#pragma once

#include <time.h>

#include <concepts>
#include <cstdint>
#include <span>

namespace allocmark {

/// Which hardware or OS counter the ticks come from.
enum class ClockSource : std::uint8_t {
  kTsc = 0,        ///< rdtsc; only chosen when the TSC is invariant
  kMonotonic = 1,  ///< clock_gettime(CLOCK_MONOTONIC); ticks are ns
};

/// A tick source the replay engine is instantiated on. Now() is the whole hot
/// path, so the engine picks the source once (WithClock) and then pays for
/// neither a virtual call nor a branch per read.
template <typename C>
concept TickClock = requires {
  { C::kSource } -> std::convertible_to<ClockSource>;
  { C::Now() } -> std::same_as<std::uint64_t>;
};

#if defined(__x86_64__) || defined(__i386__)
#define ALLOCMARK_HAVE_TSC 1

/// Time-stamp counter. A timed region is one allocator call of 10-100 ns, so
/// the read must neither start before earlier work retires nor let later work
/// start before it. lfence on both sides gives that, and the same sequence
/// serves as start and stop read, so the overhead subtracted from a sample is
/// exactly what the sample paid. rdtscp was rejected: it waits for earlier
/// instructions but lets later ones (the allocator call, at the start read)
/// run ahead of the read, which would shave time off the measurement. On AMD,
/// lfence is dispatch-serialising once the kernel sets MSR C001_1029[1],
/// which Linux does on every AMD CPU since the Spectre mitigations.
struct TscClock {
  static constexpr ClockSource kSource = ClockSource::kTsc;
  static std::uint64_t Now() {
    std::uint32_t lo, hi;
    // The memory clobber also stops the compiler moving loads and stores of
    // the timed call across the read.
    asm volatile("lfence\n\trdtsc\n\tlfence" : "=a"(lo), "=d"(hi)::"memory");
    return (static_cast<std::uint64_t>(hi) << 32) | lo;
  }
};
#endif

/// CLOCK_MONOTONIC in ns: the fallback when the TSC may change rate or stop.
/// Through the vDSO this costs ~20 ns and needs no calibration.
struct MonotonicClock {
  static constexpr ClockSource kSource = ClockSource::kMonotonic;
  static std::uint64_t Now() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
           static_cast<std::uint64_t>(ts.tv_nsec);
  }
};

/// Everything a result's context block records about the clock. Trivially
/// copyable so a worker can ship it whole.
struct ClockCalibration {
  ClockSource source = ClockSource::kMonotonic;
  double ticks_per_ns = 1.0;
  /// Relative uncertainty of ticks_per_ns (bracket width of the reference
  /// reads over the calibration interval); 0 for CLOCK_MONOTONIC.
  double ticks_per_ns_rel_error = 0.0;
  /// The counter's step: the spacing of the lattice interval values sit on.
  /// Not always a whole number of ticks (a 10 ns step of a 2.445 GHz TSC is
  /// 24.45 ticks), and may be finer than the shortest measurable interval,
  /// which is the overhead.
  double resolution_ticks = 0.0;
  double resolution_ns = 0.0;
  /// Mean of many empty intervals (two back-to-back reads) without the
  /// interrupted ones, rounded to a tick; the engine subtracts this from
  /// every sample.
  std::uint64_t overhead_ticks = 0;
  double overhead_ns = 0.0;

  /// "tsc" or "clock_gettime".
  const char* SourceName() const;
  double TicksToNs(std::uint64_t ticks) const {
    return static_cast<double>(ticks) / ticks_per_ns;
  }
  /// Rounds up, so a wait of NsToTicks(ns) ticks lasts at least ns.
  std::uint64_t NsToTicks(double ns) const;
};

/// True when CPUID (0x80000007 EDX bit 8) or /proc/cpuinfo (constant_tsc and
/// nonstop_tsc, for hypervisors that hide the CPUID bit) says the TSC ticks at
/// a constant rate through frequency changes and idle states.
bool HasInvariantTsc();

/// The TSC when it is invariant, else CLOCK_MONOTONIC.
ClockSource PreferredClockSource();

/// Measures frequency, resolution and read overhead of `source` (~70 ms).
/// A TSC request on a machine without one falls back to CLOCK_MONOTONIC.
ClockCalibration Calibrate(ClockSource source);
/// Measures resolution and overhead only (~1 ms), keeping `known`'s source
/// and frequency: workers reuse the runner's frequency calibration.
ClockCalibration CalibrateWithFrequency(ClockCalibration known);
/// Calibrate(PreferredClockSource()).
ClockCalibration Calibrate();

/// Calibrate(), run once per process on first use; thread-safe.
const ClockCalibration& ProcessClock();

/// Calls fn(TscClock{}) or fn(MonotonicClock{}) as `source` says: the one
/// runtime branch, taken before the engine's templated hot loop.
template <typename Fn>
decltype(auto) WithClock(ClockSource source, Fn&& fn) {
#ifdef ALLOCMARK_HAVE_TSC
  if (source == ClockSource::kTsc) return fn(TscClock{});
#else
  (void)source;
#endif
  return fn(MonotonicClock{});
}

/// Test support: busy-waits until at least `ns` have passed on `cal`'s clock.
/// Operations of the spin adapter use it to take a known time, so the whole
/// latency pipeline can be checked end to end.
void SpinFor(const ClockCalibration& cal, std::uint64_t ns);
/// SpinFor(ProcessClock(), ns).
void SpinFor(std::uint64_t ns);

namespace internal {

/// The counter's step in ticks, from intervals between pairs of reads
/// (reorders them): the spacing of the lattice their recurring values sit
/// on. Exposed so tests can feed it known step patterns.
double FindClockStep(std::span<std::uint64_t> intervals);

/// The mean cost of a read pair in ticks: the mean of `intervals` (empty
/// read pairs) without those an interrupt or preemption stretched beyond
/// the median plus three steps (reorders them).
double MeanReadPairCost(std::span<std::uint64_t> intervals, double step);

struct IntervalStats {
  double resolution;  ///< counter step, ticks
  double overhead;    ///< mean read-pair cost, ticks
};
/// FindClockStep over `swept` and `pairs` together, MeanReadPairCost over
/// `pairs`.
IntervalStats SummarizeIntervals(std::span<std::uint64_t> pairs,
                                 std::span<std::uint64_t> swept = {});

}  // namespace internal
}  // namespace allocmark
