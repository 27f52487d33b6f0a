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
#include "bench/stream/op_source.h"
#include "bench/stream/stream_digest.h"

namespace allocmark {

/// A chunk boundary never changes the streams: the digest and every op are the
/// same whatever chunk size the caller uses.
class StreamGenerator final : public OpSource {
 public:
  StreamGenerator(const WorkloadSpec& spec, std::uint32_t threads,
                  std::uint64_t ops_per_thread, std::uint64_t seed);
  ~StreamGenerator() override;

  const StreamPlan& plan() const override { return plan_; }

  /// Appends the next ops of each thread to buffers[t] (up to its size) and
  /// sets filled[t]. Returns false once every stream is complete.
  bool NextChunk(std::span<const std::span<Op>> buffers,
                 std::span<std::size_t> filled) override;

  bool done() const { return done_; }
  /// Digest of all streams so far; the stream digest once done().
  std::uint64_t Digest() const override;
  const StreamCounts& counts(std::uint32_t thread) const;
  StreamCounts TotalCounts() const override;

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
