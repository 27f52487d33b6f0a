// Tests for SizeSampler: every draw lies in [min, max], fixed sizes are exact,
// table entries of weight zero never appear, and a seed fixes the sequence.
#include "bench/spec/size_sampler.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <vector>

#include "bench/spec/rng.h"
#include "bench/spec/workload_spec.h"

namespace allocmark {
namespace {

SizeSpec Range(SizeDist dist, std::uint64_t min, std::uint64_t max,
               double alpha = 1.0) {
  SizeSpec s;
  s.dist = dist;
  s.min = min;
  s.max = max;
  s.alpha = alpha;
  return s;
}

SizeSpec Table(std::vector<std::pair<std::uint64_t, double>> entries) {
  SizeSpec s;
  s.dist = SizeDist::kTable;
  s.table = std::move(entries);
  s.min = kMaxBlockSize;
  s.max = 0;
  for (const auto& [size, weight] : s.table) {
    s.min = std::min(s.min, size);
    s.max = std::max(s.max, size);
  }
  return s;
}

std::vector<std::uint64_t> Draw(const SizeSpec& spec, std::uint64_t seed,
                                int n) {
  SizeSampler sampler(spec);
  Rng rng(seed);
  std::vector<std::uint64_t> out;
  for (int i = 0; i < n; ++i) out.push_back(sampler.Sample(rng));
  return out;
}

TEST(SizeSampler, FixedReturnsTheSize) {
  for (std::uint64_t size : {std::uint64_t{1}, std::uint64_t{16},
                             std::uint64_t{4097}, kMaxBlockSize}) {
    for (std::uint64_t x : Draw(Range(SizeDist::kFixed, size, size), 3, 1000))
      ASSERT_EQ(x, size);
  }
}

TEST(SizeSampler, SamplesStayWithinMinAndMax) {
  struct Case {
    const char* what;
    SizeSpec spec;
  };
  const std::vector<Case> cases = {
      {"uniform 16..1024", Range(SizeDist::kUniform, 16, 1024)},
      {"uniform 1..1", Range(SizeDist::kUniform, 1, 1)},
      {"uniform full range", Range(SizeDist::kUniform, 1, kMaxBlockSize)},
      {"log-uniform 16..1024", Range(SizeDist::kLogUniform, 16, 1024)},
      {"log-uniform 1..2", Range(SizeDist::kLogUniform, 1, 2)},
      {"log-uniform 7..7", Range(SizeDist::kLogUniform, 7, 7)},
      {"log-uniform full range",
       Range(SizeDist::kLogUniform, 1, kMaxBlockSize)},
      {"log-uniform top",
       Range(SizeDist::kLogUniform, kMaxBlockSize - 10, kMaxBlockSize)},
      {"pareto 16..65536", Range(SizeDist::kPareto, 16, 65536, 1.2)},
      {"pareto heavy tail", Range(SizeDist::kPareto, 1, kMaxBlockSize, 0.01)},
      {"pareto steep", Range(SizeDist::kPareto, 1, kMaxBlockSize, 100)},
      {"pareto top",
       Range(SizeDist::kPareto, kMaxBlockSize - 10, kMaxBlockSize, 2)},
      {"table", Table({{48, 1}, {16, 3}, {4096, 0.5}})},
  };
  for (const Case& c : cases) {
    std::uint64_t lo = UINT64_MAX, hi = 0;
    for (std::uint64_t x : Draw(c.spec, 11, 20000)) {
      ASSERT_GE(x, c.spec.min) << c.what;
      ASSERT_LE(x, c.spec.max) << c.what;
      lo = std::min(lo, x);
      hi = std::max(hi, x);
    }
    // Both ends of a narrow range are reached.
    if (c.spec.max - c.spec.min <= 10) {
      EXPECT_EQ(lo, c.spec.min) << c.what;
      EXPECT_EQ(hi, c.spec.max) << c.what;
    }
  }
}

TEST(SizeSampler, TableDrawsOnlyItsSizesAndNeverZeroWeights) {
  const SizeSpec spec = Table({{32, 0}, {64, 1}, {128, 0}, {256, 3}, {512, 0}});
  std::map<std::uint64_t, int> seen;
  for (std::uint64_t x : Draw(spec, 5, 40000)) ++seen[x];
  EXPECT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen.count(32), 0u);
  EXPECT_EQ(seen.count(128), 0u);
  EXPECT_EQ(seen.count(512), 0u);
  // 1 : 3 within a few percent.
  EXPECT_NEAR(seen[256] / 40000.0, 0.75, 0.015);
}

TEST(SizeSampler, SameSeedSameSequence) {
  for (const SizeSpec& spec : {Range(SizeDist::kUniform, 1, 100000),
                               Range(SizeDist::kLogUniform, 8, 1 << 20),
                               Range(SizeDist::kPareto, 16, 1 << 20, 1.5),
                               Table({{1, 1}, {2, 1}, {3, 1}})}) {
    EXPECT_EQ(Draw(spec, 42, 5000), Draw(spec, 42, 5000));
    EXPECT_NE(Draw(spec, 42, 5000), Draw(spec, 43, 5000));
  }
}

TEST(SizeSampler, SamplingIsConstAndStateless) {
  // Two samplers over one spec, driven by equal generators, agree draw by draw.
  const SizeSpec spec = Range(SizeDist::kPareto, 16, 1 << 16, 1.1);
  const SizeSampler a(spec), b(spec);
  Rng ra(9), rb(9);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(a.Sample(ra), b.Sample(rb));
}

TEST(SizeSampler, UniformMeanIsTheMidpoint) {
  const std::vector<std::uint64_t> xs =
      Draw(Range(SizeDist::kUniform, 100, 300), 8, 100000);
  double sum = 0;
  for (std::uint64_t x : xs) sum += static_cast<double>(x);
  EXPECT_NEAR(sum / xs.size(), 200.0, 1.0);  // sd of the mean is about 0.18
}

}  // namespace
}  // namespace allocmark
