// `allocmark run`: parses and validates the matrix, runs it, prints the table
// and writes the results atomically. Validation happens before anything runs.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>

#include "bench/cli/ci_profile.h"
#include "bench/cli/cli_commands.h"
#include "bench/kpool/vm_run.h"
#include "bench/probes/clock.h"
#include "bench/report/console_report.h"
#include "bench/report/console_summary.h"
#include "bench/report/pool_tag_report.h"
#include "bench/report/program_report.h"
#include "bench/results/results_file.h"
#include "bench/runner/cache_sim.h"
#include "bench/runner/catalog.h"
#include "bench/runner/context.h"
#include "bench/runner/runner.h"
#include "bench/runner/worker_process.h"

namespace allocmark {
namespace {

constexpr std::uint64_t kMaxRepetitions = 1000;
constexpr double kMaxTimeoutS = 7 * 24 * 3600;

struct RunArgs {
  std::string allocators = "all";
  std::string workloads = "all";
  std::string threads;
  bool threads_set = false;  // `--threads ''` is an error, not the default
  std::string repetitions;   // text: parsed strictly (ParseCount)
  std::uint32_t repetitions_n = 0;
  std::string profile = "default";
  std::string out = "results/latest.json";
  std::string timeout = "120";
  double timeout_s = 120;
  std::string batch = "auto";
  std::string ops_text;
  std::uint64_t ops = 0;
  std::string seed_text;
  std::uint64_t seed = 0;
  bool seed_set = false;
  bool no_latency = false;
  bool check = false;
  bool pin = false;
  bool no_stream_cache = false;
  bool quiet = false;
  bool details = false;  // the per-cell table instead of the summary
  bool vm = false;       // run the matrix in a QEMU guest (bench/vm_run.h)
  double vm_timeout_s = 900;
  int vm_mem_mb = 1024;
  std::string vm_build;
  std::string cache = "hw";
  bool cache_set = false;  // the ci profile defaults to sim, not hw
  std::string sim_geometry;
  std::string shard;  // i/n
  std::string first_repetition;
  bool tags = false;
  std::uint32_t sample_ms = 10;
};

// The guest runs the same command on the validated matrix; workloads go in
// as spec files, everything else as the user gave it.
int RunVm(const RunArgs& args, const RunPlan& plan) {
  if (args.allocators.find("preload:") != std::string::npos)
    BadInput(
        "--vm: preload:<lib.so> cannot run in the guest (static "
        "binaries, no shared libraries)");
  if (args.vm_timeout_s <= 0 || args.vm_mem_mb < 256)
    BadInput("--vm-timeout must be > 0 and --vm-mem at least 256 (MiB)");
  VmRunRequest req;
  std::string names;
  for (const WorkloadSpec& w : plan.workloads) {
    names += (names.empty() ? "" : ",") + w.name;
    req.workload_files.push_back(w.path);
  }
  req.guest_args = {
      "run",         "--allocators", args.allocators,
      "--workloads", names,          "--profile",
      args.profile,  "--timeout",    std::to_string(args.timeout_s),
      "--batch",     args.batch};
  if (!args.threads.empty())
    req.guest_args.insert(req.guest_args.end(), {"--threads", args.threads});
  if (args.repetitions_n)
    req.guest_args.insert(
        req.guest_args.end(),
        {"--repetitions", std::to_string(args.repetitions_n)});
  if (args.ops)
    req.guest_args.insert(req.guest_args.end(),
                          {"--ops", std::to_string(args.ops)});
  if (args.seed_set)
    req.guest_args.insert(req.guest_args.end(),
                          {"--seed", std::to_string(args.seed)});
  if (args.no_latency) req.guest_args.push_back("--no-latency");
  if (args.check) req.guest_args.push_back("--check");
  req.out = args.out;
  req.bin_dir = BinDir();
  req.vm_build = args.vm_build;
  req.timeout_s = args.vm_timeout_s;
  req.mem_mb = args.vm_mem_mb;
  req.quiet = args.quiet;
  req.console_table = [details = args.details](const nlohmann::json& doc) {
    return details ? ConsoleDetails(doc) : ConsoleSummary(doc);
  };
  return RunInVm(req);
}

// Numbers are taken as text and parsed strictly: CLI11 would wrap "-5" to
// 2^64 - 5, saturate an overlong seed and accept "nan" seconds.
void ParseNumbers(RunArgs& args) {
  if (args.threads_set && args.threads.empty())
    BadInput("--threads: empty value (use 1,2,4 or 1..16 or 1..16:1)");
  if (!args.repetitions.empty())
    args.repetitions_n = static_cast<std::uint32_t>(
        ParseCount("--repetitions", args.repetitions, 1, kMaxRepetitions));
  args.timeout_s = ParseSeconds("--timeout", args.timeout, kMaxTimeoutS);
  if (!args.ops_text.empty())
    args.ops = ParseCount("--ops", args.ops_text, 1, kMaxOpsPerThread);
  if (args.seed_set)
    args.seed = ParseCount("--seed", args.seed_text, 0, UINT64_MAX);
}

int Run(RunArgs& args) {
  ParseNumbers(args);
  RunPlan plan;
  const std::string bin = BinDir();
  try {
    const CiProfile* ci = FindCiProfile(args.profile);
    if (ci == nullptr && !ParseScale(args.profile, &plan.scale))
      throw SpecError("--profile: unknown profile '" + args.profile +
                      "' (accepted: quick, default, full, ci, ci-wall)");
    if (ci != nullptr) {
      plan.scale = ci->scale;
      if (args.workloads == "all") args.workloads = ci->workloads;
      if (!args.cache_set) args.cache = ci->cache;
      if (!ci->latency) args.no_latency = true;
    }
    plan.profile = args.profile;
    plan.threads = ParseThreadList(!args.threads.empty() ? args.threads
                                   : ci                  ? ci->threads
                                                         : "1,2");
    plan.repetitions = args.repetitions_n              ? args.repetitions_n
                       : ci                            ? ci->repetitions
                       : plan.scale == Scale::kQuick   ? 1
                       : plan.scale == Scale::kDefault ? 3
                                                       : 5;
    if (!args.shard.empty())
      ParseShard(args.shard, &plan.shard_index, &plan.shard_count);
    if (args.sample_ms > 60000)
      throw SpecError("--sample-ms: expected 0 (off) to 60000 milliseconds");
    plan.sample_ms = args.sample_ms;
    if (!args.first_repetition.empty())
      plan.first_repetition = static_cast<std::uint32_t>(
          ParseCount("--first-repetition", args.first_repetition, 0, 1000000));
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
    if (args.cache != "hw" && args.cache != "sim" && args.cache != "off")
      throw SpecError("--cache: expected hw, sim or off, got '" + args.cache +
                      "'");
    plan.cache = args.cache;
    if (!args.sim_geometry.empty() && args.cache != "sim")
      throw SpecError("--sim-geometry: only meaningful with --cache sim");
    if (args.cache == "sim") {
      if (FindValgrind().empty())
        throw SpecError(
            "--cache sim: valgrind not found (apt-get install valgrind)");
      // valgrind's own cache detection is wrong on these VMs: pin it.
      plan.sim_geometry = ReadCacheGeometry();
      std::string err =
          ApplyGeometryOverride(ci ? ci->sim_geometry : "", plan.sim_geometry);
      if (err.empty())
        err = ApplyGeometryOverride(args.sim_geometry, plan.sim_geometry);
      if (err.empty()) err = CheckGeometry(plan.sim_geometry);
      if (!err.empty()) throw SpecError("--sim-geometry: " + err);
    }
    plan.pin = args.pin;
    plan.stream_cache = !args.no_stream_cache;
    // program:NAME items are program cells; the rest are op-stream
    // workloads (shipped, a spec file, or trace:FILE).
    std::string stream_items;
    for (const std::string& item : SplitList(args.workloads)) {
      if (item.rfind(kProgramPrefix, 0) == 0) {
        plan.programs.push_back(
            FindProgramSpec(item.substr(sizeof(kProgramPrefix) - 1)));
      } else {
        stream_items += (stream_items.empty() ? "" : ",") + item;
      }
    }
    plan.probe_lib = (std::filesystem::path(bin).parent_path() / "lib" /
                      "liballocmark-probe.so")
                         .string();
    if (!stream_items.empty() || plan.programs.empty())
      plan.workloads =
          SelectWorkloads(LoadWorkloads(WorkloadDir()), stream_items);
    for (const WorkloadSpec& w : plan.workloads) {
      if (!w.trace_path.empty()) continue;  // its own thread count
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
  if (args.vm && (plan.shard_count > 1 || !args.first_repetition.empty()))
    BadInput(
        "--vm: --shard and --first-repetition are not passed to the guest");
  if (args.vm) return RunVm(args, plan);

  plan.progress = !args.quiet && isatty(STDERR_FILENO);
  const ClockCalibration clock = Calibrate();
  // From here a SIGINT/SIGTERM/SIGHUP stops the matrix, kills the running
  // worker and still writes the cells completed so far.
  InstallStopHandlers();
  const RunOutcome outcome = RunMatrix(plan, clock, MachineContext(clock));
  std::cout << (args.details ? ConsoleDetails(outcome.results)
                             : ConsoleSummary(outcome.results));
  std::cout << ProgramTable(outcome.results);
  if (args.tags) std::cout << PoolTagTable(outcome.results);
  const std::string err =
      WriteFileAtomically(args.out, outcome.results.dump(1) + "\n");
  if (!err.empty()) {
    std::fprintf(stderr, "allocmark: could not write results: %s\n",
                 err.c_str());
    return 1;
  }
  std::printf("results in %s\n", args.out.c_str());
  if (outcome.interrupted_by != 0) {
    const char* abbrev = sigabbrev_np(outcome.interrupted_by);
    std::fprintf(stderr,
                 "allocmark: interrupted by SIG%s: %zu of %zu cells done, "
                 "written as incomplete (run.complete = false)\n",
                 abbrev ? abbrev : "?", outcome.results["cells"].size(),
                 outcome.cells_planned);
    return 128 + outcome.interrupted_by;
  }
  if (outcome.cells_failed > 0) return 1;
  // Exit 0 promises something was measured: a run of skipped cells only
  // (no driver, nothing built) must not pass a CI job.
  if (outcome.cells_ok == 0) {
    std::fprintf(stderr,
                 "allocmark: nothing was measured: all %d cells skipped\n",
                 outcome.cells_skipped);
    return 1;
  }
  return 0;
}

}  // namespace

Command AddRunCommand(CLI::App& app) {
  auto run = std::make_shared<RunArgs>();
  CLI::App* cmd = app.add_subcommand(
      "run", "run the allocator x workload x threads matrix");
  cmd->add_option("--allocators", run->allocators,
                  "a,b,... | all | preload:<lib.so>");
  cmd->add_option("--workloads", run->workloads,
                  "w,... | all | path/to/spec.json");
  cmd->add_option("--threads", run->threads,
                  "1,2,4 | 1..16 (powers of two) | 1..16:1")
      ->default_str("1,2")
      ->each([run](const std::string&) { run->threads_set = true; });
  cmd->add_option("--repetitions", run->repetitions,
                  "repetitions per cell, interleaved (1000 at most)")
      ->default_str("quick 1, default 3, full 5");
  cmd->add_option("--profile", run->profile,
                  "quick | default | full | ci (deterministic gate) | ci-wall "
                  "(wall-clock gate): op counts per thread (see list)");
  cmd->add_option("--shard", run->shard,
                  "i/n: run the i-th of n deterministic slices of the cells "
                  "(0 <= i < n); allocmark merge joins them")
      ->default_str("0/1");
  cmd->add_option("--first-repetition", run->first_repetition,
                  "number of the first repetition (default 0), so alternating "
                  "runs of two builds merge without duplicates")
      ->default_str("0");
  cmd->add_option("--out", run->out, "results JSON (written atomically)");
  cmd->add_option("--timeout", run->timeout,
                  "seconds before a worker is killed and its cell fails");
  cmd->add_option("--batch", run->batch,
                  "auto | K in [1, 4096]: ops per timed latency batch");
  cmd->add_option("--ops", run->ops_text,
                  "ops per thread, overriding the profile")
      ->default_str("the profile's");
  cmd->add_option("--seed", run->seed_text,
                  "stream seed, overriding the spec's")
      ->default_str("the spec's")
      ->each([run](const std::string&) { run->seed_set = true; });
  cmd->add_flag("--no-latency", run->no_latency,
                "skip the timed (latency) pass");
  cmd->add_flag("--check", run->check, "fill and verify block contents (slow)");
  cmd->add_flag("--pin", run->pin,
                "pin replay thread t to CPU t % (CPUs allowed)");
  cmd->add_flag("--no-stream-cache", run->no_stream_cache,
                "every worker generates its own streams (default: each "
                "stream is generated once per run and mapped)");
  cmd->add_flag("--quiet", run->quiet, "no progress line");
  cmd->add_flag("--details", run->details,
                "print one row per cell with every figure instead of the "
                "summary");
  cmd->add_flag("--vm", run->vm,
                "run the matrix in a QEMU guest with the kernel driver "
                "(kpool-* beside the static user-space workers)");
  cmd->add_option("--vm-timeout", run->vm_timeout_s,
                  "seconds the whole VM run may take");
  cmd->add_option("--vm-mem", run->vm_mem_mb, "guest memory in MiB");
  cmd->add_option("--vm-build", run->vm_build,
                  "kernel/module cache of driver/vm/prepare")
      ->default_str("<build>/vm");
  cmd->add_option("--cache", run->cache,
                  "hw (perf counters, default) | sim (callgrind) | off")
      ->each([run](const std::string&) { run->cache_set = true; });
  cmd->add_option("--sim-geometry", run->sim_geometry,
                  "with --cache sim: override simulated caches, e.g. "
                  "'D1=32768,8,64;LL=33554432,16,64'")
      ->default_str("from sysfs");
  cmd->add_flag("--tags", run->tags,
                "print the per-tag (poolmon) table of every cell");
  cmd->add_option("--sample-ms", run->sample_ms,
                  "RSS sampler period in the timed pass (0: off)");
  return {cmd, [run] { return Run(*run); }};
}

}  // namespace allocmark
