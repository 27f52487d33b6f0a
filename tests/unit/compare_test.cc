// Tests of `allocmark compare` on crafted results: a 2x slowdown is caught and
// named, identical runs and a 1 % change under noise pass, digests must match.
#include "bench/report/compare.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "bench/report/compare_format.h"
#include "bench/report/mann_whitney.h"

namespace allocmark {
namespace {

using nlohmann::json;

json Cell(const std::string& allocator, const std::string& workload,
          unsigned threads, unsigned rep, double ns_per_op,
          const std::string& digest = "00112233aabbccdd") {
  return {{"allocator", allocator},
          {"workload", workload},
          {"threads", threads},
          {"repetition", rep},
          {"status", "ok"},
          {"reason", nullptr},
          {"stream_digest", digest},
          {"ops", 1000},
          {"ns_per_op", ns_per_op},
          {"latency",
           {{"alloc", {{"p99_ns", 40.0}}}, {"free", {{"p99_ns", 30.0}}}}},
          {"memory", {{"peak_rss_bytes", 4 << 20}}}};
}

json Doc(std::vector<json> cells) {
  return {{"schema_version", 1},
          {"context", {{"host", "test"}, {"date", "2024-01-01"}}},
          {"cells", cells}};
}

// Ten repetitions per cell around `center`, with +-`noise` relative jitter.
json Crafted(double system_ns, double jemalloc_ns, double noise, unsigned seed,
             int reps = 10) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> jitter(-noise, noise);
  std::vector<json> cells;
  for (int r = 0; r < reps; ++r) {
    cells.push_back(
        Cell("system", "fixed-64", 1, r, system_ns * (1 + jitter(rng))));
    cells.push_back(
        Cell("jemalloc", "fixed-64", 1, r, jemalloc_ns * (1 + jitter(rng))));
  }
  return Doc(cells);
}

const MetricResult& Metric(const Comparison& c, const std::string& cell,
                           const std::string& metric) {
  for (const CellResult& r : c.cells)
    if (r.Name() == cell)
      for (const MetricResult& m : r.metrics)
        if (m.metric == metric) return m;
  ADD_FAILURE() << "no " << cell << " " << metric;
  static MetricResult none;
  return none;
}

TEST(MannWhitney, ExactValuesMatchTables) {
  // Complete separation of 3 vs 3: 2 of C(6,3) = 20 orderings are as extreme.
  EXPECT_NEAR(MannWhitneyP({1, 2, 3}, {4, 5, 6}), 0.1, 1e-12);
  EXPECT_NEAR(MinimumMannWhitneyP(3, 3), 0.1, 1e-12);
  EXPECT_NEAR(MinimumMannWhitneyP(10, 10), 2.0 / 184756, 1e-12);
  // 4 vs 4 with one swap: U = 1, P(U <= 1) = 2/70, two-sided 4/70.
  EXPECT_NEAR(MannWhitneyP({1, 2, 3, 5}, {4, 6, 7, 8}), 4.0 / 70, 1e-12);
  // Identical samples: no evidence.
  EXPECT_NEAR(MannWhitneyP({5, 5, 5}, {5, 5, 5}), 1.0, 1e-12);
  // Large samples with ties take the normal approximation; a clear shift is
  // still significant.
  std::vector<double> a(40, 1.0), b(40, 2.0);
  EXPECT_LT(MannWhitneyP(a, b), 1e-6);
}

TEST(Compare, TwofoldSlowdownIsARegressionNamingTheCell) {
  const json base = Crafted(10, 8, 0.03, 1);
  const json now = Crafted(10, 16, 0.03, 2);  // jemalloc 2x slower
  const Comparison c = CompareResults(base, now, CompareOptions{});
  EXPECT_TRUE(c.Regressed());
  EXPECT_EQ(c.regressions, 1);
  const MetricResult& m = Metric(c, "jemalloc/fixed-64/1t", "ns_per_op");
  EXPECT_EQ(m.verdict, Verdict::kRegressed);
  EXPECT_NEAR(m.change_pct, 100, 10);
  EXPECT_LT(m.p_value, 0.001);
  EXPECT_EQ(Metric(c, "system/fixed-64/1t", "ns_per_op").verdict,
            Verdict::kUnchanged);
  const std::string text = FormatComparisonText(c);
  EXPECT_NE(text.find("regression: jemalloc/fixed-64/1t ns_per_op"),
            std::string::npos)
      << text;
  EXPECT_NE(FormatComparisonMarkdown(c).find("**REGRESSION**"),
            std::string::npos);
  EXPECT_TRUE(ComparisonJson(c)["regression"].get<bool>());
}

TEST(Compare, IdenticalRunsAreNotARegression) {
  const json base = Crafted(10, 8, 0.03, 1);
  const Comparison c = CompareResults(base, base, CompareOptions{});
  EXPECT_FALSE(c.Regressed());
  EXPECT_EQ(c.improvements, 0);
  EXPECT_NEAR(Metric(c, "system/fixed-64/1t", "ns_per_op").p_value, 1, 1e-9);
}

TEST(Compare, OnePercentUnderNoiseIsNotARegression) {
  // 3 % noise, 1 % shift: whether or not the test notices, the 5 % threshold
  // keeps it from being called a regression; repeat over several seeds.
  for (unsigned seed = 0; seed < 20; ++seed) {
    const json base = Crafted(10, 8, 0.03, seed);
    const json now = Crafted(10.1, 8.08, 0.03, seed + 100);
    const Comparison c = CompareResults(base, now, CompareOptions{});
    EXPECT_FALSE(c.Regressed()) << FormatComparisonText(c);
  }
}

TEST(Compare, SmallShiftBeyondAZeroThresholdNeedsSignificance) {
  // With no threshold at all, noise alone must still not be a regression.
  CompareOptions o;
  ParseThreshold("0%", &o);
  int regressions = 0;
  for (unsigned seed = 0; seed < 20; ++seed)
    regressions += CompareResults(Crafted(10, 8, 0.03, seed),
                                  Crafted(10, 8, 0.03, seed + 50), o)
                       .regressions;
  EXPECT_LE(regressions, 4);  // alpha 0.05 over 40 metric tests: ~2 expected
}

TEST(Compare, DifferentDigestsAreRefused) {
  const json base = Crafted(10, 8, 0.03, 1);
  json now = base;
  for (json& c : now["cells"])
    if (c["allocator"] == "system") c["stream_digest"] = "ffffffffffffffff";
  try {
    CompareResults(base, now, CompareOptions{}, "a.json", "b.json");
    FAIL() << "different digests were compared";
  } catch (const ResultsError& e) {
    EXPECT_NE(std::string(e.what()).find("system/fixed-64/1t"),
              std::string::npos)
        << e.what();
  }
  CompareOptions allow;
  allow.allow_different_streams = true;
  const Comparison c = CompareResults(base, now, allow);
  EXPECT_NE(FormatComparisonText(c).find("DIFFERENT STREAMS"),
            std::string::npos);
}

TEST(Compare, TooFewRepetitionsIsSaidNotHidden) {
  const json base = Crafted(10, 8, 0.0, 1, 1);
  const json now = Crafted(10, 16, 0.0, 1, 1);
  const Comparison c = CompareResults(base, now, CompareOptions{});
  EXPECT_FALSE(c.Regressed());
  EXPECT_EQ(c.untested, 1);
  const MetricResult& m = Metric(c, "jemalloc/fixed-64/1t", "ns_per_op");
  EXPECT_EQ(m.verdict, Verdict::kUntested);
  EXPECT_NE(m.note.find("too few repetitions"), std::string::npos);
  CompareOptions strict;
  strict.strict = true;
  EXPECT_TRUE(CompareResults(base, now, strict).Regressed());
}

TEST(Compare, FailedCellIsARegression) {
  const json base = Crafted(10, 8, 0.03, 1);
  json now = base;
  for (json& c : now["cells"]) {
    if (c["allocator"] == "jemalloc" && c["repetition"] == 3) {
      c["status"] = "failed";
      c["reason"] = "killed by SIGSEGV";
    }
  }
  const Comparison c = CompareResults(base, now, CompareOptions{});
  EXPECT_TRUE(c.Regressed());
  EXPECT_NE(FormatComparisonText(c).find("SIGSEGV"), std::string::npos);
}

TEST(Compare, ThresholdsPerMetric) {
  CompareOptions o;
  ParseThreshold("3%", &o);
  ParseThreshold("p99=10%", &o);
  EXPECT_EQ(o.ThresholdFor("ns_per_op"), 3);
  EXPECT_EQ(o.ThresholdFor("alloc_p99"), 10);
  EXPECT_EQ(o.ThresholdFor("free_p99"), 10);
  EXPECT_THROW(ParseThreshold("bogus=1%", &o), ResultsError);
  EXPECT_THROW(ParseThreshold("five", &o), ResultsError);
}

TEST(Compare, InstructionsPerOpWhenCacheEventsArePresent) {
  json base = Crafted(10, 8, 0.03, 1);
  json now = Crafted(10, 8, 0.03, 2);
  for (json& c : base["cells"]) c["cache"]["events"]["instructions"] = 50.0;
  for (json& c : now["cells"]) c["cache"]["events"]["instructions"] = 150.0;
  const Comparison c = CompareResults(base, now, CompareOptions{});
  const MetricResult& m =
      Metric(c, "system/fixed-64/1t", "instructions_per_op");
  EXPECT_NEAR(m.base_median, 50, 1e-9);
  EXPECT_NEAR(m.new_median, 150, 1e-9);
  EXPECT_EQ(m.verdict, Verdict::kRegressed);
  // Absent on both sides: no row, no regression.
  const Comparison plain = CompareResults(
      Crafted(10, 8, 0.03, 1), Crafted(10, 8, 0.03, 2), CompareOptions{});
  for (const MetricResult& r : plain.cells[0].metrics)
    EXPECT_NE(r.metric, "instructions_per_op");
}

TEST(Compare, BadDocumentsNameTheInput) {
  EXPECT_THROW(CheckResultsDocument(json::array(), "x"), ResultsError);
  EXPECT_THROW(
      CheckResultsDocument({{"schema_version", 2}, {"cells", {1}}}, "x"),
      ResultsError);
  EXPECT_THROW(CheckResultsDocument(Doc({}), "x"), ResultsError);
  try {
    ReadResultsFile("/nonexistent/r.json");
    FAIL();
  } catch (const ResultsError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/r.json"),
              std::string::npos);
  }
}

}  // namespace
}  // namespace allocmark
