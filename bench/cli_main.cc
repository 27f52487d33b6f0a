// main() of `allocmark`: the run and list subcommands. Bad input gets one
// line naming it and exit code 2, before anything is run or written.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "bench/catalog.h"
#include "bench/clock.h"
#include "bench/console_report.h"
#include "bench/context.h"
#include "bench/results_file.h"
#include "bench/runner.h"

namespace allocmark {
namespace {

std::string BinDir() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : exe.parent_path().string();
}

[[noreturn]] void BadInput(const std::string& msg) {
  std::fprintf(stderr, "allocmark: %s\n", msg.c_str());
  std::exit(2);
}

struct RunArgs {
  std::string allocators = "all";
  std::string workloads = "all";
  std::string threads;
  std::uint32_t repetitions = 0;
  std::string profile = "default";
  std::string out = "results/latest.json";
  double timeout_s = 120;
  std::string batch = "auto";
  std::uint64_t ops = 0;
  std::uint64_t seed = 0;
  bool seed_set = false;
  bool no_latency = false;
  bool check = false;
  bool quiet = false;
};

int Run(const RunArgs& args) {
  RunPlan plan;
  const std::string bin = BinDir();
  try {
    if (!ParseScale(args.profile, &plan.scale))
      throw SpecError("--profile: unknown profile '" + args.profile +
                      "' (accepted: quick, default, full)");
    plan.profile = args.profile;
    plan.threads = ParseThreadList(args.threads.empty() ? "1,2" : args.threads);
    plan.repetitions = args.repetitions                ? args.repetitions
                       : plan.scale == Scale::kQuick   ? 1
                       : plan.scale == Scale::kDefault ? 3
                                                       : 5;
    if (args.timeout_s <= 0) throw SpecError("--timeout: must be > 0 seconds");
    plan.timeout_s = args.timeout_s;
    if (args.batch != "auto") {
      char* end = nullptr;
      const unsigned long k = std::strtoul(args.batch.c_str(), &end, 10);
      if (*end != '\0' || k == 0 || k > 4096 || args.batch[0] == '-')
        throw SpecError(
            "--batch: expected auto or an integer in [1, 4096], got '" +
            args.batch + "'");
      plan.batch = static_cast<std::uint32_t>(k);
    }
    if (args.ops) plan.ops_per_thread = args.ops;
    if (args.seed_set) plan.seed = args.seed;
    plan.latency = !args.no_latency;
    plan.check_contents = args.check;
    plan.workloads =
        SelectWorkloads(LoadWorkloads(WorkloadDir()), args.workloads);
    for (const WorkloadSpec& w : plan.workloads) {
      for (std::uint32_t t : plan.threads) {
        if (!(t == 1 && w.phases[0].cross_thread_share > 0))
          ValidateForThreads(w, t);
      }
    }
    plan.adapters = SelectAdapters(AdapterCatalog(bin), args.allocators, bin);
  } catch (const SpecError& e) {
    BadInput(e.what());
  }
  const std::filesystem::path out(args.out);
  if (out.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(out.parent_path(), ec);
  }
  if (const std::string err = CheckWritable(args.out); !err.empty())
    BadInput("--out: cannot write " + args.out + ": " + err);

  plan.progress = !args.quiet && isatty(STDERR_FILENO);
  const ClockCalibration clock = Calibrate();
  const RunOutcome outcome = RunMatrix(plan, clock, MachineContext(clock));
  std::cout << ConsoleTable(outcome.results);
  const std::string err =
      WriteFileAtomically(args.out, outcome.results.dump(1) + "\n");
  if (!err.empty()) {
    std::fprintf(stderr, "allocmark: could not write results: %s\n",
                 err.c_str());
    return 1;
  }
  std::printf("%d ok, %d failed, %d skipped; results in %s\n", outcome.cells_ok,
              outcome.cells_failed, outcome.cells_skipped, args.out.c_str());
  return outcome.cells_failed > 0 ? 1 : 0;
}

int List() {
  const std::string bin = BinDir();
  std::printf("allocators:\n");
  for (const AdapterInfo& a : AdapterCatalog(bin)) {
    std::printf("  %-10s %-9s %-28s %s\n", a.name.c_str(),
                a.available ? "available" : "missing",
                a.available ? a.version.substr(0, 28).c_str() : "-",
                a.description.c_str());
    if (!a.available)
      std::printf("  %-10s           why: %s\n", "", a.reason.c_str());
  }
  std::printf("  %-10s %-9s %-28s %s\n", "preload:<lib.so>", "", "",
              "any malloc replacement, run through LD_PRELOAD");
  std::printf("\nworkloads (ops per thread: quick / default / full):\n");
  try {
    for (const auto& [name, spec] : LoadWorkloads(WorkloadDir())) {
      if (spec.test_only) continue;
      std::printf("  %-14s %9llu / %10llu / %11llu  %s\n", name.c_str(),
                  static_cast<unsigned long long>(spec.ops_per_thread[0]),
                  static_cast<unsigned long long>(spec.ops_per_thread[1]),
                  static_cast<unsigned long long>(spec.ops_per_thread[2]),
                  spec.description.c_str());
    }
  } catch (const SpecError& e) {
    BadInput(e.what());
  }
  return 0;
}

int Main(int argc, char** argv) {
  CLI::App app{"allocmark: a benchmark suite for memory allocators"};
  app.require_subcommand(1);
  RunArgs run;
  CLI::App* run_cmd = app.add_subcommand(
      "run", "run the allocator x workload x threads matrix");
  run_cmd->add_option("--allocators", run.allocators,
                      "a,b,... | all | preload:<lib.so>");
  run_cmd->add_option("--workloads", run.workloads,
                      "w,... | all | path/to/spec.json");
  run_cmd->add_option("--threads", run.threads,
                      "1,2,4 | 1..16 (powers of two) | 1..16:1");
  run_cmd->add_option("--repetitions", run.repetitions,
                      "repetitions per cell (interleaved)");
  run_cmd->add_option("--profile", run.profile, "quick | default | full");
  run_cmd->add_option("--out", run.out, "results JSON (written atomically)");
  run_cmd->add_option("--timeout", run.timeout_s,
                      "seconds before a worker is killed");
  run_cmd->add_option("--batch", run.batch, "auto | K: ops per timed batch");
  run_cmd->add_option("--ops", run.ops,
                      "ops per thread, overriding the profile");
  run_cmd->add_option("--seed", run.seed, "stream seed, overriding the spec's")
      ->each([&](const std::string&) { run.seed_set = true; });
  run_cmd->add_flag("--no-latency", run.no_latency,
                    "skip the timed (latency) pass");
  run_cmd->add_flag("--check", run.check,
                    "fill and verify block contents (slow)");
  run_cmd->add_flag("--quiet", run.quiet, "no progress line");
  CLI::App* list_cmd =
      app.add_subcommand("list", "show adapters and workloads");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    BadInput(e.what());
  }
  if (run_cmd->parsed()) return Run(run);
  if (list_cmd->parsed()) return List();
  return 2;
}

}  // namespace
}  // namespace allocmark

int main(int argc, char** argv) { return allocmark::Main(argc, argv); }
