// Program cells end to end: sqlite3 under two allocators with the identity
// check from inside the process, a preload that is no malloc, a run that
// is too fast to have done its work, and a spec whose binary is missing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/integration/command.h"

namespace allocmark {
namespace {

using testing::RunCommand;

const std::string kAllocmark = std::string(ALLOCMARK_BIN_DIR) + "/allocmark";

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "/program_test_" + std::to_string(getpid()) +
         "_" + name;
}

nlohmann::json RunAllocmark(const std::string& args, int want_exit) {
  const std::string out = TempPath("run.json");
  const auto r =
      RunCommand(kAllocmark + " run --repetitions 1 " + args + " --out " + out);
  EXPECT_EQ(r.exit_code, want_exit) << r.out << r.err;
  return nlohmann::json::parse(testing::ReadAll(out));
}

TEST(ProgramCell, Sqlite3UnderSystemAndJemallocWithIdentityCheck) {
  const auto doc = RunAllocmark(
      "--workloads program:sqlite3 --allocators system,jemalloc,lookaside", 0);
  int ok = 0;
  for (const auto& c : doc["cells"]) {
    if (c["allocator"] == "lookaside") {
      EXPECT_EQ(c["status"], "skipped");  // it does not replace malloc
      continue;
    }
    ASSERT_EQ(c["status"], "ok") << c.dump();
    ++ok;
    const auto& p = c["program"];
    const std::string lib = p["malloc_library"];
    if (c["allocator"] == "jemalloc") {
      EXPECT_NE(lib.find("libjemalloc"), std::string::npos) << lib;
    } else {
      EXPECT_NE(lib.find("libc.so"), std::string::npos) << lib;
    }
    EXPECT_GE(p["processes"].get<int>(), 1);
    EXPECT_GT(p["peak_rss_bytes"].get<double>(), 1 << 20);
    EXPECT_GT(p["minor_faults"].get<double>(), 0);
    EXPECT_GT(p["user_ns"].get<double>() + p["sys_ns"].get<double>(), 0);
    EXPECT_EQ(c["ns_per_op"], c["wall_ns"]);
  }
  EXPECT_EQ(ok, 2);
}

TEST(ProgramCell, PreloadThatIsNoMallocFailsItsCell) {
  const auto doc = RunAllocmark(
      "--workloads program:sqlite3 --allocators "
      "preload:/usr/lib/x86_64-linux-gnu/libm.so.6",
      1);
  ASSERT_EQ(doc["cells"].size(), 1u);
  const auto& c = doc["cells"][0];
  EXPECT_EQ(c["status"], "failed");
  EXPECT_NE(c["reason"].get<std::string>().find("malloc resolves to"),
            std::string::npos)
      << c.dump();
}

// A copy of the sqlite3 spec that claims far more work than it does.
TEST(ProgramCell, RunFasterThanItsWorkFailsItsCell) {
  const std::string spec = TempPath("fast.json");
  std::ofstream(spec) << R"({"name": "sqlite3-fast", "debian": "sqlite3",
    "command": ["/usr/bin/sqlite3", ":memory:", "select 1"],
    "expect_output": "1", "min_seconds": 600})";
  const auto doc =
      RunAllocmark("--workloads program:" + spec + " --allocators system", 1);
  const auto& c = doc["cells"][0];
  EXPECT_EQ(c["status"], "failed");
  EXPECT_NE(c["reason"].get<std::string>().find("cannot have done it"),
            std::string::npos)
      << c.dump();
}

TEST(ProgramCell, MissingBinaryIsBadInputNamingTheSpec) {
  const std::string spec = TempPath("missing.json");
  std::ofstream(spec) << R"({"name": "gone", "debian": "no-such-package",
    "command": ["/usr/bin/no-such-program-allocmark"]})";
  const std::string out = TempPath("missing-out.json");
  const auto r = RunCommand(kAllocmark + " run --workloads program:" + spec +
                            " --allocators system --out " + out);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(spec), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("not installed"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_FALSE(std::filesystem::exists(out));
}

}  // namespace
}  // namespace allocmark
