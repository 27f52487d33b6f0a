// `allocmark export --format gbench|bencher|gab RESULTS.json`: other tools'
// formats of a results file, to stdout or written atomically with --out.
#include <iostream>
#include <memory>

#include "bench/cli/cli_commands.h"
#include "bench/report/compare.h"
#include "bench/report/export.h"
#include "bench/results/results_file.h"

namespace allocmark {
namespace {

struct ExportArgs {
  std::string input;
  std::string format;
  std::string out;
};

int Export(const ExportArgs& args) {
  std::string text;
  try {
    if (args.format != "gbench" && args.format != "bencher" &&
        args.format != "gab")
      throw ResultsError("--format: unknown export format '" + args.format +
                         "' (accepted: gbench, bencher, gab)");
    text =
        ExportResults(ReadResultsFile(args.input), args.format).dump(1) + "\n";
  } catch (const ResultsError& e) {
    BadInput(e.what());
  }
  if (args.out.empty() || args.out == "-") {
    std::cout << text;
    return 0;
  }
  if (const std::string err = WriteFileAtomically(args.out, text); !err.empty())
    BadInput("--out: cannot write " + args.out + ": " + err);
  return 0;
}

}  // namespace

Command AddExportCommand(CLI::App& app) {
  auto args = std::make_shared<ExportArgs>();
  CLI::App* cmd = app.add_subcommand(
      "export",
      "convert a results file: gbench (Google Benchmark JSON, for "
      "compare.py), bencher (Bencher Metric Format), gab "
      "(github-action-benchmark customSmallerIsBetter)");
  cmd->add_option("RESULTS", args->input, "results JSON")->required();
  cmd->add_option("--format", args->format, "gbench | bencher | gab")
      ->required();
  cmd->add_option("--out,-o", args->out, "output file (default: stdout)");
  return {cmd, [args] { return Export(*args); }};
}

}  // namespace allocmark
