// End-to-end tests of the memory report: exact live peaks on a known
// schedule, the RSS timeline, external fragmentation on a frag workload,
// pool-tag counts and the leak check.
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>

#include "tests/integration/command.h"
#include "tests/sanitize/sanitized.h"

namespace allocmark {
namespace {

using nlohmann::json;
using testing::CommandResult;
using testing::ReadAll;
using testing::RunCommand;

const std::string kBin = ALLOCMARK_BIN_DIR;
const std::string kSrc = ALLOCMARK_SOURCE_DIR;
const std::string kCli = kBin + "/allocmark";

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "/allocmark_mem_" + std::to_string(getpid()) +
         "_" + name;
}

json RunCli(const std::string& args, int expect_exit,
            std::string* out = nullptr) {
  const std::string path = TempPath("r.json");
  const CommandResult r =
      RunCommand(kCli + " run --quiet " + args + " --out " + path);
  EXPECT_EQ(r.exit_code, expect_exit) << r.out << r.err;
  if (out != nullptr) *out = r.out;
  return json::parse(ReadAll(path));
}

const json* FindTag(const json& cell, const std::string& tag) {
  for (const json& t : cell["tags"]) {
    if (t["tag"] == tag) return &t;
  }
  return nullptr;
}

// Batches of 100 x 1000 B then 50 x 3000 B, 1000 ops each: per thread
// 5 + 10 full cycles, so the peak is exactly max(100000, 150000).
TEST(Memory, KnownScheduleGivesExactPeaksAndATimeline) {
  const json doc = RunCli(
      "--allocators " + testing::StandIn("system,jemalloc,mimalloc") +
          " --workloads " + kSrc + "/tests/integration/memory-schedule.json" +
          " --threads 1 --sample-ms 1",
      0);
  for (const json& c : doc["cells"]) {
    SCOPED_TRACE(c["allocator"].get<std::string>());
    ASSERT_EQ(c["status"], "ok") << c.dump();
    const json& m = c["memory"];
    EXPECT_EQ(m["peak_live_bytes"], 150000);
    EXPECT_GE(m["peak_usable_bytes"].get<double>(), 150000);
    EXPECT_GE(m["peak_rss_bytes"].get<double>(), 150000);
    EXPECT_GE(m["usable_over_requested"].get<double>(), 1.0);
    EXPECT_EQ(m["end_live_bytes"], 0);
    // The timeline is ordered in time and holds every phase boundary.
    const json& tl = m["timeline"];
    ASSERT_TRUE(tl.is_array());
    int phase_rows = 0;
    for (std::size_t i = 0; i < tl.size(); ++i) {
      if (i > 0) {
        EXPECT_GE(tl[i][0], tl[i - 1][0]);
      }
      phase_rows += tl[i][4] == "phase";
    }
    EXPECT_EQ(phase_rows, 2);
    EXPECT_EQ(tl.back()[4], "purge");
    int seen_a = 0, seen_b = 0;
    for (const json& p : m["phase_samples"]) {
      if (p["event"] != "phase") continue;
      seen_a += p["tag"] == "AAAA";
      seen_b += p["tag"] == "BBBB";
      // Each batch ends empty, so both boundaries see no live bytes.
      EXPECT_EQ(p["live_bytes"], 0) << p.dump();
      EXPECT_GT(p["rss_bytes"].get<double>(), 0);
    }
    EXPECT_EQ(seen_a, 1);
    EXPECT_EQ(seen_b, 1);
    // Tags: 5 cycles of 100 blocks, 10 cycles of 50, peaks per tag.
    const json* a = FindTag(c, "AAAA");
    const json* b = FindTag(c, "BBBB");
    ASSERT_TRUE(a && b);
    EXPECT_EQ((*a)["allocs"], 500);
    EXPECT_EQ((*a)["frees"], 500);
    EXPECT_EQ((*a)["peak_bytes"], 100000);
    EXPECT_EQ((*b)["allocs"], 500);
    EXPECT_EQ((*b)["frees"], 500);
    EXPECT_EQ((*b)["peak_bytes"], 150000);
    EXPECT_EQ((*b)["live_blocks"], 0);
    EXPECT_EQ(c["leak"]["blocks"], 0);
  }
}

// Two threads: the cell-wide peak lies between the largest thread's peak and
// the sum of the threads' peaks.
TEST(Memory, TwoThreadPeakIsBoundedByPerThreadPeaks) {
  const json doc =
      RunCli("--allocators system --workloads " + kSrc +
                 "/tests/integration/memory-schedule.json" + " --threads 2",
             0);
  const json& m = doc["cells"][0]["memory"];
  EXPECT_GE(m["peak_live_bytes"], 150000);
  EXPECT_LE(m["peak_live_bytes"], m["peak_live_bytes_sum_of_threads"]);
  EXPECT_EQ(m["peak_live_bytes_sum_of_threads"], 300000);
}

// Free 90 % of a large mixed live set: glibc cannot return the holes, so RSS
// stays far above the live bytes; every adapter reports sane figures.
TEST(Memory, FragLeavesRssFarAboveLiveForSystemMalloc) {
  const json doc = RunCli("--allocators all --workloads " + kSrc +
                              "/tests/integration/memory-frag.json --threads 1",
                          0);
  for (const json& c : doc["cells"]) {
    if (c["status"] == "skipped") continue;
    SCOPED_TRACE(c["allocator"].get<std::string>());
    ASSERT_EQ(c["status"], "ok") << c["reason"];
    const json& m = c["memory"];
    const double peak = m["peak_live_bytes"].get<double>();
    EXPECT_GT(peak, 5e6);
    EXPECT_GE(m["peak_usable_bytes"].get<double>(), peak);
    EXPECT_GE(m["peak_rss_bytes"].get<double>(), peak);
    EXPECT_LT(m["rss_over_live_at_peak"].get<double>(), 50);
    double after_drain = 0;
    for (const json& p : m["phase_samples"]) {
      if (p["event"] == "phase" && p["tag"] == "HOLD")
        after_drain = p["rss_over_live"].get<double>();
    }
    if (c["allocator"] == "system") {
      EXPECT_GT(after_drain, 4) << m.dump();
    }
    EXPECT_GT(after_drain, 0);
  }
}

TEST(Memory, LeakCheckFailsOnlyTheLeakingCell) {
  // Declared leaks pass.
  const json clean = RunCli(
      "--allocators " + testing::StandIn("system,mimalloc") + " --workloads " +
          kSrc + "/tests/integration/leaky.json --threads 2",
      0);
  for (const json& c : clean["cells"]) {
    EXPECT_EQ(c["status"], "ok") << c["reason"];
    EXPECT_EQ(c["leak"]["declared_blocks"], 10);
  }
  // The test fault makes system's thread 0 skip its last 3 frees.
  const std::string path = TempPath("leak.json");
  const CommandResult r =
      RunCommand("ALLOCMARK_TEST_FAULT=leak:system " + kCli +
                 " run --quiet --tags --allocators " +
                 testing::StandIn("system,mimalloc") + " --workloads " + kSrc +
                 "/tests/integration/leaky.json --threads 2 --out " + path);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const json leak = json::parse(ReadAll(path));
  for (const json& c : leak["cells"]) {
    SCOPED_TRACE(c["allocator"].get<std::string>());
    const json* t = FindTag(c, "LEAK");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ((*t)["declared_leak_blocks"], 10);  // 5 per thread
    if (c["allocator"] == "system") {
      EXPECT_EQ(c["status"], "failed");
      const std::string reason = c["reason"];
      EXPECT_EQ(reason.rfind("leak: 3 blocks, ", 0), 0u) << reason;
      EXPECT_NE(reason.find(" bytes under tag LEAK"), std::string::npos);
      EXPECT_EQ((*t)["live_blocks"], 13);
      EXPECT_EQ((*t)["allocs"].get<int>() - (*t)["frees"].get<int>(), 13);
    } else {
      EXPECT_EQ(c["status"], "ok") << c["reason"];
      EXPECT_EQ((*t)["live_blocks"], 10);
    }
  }
  EXPECT_NE(r.out.find("pool tags"), std::string::npos);
  EXPECT_NE(r.out.find("LEAK"), std::string::npos);
}

TEST(Memory, BadSampleMsIsRejected) {
  const std::string path = TempPath("bad.json");
  const CommandResult r =
      RunCommand(kCli +
                 " run --quiet --allocators system --workloads fixed-64 "
                 "--sample-ms 999999 --out " +
                 path);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--sample-ms"), std::string::npos);
  EXPECT_FALSE(testing::FileExists(path));
}

}  // namespace
}  // namespace allocmark
