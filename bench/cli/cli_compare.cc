// `allocmark compare BASE NEW`: decides regressions between two results files.
// Exit 0 no regression, 1 regression, 2 bad input.
#include <fstream>
#include <iostream>
#include <memory>

#include "bench/cli/cli_commands.h"
#include "bench/report/compare.h"
#include "bench/report/compare_format.h"
#include "bench/report/noise.h"
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
  std::string gate = "auto";
  std::string noise;
  double noise_multiple = 3;
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
    options.gate = ParseGateTier(args.gate);
    if (!(args.noise_multiple > 0 && args.noise_multiple <= 100))
      throw ResultsError("--noise-multiple: must be in (0, 100]");
    options.noise_multiple = args.noise_multiple;
    if (!args.noise.empty()) {
      std::ifstream in(args.noise);
      if (!in) throw ResultsError(args.noise + ": cannot read the noise file");
      nlohmann::json doc;
      try {
        doc = nlohmann::json::parse(in);
      } catch (const nlohmann::json::exception& e) {
        throw ResultsError(args.noise + ": not valid JSON (" + e.what() + ")");
      }
      LoadNoise(doc, args.noise, &options);
    }
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
  cmd->add_option(
         "--threshold", args->thresholds,
         "PCT% for every wall-clock metric, or METRIC=PCT% (ns_per_op, "
         "p99, alloc_p99, free_p99, peak_rss, instructions_per_op, "
         "sim, sim_instructions, sim_cycles); default 5%, sim 1%")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--alpha", args->alpha,
                  "significance level of the Mann-Whitney U test (0.05)");
  cmd->add_option("--format", args->format, "text | markdown | json");
  cmd->add_option("--out", args->out, "write the report here (atomically)");
  cmd->add_flag("--allow-different-streams", args->allow_different_streams,
                "compare cells whose stream digests differ (flagged)");
  cmd->add_option("--gate", args->gate,
                  "tiers that decide the exit code: auto (deterministic when "
                  "both runs have callgrind figures, else wall), "
                  "deterministic, wall, all");
  cmd->add_option("--noise", args->noise,
                  "noise JSON of `allocmark noise`: wall-clock thresholds "
                  "become --noise-multiple x each cell's noise (>= 1%)");
  cmd->add_option("--noise-multiple", args->noise_multiple,
                  "multiple of the measured noise (default 3)");
  cmd->add_flag("--strict", args->strict,
                "a threshold breach too few repetitions cannot test counts "
                "as a regression");
  return {cmd, [args] { return Compare(*args); }};
}

}  // namespace allocmark
