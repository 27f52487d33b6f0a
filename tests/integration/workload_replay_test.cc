// Replays every shipped workload through `allocmark run --check` on system
// and lookaside at 2 threads, and checks digests agree across adapters and
// across processes, threads are replaced where the spec says, and --pin.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "tests/integration/cli_paths.h"
#include "tests/integration/command.h"
#include "tests/sanitize/sanitized.h"

namespace allocmark {
namespace {

using nlohmann::json;
using testing::CommandResult;
using testing::kCli;
using testing::ReadAll;
using testing::RunCommand;
using testing::TempPath;

TEST(WorkloadReplay, EveryWorkloadReplaysWithContentChecks) {
  const std::string out = TempPath("check.json");
  const CommandResult r = RunCommand(
      kCli +
      " run --quiet --allocators system,lookaside --workloads all --threads 2"
      " --profile quick --check --out " +
      out);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const json doc = json::parse(ReadAll(out));
  std::map<std::string, std::set<std::string>> digests;
  std::set<std::string> workloads;
  for (const json& c : doc["cells"]) {
    SCOPED_TRACE(c["allocator"].get<std::string>() + " " +
                 c["workload"].get<std::string>());
    ASSERT_EQ(c["status"], "ok") << c["reason"];
    EXPECT_TRUE(c["complete"].get<bool>());
    EXPECT_EQ(c["counts"]["content_errors"], 0);
    digests[c["workload"].get<std::string>()].insert(
        c["stream_digest"].get<std::string>());
    workloads.insert(c["workload"].get<std::string>());
  }
  EXPECT_GE(workloads.size(), 22u);  // 9 basic shapes + 13 classics
  for (const auto& [w, set] : digests) EXPECT_EQ(set.size(), 1u) << w;
}

// Two processes, two adapters, one digest; respawning workloads run their
// rounds on fresh threads and still finish every op.
TEST(WorkloadReplay, RespawningWorkloadsAreIdenticalAcrossProcesses) {
  std::string digest;
  const std::string other = testing::StandIn("mimalloc");
  for (const std::string& adapter :
       {std::string("system"), other, std::string("system")}) {
    const std::string out = TempPath(adapter + ".json");
    const CommandResult r = RunCommand(
        kCli + " run --quiet --no-latency --allocators " + adapter +
        " --workloads mstress --threads 2 --ops 5000 --repetitions 1 --out " +
        out);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    const json doc = json::parse(ReadAll(out));
    ASSERT_EQ(doc["cells"].size(), 1u);
    const json& c = doc["cells"][0];
    ASSERT_EQ(c["status"], "ok") << c["reason"];
    if (digest.empty()) digest = c["stream_digest"];
    EXPECT_EQ(c["stream_digest"], digest) << adapter;
    // The hand-offs are lagged (mstress's spec: 2000 turns) and the digest
    // covers the lag; the waits are reported apart.
    EXPECT_EQ(c["wait"]["lag"], 2000);
    EXPECT_GE(c["wait"]["wait_share"].get<double>(), 0.0);
    EXPECT_LE(c["wait"]["wait_share"].get<double>(), 1.0);
  }
}

TEST(WorkloadReplay, PinRecordsTheCpus) {
  const std::string out = TempPath("pin.json");
  const CommandResult r = RunCommand(
      kCli +
      " run --quiet --no-latency --pin --allocators system --workloads "
      "cache-thrash --threads 2 --ops 2000 --out " +
      out);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const json doc = json::parse(ReadAll(out));
  EXPECT_EQ(doc["run"]["pin"], true);
  const json& cpus = doc["cells"][0]["pinned_cpus"];
  ASSERT_EQ(cpus.size(), 2u);
  const long n = sysconf(_SC_NPROCESSORS_ONLN);
  for (const json& c : cpus) {
    EXPECT_GE(c.get<int>(), 0);
    EXPECT_LT(c.get<int>(), n);
  }
  if (n >= 2) {
    EXPECT_NE(cpus[0], cpus[1]);
  }
}

TEST(WorkloadReplay, MalformedSpecsExitTwoWithOneLine) {
  const std::string dir = TempPath("bad");
  const std::map<std::string, std::string> cases = {
      {"unknown-key", R"("sizes": {"dist": "fixed", "size": 8}, "colour": 1)"},
      {"negative-size", R"("sizes": {"dist": "fixed", "size": -8})"},
      {"zero-size", R"("sizes": {"dist": "fixed", "size": 0})"},
      {"min-above-max", R"("sizes": {"dist": "uniform", "min": 9, "max": 8})"},
      {"zero-weights",
       R"("sizes": {"dist": "table", "table": [[8, 0], [16, 0]]})"},
      {"cross-one-thread",
       R"("sizes": {"dist": "fixed", "size": 8}, "cross_thread": {"share": 0.5})"},
  };
  for (const auto& [name, phase_body] : cases) {
    SCOPED_TRACE(name);
    const std::string spec = dir + "-" + name + ".json";
    std::string text = R"({"name": "bad", "description": "d", "ops_per_thread":
        {"quick": 1000, "default": 1000, "full": 1000}, "phases": [{"tag":
        "BADX", "working_set": 4, )" +
                       phase_body + "}]}";
    FILE* f = std::fopen(spec.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(text.c_str(), f);
    std::fclose(f);
    const std::string out = TempPath(name + "-out.json");
    const CommandResult r =
        RunCommand(kCli + " run --quiet --allocators system --workloads " +
                   spec + " --out " + out);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(spec), std::string::npos) << r.err;
    EXPECT_FALSE(testing::FileExists(out));
  }
  // 10^15 ops per thread.
  const std::string spec = dir + "-huge.json";
  FILE* f = std::fopen(spec.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs(
      R"({"name": "bad", "description": "d", "ops_per_thread": {"quick":
      1000000000000000, "default": 1, "full": 1}, "phases": [{"tag": "BADX",
      "working_set": 4, "sizes": {"dist": "fixed", "size": 8}}]})",
      f);
  std::fclose(f);
  const CommandResult r =
      RunCommand(kCli + " run --quiet --allocators system --workloads " + spec +
                 " --out " + TempPath("huge-out.json"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("ops_per_thread.quick"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace allocmark
