// What a new user reads first: `list` fits 100 columns and marks the
// workloads that need two threads, every --help shows defaults, --version
// answers, and `show` prints a results file's summary at 100 columns.
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>

#include "tests/integration/command.h"

namespace allocmark {
namespace {

using testing::CommandResult;
using testing::RunCommand;

const std::string kCli = std::string(ALLOCMARK_BIN_DIR) + "/allocmark";
const std::string kReference =
    std::string(ALLOCMARK_SOURCE_DIR) + "/results/reference/default.json";

void ExpectFits(const std::string& text, std::size_t width) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    EXPECT_LE(line.size(), width) << line;
}

std::string LineWith(const std::string& text, const std::string& start) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(start, 0) == 0) return line;
  return "";
}

TEST(CliList, FitsAHundredColumnsAndMarksTwoThreadWorkloads) {
  const CommandResult r = RunCommand(kCli + " list");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExpectFits(r.out, 100);
  // xmalloc-test hands blocks between threads; fixed-64 runs on one.
  EXPECT_NE(LineWith(r.out, "  xmalloc-test ").find(" 2+ "), std::string::npos)
      << r.out;
  EXPECT_NE(LineWith(r.out, "  fixed-64 ").find(" 1 "), std::string::npos)
      << r.out;
  // Every adapter row is name, status, then its description, aligned.
  const std::string system = LineWith(r.out, "  system ");
  const std::string null = LineWith(r.out, "  null ");
  ASSERT_FALSE(system.empty());
  EXPECT_EQ(system.find("available"), null.find("available")) << r.out;
}

TEST(CliHelp, EverySubcommandShowsItsDefaults) {
  const CommandResult run = RunCommand(kCli + " run --help");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  for (const std::string want :
       {"TEXT=120", "TEXT=all", "TEXT=1,2", "TEXT=default", "TEXT=auto",
        "TEXT=hw", "=900", "=1024", "=10", "TEXT=results/latest.json"})
    EXPECT_NE(run.out.find(want), std::string::npos) << want << run.out;
  for (const std::string cmd :
       {"show", "list", "compare", "export", "history", "report", "micro"}) {
    const CommandResult r = RunCommand(kCli + " " + cmd + " --help");
    EXPECT_EQ(r.exit_code, 0) << cmd << r.err;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << cmd;
  }
}

TEST(CliVersion, NamesVersionAndRevision) {
  const CommandResult r = RunCommand(kCli + " --version");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("allocmark ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("git "), std::string::npos) << r.out;
}

TEST(CliShow, SummaryOfAResultsFileFitsAHundredColumns) {
  const CommandResult r = RunCommand(kCli + " show " + kReference);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExpectFits(r.out, 100);
  EXPECT_NE(r.out.find("== 1 thread"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("== 2 threads"), std::string::npos) << r.out;
  // kpool was skipped in all 54 repetitions: one line, not 54 rows.
  std::size_t n = 0;
  for (auto at = r.out.find("/dev/allocmark"); at != std::string::npos;
       at = r.out.find("/dev/allocmark", at + 1))
    ++n;
  EXPECT_EQ(n, 1u) << r.out;
  const CommandResult d = RunCommand(kCli + " show --details " + kReference);
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_NE(d.out.find("median CI"), std::string::npos);
}

TEST(CliShow, BadFileIsOneLineAndExitTwo) {
  const CommandResult r = RunCommand(kCli + " show /nonexistent.json");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("/nonexistent.json"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

}  // namespace
}  // namespace allocmark
