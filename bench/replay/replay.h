// The replay engine: one ReplayThread per worker thread executes its op
// stream against adapter A. Instantiated per adapter, clock and timing mode,
// so the hot loop holds no virtual call, no harness allocation and no I/O.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <span>
#include <thread>

#include "allocators/allocator.h"
#include "bench/base/mapped_array.h"
#include "bench/probes/latency_histogram.h"
#include "bench/probes/locality.h"
#include "bench/probes/perf_counters.h"
#include "bench/probes/pool_tags.h"
#include "bench/spec/op.h"

namespace allocmark {

/// One slot of a thread's slot table: the live block and its requested size.
/// Bits 48..55 of `size_stamp` hold the block's align_log2 (sized free needs
/// it), the top byte the content-check stamp.
struct Slot {
  void* ptr;
  std::uint64_t size_stamp;
};

inline constexpr std::uint64_t kSizeMask = (1ULL << 48) - 1;
inline constexpr int kAlignShift =
    48;  ///< bits 48..55: align_log2 of the block

/// A hand-off box for cross-thread frees, one of a sender's ring. `turn`
/// counts half-uses: use u is sent when turn == 2u and received when
/// turn == 2u + 1, so a reused box can never hand a block to the wrong
/// receiver. Not cache-line aligned: with the lag, the sender writes a box
/// about `lag` boxes away from the one its receiver reads.
struct Mailbox {
  std::atomic<std::uint64_t> turn;
  void* ptr;
  std::uint64_t size_stamp;
};

/// Per-op-kind latency histograms of one thread (alloc, free, realloc).
struct ThreadLatency {
  LatencyHistogram op[3];
};

/// What one thread did; plain data, merged by the worker.
struct ThreadResult {
  std::uint64_t allocs = 0, frees = 0, reallocs = 0, sends = 0, receives = 0;
  std::uint64_t reallocs_in_place = 0;
  std::uint64_t realloc_bytes_copied = 0;  ///< min(old, new) of moved blocks
  std::uint64_t live_bytes = 0, peak_live_bytes = 0;
  std::uint64_t live_usable_bytes = 0, peak_usable_bytes = 0;
  std::uint64_t busy_ticks = 0;  ///< replay time without the waits, ticks
  /// Time spent waiting for a peer: hand-offs (a receive whose send has not
  /// happened, a send whose ring box is still full), measured by the replay;
  /// chunk barriers and respawn joins, added by the cell driver. Never part
  /// of busy_ticks, ns_per_op or the latency histograms.
  std::uint64_t wait_ticks = 0;
  std::uint64_t waits = 0;               ///< hand-off waits (each one counted)
  std::uint64_t barrier_wait_ticks = 0;  ///< of wait_ticks: barriers, respawns
  std::uint64_t last_start_ticks = 0, last_end_ticks = 0;  ///< latest chunk
  std::uint64_t timed_segments = 0;
  std::uint64_t content_errors = 0;
  std::uint64_t touch_sink = 0;  ///< read-back touches land here
  bool failed = false;
  char error[160] = {};
  PoolTagCounts tags[kMaxPoolTags];  ///< timed pass: the poolmon view
  PerfReading perf;                  ///< counters around this thread's replay
  LocalityTracker locality;  ///< timed pass: addresses the adapter returned
};

struct ReplayOptions {
  bool timed = false;  ///< per-op / per-batch latency + accounting
  /// Timed pass only: false leaves the accounting (usable sizes, live bytes,
  /// tags, locality) out, so the pass is the lean loop plus clock reads.
  bool account = true;
  std::uint32_t batch = 1;           ///< ops per timed segment (1 = per-op)
  std::uint64_t overhead_ticks = 0;  ///< empty-interval cost, subtracted
  bool check_contents = false;  ///< fill blocks, verify on realloc and free
  bool locality = false;        ///< feed allocations to ThreadResult::locality
};

namespace internal {

inline std::uint8_t StampOf(std::uint64_t size_stamp) {
  return static_cast<std::uint8_t>(size_stamp >> 56);
}

inline std::size_t AlignOf(std::uint64_t size_stamp) {
  const unsigned log2 = (size_stamp >> kAlignShift) & 0xff;
  return log2 == 0 ? 0 : std::size_t{1} << log2;
}

inline std::uint64_t PackSlot(std::uint64_t size, std::uint8_t align_log2,
                              std::uint8_t stamp) {
  return size | static_cast<std::uint64_t>(align_log2) << kAlignShift |
         static_cast<std::uint64_t>(stamp) << 56;
}

inline void Touch(void* p, std::uint64_t size, Touch touch, std::uint8_t stamp,
                  ThreadResult& r) {
  auto* bytes = static_cast<volatile std::uint8_t*>(p);
  // Repeated touches (touch_repeat) are volatile stores the compiler keeps:
  // on a line another thread writes too, each one is a coherence miss.
  const std::uint64_t repeats = TouchRepeats(touch);
  switch (TouchPolicy(touch)) {
    case Touch::kNone:
      return;
    case Touch::kFirstByte:
      for (std::uint64_t k = 0; k < repeats; ++k) bytes[0] = stamp;
      return;
    case Touch::kWholeBlock:
    case Touch::kReadBack:
      for (std::uint64_t k = 0; k < repeats; ++k) {
        for (std::uint64_t i = 0; i < size; i += 64) bytes[i] = stamp;
        bytes[size - 1] = stamp;
        if (TouchPolicy(touch) == Touch::kReadBack) {
          std::uint64_t sum = 0;
          for (std::uint64_t i = 0; i < size; i += 64) sum += bytes[i];
          r.touch_sink += sum;
        }
      }
      return;
  }
}

inline bool Verify(const void* p, std::uint64_t size, std::uint8_t stamp) {
  const auto* bytes = static_cast<const std::uint8_t*>(p);
  for (std::uint64_t i = 0; i < size; ++i) {
    if (bytes[i] != stamp) return false;
  }
  return true;
}

}  // namespace internal

inline constexpr std::uint32_t kMaxBatch = 4096;

template <Allocator A, class Clock>
class ReplayThread {
 public:
  ReplayThread(A& alloc, std::span<Slot> slots, std::span<Mailbox> mailboxes,
               const ReplayOptions& options, ThreadResult& result,
               ThreadLatency* latency)
      : alloc_(alloc),
        slots_(slots),
        mailboxes_(mailboxes),
        options_(options),
        result_(result),
        latency_(latency) {}

  /// Replays one chunk. Returns false (and sets result.failed) when the
  /// allocator returned null or a content check failed.
  /// A respawn phase op ends the run early with respawn_pending() set and
  /// consumed() ops done; the rest of the chunk is replayed by a new
  /// ReplayThread on a new OS thread with `resumed` set.
  bool Run(std::span<const Op> ops, bool resumed = false) {
    const std::uint64_t start = Clock::Now();
    respawn_at_ = nullptr;
    run_wait_ticks_ = 0;
    bool ok = options_.timed ? RunTimed(ops) : RunUntimed(ops);
    const std::uint64_t end = Clock::Now();
    respawn_pending_ = respawn_at_ != nullptr;
    consumed_ = respawn_pending_ ? respawn_at_ - ops.data() + 1 : ops.size();
    if (respawn_pending_) ok = true;
    const std::uint64_t span = end - start;
    result_.busy_ticks += span - std::min(span, run_wait_ticks_);
    if (!resumed) result_.last_start_ticks = start;
    result_.last_end_ticks = end;
    return ok;
  }

  /// Called at every phase op with the phase index (memory sampling hook).
  void (*on_phase)(void* context, std::uint32_t thread,
                   std::uint8_t phase) = nullptr;
  void* on_phase_context = nullptr;
  std::uint32_t thread_index = 0;
  bool respawn_pending() const { return respawn_pending_; }
  std::size_t consumed() const { return consumed_; }
  /// Set by any thread that failed, so peers stop waiting on its hand-offs.
  const std::atomic<bool>* abort_flag = nullptr;
  /// Timed pass: the cell-wide live figures this thread adds to after every
  /// timed segment (exact global peaks; read by the RSS sampler).
  SharedLive* shared_live = nullptr;

 private:
  // What an op's bookkeeping needs from before the call.
  struct Before {
    void* old_ptr;
    std::uint64_t old_usable;
  };

  // The throughput pass. With content checks off it runs the lean loop: the
  // allocator call, the slot store, the touch, counters kept in registers.
  bool RunUntimed(std::span<const Op> ops) {
    if (options_.check_contents) {
      for (const Op& op : ops) {
        Before before;
        if (!BeforeOp(op, before) || !Execute(op)) return false;
        AfterOp(op, before);
      }
      return true;
    }
    return RunLean(ops);
  }

  bool RunLean(std::span<const Op> ops) {
    Slot* const slots = slots_.data();
    std::uint64_t allocs = 0, frees = 0, reallocs = 0, in_place = 0, copied = 0;
    std::uint8_t stamp = static_cast<std::uint8_t>(stamp_counter_);
    bool ok = true;
    for (const Op& op : ops) {
      Slot& slot = slots[op.slot];
      if (op.kind == OpKind::kAlloc) {
        const std::size_t align =
            op.align_log2 ? std::size_t{1} << op.align_log2 : 0;
        void* p = alloc_.Allocate(op.arg, align);
        if (p == nullptr) {
          ok = Fail("allocation of ", op.arg);
          break;
        }
        stamp += 2;  // odd stamps: a zeroed block never passes for written
        slot.ptr = p;
        slot.size_stamp = internal::PackSlot(op.arg, op.align_log2, stamp | 1);
        // One first-byte store is the common touch: no dispatch, no loop.
        if (op.touch == Touch::kFirstByte) {
          *static_cast<volatile std::uint8_t*>(p) = stamp | 1;
        } else if (op.touch != Touch::kNone) {
          internal::Touch(p, op.arg, op.touch, stamp | 1, result_);
        }
        ++allocs;
      } else if (op.kind == OpKind::kFree) {
        alloc_.Deallocate(slot.ptr, op.arg, internal::AlignOf(slot.size_stamp));
        ++frees;
      } else if (op.kind == OpKind::kRealloc) {
        void* old = slot.ptr;
        const std::uint64_t old_size = slot.size_stamp & kSizeMask;
        void* p = alloc_.Reallocate(old, old_size, op.arg);
        if (p == nullptr) {
          ok = Fail("reallocation to ", op.arg);
          break;
        }
        slot.ptr = p;
        slot.size_stamp = op.arg | (slot.size_stamp & ~kSizeMask);
        if (p == old) {
          ++in_place;
        } else {
          copied += old_size < op.arg ? old_size : op.arg;
        }
        if (op.touch != Touch::kNone)
          internal::Touch(p, op.arg, op.touch,
                          internal::StampOf(slot.size_stamp), result_);
        ++reallocs;
      } else if (!Execute(op)) {
        ok = false;
        break;
      }
    }
    stamp_counter_ = stamp;
    result_.allocs += allocs;
    result_.frees += frees;
    result_.reallocs += reallocs;
    result_.reallocs_in_place += in_place;
    result_.realloc_bytes_copied += copied;
    return ok;
  }

  // The latency pass: ops of one kind are timed in segments of up to `batch`
  // consecutive ops. Accounted (--timing on): checks run before and
  // accounting and touches after the clock reads. Clock only (--timing
  // clock): between segments only what the lean loop does per op (counters,
  // stamps, touches), so its cost over the throughput pass is the clock reads
  // and histogram records.
  bool RunTimed(std::span<const Op> ops) {
    return options_.account ? RunSegments<true>(ops) : RunSegments<false>(ops);
  }

  template <bool kAccount>
  bool RunSegments(std::span<const Op> ops) {
    const std::size_t n = ops.size();
    std::size_t i = 0;
    while (i < n) {
      const OpKind kind = ops[i].kind;
      if (kind != OpKind::kAlloc && kind != OpKind::kFree &&
          kind != OpKind::kRealloc) {
        if (!Execute(ops[i])) return false;
        ++i;
        continue;
      }
      std::size_t end = i + 1;
      while (end < n && end - i < options_.batch && ops[end].kind == kind)
        ++end;
      if constexpr (kAccount) {
        for (std::size_t j = i; j < end; ++j) {
          if (!BeforeOp(ops[j], before_[j - i])) return false;
        }
      } else if (kind == OpKind::kRealloc) {
        // The old pointers are harness memory (the slot table), read before
        // the clock so realloc's in-place count needs nothing inside it.
        for (std::size_t j = i; j < end; ++j)
          before_[j - i].old_ptr = slots_[ops[j].slot].ptr;
      }
      const std::uint64_t t0 = Clock::Now();
      for (std::size_t j = i; j < end; ++j) {
        if (!Execute(ops[j])) return false;
      }
      const std::uint64_t t1 = Clock::Now();
      const std::uint64_t count = end - i;
      const std::uint64_t raw = t1 - t0;
      const std::uint64_t net =
          raw > options_.overhead_ticks ? raw - options_.overhead_ticks : 0;
      latency_->op[static_cast<int>(kind)].Record(net / count, count);
      ++result_.timed_segments;
      if constexpr (kAccount) {
        const std::uint64_t live0 = result_.live_bytes;
        const std::uint64_t usable0 = result_.live_usable_bytes;
        for (std::size_t j = i; j < end; ++j) {
          const std::uint64_t live = result_.live_bytes;
          AfterOp(ops[j], before_[j - i]);
          CountTag(ops[j],
                   static_cast<std::int64_t>(result_.live_bytes - live));
        }
        // A segment holds no hand-offs, so the change of this thread's own
        // counters is exactly what the segment added to the cell's live
        // bytes.
        Publish(static_cast<std::int64_t>(result_.live_bytes - live0),
                static_cast<std::int64_t>(result_.live_usable_bytes - usable0));
      } else {
        for (std::size_t j = i; j < end; ++j) Settle(ops[j], before_[j - i]);
      }
      i = end;
    }
    return true;
  }

  // After the clock, without accounting: what RunLean does besides the call.
  void Settle(const Op& op, const Before& before) {
    Slot& slot = slots_[op.slot];
    if (op.kind == OpKind::kAlloc) {
      ++result_.allocs;
      const auto stamp = static_cast<std::uint8_t>(++stamp_counter_ | 1);
      slot.size_stamp = internal::PackSlot(op.arg, op.align_log2, stamp);
      if (op.touch != Touch::kNone)
        internal::Touch(slot.ptr, op.arg, op.touch, stamp, result_);
    } else if (op.kind == OpKind::kFree) {
      ++result_.frees;
    } else {
      ++result_.reallocs;
      const std::uint64_t old = slot.size_stamp & kSizeMask;
      if (slot.ptr == before.old_ptr) {
        ++result_.reallocs_in_place;
      } else {
        result_.realloc_bytes_copied += old < op.arg ? old : op.arg;
      }
      slot.size_stamp = op.arg | (slot.size_stamp & ~kSizeMask);
      if (op.touch != Touch::kNone)
        internal::Touch(slot.ptr, op.arg, op.touch,
                        internal::StampOf(slot.size_stamp), result_);
    }
  }

  // The allocator call and the slot store: the only work inside a timed
  // segment.
  bool Execute(const Op& op) {
    Slot& slot = slots_[op.slot];
    switch (op.kind) {
      case OpKind::kAlloc: {
        const std::size_t align =
            op.align_log2 ? std::size_t{1} << op.align_log2 : 0;
        void* p = alloc_.Allocate(op.arg, align);
        if (p == nullptr) return Fail("allocation of ", op.arg);
        slot.ptr = p;
        return true;
      }
      case OpKind::kFree:
        alloc_.Deallocate(slot.ptr, op.arg, internal::AlignOf(slot.size_stamp));
        return true;
      case OpKind::kRealloc: {
        void* p =
            alloc_.Reallocate(slot.ptr, slot.size_stamp & kSizeMask, op.arg);
        if (p == nullptr) return Fail("reallocation to ", op.arg);
        slot.ptr = p;
        return true;
      }
      case OpKind::kSend: {
        Mailbox& box = mailboxes_[op.arg & 0xffffffffu];
        const std::uint64_t use = op.arg >> 32;
        if (Accounting()) {  // the block now counts on the receiver's side
          result_.live_bytes -= slot.size_stamp & kSizeMask;
          result_.live_usable_bytes -= alloc_.UsableSize(slot.ptr);
        }
        if (box.turn.load(std::memory_order_acquire) != 2 * use &&
            !WaitForTurn(box, 2 * use))
          return Fail("stopped waiting to send; another thread failed", 0);
        box.ptr = slot.ptr;
        box.size_stamp = slot.size_stamp;
        box.turn.store(2 * use + 1, std::memory_order_release);
        slot.ptr = nullptr;
        ++result_.sends;
        return true;
      }
      case OpKind::kReceive: {
        Mailbox& box = mailboxes_[op.arg & 0xffffffffu];
        const std::uint64_t use = op.arg >> 32;
        if (box.turn.load(std::memory_order_acquire) != 2 * use + 1 &&
            !WaitForTurn(box, 2 * use + 1))
          return Fail("stopped waiting to receive; another thread failed", 0);
        slot.ptr = box.ptr;
        slot.size_stamp = box.size_stamp;
        box.turn.store(2 * use + 2, std::memory_order_release);
        ++result_.receives;
        if (Accounting())
          AddLive(slot.size_stamp & kSizeMask, alloc_.UsableSize(slot.ptr));
        return true;
      }
      case OpKind::kPhase:
        if (on_phase != nullptr)
          on_phase(on_phase_context, thread_index, op.tag);
        if (op.arg & kPhaseRespawn) {
          respawn_at_ = &op;
          return false;  // unwinds the run loop; Run() reports the respawn
        }
        return true;
    }
    return true;
  }

  // Outside the clock: remember the old block, verify what a free releases.
  bool BeforeOp(const Op& op, Before& before) {
    const Slot& slot = slots_[op.slot];
    before.old_ptr = slot.ptr;
    before.old_usable = 0;
    if (op.kind == OpKind::kAlloc) return true;
    if (options_.timed && op.kind != OpKind::kPhase && slot.ptr != nullptr)
      before.old_usable = alloc_.UsableSize(slot.ptr);
    if (options_.check_contents && op.kind == OpKind::kFree &&
        !internal::Verify(slot.ptr, op.arg,
                          internal::StampOf(slot.size_stamp))) {
      ++result_.content_errors;
      return Fail("block contents changed before the free of ", op.arg);
    }
    return true;
  }

  // Outside the clock: counts, live bytes, touches, content stamps.
  void AfterOp(const Op& op, const Before& before) {
    Slot& slot = slots_[op.slot];
    switch (op.kind) {
      case OpKind::kAlloc: {
        ++result_.allocs;
        const auto stamp = static_cast<std::uint8_t>(++stamp_counter_ | 1);
        slot.size_stamp = internal::PackSlot(op.arg, op.align_log2, stamp);
        if (options_.check_contents) std::memset(slot.ptr, stamp, op.arg);
        internal::Touch(slot.ptr, op.arg, op.touch, stamp, result_);
        if (options_.timed) AddLive(op.arg, alloc_.UsableSize(slot.ptr));
        if (options_.locality) result_.locality.OnAlloc(slot.ptr, op.arg);
        break;
      }
      case OpKind::kFree:
        ++result_.frees;
        if (options_.timed) {
          result_.live_bytes -= op.arg;
          result_.live_usable_bytes -= before.old_usable;
        }
        slot.ptr = nullptr;
        break;
      case OpKind::kRealloc: {
        ++result_.reallocs;
        const std::uint64_t old = slot.size_stamp & kSizeMask;
        const std::uint8_t stamp = internal::StampOf(slot.size_stamp);
        const std::uint64_t kept = old < op.arg ? old : op.arg;
        if (slot.ptr != before.old_ptr) {
          result_.realloc_bytes_copied += kept;
        } else {
          ++result_.reallocs_in_place;
        }
        if (options_.check_contents) {
          if (!internal::Verify(slot.ptr, kept, stamp)) {
            ++result_.content_errors;
            Fail("block contents lost across a realloc to ", op.arg);
          }
          if (op.arg > old)
            std::memset(static_cast<char*>(slot.ptr) + old, stamp,
                        op.arg - old);
        }
        slot.size_stamp = op.arg | (slot.size_stamp & ~kSizeMask);
        internal::Touch(slot.ptr, op.arg, op.touch, stamp, result_);
        if (options_.timed) {
          result_.live_bytes -= old;
          result_.live_usable_bytes -= before.old_usable;
          AddLive(op.arg, alloc_.UsableSize(slot.ptr));
        }
        break;
      }
      default:
        break;
    }
  }

  // Outside the clock: the op's tag counts; the tag's shared live bytes are
  // added per run of equal tags (usually once per segment).
  void CountTag(const Op& op, std::int64_t bytes) {
    PoolTagCounts& c = result_.tags[op.tag];
    if (op.kind == OpKind::kAlloc) {
      ++c.allocs;
      ++c.live_blocks;
    } else if (op.kind == OpKind::kFree) {
      ++c.frees;
      --c.live_blocks;
    }
    c.live_bytes += bytes;
    if (op.tag != pending_tag_) {
      FlushTag();
      pending_tag_ = op.tag;
    }
    pending_tag_bytes_ += bytes;
  }

  void FlushTag() {
    if (pending_tag_bytes_ != 0 && shared_live != nullptr)
      shared_live->tags[pending_tag_].Add(pending_tag_bytes_);
    pending_tag_bytes_ = 0;
  }

  void Publish(std::int64_t live, std::int64_t usable) {
    FlushTag();
    if (shared_live == nullptr) return;
    if (live != 0) shared_live->live.Add(live);
    if (usable != 0) shared_live->usable.Add(usable);
  }

  void AddLive(std::uint64_t bytes, std::uint64_t usable) {
    result_.live_bytes += bytes;
    result_.live_usable_bytes += usable;
    if (result_.live_bytes > result_.peak_live_bytes)
      result_.peak_live_bytes = result_.live_bytes;
    if (result_.live_usable_bytes > result_.peak_usable_bytes)
      result_.peak_usable_bytes = result_.live_usable_bytes;
  }

  bool Fail(const char* what, std::uint64_t size) {
    if (!result_.failed) {
      result_.failed = true;
      std::snprintf(result_.error, sizeof(result_.error), "%s%llu bytes", what,
                    static_cast<unsigned long long>(size));
    }
    return false;
  }

  // Off the common path: only a hand-off whose partner is more than `lag`
  // turns behind gets here. The wait is timed apart (Run subtracts it from
  // busy time). Spin briefly, then yield, then sleep: a partner that is
  // descheduled needs a core more than this thread needs to notice it
  // back within microseconds.
  [[gnu::noinline]] bool WaitForTurn(const Mailbox& box, std::uint64_t want) {
    const std::uint64_t t0 = Clock::Now();
    bool ok = true;
    for (std::uint32_t spins = 0;
         box.turn.load(std::memory_order_acquire) != want; ++spins) {
      if (Aborted()) {
        ok = false;
        break;
      }
      if (spins < 256) {
        __builtin_ia32_pause();
      } else if (spins < 512) {
        std::this_thread::yield();
      } else {
        std::this_thread::sleep_for(std::chrono::microseconds(20));
      }
    }
    const std::uint64_t waited = Clock::Now() - t0;
    run_wait_ticks_ += waited;
    result_.wait_ticks += waited;
    ++result_.waits;
    return ok;
  }
  bool Accounting() const { return options_.timed && options_.account; }
  bool Aborted() const {
    return abort_flag != nullptr && abort_flag->load(std::memory_order_relaxed);
  }

  A& alloc_;
  std::span<Slot> slots_;
  std::span<Mailbox> mailboxes_;
  ReplayOptions options_;
  ThreadResult& result_;
  ThreadLatency* latency_;
  std::uint64_t stamp_counter_ = 0;
  std::uint64_t run_wait_ticks_ = 0;  // hand-off waits of the current Run
  const Op* respawn_at_ = nullptr;
  bool respawn_pending_ = false;
  std::size_t consumed_ = 0;
  std::uint8_t pending_tag_ = 0;
  std::int64_t pending_tag_bytes_ = 0;
  Before before_[kMaxBatch];
};

}  // namespace allocmark
