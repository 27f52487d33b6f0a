// main() of every allocmark-worker-<adapter> executable. CMake compiles this
// file once per adapter with ALLOCMARK_ADAPTER_HEADER / ALLOCMARK_ADAPTER_TYPE.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <vector>

#include ALLOCMARK_ADAPTER_HEADER
#include "allocators/identity.h"
#include "bench/base/harness_mappings.h"
#include "bench/probes/clock.h"
#include "bench/probes/process_memory.h"
#include "bench/probes/rss_sampler.h"
#include "bench/replay/batch_probe.h"
#include "bench/replay/cell_runner.h"
#include "bench/worker/slow_fault.h"
#include "bench/worker/worker_options.h"
#include "bench/worker/worker_record.h"
#include "bench/worker/worker_startup.h"

namespace allocmark {
namespace {

using Adapter = ALLOCMARK_ADAPTER_TYPE;

// Fewest ops per thread between two false-sharing scans in the timed pass
// (barrier waits are not timed).
constexpr std::size_t kLocalityChunkOps = 2048;

// preload:<lib> cells run the system worker with <lib> in LD_PRELOAD; then
// malloc must resolve to exactly that file.
IdentityReport CheckPreload(const std::string& expected) {
  IdentityReport r;
  r.library = LibraryDefining("malloc");
  char want[PATH_MAX], got[PATH_MAX];
  const bool same = realpath(expected.c_str(), want) != nullptr &&
                    realpath(r.library.c_str(), got) != nullptr &&
                    std::strcmp(want, got) == 0;
  r.ok = same;
  r.detail = same ? "malloc resolves to the preloaded " + expected
                  : "malloc resolves to " + r.library +
                        ", expected the preloaded " + expected +
                        " (is LD_PRELOAD set and the library a malloc?)";
  return r;
}

// Test-only fault switch, ALLOCMARK_TEST_FAULT=<kind>:<adapter>: lets the
// crash-containment tests kill one adapter's workers in a chosen way.
void MaybeInjectFault(const std::string& adapter) {
  const char* env = std::getenv("ALLOCMARK_TEST_FAULT");
  if (env == nullptr) return;
  const std::string spec = env;
  const std::size_t colon = spec.find(':');
  if (colon == std::string::npos || spec.substr(colon + 1) != adapter) return;
  const std::string kind = spec.substr(0, colon);
  if (kind == "segv") raise(SIGSEGV);
  if (kind == "abort") std::abort();
  if (kind == "hang") {
    while (true) pause();
  }
  if (kind == "garbage") {
    std::cout << "not json\n";
    std::exit(0);
  }
}

// ALLOCMARK_TEST_FAULT=leak:<adapter>: thread 0 skips its last 3 frees, an
// undeclared leak the leak check must catch.
std::uint32_t TestFaultDroppedFrees(const std::string& adapter) {
  const char* env = std::getenv("ALLOCMARK_TEST_FAULT");
  return env != nullptr && std::string(env) == "leak:" + adapter ? 3 : 0;
}

// The sampler's phase-boundary statistics: Stats() copied into plain doubles.
template <class A>
std::uint32_t StatsInto(void* alloc, double* out, std::uint32_t max) {
  if constexpr (HasStats<A>) {
    const std::vector<AllocatorStat> stats = static_cast<A*>(alloc)->Stats();
    std::uint32_t n = 0;
    for (; n < max && n < stats.size(); ++n) out[n] = stats[n].value;
    return n;
  } else {
    return 0;
  }
}

template <class A>
void CollectStats(A& alloc, WorkerContext& ctx) {
  if constexpr (HasStats<A>) {
    ctx.stats = alloc.Stats();
    ctx.has_stats = true;
  }
}

template <class A>
void PurgeAndMeasure(A& alloc, WorkerContext& ctx) {
  if constexpr (HasPurge<A>) {
    const std::uint64_t t0 = MonotonicClock::Now();
    alloc.Purge();
    ctx.purge_ns = MonotonicClock::Now() - t0;
    ctx.has_purge = true;
  }
  ctx.memory_after_purge = ReadProcessMemory();
  ctx.purge_read_ns = MonotonicClock::Now();
}

// The memory baseline (replay start) and end readings (every replay thread
// joined), taken inside RunCell so the cell's streams, slot tables, threads
// and generator are all in place and none of them count as the allocator's.
void OnReplayEdge(void* context, bool start) {
  WorkerContext& ctx = *static_cast<WorkerContext*>(context);
  if (start) {
    // From here VmHWM is the replay's own peak and the harness's too.
    ctx.peak_reset = ResetPeakRss();
    HarnessMappings::ResetPeak();
    const ProcessMemory now = ReadProcessMemory();
    ctx.baseline = {now.rss_bytes, now.harness_bytes};
    ctx.baseline_faults = now;
    return;
  }
  ctx.harness_peak_bytes = HarnessMappings::PeakResidentBytes();
  ctx.harness_mapped_peak_bytes = HarnessMappings::PeakMappedBytes();
  ctx.memory_after_run = ReadProcessMemory();
  ctx.end_read_ns = MonotonicClock::Now();
}

int Main(int argc, char** argv) {
  const WorkerOptions options = ParseWorkerOptions(argc, argv);
  static Adapter alloc;  // static: outlives the replay threads
  const std::string name = options.expect_malloc_from.empty()
                               ? std::string(Adapter::kName)
                               : "preload:" + options.expect_malloc_from;
  const IdentityReport id = options.expect_malloc_from.empty()
                                ? alloc.CheckIdentity()
                                : CheckPreload(options.expect_malloc_from);
  const std::string version =
      options.expect_malloc_from.empty() ? alloc.Version() : "preloaded";
  WorkloadSpec spec;
  CellOptions cell;
  if (const auto stop = StartWorker(options, std::string(Adapter::kName), name,
                                    version, id, &spec, &cell))
    return *stop;
  cell.replay.timed = options.timed;
  cell.replay.account = options.account;
  cell.replay.check_contents = options.check_contents;
  // Cache probes: counters bracket the lean pass's chunks (its loop stays
  // as it is); locality needs the timed pass's per-op bookkeeping, and its
  // false-sharing scan runs at chunk ends, so that pass takes short chunks.
  if (!options.timed) {
    cell.perf_mask = options.cache == "hw" ? kPerfAllMask : 0;
    cell.sim_collect = options.cache == "sim";
  } else if (options.account) {
    cell.replay.locality = true;
    // About 16 scans per cell, but never chunks so short that generating
    // them between replays keeps evicting the allocator's working set. The
    // leak test fault edits the final chunk, so it keeps whole-run chunks.
    if (TestFaultDroppedFrees(std::string(Adapter::kName)) == 0) {
      cell.chunk_ops = std::min<std::size_t>(
          cell.chunk_ops, std::max({kLocalityChunkOps, cell.ops_per_thread / 16,
                                    4 * std::size_t{cell.threads}}));
    }
  }
  cell.pin = options.pin;
  // The run's stream, generated once by the runner. The leak fault edits
  // the last chunk in place, so it keeps generating.
  std::optional<StreamFile> stream_file;
  if (!options.stream_file.empty() &&
      TestFaultDroppedFrees(std::string(Adapter::kName)) == 0) {
    try {
      stream_file.emplace(
          options.stream_file,
          StreamKey{HashSpecFile(options.workload_path), cell.threads,
                    cell.ops_per_thread, cell.seed});
    } catch (const SpecError& e) {
      std::fprintf(stderr, "allocmark-worker: %s\n", e.what());
      return 2;
    }
    cell.stream_file = &*stream_file;
  }

  WorkerContext ctx;
  ctx.allocator = name;
  ctx.allocator_version = version;
  ctx.identity = id;
  ctx.spec = &spec;
  ctx.options = options;
  if (options.ticks_per_ns) {
    ClockCalibration known;
    known.source = PreferredClockSource();
    known.ticks_per_ns =
        known.source == ClockSource::kTsc ? *options.ticks_per_ns : 1.0;
    ctx.clock = CalibrateWithFrequency(known);
  } else {
    ctx.clock = Calibrate();
  }
  cell.replay.overhead_ticks = ctx.clock.overhead_ticks;
  MaybeInjectFault(std::string(Adapter::kName));
  cell.test_drop_last_frees =
      TestFaultDroppedFrees(std::string(Adapter::kName));

  // Timed pass: exact live peaks and the RSS timeline, both from harness
  // memory that never comes from the allocator under test.
  const bool accounted = options.timed && options.account;
  MappedArray<SharedLive> shared_live(accounted ? 1 : 0);
  std::optional<RssSampler> sampler;
  if (accounted) {
    cell.shared_live = shared_live.data();
    ctx.shared_live = shared_live.data();
    if (options.sample_ms > 0) {
      sampler.emplace(shared_live.data(), options.sample_ms,
                      HasStats<Adapter> ? &StatsInto<Adapter> : nullptr,
                      &alloc);
      cell.on_phase = &RssSampler::OnPhase;
      cell.on_phase_context = &*sampler;
      ctx.sampler = &*sampler;
    }
  }

  std::uint32_t slow_steps = 0;  // test fault slow:<adapter>:<percent>
  CellMeasurement m = WithClock(ctx.clock.source, [&]<class Clock>(Clock) {
    ctx.memory_before = ReadProcessMemory();
    ctx.batch = options.batch;
    if (options.timed && ctx.batch == 0)
      ctx.batch =
          ProbeBatch<Adapter, Clock>(alloc, spec.phases[0].sizes, ctx.clock);
    if (!options.timed) ctx.batch = 1;
    cell.replay.batch = ctx.batch;
    if (sampler) sampler->Start();
    cell.on_replay_edge = &OnReplayEdge;
    cell.on_replay_edge_context = &ctx;
    const std::optional<double> slow =
        SlowFaultPercent(std::string(Adapter::kName));
    CellMeasurement result =
        slow ? RunSlowedCell<Adapter, Clock>(alloc, *slow, spec, cell,
                                             ctx.clock, &slow_steps)
             : RunCell<Adapter, Clock>(alloc, spec, cell);
    if (sampler) {
      // Stop first: it serves the phase requests still queued, so they land
      // in the timeline before the end and purge readings, not after them.
      sampler->Stop();
      sampler->SnapshotNow(SampleEvent::kEnd);
    }
    return result;
  });
  CollectStats(alloc, ctx);
  PurgeAndMeasure(alloc, ctx);
  if (sampler) sampler->SnapshotNow(SampleEvent::kPurge);
  CellRecord record = WorkerRecord(ctx, m);
  // Test fault slow:<adapter>: the runner hands these steps to the sim pass.
  if (slow_steps > 0) record.extra["test_fault_slow_steps"] = slow_steps;
  std::cout << WriteCellRecord(record).dump() << "\n";
  std::cout.flush();
  return m.failed ? 1 : 0;
}

}  // namespace
}  // namespace allocmark

int main(int argc, char** argv) { return allocmark::Main(argc, argv); }
