// Where a cell's op streams come from: the generator (spec + seed) or a
// recorded trace. Both hand out per-thread chunks in one global order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "bench/spec/op.h"

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

/// A source of per-thread op streams. Chunks are cut along one global order
/// of all threads' ops, so every receive's send is in its chunk or an
/// earlier one and a chunk's replay never waits on the next chunk.
class OpSource {
 public:
  virtual ~OpSource() = default;
  virtual const StreamPlan& plan() const = 0;
  /// Appends the next ops of each thread to buffers[t] (up to its size) and
  /// sets filled[t]. Returns false once every stream is complete.
  virtual bool NextChunk(std::span<const std::span<Op>> buffers,
                         std::span<std::size_t> filled) = 0;
  /// Digest of all streams so far; the stream digest once complete.
  virtual std::uint64_t Digest() const = 0;
  virtual StreamCounts TotalCounts() const = 0;
};

}  // namespace allocmark
