// Start-up every worker executable shares: identity answer or refusal, the
// spec, and the cell's size.
#include "bench/worker/worker_startup.h"

#include <cstdio>
#include <iostream>

#include "bench/worker/worker_record.h"

namespace allocmark {

std::optional<int> StartWorker(const WorkerOptions& options,
                               const std::string& label,
                               const std::string& name,
                               const std::string& version,
                               const IdentityReport& id, WorkloadSpec* spec,
                               CellOptions* cell) {
  if (options.identity_only) {
    std::cout << IdentityJson(name, version, id).dump() << "\n";
    return id.ok ? 0 : 3;
  }
  if (!id.ok) {
    std::fprintf(stderr, "allocmark-worker-%s: refusing to run: %s\n",
                 label.c_str(), id.detail.c_str());
    return 3;
  }
  if (IsTraceWorkload(options.workload_path)) {
    const std::string file =
        options.workload_path.substr(sizeof(kTracePrefix) - 1);
    try {
      cell->trace = LoadTraceReplay(file);
    } catch (const TraceError& e) {
      std::fprintf(stderr, "allocmark-worker: %s\n", e.what());
      return 2;
    }
    *spec = TraceWorkloadSpec(file, *cell->trace);
    // A trace replays with the threads it was recorded with; --ops and
    // --seed have nothing to change in it.
    if (options.threads != 0 && options.threads != spec->threads) {
      std::fprintf(stderr,
                   "allocmark-worker: %s: the trace has %u threads, not %u\n",
                   file.c_str(), spec->threads, options.threads);
      return 2;
    }
    cell->threads = spec->threads;
    cell->ops_per_thread = cell->trace->plan.ops_per_thread;
    cell->chunk_ops = options.chunk_ops;
    return std::nullopt;
  }
  try {
    *spec = LoadWorkloadSpec(options.workload_path);
    cell->threads = options.threads ? options.threads : spec->threads;
    ValidateForThreads(*spec, cell->threads);
  } catch (const SpecError& e) {
    std::fprintf(stderr, "allocmark-worker: %s\n", e.what());
    return 2;
  }
  cell->ops_per_thread = options.ops_per_thread.value_or(
      spec->ops_per_thread[static_cast<int>(options.scale)]);
  cell->seed = options.seed.value_or(spec->seed);
  cell->chunk_ops = options.chunk_ops;
  return std::nullopt;
}

}  // namespace allocmark
