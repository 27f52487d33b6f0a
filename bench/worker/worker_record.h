// Turns a worker's measurement into its typed cell record (written as one
// JSON object on stdout); the runner merges records into cells.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "allocators/allocator.h"
#include "bench/probes/clock.h"
#include "bench/probes/pool_tags.h"
#include "bench/probes/process_memory.h"
#include "bench/probes/rss_sampler.h"
#include "bench/replay/cell_runner.h"
#include "bench/results/cell_record.h"
#include "bench/worker/worker_options.h"

namespace allocmark {

struct WorkerContext {
  std::string allocator;
  std::string allocator_version;
  IdentityReport identity;
  const WorkloadSpec* spec = nullptr;
  WorkerOptions options;
  ClockCalibration clock;
  std::uint32_t batch = 1;
  ProcessMemory memory_before, memory_after_run, memory_after_purge;
  /// Resident just before the first allocator call (see README, Memory).
  MemoryBaseline baseline;
  ProcessMemory baseline_faults;  ///< the reading the baseline came from
  bool peak_reset = false;        ///< VmHWM restarted at the baseline
  /// Harness mappings during the run: most resident at once, most mapped.
  std::uint64_t harness_peak_bytes = 0, harness_mapped_peak_bytes = 0;
  std::uint64_t purge_ns = 0;
  std::vector<AllocatorStat> stats;
  bool has_stats = false, has_purge = false;
  const SharedLive* shared_live = nullptr;  ///< timed pass
  const RssSampler* sampler = nullptr;      ///< timed pass, --sample-ms > 0
  std::uint64_t end_read_ns = 0, purge_read_ns = 0;  ///< MonotonicClock
  /// Kernel pools: the blocks live in the kernel, so this process tracks no
  /// live bytes, cannot see realloc placement, and the driver supplies the
  /// pool tags and the leak check (the record leaves them to it).
  bool kernel_memory = false;
};

nlohmann::json IdentityJson(const std::string& allocator,
                            const std::string& version,
                            const IdentityReport& id);
/// The record of one worker pass.
CellRecord WorkerRecord(const WorkerContext& ctx, const CellMeasurement& m);
std::string HexDigest(std::uint64_t digest);

}  // namespace allocmark
