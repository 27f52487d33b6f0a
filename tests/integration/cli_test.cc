// End-to-end tests of `allocmark run` and the workers: schema-valid output,
// identical streams across adapters, crash containment, identity refusal and
// bad input (one line, exit 2, nothing written).
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "allocmark_registry.h"
#include "tests/integration/cli_paths.h"
#include "tests/integration/command.h"
#include "tests/sanitize/sanitized.h"

namespace allocmark {
namespace {

using nlohmann::json;
using testing::CommandResult;
using testing::FileExists;
using testing::kBin;
using testing::kCli;
using testing::kSrc;
using testing::ReadAll;
using testing::RunCommand;
using testing::StandIn;
using testing::TempPath;

json Load(const std::string& path) { return json::parse(ReadAll(path)); }

int CountLines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

// The registry's reason an adapter was not built, "" when it was; fails the
// test for a name the registry does not know.
std::string MissingReason(const std::string& name) {
  for (const RegisteredAdapter& a : kRegisteredAdapters) {
    if (name == a.name) return a.missing;
  }
  ADD_FAILURE() << "adapter " << name << " is not in the registry";
  return "";
}

TEST(CliRun, AllAdaptersProduceSchemaValidIdenticalWork) {
  const std::string out = TempPath("all.json");
  const CommandResult r =
      RunCommand(kCli +
                 " run --quiet --allocators all --workloads "
                 "fixed-64,mixed-small,realloc-grow"
                 " --threads 1,2 --ops 3000 --repetitions 1 --out " +
                 out);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const CommandResult v =
      RunCommand("python3 " + kSrc + "/scripts/validate_results.py " + out);
  EXPECT_EQ(v.exit_code, 0) << v.err;
  const json doc = Load(out);
  std::map<std::string, std::set<std::string>> digests;
  int ok = 0;
  for (const json& c : doc["cells"]) {
    if (c["allocator"].get<std::string>().rfind("kpool-", 0) == 0) {
      EXPECT_EQ(c["status"], "skipped");
      EXPECT_NE(c["reason"].get<std::string>().find("/dev/allocmark"),
                std::string::npos);
      continue;
    }
    // An adapter the registry left unbuilt (a missing package, or one that
    // replaces malloc in a sanitizer build) is skipped with its reason;
    // every built one runs.
    const std::string missing =
        MissingReason(c["allocator"].get<std::string>());
    if (!missing.empty()) {
      EXPECT_EQ(c["status"], "skipped") << c.dump();
      EXPECT_NE(c["reason"].get<std::string>().find(missing), std::string::npos)
          << c.dump();
      continue;
    }
    ASSERT_EQ(c["status"], "ok") << c.dump();
    ++ok;
    EXPECT_TRUE(c["complete"].get<bool>());
    EXPECT_EQ(c["ops"].get<std::uint64_t>(),
              c["counts"]["allocs"].get<std::uint64_t>() +
                  c["counts"]["frees"].get<std::uint64_t>() +
                  c["counts"]["reallocs"].get<std::uint64_t>());
    digests[c["workload"].get<std::string>() + "/" + c["threads"].dump()]
        .insert(c["stream_digest"].get<std::string>());
    EXPECT_TRUE(c["latency"].is_object());
    EXPECT_EQ(c["latency"]["alloc"]["count"], c["counts"]["allocs"]);
  }
  // Every user-space adapter of the registry that was built ran.
  int built = 0;
  for (const RegisteredAdapter& a : kRegisteredAdapters) built += !*a.missing;
  EXPECT_GT(built, 0);
  EXPECT_EQ(ok, built * 3 * 2);
  for (const auto& [key, set] : digests) EXPECT_EQ(set.size(), 1u) << key;
  EXPECT_NE(*digests["fixed-64/1"].begin(), *digests["fixed-64/2"].begin());
  EXPECT_NE(r.out.find("relative to system"), std::string::npos);
}

TEST(CliRun, PreloadRunsAnyMallocReplacement) {
  ALLOCMARK_SKIP_IF_SANITIZED(
      "a preloaded malloc replacement goes ahead of the sanitizer runtime: "
      "ASan refuses to start, TSan's malloc interceptors are bypassed");
  const std::string out = TempPath("preload.json");
  const std::string lib = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";
  const CommandResult r =
      RunCommand(kCli + " run --quiet --allocators preload:" + lib +
                 " --workloads fixed-64 --threads 1 --ops 2000 --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const json cell = Load(out)["cells"][0];
  EXPECT_EQ(cell["status"], "ok");
  EXPECT_NE(cell["library"].get<std::string>().find("libjemalloc"),
            std::string::npos);
}

TEST(CliRun, CrashingAndHangingWorkersFailOnlyTheirCells) {
  const std::string victim = StandIn("jemalloc");
  // Sanitizer builds: the runtime's SIGSEGV handler would turn the crash
  // into a report and exit 1; the runner's kill-by-signal path is the test.
  const std::string env = testing::kSanitized ? "ASAN_OPTIONS=handle_segv=0 "
                                                "TSAN_OPTIONS=handle_segv=0 "
                                              : "";
  for (const std::string fault : {"segv", "hang", "garbage"}) {
    const std::string out = TempPath("crash-" + fault + ".json");
    const CommandResult r = RunCommand(
        env + "ALLOCMARK_TEST_FAULT=" + fault + ":" + victim + " " + kCli +
        " run --quiet --allocators " + StandIn("system,jemalloc,mimalloc") +
        " --workloads fixed-64 --threads 1 --ops 2000 --timeout 3"
        " --out " +
        out);
    EXPECT_EQ(r.exit_code, 1) << fault << r.out << r.err;
    const json doc = Load(out);
    for (const json& c : doc["cells"]) {
      if (c["allocator"] == victim) {
        EXPECT_EQ(c["status"], "failed") << fault;
        const std::string reason = c["reason"];
        if (fault == "segv") {
          EXPECT_NE(reason.find("killed by SIGSEGV"), std::string::npos)
              << reason;
        }
        if (fault == "hang") {
          EXPECT_NE(reason.find("timed out after 3 s"), std::string::npos)
              << reason;
        }
      } else {
        EXPECT_EQ(c["status"], "ok") << fault << c.dump();
      }
    }
    EXPECT_NE(r.out.find("FAILED"), std::string::npos) << r.out;
  }
}

TEST(Worker, RefusesToRunUnderAnotherAllocator) {
  ALLOCMARK_SKIP_IF_SANITIZED(
      "a preloaded malloc replacement goes ahead of the sanitizer runtime "
      "(ASan refuses to start before the worker can), and the mimalloc "
      "worker is not built");
  const CommandResult r =
      RunCommand("LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 " +
                 kBin + "/allocmark-worker-system --workload " + kSrc +
                 "/bench/workloads/fixed-64.json");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("refusing to run"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("libjemalloc"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
  const CommandResult m = RunCommand(
      "LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 " + kBin +
      "/allocmark-worker-mimalloc --workload " + kSrc +
      "/bench/workloads/fixed-64.json");
  EXPECT_EQ(m.exit_code, 3) << m.err;
  EXPECT_NE(m.err.find("libtcmalloc"), std::string::npos) << m.err;
}

struct BadInput {
  std::string args;
  std::string message;  // must appear in the one-line error
};

class CliBadInput : public ::testing::TestWithParam<BadInput> {};

TEST_P(CliBadInput, OneLineExitTwoNothingWritten) {
  const std::string out = TempPath("bad.json");
  std::remove(out.c_str());
  std::string args = GetParam().args;
  if (args.find("--out") == std::string::npos) args += " --out " + out;
  const CommandResult r = RunCommand(kCli + " run --quiet " + args);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(CountLines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find(GetParam().message), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_FALSE(FileExists(out));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CliBadInput,
    ::testing::Values(
        BadInput{"--allocators nosuch", "unknown allocator 'nosuch'"},
        BadInput{"--workloads nosuch", "unknown workload 'nosuch'"},
        BadInput{"--threads 0", "--threads: '0'"},
        BadInput{"--threads -3", "--threads"},
        BadInput{"--threads 8..2", "runs backwards"},
        BadInput{"--profile huge", "unknown profile 'huge'"},
        BadInput{"--batch 0", "--batch"}, BadInput{"--timeout 0", "--timeout"},
        BadInput{"--bogus-flag", "bogus-flag"},
        BadInput{"--allocators preload:/nonexistent.so", "cannot read"},
        BadInput{"--workloads " ALLOCMARK_SOURCE_DIR
                 "/tests/integration/bad-size-zero.json",
                 "sizes.size: must be in [1,"},
        BadInput{"--workloads " ALLOCMARK_SOURCE_DIR
                 "/tests/integration/bad-ops.json",
                 "ops_per_thread.quick"},
        BadInput{"--workloads " ALLOCMARK_SOURCE_DIR
                 "/tests/integration/bad-json.json",
                 "not valid JSON"},
        BadInput{"--out /proc/allocmark/x.json", "--out: cannot write"},
        BadInput{"--out /etc/passwd/x.json", "--out: cannot write"}));

}  // namespace
}  // namespace allocmark
