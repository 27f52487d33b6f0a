// `allocmark run`: the matrix allocator x workload x threads x repetition,
// one fresh worker process per cell and pass, repetitions interleaved.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "bench/probes/clock.h"
#include "bench/runner/cache_sim.h"
#include "bench/runner/catalog.h"
#include "bench/spec/program_spec.h"
#include "bench/spec/workload_spec.h"

namespace allocmark {

struct RunPlan {
  std::vector<AdapterInfo> adapters;
  std::vector<WorkloadSpec> workloads;
  /// Program cells (--workloads program:NAME): one per adapter and
  /// repetition, after the workloads of that repetition.
  std::vector<ProgramSpec> programs;
  std::string probe_lib;  ///< liballocmark-probe.so, for program cells
  std::vector<std::uint32_t> threads;
  std::uint32_t repetitions = 1;
  Scale scale = Scale::kQuick;
  std::string profile = "quick";
  std::optional<std::uint64_t> ops_per_thread;
  std::optional<std::uint64_t> seed;
  double timeout_s = 120;
  bool latency = true;      ///< run the timed pass as well
  std::uint32_t batch = 0;  ///< 0: auto
  bool check_contents = false;
  bool pin = false;  ///< workers pin replay thread t to CPU t % nproc
  bool progress = false;
  std::uint32_t sample_ms = 10;  ///< RSS sampler period (timed pass); 0: off
  std::string cache = "hw";      ///< hw | sim | off (see README, Cache)
  CacheGeometry sim_geometry;    ///< --cache sim: handed to valgrind
  /// --shard i/n: only cells whose ordinal in (workload, threads, adapter)
  /// order is i mod n, all repetitions of each; `allocmark merge` joins them.
  std::uint32_t shard_index = 0, shard_count = 1;
  /// Number of the first repetition, so alternating one-repetition runs of
  /// two builds (base, head, base, ...) merge without duplicate cells.
  std::uint32_t first_repetition = 0;
  /// Generate each stream once per run and let workers map it (false:
  /// every worker generates its own, as `--no-stream-cache` asks).
  bool stream_cache = true;
};

/// True when the cell at `ordinal` (workload, threads, adapter order) is in
/// the plan's shard.
inline bool InShard(const RunPlan& plan, std::size_t ordinal) {
  return ordinal % plan.shard_count == plan.shard_index;
}

struct RunOutcome {
  nlohmann::json results;  ///< the whole results document
  int cells_failed = 0;
  int cells_skipped = 0;
  int cells_ok = 0;
  int interrupted_by = 0;         ///< stop signal that cut the run short, or 0
  std::size_t cells_planned = 0;  ///< cells the plan had; more than run if cut
};

RunOutcome RunMatrix(const RunPlan& plan, const ClockCalibration& clock,
                     const nlohmann::json& context);

/// Parses "1,2,4", "1..16" (powers of two) or "1..16:1" (every count).
/// Throws SpecError naming the input.
std::vector<std::uint32_t> ParseThreadList(const std::string& text);

}  // namespace allocmark
