// Log-linear latency histogram of tick values: the fixed bucket layout shared
// with the kernel driver, recording, merging, percentiles and the ns summary.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "bench/probes/clock.h"

namespace allocmark {

/// Values below 2^(kSubBucketBits + 1) get one bucket each; every power of two
/// above is split into 2^kSubBucketBits buckets, so a bucket is at most 1/64
/// of its lower bound wide. Part of the kernel ABI: never change.
inline constexpr int kSubBucketBits = 6;
inline constexpr int kBucketCount = 3776;

/// The bucket holding tick value v.
constexpr int BucketIndex(std::uint64_t v) {
  // v | 1 leaves the top bit alone and gives v == 0 msb 0, as the ABI says.
  const int msb = static_cast<int>(std::bit_width(v | 1)) - 1;
  const int shift = std::max(0, msb - kSubBucketBits);
  return (shift << kSubBucketBits) + static_cast<int>(v >> shift);
}

/// Smallest value in bucket i.
constexpr std::uint64_t BucketLowerBound(int i) {
  if (i < (2 << kSubBucketBits)) return static_cast<std::uint64_t>(i);
  const int shift = (i >> kSubBucketBits) - 1;
  const std::uint64_t mantissa =
      (i & ((1 << kSubBucketBits) - 1)) | (std::uint64_t{1} << kSubBucketBits);
  return mantissa << shift;
}

/// Largest value in bucket i (inclusive, so the last bucket can end at
/// UINT64_MAX).
constexpr std::uint64_t BucketUpperBound(int i) {
  const int shift = std::max(0, (i >> kSubBucketBits) - 1);
  return BucketLowerBound(i) + ((std::uint64_t{1} << shift) - 1);
}

static_assert(BucketIndex(UINT64_MAX) == kBucketCount - 1);
static_assert(BucketUpperBound(kBucketCount - 1) == UINT64_MAX);

/// `raw` minus the measured timer overhead, clamped at 0: a sample faster
/// than the median empty interval is noise around zero, not a wrap-around.
constexpr std::uint64_t SubtractOverhead(std::uint64_t raw,
                                         std::uint64_t overhead) {
  return raw > overhead ? raw - overhead : 0;
}

/// Latency samples in ticks. Fixed size (~30 KB), no heap, trivially
/// copyable, and all-zero bytes are a valid empty histogram, so the engine
/// may place one in zero-filled mmap'd memory before the run.
class LatencyHistogram {
 public:
  // __extension__ keeps -Wpedantic builds quiet about the non-ISO type.
  __extension__ using Uint128 = unsigned __int128;

  /// One sample; the hot-path call, branch-free.
  void Record(std::uint64_t ticks) {
    counts_[static_cast<std::size_t>(BucketIndex(ticks))] += 1;
    count_ += 1;
    sum_ += ticks;
    min_inverted_ = std::max(min_inverted_, ~ticks);
    max_ = std::max(max_, ticks);
  }

  /// `weight` samples of value `ticks`, for batched timing: a batch of K ops
  /// whose overhead-corrected total was T records Record(T / K, K). Weight 0
  /// records nothing.
  void Record(std::uint64_t ticks, std::uint64_t weight) {
    if (weight == 0) return;
    counts_[static_cast<std::size_t>(BucketIndex(ticks))] += weight;
    count_ += weight;
    sum_ += static_cast<Uint128>(ticks) * weight;
    min_inverted_ = std::max(min_inverted_, ~ticks);
    max_ = std::max(max_, ticks);
  }

  /// Record(SubtractOverhead(raw, overhead)): one timed op whose raw interval
  /// includes one read overhead.
  void RecordMinusOverhead(std::uint64_t raw, std::uint64_t overhead) {
    Record(SubtractOverhead(raw, overhead));
  }

  /// Adds every sample of `other`; the result equals having recorded both
  /// sample sets into one histogram.
  void Merge(const LatencyHistogram& other);
  void Reset() { *this = LatencyHistogram{}; }

  std::uint64_t count() const { return count_; }
  /// Exact sum of all samples in ticks (128 bits cannot overflow: at most
  /// 2^64 samples of at most 2^64 - 1 each).
  Uint128 sum() const { return sum_; }
  double Mean() const;
  /// Exact minimum and maximum; 0 when empty.
  std::uint64_t min() const { return count_ ? ~min_inverted_ : 0; }
  std::uint64_t max() const { return max_; }
  const std::array<std::uint64_t, kBucketCount>& buckets() const {
    return counts_;
  }

  /// The q-th percentile (0 <= q <= 100) in ticks, by nearest rank: the
  /// sample of rank max(1, ceil(q/100 * count)) in ascending order. Returns
  /// the midpoint of that sample's bucket clamped to [min, max], so the error
  /// is at most half a bucket width: exact below 128 ticks, at most 1/128
  /// (0.78 %) of the true value above. Percentile(0) is the exact min,
  /// Percentile(100) the exact max; an empty histogram gives 0.
  std::uint64_t Percentile(double q) const;

  /// Calls fn(lower, upper, count) for every non-empty bucket in ascending
  /// order; bounds are inclusive ticks.
  template <typename Fn>
  void ForEachNonEmptyBucket(Fn&& fn) const {
    for (int i = 0; i < kBucketCount; ++i) {
      if (counts_[i] != 0)
        fn(BucketLowerBound(i), BucketUpperBound(i), counts_[i]);
    }
  }

 private:
  std::array<std::uint64_t, kBucketCount> counts_{};
  std::uint64_t count_ = 0;
  // Stored as ~min so zero is the empty state and Record stays branch-free.
  std::uint64_t min_inverted_ = 0;
  std::uint64_t max_ = 0;
  Uint128 sum_ = 0;
};

static_assert(std::is_trivially_copyable_v<LatencyHistogram>);
static_assert(std::is_standard_layout_v<LatencyHistogram>);

/// What the console and JSON reporters print per op type, in ns.
struct LatencySummary {
  std::uint64_t count = 0;
  double mean_ns = 0;
  double min_ns = 0;
  double p50_ns = 0;
  double p90_ns = 0;
  double p99_ns = 0;
  double p999_ns = 0;
  double p9999_ns = 0;
  double max_ns = 0;
};

/// Converts `h`'s ticks to ns with `clock`; all zero when `h` is empty.
LatencySummary Summarize(const LatencyHistogram& h,
                         const ClockCalibration& clock);

}  // namespace allocmark
