// main() of `allocmark`: assembles the subcommands (one file each) and maps
// bad usage to one line on stderr and exit code 2.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <vector>

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

namespace {

int Main(int argc, char** argv) {
  CLI::App app{"allocmark: a benchmark suite for memory allocators"};
  app.require_subcommand(1);
  const std::vector<Command> commands = {
      AddRunCommand(app),    AddListCommand(app),    AddCompareCommand(app),
      AddExportCommand(app), AddHistoryCommand(app), AddReportCommand(app),
      AddMicroCommand(app),
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
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
