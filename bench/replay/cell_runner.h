// Runs one benchmark cell inside a worker: generates the streams chunk by
// chunk, replays them on N threads against adapter A, and collects plain data.
#pragma once

#include <pthread.h>
#include <sched.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bench/base/check.h"
#include "bench/base/mapped_array.h"
#include "bench/probes/clock.h"
#include "bench/probes/locality.h"
#include "bench/probes/pool_tags.h"
#include "bench/replay/replay.h"
#include "bench/spec/workload_spec.h"
#include "bench/stream/stream_file.h"
#include "bench/stream/stream_generator.h"

namespace allocmark {

struct CellOptions {
  std::uint32_t threads = 1;
  std::uint64_t ops_per_thread = 0;
  std::uint64_t seed = 1;
  std::size_t chunk_ops = 1 << 20;  ///< op records per thread per chunk
  ReplayOptions replay;
  bool pin = false;  ///< pin replay thread t to the (t % n)-th allowed CPU
  /// Timed pass: cell-wide live figures (exact peaks, read by the sampler).
  SharedLive* shared_live = nullptr;
  /// Called by replay threads at phase ops (the RSS sampler's request).
  void (*on_phase)(void* context, std::uint32_t thread,
                   std::uint8_t phase) = nullptr;
  void* on_phase_context = nullptr;
  /// Called on the main thread with start = true just before the first chunk
  /// is released to the replay threads, and with start = false once they
  /// have all joined: the worker's memory baseline and end readings, taken
  /// while every harness structure of the cell is in place.
  void (*on_replay_edge)(void* context, bool start) = nullptr;
  void* on_replay_edge_context = nullptr;
  /// Test fault only: thread 0 skips its last N frees (an undeclared leak).
  std::uint32_t test_drop_last_frees = 0;
  /// PerfEvent bits each replay thread counts around its chunks (0: none).
  std::uint32_t perf_mask = 0;
  /// Under callgrind: collect events only while a thread replays a chunk.
  bool sim_collect = false;
  /// The run's stream, generated once and mapped (null: generate here).
  /// Its chunks are grouped up to chunk_ops per thread.
  const StreamFile* stream_file = nullptr;
};

/// Everything a worker measured for one cell; reporters turn it into JSON.
struct CellMeasurement {
  StreamPlan plan;
  std::uint64_t digest = 0;
  StreamCounts stream;                 ///< what the streams asked for
  std::vector<ThreadResult> threads;   ///< what each thread did
  std::vector<ThreadLatency> latency;  ///< per thread, timed pass only
  std::uint64_t wall_ticks = 0;        ///< replay only: generation is excluded
  /// Time spent generating chunks, or grouping a mapped stream's chunks.
  std::uint64_t generate_ns = 0;
  bool from_stream_file =
      false;  ///< the ops came from CellOptions::stream_file
  std::uint64_t chunks = 0;
  /// Timed pass: what the generated streams leave live per tag (the declared
  /// leak), counted before any test fault edits the ops.
  std::shared_ptr<StreamTagTally> declared_tags;
  std::uint64_t replay_end_ns = 0;  ///< MonotonicClock, after the last op
  std::vector<int> pinned_cpus;     ///< per thread; -1: not pinned
  bool failed = false;
  std::string error;
  /// replay.locality: live blocks of different threads sharing a line,
  /// sampled at chunk ends while every replay thread waits.
  SharingSamples sharing;
};

namespace internal {

inline constexpr std::size_t kNotResumed = SIZE_MAX;

/// The CPUs this process may run on, in order (honours taskset/cgroups).
inline std::vector<int> AllowedCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> out;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    for (int c = 0; c < CPU_SETSIZE; ++c) {
      if (CPU_ISSET(c, &set)) out.push_back(c);
    }
  }
  return out;
}

inline void PinToCpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

}  // namespace internal

template <Allocator A, class Clock>
CellMeasurement RunCell(A& alloc, const WorkloadSpec& spec,
                        const CellOptions& opt) {
  CellMeasurement m;
  const StreamFile* const file = opt.stream_file;
  // A mapped stream needs no generator; its plan and digest are the file's.
  std::optional<StreamGenerator> gen;
  if (file == nullptr)
    gen.emplace(spec, opt.threads, opt.ops_per_thread, opt.seed);
  // A turn can emit two ops per pending hand-off plus three: a smaller
  // chunk could never take a turn and generation would stall.
  ALLOCMARK_CHECK(opt.chunk_ops >= 2 * std::size_t{opt.threads} + 3,
                  "chunk too small for the thread count");
  m.plan = file ? file->plan() : gen->plan();
  m.from_stream_file = file != nullptr;
  const std::uint32_t n = opt.threads;
  ALLOCMARK_CHECK(m.plan.threads == n, "stream and cell thread counts differ");

  std::vector<MappedArray<Op>> buffers;
  std::vector<MappedArray<Slot>> slots;
  std::vector<std::span<Op>> spans;
  for (std::uint32_t t = 0; t < n; ++t) {
    buffers.emplace_back(file ? 0 : opt.chunk_ops);
    slots.emplace_back(m.plan.slots_per_thread);
    spans.emplace_back(buffers.back().data(), file ? 0 : opt.chunk_ops);
  }
  // What each thread replays next: a generated buffer or a stretch of the
  // mapped file, set by the main thread before it releases the chunk.
  std::vector<std::span<const Op>> current(n);
  std::size_t next_file_chunk = 0;
  MappedArray<Mailbox> mailboxes(m.plan.mailboxes);
  MappedArray<ThreadResult> results(n);
  MappedArray<ThreadLatency> latency(opt.replay.timed ? n : 0);
  std::vector<std::size_t> filled(n);

  std::atomic<bool> stop{false};
  std::barrier sync(n + 1);
  std::vector<std::thread> workers(n);
  const std::vector<int> cpus =
      opt.pin ? internal::AllowedCpus() : std::vector<int>{};
  m.pinned_cpus.assign(n, -1);
  for (std::uint32_t t = 0; t < n && !cpus.empty(); ++t)
    m.pinned_cpus[t] = cpus[t % cpus.size()];
  // One replay thread's life. A respawn phase op retires the OS thread: it
  // starts its successor (which first joins it, so the allocator has seen
  // the thread exit) to replay the rest of the chunk, and returns. The
  // barrier counts arrivals, not thread ids, so the successor takes its seat.
  std::function<void(std::uint32_t, std::size_t, std::thread)> body =
      [&](std::uint32_t t, std::size_t resume, std::thread predecessor) {
        if (predecessor.joinable()) predecessor.join();
        if (m.pinned_cpus[t] >= 0) internal::PinToCpu(m.pinned_cpus[t]);
        ReplayThread<A, Clock> replay(
            alloc, std::span<Slot>(slots[t].data(), slots[t].size()),
            std::span<Mailbox>(mailboxes.data(), mailboxes.size()), opt.replay,
            results[t], opt.replay.timed ? &latency[t] : nullptr);
        replay.thread_index = t;
        replay.abort_flag = &stop;
        replay.shared_live = opt.shared_live;
        replay.on_phase = opt.on_phase;
        replay.on_phase_context = opt.on_phase_context;
        if constexpr (HasThreadInit<A>) {
          if (!alloc.ThreadInit()) stop.store(true);
        }
        // Opened outside the timed region; only Start/Stop (an ioctl each)
        // bracket a chunk, so the replay loop itself is unchanged.
        ThreadCounters counters;
        if (opt.perf_mask != 0 || opt.sim_collect)
          counters.Open(opt.perf_mask, opt.sim_collect);
        bool resumed = resume != internal::kNotResumed;
        while (true) {
          if (!resumed) {
            sync.arrive_and_wait();  // chunk ready (or stop)
            if (stop.load(std::memory_order_acquire)) break;
            resume = 0;
          }
          const std::span<const Op> chunk = current[t];
          counters.Start();
          const bool ran = replay.Run(chunk.subspan(resume), resumed);
          counters.Stop();
          if (!ran) {
            stop.store(true, std::memory_order_release);
          } else if (replay.respawn_pending()) {
            counters.ReadInto(results[t].perf);
            std::thread self = std::move(workers[t]);
            workers[t] = std::thread(body, t, resume + replay.consumed(),
                                     std::move(self));
            return;
          }
          resumed = false;
          sync.arrive_and_wait();  // chunk done
        }
        counters.ReadInto(results[t].perf);
      };
  for (std::uint32_t t = 0; t < n; ++t)
    workers[t] = std::thread(body, t, internal::kNotResumed, std::thread());

  if (opt.replay.timed)
    m.declared_tags =
        std::make_shared<StreamTagTally>(n, m.plan.slots_per_thread);
  std::uint32_t to_drop = opt.test_drop_last_frees;
  std::vector<std::uint64_t> active_before(n);
  MappedArray<LiveBlock> live_blocks(
      opt.replay.locality ? std::size_t{n} * m.plan.slots_per_thread : 0);
  bool more = true;
  while (more && !stop.load()) {
    const std::uint64_t g0 = MonotonicClock::Now();
    if (file != nullptr) {
      // As many stored chunks as fit chunk_ops for every thread (at least
      // one): each stored boundary is one the generator made.
      std::size_t last = next_file_chunk + 1;
      while (last < file->chunks()) {
        bool fits = true;
        for (std::uint32_t t = 0; t < n && fits; ++t)
          fits = file->ChunkStart(last + 1, t) -
                     file->ChunkStart(next_file_chunk, t) <=
                 opt.chunk_ops;
        if (!fits) break;
        ++last;
      }
      for (std::uint32_t t = 0; t < n; ++t)
        current[t] = file->Ops(t, next_file_chunk, last);
      next_file_chunk = last;
      more = last < file->chunks();
    } else {
      more = gen->NextChunk(spans, filled);
      for (std::uint32_t t = 0; t < n; ++t)
        current[t] = std::span<const Op>(spans[t].data(), filled[t]);
    }
    if (m.declared_tags) {
      for (std::uint32_t t = 0; t < n; ++t) m.declared_tags->Add(t, current[t]);
    }
    if (!more && to_drop > 0 &&
        file == nullptr) {  // compact thread 0's last frees away
      std::size_t keep = filled[0];
      for (std::size_t i = filled[0]; i-- > 0 && to_drop > 0;) {
        if (spans[0][i].kind != OpKind::kFree) continue;
        std::copy(spans[0].begin() + i + 1, spans[0].begin() + keep,
                  spans[0].begin() + i);
        --keep;
        --to_drop;
      }
      filled[0] = keep;
      current[0] = std::span<const Op>(spans[0].data(), keep);
    }
    m.generate_ns += MonotonicClock::Now() - g0;
    if (m.chunks == 0 && opt.on_replay_edge != nullptr)
      opt.on_replay_edge(opt.on_replay_edge_context, true);
    ++m.chunks;
    for (std::uint32_t t = 0; t < n; ++t)
      active_before[t] = results[t].busy_ticks + results[t].wait_ticks;
    sync.arrive_and_wait();
    sync.arrive_and_wait();
    // Wall time of the chunk from the threads' own stamps: first start to
    // last end, so barrier wake-ups are not billed to the allocator.
    std::uint64_t first = UINT64_MAX, last = 0;
    for (std::uint32_t t = 0; t < n; ++t) {
      first = std::min(first, results[t].last_start_ticks);
      last = std::max(last, results[t].last_end_ticks);
    }
    if (last > first) {
      m.wall_ticks += last - first;
      // What a thread did not spend replaying or waiting on a hand-off
      // within the chunk's wall time it spent at the barriers (a late
      // start, an early finish) or between a retired thread and its
      // successor: waits too, so busy + wait = wall for every thread.
      for (std::uint32_t t = 0; t < n; ++t) {
        const std::uint64_t active =
            results[t].busy_ticks + results[t].wait_ticks - active_before[t];
        if (active < last - first) {
          results[t].wait_ticks += last - first - active;
          results[t].barrier_wait_ticks += last - first - active;
        }
      }
    }
    if (opt.replay.locality) {
      std::size_t count = 0;
      for (std::uint32_t t = 0; t < n; ++t) {
        for (std::size_t i = 0; i < slots[t].size(); ++i) {
          const Slot& s = slots[t][i];
          if (s.ptr == nullptr) continue;
          const auto b = reinterpret_cast<std::uintptr_t>(s.ptr);
          const std::uint64_t size = s.size_stamp & kSizeMask;
          live_blocks[count++] = {b, b + (size ? size : 1), t};
        }
      }
      m.sharing.Add(
          ScanSharing(std::span<LiveBlock>(live_blocks.data(), count)));
    }
  }
  m.replay_end_ns = MonotonicClock::Now();
  const bool failed = stop.load();
  stop.store(true, std::memory_order_release);
  sync.arrive_and_wait();
  for (auto& w : workers) w.join();
#if defined(__SANITIZE_ADDRESS__)
  // Blocks still in the slots are the workload's own: its declared leaks
  // (or the leak test fault's), which the worker's leak check reports. They
  // are the allocator's blocks, not the harness's, so LeakSanitizer, which
  // checks the harness, is told to pass over them at exit.
  for (const MappedArray<Slot>& thread_slots : slots) {
    for (std::size_t i = 0; i < thread_slots.size(); ++i) {
      if (thread_slots[i].ptr != nullptr)
        __lsan_ignore_object(thread_slots[i].ptr);
    }
  }
#endif
  if (opt.on_replay_edge != nullptr)
    opt.on_replay_edge(opt.on_replay_edge_context, false);

  m.digest = file ? file->digest() : gen->Digest();
  m.stream = file ? file->TotalCounts() : gen->TotalCounts();
  for (std::uint32_t t = 0; t < n; ++t) {
    m.threads.push_back(results[t]);
    if (results[t].failed && m.error.empty())
      m.error = "thread " + std::to_string(t) + ": " + results[t].error;
  }
  m.failed = failed;
  if (failed && m.error.empty()) m.error = "replay stopped";
  if (opt.replay.timed) {
    m.latency.assign(latency.data(), latency.data() + n);
  }
  return m;
}

}  // namespace allocmark
