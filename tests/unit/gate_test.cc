// The CI gate's decisions on crafted results: deterministic figures judged
// by threshold alone, the tier that gates, noise-derived thresholds, merge.
#include <gtest/gtest.h>

#include <cmath>

#include "bench/report/compare.h"
#include "bench/report/merge.h"
#include "bench/report/noise.h"

namespace allocmark {
namespace {

using nlohmann::json;

// One ok cell; `ir` and `cycles` > 0 add a callgrind sim pass.
json Cell(const std::string& allocator, unsigned rep, double ns, double ir = 0,
          double cycles = 0, const std::string& digest = "0011") {
  json c = {{"allocator", allocator},
            {"workload", "fixed-64"},
            {"threads", 1},
            {"repetition", rep},
            {"status", "ok"},
            {"stream_digest", digest},
            {"seed", 1},
            {"ops_per_thread", 1000},
            {"ns_per_op", ns}};
  if (ir > 0)
    c["cache"] = {
        {"mode", "sim"},
        {"events", {{"instructions", ir}}},
        {"sim",
         {{"status", "ok"},
          {"events", {{"instructions", ir}, {"est_cycles", cycles}}}}}};
  return c;
}

json Doc(std::vector<json> cells, const std::string& revision = "abc") {
  return {{"schema_version", 1},
          {"context", {{"host", "h"}, {"git_revision", revision}}},
          {"run", {{"profile", "ci"}, {"cache", "sim"}}},
          {"cells", cells}};
}

const MetricResult* Find(const Comparison& c, const std::string& metric) {
  for (const CellResult& cell : c.cells)
    for (const MetricResult& m : cell.metrics)
      if (m.metric == metric) return &m;
  return nullptr;
}

TEST(DeterministicTier, IdenticalCountsAreUnchangedWithOneRepetition) {
  const json a = Doc({Cell("system", 0, 10, 120, 150)});
  const Comparison c = CompareResults(a, a, CompareOptions{});
  EXPECT_EQ(c.gated_tier, Tier::kDeterministic);
  EXPECT_FALSE(c.Regressed());
  ASSERT_NE(Find(c, "sim_instructions"), nullptr);
  EXPECT_EQ(Find(c, "sim_instructions")->verdict, Verdict::kUnchanged);
  // The callgrind count is not shown twice (cache.events holds it too).
  EXPECT_EQ(Find(c, "instructions_per_op"), nullptr);
}

TEST(DeterministicTier, TwoPercentMoreInstructionsIsARegressionWithoutATest) {
  const json a = Doc({Cell("system", 0, 10, 100, 150)});
  const json b = Doc({Cell("system", 0, 10, 102, 150)});
  const Comparison c = CompareResults(a, b, CompareOptions{});
  EXPECT_TRUE(c.Regressed());
  EXPECT_EQ(Find(c, "sim_instructions")->verdict, Verdict::kRegressed);
  EXPECT_TRUE(std::isnan(Find(c, "sim_instructions")->p_value));
  EXPECT_EQ(Find(c, "sim_cycles")->verdict, Verdict::kUnchanged);
}

TEST(DeterministicTier, HalfAPercentIsWithinTheDefaultThreshold) {
  const json a = Doc({Cell("system", 0, 10, 1000, 1500)});
  const json b = Doc({Cell("system", 0, 10, 1005, 1500)});
  EXPECT_FALSE(CompareResults(a, b, CompareOptions{}).Regressed());
  CompareOptions tight;
  ParseThreshold("sim=0.1%", &tight);
  EXPECT_TRUE(CompareResults(a, b, tight).Regressed());
}

TEST(DeterministicTier, FiguresThatVaryAreUntestedNotRegressed) {
  // Repetitions that disagree by 4 % cannot vouch for a 3 % change.
  const json a =
      Doc({Cell("system", 0, 10, 100, 1), Cell("system", 1, 10, 104, 1)});
  const json b =
      Doc({Cell("system", 0, 10, 105, 1), Cell("system", 1, 10, 105, 1)});
  const Comparison c = CompareResults(a, b, CompareOptions{});
  EXPECT_EQ(Find(c, "sim_instructions")->verdict, Verdict::kUntested);
  EXPECT_FALSE(c.Regressed());
}

TEST(GateTier, WallRegressionIsShownButNotGatedWhenTheSimTierGates) {
  std::vector<json> base, slow;
  for (unsigned r = 0; r < 9; ++r) {
    base.push_back(Cell("system", r, 10 + 0.01 * r, 100, 150));
    slow.push_back(Cell("system", r, 20 + 0.01 * r, 100, 150));
  }
  const Comparison c = CompareResults(Doc(base), Doc(slow), CompareOptions{});
  EXPECT_FALSE(c.Regressed());
  EXPECT_EQ(c.ungated_regressions, 1);
  EXPECT_FALSE(Find(c, "ns_per_op")->gated);
  CompareOptions wall;
  wall.gate = ParseGateTier("wall");
  EXPECT_TRUE(CompareResults(Doc(base), Doc(slow), wall).Regressed());
  CompareOptions all;
  all.gate = ParseGateTier("all");
  EXPECT_TRUE(CompareResults(Doc(base), Doc(slow), all).Regressed());
  EXPECT_THROW(ParseGateTier("fast"), ResultsError);
}

TEST(GateTier, AutoFallsBackToWallWithoutSimFigures) {
  const json a = Doc({Cell("system", 0, 10)});
  EXPECT_EQ(CompareResults(a, a, CompareOptions{}).gated_tier, Tier::kWall);
}

TEST(Noise, EvenAndOddRepetitionsOfOneRunGiveTheMedianChange) {
  // Even repetitions at 100, odd at 102: 2 % apart.
  std::vector<json> cells;
  for (unsigned r = 0; r < 6; ++r)
    cells.push_back(Cell("system", r, r % 2 ? 102 : 100));
  const json noise = MeasureNoise({{"a.json", Doc(cells)}});
  ASSERT_EQ(noise["cells"].size(), 1u);
  EXPECT_EQ(noise["cells"][0]["cell"], "system/fixed-64/1t");
  EXPECT_NEAR(noise["cells"][0]["noise_pct"].get<double>(), 2.0, 1e-9);
}

TEST(Noise, ThresholdIsTheMultipleOfTheCellsNoise) {
  std::vector<json> cells;
  for (unsigned r = 0; r < 6; ++r)
    cells.push_back(Cell("system", r, r % 2 ? 102 : 100));
  CompareOptions o;
  LoadNoise(MeasureNoise({{"a.json", Doc(cells)}}), "noise.json", &o);
  std::string source;
  EXPECT_NEAR(o.ThresholdFor("system/fixed-64/1t", "ns_per_op", &source), 6.0,
              1e-9);
  EXPECT_NE(source.find("noise"), std::string::npos);
  // Unmeasured cells keep the default; an explicit threshold wins.
  EXPECT_EQ(o.ThresholdFor("jemalloc/fixed-64/1t", "ns_per_op", &source), 5.0);
  ParseThreshold("ns_per_op=2%", &o);
  EXPECT_EQ(o.ThresholdFor("system/fixed-64/1t", "ns_per_op", &source), 2.0);
  EXPECT_THROW(LoadNoise(json{{"cells", 1}}, "x.json", &o), ResultsError);
}

TEST(Noise, RunsOfDifferentBuildsAreRefused) {
  const json a = Doc({Cell("system", 0, 10)}, "abc");
  const json b = Doc({Cell("system", 0, 10)}, "def");
  EXPECT_THROW(MeasureNoise({{"a.json", a}, {"b.json", b}}), ResultsError);
}

json Shard(std::vector<json> cells, int index, int count) {
  json d = Doc(std::move(cells));
  d["run"]["shard"] = {{"index", index}, {"count", count}};
  return d;
}

TEST(Merge, ShardsJoinInRepetitionOrder) {
  std::vector<std::string> warnings;
  const json m = MergeResults(
      {{"s0.json", Shard({Cell("system", 0, 1), Cell("system", 1, 1)}, 0, 2)},
       {"s1.json",
        Shard({Cell("jemalloc", 0, 1), Cell("jemalloc", 1, 1)}, 1, 2)}},
      &warnings);
  EXPECT_TRUE(warnings.empty());
  ASSERT_EQ(m["cells"].size(), 4u);
  EXPECT_EQ(m["cells"][1]["allocator"], "jemalloc");
  EXPECT_EQ(m["cells"][1]["repetition"], 0);
  EXPECT_EQ(m["run"]["repetitions"], 2);
  EXPECT_TRUE(m["run"]["shard"].is_null());
  EXPECT_EQ(m["stability"].size(), 2u);
}

TEST(Merge, RefusesOverlapForeignContextsDigestsAndShardCounts) {
  std::vector<std::string> w;
  const json s0 = Shard({Cell("system", 0, 1)}, 0, 2);
  auto refused = [&](const std::vector<NamedResults>& in, const char* says) {
    try {
      MergeResults(in, &w);
      ADD_FAILURE() << "accepted; expected: " << says;
    } catch (const ResultsError& e) {
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos)
          << e.what();
    }
  };
  refused({{"a.json", s0}, {"b.json", Shard({Cell("system", 0, 1)}, 1, 2)}},
          "is also in a.json");
  refused({{"a.json", s0}, {"b.json", Shard({Cell("tbb", 0, 1)}, 0, 2)}},
          "shard 0/2 is also in a.json");
  refused({{"a.json", s0}, {"b.json", Shard({Cell("tbb", 0, 1)}, 1, 3)}},
          "split into 3");
  json foreign = Shard({Cell("tbb", 0, 1)}, 1, 2);
  foreign["context"]["git_revision"] = "other";
  refused({{"a.json", s0}, {"b.json", foreign}}, "git_revision");
  refused({{"a.json", s0},
           {"b.json", Shard({Cell("tbb", 0, 1, 0, 0, "ffff")}, 1, 2)}},
          "replayed stream ffff");
  refused({{"a.json", s0}, {"b.json", Doc({Cell("tbb", 0, 1)})}},
          "mixing sharded and unsharded");
}

TEST(Merge, AMissingShardIsAWarning) {
  std::vector<std::string> w;
  MergeResults({{"a.json", Shard({Cell("system", 0, 1)}, 0, 3)},
                {"b.json", Shard({Cell("tbb", 0, 1)}, 2, 3)}},
               &w);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0], "shard 1/3 is missing");
}

}  // namespace
}  // namespace allocmark
