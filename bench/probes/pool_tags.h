// Pool tags: every phase's four-character tag, counted per thread and cell the
// way poolmon counts kernel pool tags, the exact global live peaks, and the
// end-of-cell leak check against what the workload declared.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "bench/spec/op.h"

namespace allocmark {

/// Op::tag is a phase index (uint8); the spec allows at most 255 phases.
inline constexpr std::size_t kMaxPoolTags = 256;

/// One thread's counts for one tag, written only by that thread. Live figures
/// are signed: a thread may free blocks another thread allocated.
struct PoolTagCounts {
  std::uint64_t allocs = 0;
  std::uint64_t frees = 0;
  std::int64_t live_blocks = 0;
  std::int64_t live_bytes = 0;
};

/// A process-wide live figure and its high-water mark. Replay threads add
/// their net change after every timed segment (every op with --batch 1); the
/// peak is the largest sum in that order of additions, so it is exact for one
/// thread and, with several, the true peak at segment granularity. Block
/// transfers between threads do not change it. Plain fields + atomic_ref keep
/// the struct trivially copyable, so it lives in mmap'ed harness memory.
struct alignas(64) SharedLiveCounter {
  std::int64_t value;
  std::int64_t peak;

  void Add(std::int64_t delta) {
    const std::int64_t now = std::atomic_ref<std::int64_t>(value).fetch_add(
                                 delta, std::memory_order_relaxed) +
                             delta;
    std::atomic_ref<std::int64_t> peak_ref(peak);
    std::int64_t seen = peak_ref.load(std::memory_order_relaxed);
    while (now > seen && !peak_ref.compare_exchange_weak(
                             seen, now, std::memory_order_relaxed)) {
    }
  }
  std::int64_t Load() const {
    return std::atomic_ref<std::int64_t>(const_cast<std::int64_t&>(value))
        .load(std::memory_order_relaxed);
  }
  std::int64_t Peak() const {
    return std::atomic_ref<std::int64_t>(const_cast<std::int64_t&>(peak))
        .load(std::memory_order_relaxed);
  }
};

/// The cell's shared live figures: requested bytes, usable bytes, and live
/// requested bytes per tag (for the per-tag peak).
struct SharedLive {
  SharedLiveCounter live;
  SharedLiveCounter usable;
  SharedLiveCounter tags[kMaxPoolTags];
};

/// What the op streams themselves leave live per tag, counted from the
/// generated ops (before any test fault edits them): the workload's declared
/// intended leak, attributed to tags.
class StreamTagTally {
 public:
  StreamTagTally(std::uint32_t threads, std::uint32_t slots_per_thread);
  void Add(std::uint32_t thread, std::span<const Op> ops);
  std::int64_t live_blocks(std::size_t tag) const { return blocks_[tag]; }
  std::int64_t live_bytes(std::size_t tag) const { return bytes_[tag]; }

 private:
  std::vector<std::vector<std::uint64_t>> slot_size_;  // for reallocs
  std::vector<std::int64_t> blocks_, bytes_;
};

/// The poolmon row of one tag in one cell, threads merged.
struct PoolTagRow {
  std::uint8_t index = 0;
  std::string tag;  ///< four characters from the spec
  std::uint64_t allocs = 0, frees = 0;
  std::int64_t live_blocks = 0, live_bytes = 0;
  std::int64_t peak_bytes = 0;  ///< exact global peak (see SharedLiveCounter)
  std::int64_t declared_leak_blocks = 0, declared_leak_bytes = 0;
};

/// Merges per-thread counts of the tags that saw any op.
std::vector<PoolTagRow> MergePoolTags(
    std::span<const PoolTagCounts* const> per_thread, const SharedLive* shared,
    const StreamTagTally* declared, std::span<const std::string> tag_names);

/// Blocks live at the end beyond the declared leak; empty message if none.
/// The message reads "leak: N blocks, B bytes under tag XXXX" (the tag with
/// the most undeclared blocks, "+ K more tags" when several leak).
struct LeakVerdict {
  std::int64_t blocks = 0, bytes = 0;
  std::string message;
};
LeakVerdict CheckLeaks(const std::vector<PoolTagRow>& rows);

}  // namespace allocmark
