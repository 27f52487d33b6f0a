// `allocmark noise RUN.json [RUN2.json ...] -o noise.json`: the A/A noise of
// each cell, read back by `compare --noise`; exit 2 on bad input.
#include <iostream>
#include <memory>

#include "bench/cli/cli_commands.h"
#include "bench/report/noise.h"
#include "bench/report/results_reader.h"
#include "bench/results/results_file.h"

namespace allocmark {
namespace {

struct NoiseArgs {
  std::vector<std::string> inputs;
  std::string out;
};

int Noise(const NoiseArgs& args) {
  std::vector<NamedResults> runs;
  nlohmann::json noise;
  try {
    for (const std::string& path : args.inputs)
      runs.emplace_back(path, ReadResultsFile(path));
    noise = MeasureNoise(runs);
  } catch (const ResultsError& e) {
    BadInput(e.what());
  }
  if (const std::string err =
          WriteFileAtomically(args.out, noise.dump(1) + "\n");
      !err.empty())
    BadInput("-o: cannot write " + args.out + ": " + err);
  double worst = 0;
  for (const auto& c : noise["cells"])
    if (c["metric"] == "ns_per_op")
      worst = std::max(worst, c["noise_pct"].get<double>());
  std::cout << "noise of " << noise["cells"].size()
            << " cell figures written to " << args.out
            << "; largest ns/op noise " << worst << " %\n";
  return 0;
}

}  // namespace

Command AddNoiseCommand(CLI::App& app) {
  auto args = std::make_shared<NoiseArgs>();
  CLI::App* cmd = app.add_subcommand(
      "noise",
      "measure each cell's A/A noise from runs of one build (or the even and "
      "odd repetitions of one run) for compare --noise");
  cmd->add_option("FILES", args->inputs, "results JSON of one build")
      ->required();
  cmd->add_option("-o,--out", args->out, "noise JSON (written atomically)")
      ->required();
  return {cmd, [args] { return Noise(*args); }};
}

}  // namespace allocmark
