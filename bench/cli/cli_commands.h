// The subcommands of `allocmark`, one file each (cli_run.cc, cli_list.cc, ...):
// each adds itself to the CLI11 app and returns the function that runs it.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
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
Command AddShowCommand(CLI::App& app);
Command AddRecordCommand(CLI::App& app);
Command AddTraceCommand(CLI::App& app);
Command AddMergeCommand(CLI::App& app);
Command AddNoiseCommand(CLI::App& app);

/// Directory holding the allocmark and worker executables.
std::string BinDir();
/// Prints "allocmark: <msg>" and exits with 2 (bad input).
[[noreturn]] void BadInput(const std::string& msg);

/// Parses a decimal integer in [lo, hi]: digits only (no sign, blank, hex or
/// exponent), no overflow. Anything else is BadInput naming `flag`, so `-5`
/// never wraps to 2^64 - 5 and `99999999999999999999` never saturates.
std::uint64_t ParseCount(const std::string& flag, const std::string& text,
                         std::uint64_t lo, std::uint64_t hi);

/// Parses seconds: a finite decimal number in (0, hi]; nan and inf refused.
double ParseSeconds(const std::string& flag, const std::string& text,
                    double hi);

}  // namespace allocmark
