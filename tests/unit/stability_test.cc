// Tests for the repetition statistics: CV, and the order-statistic
// confidence interval of the median with its binomial coverage.
#include "bench/results/stability.h"

#include <gtest/gtest.h>

#include <vector>

namespace allocmark {
namespace {

TEST(Stability, ThreeRepetitionsGiveMinMaxAtSeventyFivePercent) {
  const Stability s = StabilityOf({21.2, 13.4, 12.1});
  EXPECT_EQ(s.n, 3u);
  EXPECT_DOUBLE_EQ(s.median, 13.4);
  EXPECT_DOUBLE_EQ(s.ci_low, 12.1);
  EXPECT_DOUBLE_EQ(s.ci_high, 21.2);
  EXPECT_DOUBLE_EQ(s.ci_level, 0.75);
  // mean 15.57, sample sd 4.92: three of the bimodal system runs.
  EXPECT_NEAR(s.cv_pct, 31.62, 0.01);
}

TEST(Stability, FiveRepetitionsGiveMinMaxAtNinetyFourPercent) {
  const Stability s = StabilityOf({10, 11, 12, 13, 14});
  EXPECT_DOUBLE_EQ(s.median, 12);
  EXPECT_DOUBLE_EQ(s.ci_low, 10);
  EXPECT_DOUBLE_EQ(s.ci_high, 14);
  EXPECT_DOUBLE_EQ(s.ci_level, 1 - 2.0 / 32);
}

TEST(Stability, EnoughRepetitionsNarrowTheIntervalAtNinetyFivePercent) {
  // n = 10: [x_2, x_9] covers 1 - 2 * 11/1024 = 97.9 %; [x_3, x_8] only
  // 1 - 2 * 56/1024 = 89.1 %, below 95 %.
  std::vector<double> v;
  for (int i = 1; i <= 10; ++i) v.push_back(i);
  const Stability s = StabilityOf(v);
  EXPECT_DOUBLE_EQ(s.median, 5.5);
  EXPECT_DOUBLE_EQ(s.ci_low, 2);
  EXPECT_DOUBLE_EQ(s.ci_high, 9);
  EXPECT_NEAR(s.ci_level, 1 - 2 * 11.0 / 1024, 1e-12);
}

TEST(Stability, ConstantAndSingleValues) {
  const Stability same = StabilityOf({5, 5, 5, 5});
  EXPECT_DOUBLE_EQ(same.cv_pct, 0);
  const Stability one = StabilityOf({7});
  EXPECT_DOUBLE_EQ(one.median, 7);
  EXPECT_DOUBLE_EQ(one.cv_pct, 0);
  EXPECT_EQ(StabilityOf({}).n, 0u);
}

TEST(Stability, NoisyThresholdFollowsThreads) {
  EXPECT_EQ(NoisyCvPct(1), 2.0);
  EXPECT_EQ(NoisyCvPct(2), 5.0);
}

}  // namespace
}  // namespace allocmark
