// main() of `allocmark`: assembles the subcommands (one file each) and maps
// bad usage to one line on stderr and exit code 2.
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "allocmark_build_info.h"
#include "bench/cli/cli_commands.h"

namespace allocmark {

std::string BinDir() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : exe.parent_path().string();
}

void BadInput(const std::string& msg) {
  std::fprintf(stderr, "allocmark: %s\n", msg.c_str());
  std::exit(2);
}

std::uint64_t ParseCount(const std::string& flag, const std::string& text,
                         std::uint64_t lo, std::uint64_t hi) {
  const std::string range = " (expected an integer in [" + std::to_string(lo) +
                            ", " + std::to_string(hi) + "])";
  if (text.empty()) BadInput(flag + ": empty value" + range);
  std::uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') BadInput(flag + ": '" + text + "'" + range);
    const std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - digit) / 10)
      BadInput(flag + ": '" + text + "' is out of range" + range);
    v = v * 10 + digit;
  }
  if (v < lo || v > hi)
    BadInput(flag + ": '" + text + "' is out of range" + range);
  return v;
}

double ParseSeconds(const std::string& flag, const std::string& text,
                    double hi) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", hi);
  const std::string range =
      " (expected seconds in (0, " + std::string(buf) + "], e.g. 30 or 0.5)";
  // Plain decimals only: strtod would also take "nan", "inf" and hex.
  bool digits = false;
  for (char c : text) {
    if (c >= '0' && c <= '9')
      digits = true;
    else if (c != '.')
      BadInput(flag + ": '" + text + "'" + range);
  }
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (!digits || *end != '\0' || !std::isfinite(v) || !(v > 0) || v > hi)
    BadInput(flag + ": '" + text + "'" + range);
  return v;
}

namespace {

int Main(int argc, char** argv) {
  CLI::App app{"allocmark: a benchmark suite for memory allocators"};
  app.require_subcommand(1);
  app.set_version_flag("--version",
                       "allocmark " ALLOCMARK_VERSION
                       " (git " ALLOCMARK_GIT_REVISION ", " ALLOCMARK_BUILD_TYPE
                       " build, results schema_version 1)");
  // Every --help shows each option's default; subcommands copy this
  // setting when they are added, so it comes first.
  app.option_defaults()->always_capture_default();
  const std::vector<Command> commands = {
      AddRunCommand(app),     AddShowCommand(app),   AddListCommand(app),
      AddCompareCommand(app), AddExportCommand(app), AddHistoryCommand(app),
      AddReportCommand(app),  AddMicroCommand(app),  AddRecordCommand(app),
      AddTraceCommand(app),   AddMergeCommand(app),  AddNoiseCommand(app),
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    BadInput(e.what());
  }
  for (const Command& c : commands) {
    if (c.app->parsed()) return c.run();
  }
  return 2;
}

}  // namespace
}  // namespace allocmark

int main(int argc, char** argv) { return allocmark::Main(argc, argv); }
