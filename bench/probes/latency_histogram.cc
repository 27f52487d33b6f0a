// LatencyHistogram's cold paths: merging, percentile search and the ns
// summary reporters print.
#include "bench/probes/latency_histogram.h"

#include <cmath>
#include <cstdint>

namespace allocmark {

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (int i = 0; i < kBucketCount; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_inverted_ = std::max(min_inverted_, other.min_inverted_);
  max_ = std::max(max_, other.max_);
}

double LatencyHistogram::Mean() const {
  return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0;
}

std::uint64_t LatencyHistogram::Percentile(double q) const {
  if (count_ == 0) return 0;
  if (q <= 0) return min();
  if (q >= 100) return max();
  // long double keeps ranks exact past 2^53 samples. q is a decimal like 99.9
  // that binary cannot hold, so q * count / 100 may land a hair above the
  // integer it means; the 1e-9 slack stops ceil turning that into rank + 1
  // (a genuine fraction is at least 1e-6 for q with up to 4 decimals).
  const long double rank_real = q * static_cast<long double>(count_) / 100;
  const auto rank = static_cast<std::uint64_t>(std::clamp<long double>(
      std::ceil(rank_real - 1e-9L), 1, static_cast<long double>(count_)));
  std::uint64_t seen = 0;
  for (int i = 0; i < kBucketCount; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      const std::uint64_t lower = BucketLowerBound(i);
      const std::uint64_t mid = lower + (BucketUpperBound(i) - lower) / 2;
      return std::clamp(mid, min(), max());
    }
  }
  return max();  // unreachable while counts_ sum to count_
}

LatencySummary Summarize(const LatencyHistogram& h,
                         const ClockCalibration& clock) {
  if (h.count() == 0) return {};
  auto ns = [&](double q) { return clock.TicksToNs(h.Percentile(q)); };
  return {
      .count = h.count(),
      .mean_ns = h.Mean() / clock.ticks_per_ns,
      .min_ns = clock.TicksToNs(h.min()),
      .p50_ns = ns(50),
      .p90_ns = ns(90),
      .p99_ns = ns(99),
      .p999_ns = ns(99.9),
      .p9999_ns = ns(99.99),
      .max_ns = clock.TicksToNs(h.max()),
  };
}

}  // namespace allocmark
