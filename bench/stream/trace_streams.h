// A recorded trace turned into op streams: block addresses become slots, a
// free or realloc on another thread a send/receive hand-off, placed where
// the timestamps put it; the streams are an OpSource like the generator's.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench/spec/workload_spec.h"
#include "bench/stream/op_source.h"
#include "bench/trace/trace_file.h"

namespace allocmark {

/// What the conversion found; exact counts.
struct TraceReplayStats {
  std::uint64_t hand_offs = 0;  ///< blocks freed/resized on another thread
  std::uint64_t cross_thread_frees = 0;
  std::uint64_t cross_thread_reallocs = 0;
  std::uint64_t failed_calls = 0;       ///< returned NULL; nothing to replay
  std::uint64_t free_null = 0;          ///< free(NULL) and realloc(NULL, 0)
  std::uint64_t zero_sizes = 0;         ///< malloc(0) & co., replayed as 1 byte
  std::uint64_t inherited_frees = 0;    ///< forked child: the parent's blocks
  std::uint64_t reused_while_live = 0;  ///< address handed out twice
  std::uint64_t live_at_end = 0;        ///< freed by the replay's tear-down
  std::uint64_t peak_live_bytes = 0;    ///< requested bytes, global order
  std::uint64_t peak_live_blocks = 0;
  /// Calls of all threads between a block's last use by its sender and its
  /// receive: the hand-off's lag in the recorded global order.
  std::vector<std::uint64_t> lags;
};

/// The converted streams of one trace: immutable, shared by the cells.
struct TraceReplay {
  std::string path;
  std::vector<std::vector<Op>> ops;              ///< per thread
  std::vector<std::vector<std::uint64_t>> keys;  ///< global order of each op
  StreamPlan plan;
  std::vector<StreamCounts> counts;  ///< per thread
  std::uint64_t digest = 0;
  TraceReplayStats stats;
};

/// Converts a trace; throws TraceError naming the file for a free or
/// realloc of a block the trace never handed out (except in a fork child's
/// trace, whose parent's blocks are counted as inherited and skipped).
std::shared_ptr<const TraceReplay> ConvertTrace(const Trace& trace);

/// Reads and converts; throws TraceError.
std::shared_ptr<const TraceReplay> LoadTraceReplay(const std::string& path);

/// Serves the converted streams in chunks cut along their global order.
class TraceSource final : public OpSource {
 public:
  explicit TraceSource(std::shared_ptr<const TraceReplay> replay);
  const StreamPlan& plan() const override { return replay_->plan; }
  bool NextChunk(std::span<const std::span<Op>> buffers,
                 std::span<std::size_t> filled) override;
  std::uint64_t Digest() const override { return replay_->digest; }
  StreamCounts TotalCounts() const override;

 private:
  std::shared_ptr<const TraceReplay> replay_;
  std::vector<std::size_t> pos_;
};

/// The workload a trace file stands for: "trace:<file name>", its recorded
/// thread count, one phase (tag TRAC).
WorkloadSpec TraceWorkloadSpec(const std::string& path,
                               const TraceReplay& replay);
/// Reads and converts the trace first; throws TraceError.
WorkloadSpec TraceWorkloadSpec(const std::string& path);

/// Workload items and worker arguments name a trace as "trace:<path>".
inline constexpr char kTracePrefix[] = "trace:";
bool IsTraceWorkload(const std::string& item);

}  // namespace allocmark
