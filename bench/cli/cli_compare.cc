// `allocmark compare BASE NEW`: decides regressions between two results files.
// Exit 0 no regression, 1 regression, 2 bad input.
#include <iostream>
#include <memory>

#include "bench/cli/cli_commands.h"
#include "bench/report/compare.h"
#include "bench/results/results_file.h"

namespace allocmark {
namespace {

struct CompareArgs {
  std::string base, now;
  std::vector<std::string> thresholds;
  double alpha = 0.05;
  std::string format = "text";
  std::string out;
  bool allow_different_streams = false;
  bool strict = false;
};

int Compare(const CompareArgs& args) {
  CompareOptions options;
  std::string text;
  Comparison c;
  try {
    for (const std::string& t : args.thresholds) ParseThreshold(t, &options);
    if (!(args.alpha > 0 && args.alpha < 1))
      throw ResultsError("--alpha: must be in (0, 1)");
    if (args.format != "text" && args.format != "markdown" &&
        args.format != "json")
      throw ResultsError("--format: unknown format '" + args.format +
                         "' (accepted: text, markdown, json)");
    options.alpha = args.alpha;
    options.allow_different_streams = args.allow_different_streams;
    options.strict = args.strict;
    const nlohmann::json base = ReadResultsFile(args.base);
    const nlohmann::json now = ReadResultsFile(args.now);
    c = CompareResults(base, now, options, args.base, args.now);
  } catch (const ResultsError& e) {
    BadInput(e.what());
  }
  if (args.format == "markdown")
    text = FormatComparisonMarkdown(c);
  else if (args.format == "json")
    text = ComparisonJson(c).dump(1) + "\n";
  else
    text = FormatComparisonText(c);
  if (args.out.empty()) {
    std::cout << text;
  } else if (const std::string err = WriteFileAtomically(args.out, text);
             !err.empty()) {
    BadInput("--out: cannot write " + args.out + ": " + err);
  }
  return c.Regressed() ? 1 : 0;
}

}  // namespace

Command AddCompareCommand(CLI::App& app) {
  auto args = std::make_shared<CompareArgs>();
  CLI::App* cmd = app.add_subcommand(
      "compare",
      "compare two results files; exit 0 no regression, 1 regression, 2 bad "
      "input");
  cmd->add_option("BASE", args->base, "baseline results JSON")->required();
  cmd->add_option("NEW", args->now, "new results JSON")->required();
  cmd->add_option("--threshold", args->thresholds,
                  "PCT% for every metric, or METRIC=PCT% (ns_per_op, p99, "
                  "alloc_p99, free_p99, peak_rss, instructions_per_op); "
                  "default 5%")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--alpha", args->alpha,
                  "significance level of the Mann-Whitney U test (0.05)");
  cmd->add_option("--format", args->format, "text | markdown | json");
  cmd->add_option("--out", args->out, "write the report here (atomically)");
  cmd->add_flag("--allow-different-streams", args->allow_different_streams,
                "compare cells whose stream digests differ (flagged)");
  cmd->add_flag("--strict", args->strict,
                "a threshold breach too few repetitions cannot test counts "
                "as a regression");
  return {cmd, [args] { return Compare(*args); }};
}

}  // namespace allocmark
