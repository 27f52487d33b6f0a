// End-to-end latency validation: the spin adapter's calls take known times
// (89 % 1 us, 10.5 % 10 us, 0.5 % 100 us), and the reported percentiles must
// land within 10 % of the truth, per-op and batched. Durations are long against
// the clock's resolution and overhead, so this checks the pipeline, not noise.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "tests/integration/command.h"

namespace allocmark {
namespace {

using nlohmann::json;

json RunSpin(const std::string& batch) {
  const testing::CommandResult r = testing::RunCommand(
      std::string(ALLOCMARK_BIN_DIR) + "/allocmark-worker-spin --workload " +
      ALLOCMARK_SOURCE_DIR "/tests/integration/spin.json --timing on --batch " +
      batch);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return json::parse(r.out);
}

void ExpectNear(double got, double want, const std::string& what) {
  EXPECT_GE(got, want * 0.9) << what;
  EXPECT_LE(got, want * 1.1) << what;
}

void CheckPercentiles(const json& record, const std::string& mode) {
  ASSERT_EQ(record["status"], "ok");
  for (const char* op : {"alloc", "free"}) {
    const json& l = record["latency"][op];
    const std::string what = mode + " " + op;
    EXPECT_EQ(l["count"], 102400) << what;
    ExpectNear(l["p50_ns"], 1000, what + " p50");
    ExpectNear(l["p99_ns"], 10000, what + " p99");
    ExpectNear(l["p999_ns"], 100000, what + " p99.9");
  }
}

TEST(SpinLatency, PerOpPercentilesMatchTheTruth) {
  const json r = RunSpin("1");
  EXPECT_EQ(r["timing"]["mode"], "per-op");
  CheckPercentiles(r, "per-op");
}

TEST(SpinLatency, BatchedPercentilesMatchTheTruth) {
  // K = 4: an interrupt landing in a batch skews all K of its samples, so a
  // short batch keeps a noisy machine's preemptions below the p99 margin.
  const json r = RunSpin("4");
  EXPECT_EQ(r["timing"]["mode"], "batched");
  EXPECT_EQ(r["timing"]["batch"], 4);
  CheckPercentiles(r, "batched");
}

TEST(SpinLatency, AutoBatchKeepsPerOpForSlowCalls) {
  // 1 us calls against a ~10 ns clock step: no batching is needed.
  const json r = RunSpin("auto");
  EXPECT_EQ(r["timing"]["batch"], 1);
}

}  // namespace
}  // namespace allocmark
