// Compiles a workload spec and a seed into per-thread op streams, chunk by
// chunk, from one global simulation so lagged hand-offs never deadlock.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <vector>

#include "bench/spec/op.h"
#include "bench/spec/rng.h"
#include "bench/spec/size_sampler.h"
#include "bench/spec/workload_spec.h"
#include "bench/stream/stream_digest.h"

namespace allocmark {

/// Sizes the replay's tables before the run; fixed for the whole stream.
struct StreamPlan {
  std::uint32_t threads = 0;
  std::uint32_t slots_per_thread = 0;
  std::uint32_t mailboxes = 0;       ///< threads * ring_depth when hand-offs
  std::uint64_t ops_per_thread = 0;  ///< budgeted ops (alloc/free/realloc)
  std::uint32_t lag = 0;  ///< a send of turn k is received at turn k + lag
  std::uint32_t ring_depth = 0;  ///< mailboxes in each sender's ring
};

/// What the generated streams contain, per thread (exact, not sampled).
struct StreamCounts {
  std::uint64_t ops = 0;  ///< all records, including send/receive/phase
  std::uint64_t allocs = 0, frees = 0, reallocs = 0, sends = 0, receives = 0;
  std::uint64_t cross_thread_frees =
      0;  ///< frees of blocks another thread allocated
  std::uint64_t bytes_allocated = 0;  ///< sum of requested alloc sizes
  std::uint64_t leaked_blocks = 0;    ///< intended leaks left live at the end
  std::uint64_t max_live = 0;         ///< peak live objects of this thread
  std::uint64_t teardown_frees = 0;   ///< frees after the budget, at the end
  std::uint64_t adopted = 0;          ///< received blocks kept live, not freed
  std::uint64_t respawns = 0;         ///< phase ops that replace the OS thread

  void Add(const StreamCounts& o);
};

/// A chunk boundary never changes the streams: the digest and every op are the
/// same whatever chunk size the caller uses.
class StreamGenerator {
 public:
  StreamGenerator(const WorkloadSpec& spec, std::uint32_t threads,
                  std::uint64_t ops_per_thread, std::uint64_t seed);
  ~StreamGenerator();

  const StreamPlan& plan() const { return plan_; }

  /// Appends the next ops of each thread to buffers[t] (up to its size) and
  /// sets filled[t]. Returns false once every stream is complete.
  bool NextChunk(std::span<const std::span<Op>> buffers,
                 std::span<std::size_t> filled);

  bool done() const { return done_; }
  /// Digest of all streams so far; the stream digest once done().
  std::uint64_t Digest() const;
  const StreamCounts& counts(std::uint32_t thread) const;
  StreamCounts TotalCounts() const;

  /// Tests only: when set, every emitted op of thread t appends the turn it
  /// was emitted in to (*log)[t] (the lag property is checked against it).
  void set_turn_log(std::vector<std::vector<std::uint64_t>>* log) {
    turn_log_ = log;
  }

 private:
  struct ThreadState;
  bool Step(std::uint32_t t, std::span<Op> buffer, std::size_t& filled);
  void EmitOwnOp(std::uint32_t t, ThreadState& ts, const PhaseSpec& phase,
                 std::span<Op> buffer, std::size_t& filled);
  void EmitAlloc(std::uint32_t t, ThreadState& ts, const PhaseSpec& phase,
                 std::span<Op> buffer, std::size_t& filled);
  void EmitFree(std::uint32_t t, ThreadState& ts, const PhaseSpec& phase,
                std::size_t victim_index, bool allow_cross,
                std::span<Op> buffer, std::size_t& filled);
  std::uint32_t PickPeer(std::uint32_t t, ThreadState& ts,
                         const PhaseSpec& phase);

  const WorkloadSpec& spec_;
  StreamPlan plan_;
  std::vector<SizeSampler> samplers_;  // one per phase
  std::vector<std::unique_ptr<ThreadState>> threads_;
  bool hand_offs_ = false;
  std::uint32_t next_thread_ = 0;
  std::vector<std::vector<std::uint64_t>>* turn_log_ = nullptr;
  bool all_budgets_done_ = false;
  bool done_ = false;
};

}  // namespace allocmark
