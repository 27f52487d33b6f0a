// Start-up every worker executable shares (user-space adapters and the
// kernel pools): the --identity answer or the refusal, then spec and cell.
#pragma once

#include <optional>
#include <string>

#include "allocators/allocator.h"
#include "bench/replay/cell_runner.h"
#include "bench/spec/workload_spec.h"
#include "bench/worker/worker_options.h"

namespace allocmark {

/// Answers --identity (prints the identity JSON), refuses to run after a
/// failed identity check, loads and validates the spec, and fills `cell`'s
/// threads, ops per thread, seed and chunk size. Returns the exit code when
/// the worker stops here (0/3 identity, 3 refusal, 2 bad spec), else nullopt.
/// `label` names the worker in messages (allocmark-worker-<label>).
std::optional<int> StartWorker(const WorkerOptions& options,
                               const std::string& label,
                               const std::string& name,
                               const std::string& version,
                               const IdentityReport& id, WorkloadSpec* spec,
                               CellOptions* cell);

}  // namespace allocmark
