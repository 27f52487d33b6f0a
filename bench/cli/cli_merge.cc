// `allocmark merge A.json B.json ... -o OUT.json`: joins shards or
// alternating runs; exit 0 merged, 2 foreign or overlapping input.
#include <iostream>
#include <memory>

#include "bench/cli/cli_commands.h"
#include "bench/report/merge.h"
#include "bench/report/results_reader.h"
#include "bench/results/results_file.h"

namespace allocmark {
namespace {

struct MergeArgs {
  std::vector<std::string> inputs;
  std::string out;
};

int Merge(const MergeArgs& args) {
  std::vector<NamedResults> docs;
  std::vector<std::string> warnings;
  nlohmann::json merged;
  try {
    for (const std::string& path : args.inputs)
      docs.emplace_back(path, ReadResultsFile(path));
    merged = MergeResults(docs, &warnings);
  } catch (const ResultsError& e) {
    BadInput(e.what());
  }
  for (const std::string& w : warnings)
    std::cerr << "allocmark: warning: " << w << "\n";
  if (const std::string err =
          WriteFileAtomically(args.out, merged.dump(1) + "\n");
      !err.empty())
    BadInput("-o: cannot write " + args.out + ": " + err);
  std::cout << "merged " << docs.size() << " files, " << merged["cells"].size()
            << " cells, into " << args.out << "\n";
  return 0;
}

}  // namespace

Command AddMergeCommand(CLI::App& app) {
  auto args = std::make_shared<MergeArgs>();
  CLI::App* cmd = app.add_subcommand(
      "merge",
      "join results of shards (run --shard i/n) or alternating runs into one "
      "file; exit 2 on foreign or overlapping input");
  cmd->add_option("FILES", args->inputs, "results JSON files (two or more)")
      ->required();
  cmd->add_option("-o,--out", args->out, "merged results JSON (atomically)")
      ->required();
  return {cmd, [args] { return Merge(*args); }};
}

}  // namespace allocmark
