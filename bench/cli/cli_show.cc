// `allocmark show RESULTS.json [--details]`: the console summary (or the
// per-cell table) of a results file written earlier.
#include <iostream>
#include <memory>

#include "bench/cli/cli_commands.h"
#include "bench/report/compare.h"
#include "bench/report/console_report.h"
#include "bench/report/console_summary.h"

namespace allocmark {
namespace {

struct ShowArgs {
  std::string input;
  bool details = false;
};

int Show(const ShowArgs& args) {
  nlohmann::json doc;
  try {
    doc = ReadResultsFile(args.input);
  } catch (const ResultsError& e) {
    BadInput(e.what());
  }
  std::cout << (args.details ? ConsoleDetails(doc) : ConsoleSummary(doc));
  return 0;
}

}  // namespace

Command AddShowCommand(CLI::App& app) {
  auto args = std::make_shared<ShowArgs>();
  CLI::App* cmd = app.add_subcommand(
      "show", "print the summary (or every figure per cell) of a results file");
  cmd->add_option("RESULTS", args->input, "results JSON")->required();
  cmd->add_flag("--details", args->details,
                "one row per cell with every figure instead of the summary");
  return {cmd, [args] { return Show(*args); }};
}

}  // namespace allocmark
