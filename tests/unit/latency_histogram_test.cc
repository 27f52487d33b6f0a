// Tests for the log-linear latency histogram: the fixed bucket layout, exact
// aggregates, merging, weighting and the percentile error bound.
#include "bench/probes/latency_histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

namespace allocmark {
namespace {

// The error bound Percentile documents for values at or above 128 ticks.
constexpr double kMaxRelativeError = 1.0 / 128;

// Nearest-rank percentile of the raw samples: what Percentile approximates.
std::uint64_t ExactPercentile(std::vector<std::uint64_t> v, double q) {
  std::sort(v.begin(), v.end());
  std::size_t rank = static_cast<std::size_t>(std::ceil(q / 100 * v.size()));
  return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
}

// ~30 KB each: keep them off the test's stack.
std::unique_ptr<LatencyHistogram> NewHistogram() {
  return std::make_unique<LatencyHistogram>();
}

void ExpectSameHistogram(const LatencyHistogram& a, const LatencyHistogram& b) {
  EXPECT_EQ(a.count(), b.count());
  EXPECT_TRUE(a.sum() == b.sum());
  EXPECT_EQ(a.min(), b.min());
  EXPECT_EQ(a.max(), b.max());
  for (int i = 0; i < kBucketCount; ++i) {
    ASSERT_EQ(a.buckets()[i], b.buckets()[i]) << "bucket " << i;
  }
}

TEST(BucketLayout, SmallValuesMapToThemselves) {
  for (std::uint64_t v = 0; v < 128; ++v) {
    EXPECT_EQ(BucketIndex(v), static_cast<int>(v));
  }
  EXPECT_EQ(BucketIndex(128), 128);
  EXPECT_EQ(BucketIndex(129), 128);
  EXPECT_EQ(BucketIndex(130), 129);
  EXPECT_EQ(BucketIndex(255), 191);
  EXPECT_EQ(BucketIndex(256), 192);
  EXPECT_EQ(BucketIndex(UINT64_MAX), kBucketCount - 1);
}

TEST(BucketLayout, BoundsInvertIndexOverWholeRange) {
  for (int i = 0; i < kBucketCount; ++i) {
    const std::uint64_t lo = BucketLowerBound(i);
    const std::uint64_t hi = BucketUpperBound(i);
    ASSERT_LE(lo, hi) << i;
    ASSERT_EQ(BucketIndex(lo), i);
    ASSERT_EQ(BucketIndex(hi), i);
    if (i + 1 < kBucketCount) {
      // Buckets tile the range: no gap, no overlap.
      ASSERT_EQ(BucketLowerBound(i + 1), hi + 1) << i;
    }
    // Width bounded by 1/64 of the lower bound: the layout's error promise.
    if (lo >= 128) {
      ASSERT_LE(hi - lo + 1, lo / 64) << i;
    }
  }
  EXPECT_EQ(BucketLowerBound(0), 0u);
  EXPECT_EQ(BucketUpperBound(kBucketCount - 1), UINT64_MAX);
}

TEST(BucketLayout, RandomValuesLieInsideTheirBucket) {
  std::mt19937_64 rng(42);
  for (int n = 0; n < 100000; ++n) {
    const std::uint64_t v = rng() >> (rng() % 64);
    const int i = BucketIndex(v);
    ASSERT_LE(BucketLowerBound(i), v);
    ASSERT_GE(BucketUpperBound(i), v);
  }
}

TEST(LatencyHistogram, EmptyIsAllZero) {
  auto h = NewHistogram();
  EXPECT_EQ(h->count(), 0u);
  EXPECT_EQ(h->min(), 0u);
  EXPECT_EQ(h->max(), 0u);
  EXPECT_EQ(h->Percentile(50), 0u);
  EXPECT_EQ(h->Mean(), 0.0);
  int buckets = 0;
  h->ForEachNonEmptyBucket([&](auto, auto, auto) { ++buckets; });
  EXPECT_EQ(buckets, 0);
}

TEST(LatencyHistogram, ZeroFilledMemoryIsAnEmptyHistogram) {
  // The engine places histograms in zero-filled mmap'd memory.
  alignas(LatencyHistogram) static unsigned char raw[sizeof(LatencyHistogram)];
  std::memset(raw, 0, sizeof raw);
  LatencyHistogram* h = reinterpret_cast<LatencyHistogram*>(raw);
  h->Record(500);
  h->Record(7);
  EXPECT_EQ(h->count(), 2u);
  EXPECT_EQ(h->min(), 7u);
  EXPECT_EQ(h->max(), 500u);
}

TEST(LatencyHistogram, KnownInputsGiveExactAggregates) {
  auto h = NewHistogram();
  for (std::uint64_t v : {40u, 3u, 1000u, 40u, 77777u}) h->Record(v);
  EXPECT_EQ(h->count(), 5u);
  EXPECT_TRUE(h->sum() == 40 + 3 + 1000 + 40 + 77777);
  EXPECT_EQ(h->min(), 3u);
  EXPECT_EQ(h->max(), 77777u);
  EXPECT_DOUBLE_EQ(h->Mean(), (40 + 3 + 1000 + 40 + 77777) / 5.0);
  EXPECT_EQ(h->buckets()[3], 1u);
  EXPECT_EQ(h->buckets()[40], 2u);
  EXPECT_EQ(h->buckets()[BucketIndex(1000)], 1u);
  EXPECT_EQ(h->buckets()[BucketIndex(77777)], 1u);

  std::vector<std::uint64_t> lowers, counts;
  h->ForEachNonEmptyBucket(
      [&](std::uint64_t lo, std::uint64_t hi, std::uint64_t n) {
        EXPECT_LE(lo, hi);
        lowers.push_back(lo);
        counts.push_back(n);
      });
  EXPECT_EQ(lowers, (std::vector<std::uint64_t>{
                        3, 40, BucketLowerBound(BucketIndex(1000)),
                        BucketLowerBound(BucketIndex(77777))}));
  EXPECT_EQ(counts, (std::vector<std::uint64_t>{1, 2, 1, 1}));
}

TEST(LatencyHistogram, PercentilesAreExactBelow128) {
  auto h = NewHistogram();
  std::vector<std::uint64_t> samples;
  for (std::uint64_t v = 1; v <= 100; ++v) {
    h->Record(v);
    samples.push_back(v);
  }
  for (double q : {1.0, 10.0, 50.0, 90.0, 99.0, 99.9}) {
    EXPECT_EQ(h->Percentile(q), ExactPercentile(samples, q)) << q;
  }
  EXPECT_EQ(h->Percentile(50), 50u);
  EXPECT_EQ(h->Percentile(90), 90u);
  EXPECT_EQ(h->Percentile(0), 1u);
  EXPECT_EQ(h->Percentile(100), 100u);
}

TEST(LatencyHistogram, DecimalPercentilesHitTheIntendedRank) {
  // 99.9 % of 1000 is rank 999 exactly; binary rounding must not make it 1000.
  auto h = NewHistogram();
  for (std::uint64_t v = 0; v < 999; ++v) h->Record(5);
  h->Record(100);
  EXPECT_EQ(h->Percentile(99.9), 5u);
  EXPECT_EQ(h->Percentile(99.91), 100u);
}

TEST(LatencyHistogram, PercentileEndsAreExactMinAndMax) {
  auto h = NewHistogram();
  // Min and max sit inside wide buckets, away from the midpoints.
  h->Record(1'000'001);
  h->Record(5'000'000);
  h->Record(987'654'321);
  EXPECT_EQ(h->Percentile(0), 1'000'001u);
  EXPECT_EQ(h->Percentile(100), 987'654'321u);
}

void ExpectPercentilesWithinBound(const std::vector<std::uint64_t>& samples) {
  auto h = NewHistogram();
  for (std::uint64_t v : samples) h->Record(v);
  for (double q : {0.0, 1.0, 25.0, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
    const double exact = static_cast<double>(ExactPercentile(samples, q));
    const double got = static_cast<double>(h->Percentile(q));
    EXPECT_LE(std::abs(got - exact), exact * kMaxRelativeError)
        << "q=" << q << " exact=" << exact << " got=" << got;
  }
}

TEST(LatencyHistogram, UniformPercentilesWithinErrorBound) {
  std::mt19937_64 rng(1);
  std::uniform_int_distribution<std::uint64_t> dist(10, 1'000'000);
  std::vector<std::uint64_t> samples(200'000);
  for (auto& v : samples) v = dist(rng);
  ExpectPercentilesWithinBound(samples);
}

TEST(LatencyHistogram, BimodalPercentilesWithinErrorBound) {
  // 90 / 9 / 1 % around 300, 3000 and 30000 ticks, with a little jitter.
  std::mt19937_64 rng(2);
  std::vector<std::uint64_t> samples;
  for (int i = 0; i < 100'000; ++i) {
    const int bin = i % 100;
    const std::uint64_t base = bin < 90 ? 300 : bin < 99 ? 3000 : 30000;
    samples.push_back(base + rng() % (base / 10));
  }
  ExpectPercentilesWithinBound(samples);

  auto h = NewHistogram();
  for (std::uint64_t v : samples) h->Record(v);
  // Each percentile must land in the right mode.
  EXPECT_LT(h->Percentile(50), 400u);
  EXPECT_GT(h->Percentile(95), 2900u);
  EXPECT_LT(h->Percentile(95), 4000u);
  EXPECT_GT(h->Percentile(99.5), 29000u);
}

TEST(LatencyHistogram, MergeEqualsRecordingEverythingIntoOne) {
  auto a = NewHistogram(), b = NewHistogram(), all = NewHistogram();
  std::mt19937_64 rng(3);
  for (int i = 0; i < 50'000; ++i) {
    const std::uint64_t v = rng() >> (rng() % 64);
    (i % 3 == 0 ? *a : *b).Record(v);
    all->Record(v);
  }
  a->Merge(*b);
  ExpectSameHistogram(*a, *all);

  // Merging an empty histogram changes nothing, min included.
  auto empty = NewHistogram();
  a->Merge(*empty);
  ExpectSameHistogram(*a, *all);
  empty->Merge(*all);
  ExpectSameHistogram(*empty, *all);
}

TEST(LatencyHistogram, WeightedRecordEqualsRepeatedRecord) {
  auto weighted = NewHistogram(), repeated = NewHistogram();
  for (std::uint64_t v : {17u, 250u, 9999u}) {
    weighted->Record(v, 12);
    for (int i = 0; i < 12; ++i) repeated->Record(v);
  }
  weighted->Record(1, 0);  // weight 0 records nothing, not even a min
  ExpectSameHistogram(*weighted, *repeated);
}

TEST(LatencyHistogram, RecordMinusOverheadClampsAtZero) {
  auto h = NewHistogram();
  h->RecordMinusOverhead(100, 30);
  h->RecordMinusOverhead(20, 30);
  EXPECT_EQ(h->min(), 0u);
  EXPECT_EQ(h->max(), 70u);
  EXPECT_EQ(h->buckets()[0], 1u);
  EXPECT_EQ(h->buckets()[70], 1u);
  EXPECT_EQ(SubtractOverhead(30, 30), 0u);
}

TEST(LatencyHistogram, HugeValuesDoNotOverflow) {
  auto h = NewHistogram();
  h->Record(UINT64_MAX, UINT64_MAX / 2);
  h->Record(UINT64_MAX);
  h->Record(0);
  using Uint128 = LatencyHistogram::Uint128;
  const Uint128 expected = static_cast<Uint128>(UINT64_MAX) *
                           (static_cast<Uint128>(UINT64_MAX / 2) + 1);
  EXPECT_TRUE(h->sum() == expected);
  EXPECT_EQ(h->count(), UINT64_MAX / 2 + 2);
  EXPECT_EQ(h->max(), UINT64_MAX);
  EXPECT_EQ(h->min(), 0u);
  EXPECT_EQ(h->buckets()[kBucketCount - 1], UINT64_MAX / 2 + 1);
  // The midpoint of the top bucket, not a wrapped-around value.
  const std::uint64_t lo = BucketLowerBound(kBucketCount - 1);
  EXPECT_EQ(h->Percentile(50), lo + (UINT64_MAX - lo) / 2);
  EXPECT_EQ(h->Percentile(100), UINT64_MAX);
}

TEST(LatencyHistogram, ResetEmpties) {
  auto h = NewHistogram();
  h->Record(1234);
  h->Reset();
  ExpectSameHistogram(*h, *NewHistogram());
}

TEST(LatencySummary, ConvertsTicksToNs) {
  ClockCalibration clock;
  clock.source = ClockSource::kTsc;
  clock.ticks_per_ns = 2.0;
  auto h = NewHistogram();
  for (int i = 0; i < 100; ++i) h->Record(100);  // exact bucket: 50 ns
  h->Record(20);
  const LatencySummary s = Summarize(*h, clock);
  EXPECT_EQ(s.count, 101u);
  EXPECT_DOUBLE_EQ(s.min_ns, 10.0);
  EXPECT_DOUBLE_EQ(s.max_ns, 50.0);
  EXPECT_DOUBLE_EQ(s.p50_ns, 50.0);
  EXPECT_DOUBLE_EQ(s.p9999_ns, 50.0);
  EXPECT_DOUBLE_EQ(s.mean_ns, (100.0 * 100 + 20) / 101 / 2);
  EXPECT_EQ(Summarize(*NewHistogram(), clock).count, 0u);
}

}  // namespace
}  // namespace allocmark
