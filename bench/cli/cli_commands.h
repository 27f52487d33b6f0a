// The subcommands of `allocmark`, one file each (cli_run.cc, cli_list.cc, ...):
// each adds itself to the CLI11 app and returns the function that runs it.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

namespace allocmark {

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

Command AddRunCommand(CLI::App& app);
Command AddListCommand(CLI::App& app);
Command AddCompareCommand(CLI::App& app);
Command AddExportCommand(CLI::App& app);
Command AddHistoryCommand(CLI::App& app);
Command AddReportCommand(CLI::App& app);
Command AddMicroCommand(CLI::App& app);

/// Directory holding the allocmark and worker executables.
std::string BinDir();
/// Prints "allocmark: <msg>" and exits with 2 (bad input).
[[noreturn]] void BadInput(const std::string& msg);

}  // namespace allocmark
