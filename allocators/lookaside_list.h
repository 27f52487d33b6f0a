// LookasideList: one block size's lock-free, ABA-safe, depth-bounded LIFO of
// free blocks over a backing allocator, with adaptive depth and hit counters.
#pragma once

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

// Design and correctness argument
// ===============================
// The Windows kernel threads its SLIST through the free blocks themselves and
// makes the pop ABA-safe with a sequence number next to the head pointer
// (cmpxchg16b on x64). A popper that lost the race may still read
// `head->next` of a block that another thread popped, handed to its caller
// and, if the list was full on free, returned to the pool; the kernel gets
// away with it because pool pages stay mapped. Here that block goes back to
// malloc (it may be unmapped) and the read races with the new owner's writes,
// so ASan and TSan would both be right to complain.
//
// So no link ever lives in a block. The list owns a fixed array of `capacity`
// slots; a slot holds one block pointer and the index of the next slot. Every
// slot is in exactly one of three states: on the *cached* stack (holds a free
// block), on the *spare* stack (empty), or owned by the one thread that just
// popped it. Both stacks are Treiber stacks of slot indices whose head is one
// 64-bit word {index:12, count:12, tag:40}:
//  - Memory safety: a losing popper only reads `slots_[i].next`, list-owned
//    memory that lives as long as the list, through an atomic. Blocks are
//    touched (by address only) by the thread owning their slot, never by a
//    popper of someone else's slot, so a block handed back to malloc is never
//    read by us again.
//  - ABA: every successful CAS adds one to the 40-bit tag, so a head value
//    recurs only after 2^40 (about 10^12) operations on that list between a
//    popper's load and its CAS; at 10 ns per operation that is three hours of
//    the popper being descheduled. A 64-bit CAS is lock-free everywhere we
//    run, so the build needs neither -mcx16 nor -latomic (GCC routes a 16-byte
//    std::atomic through libatomic and reports it as not lock-free).
//  - The stale `next` is harmless: all head CASes are acq_rel, so if our CAS
//    on head value (i, tag) succeeds it precedes, in happens-before, the pop
//    that would free slot i for reuse, hence our earlier read of next[i]
//    cannot have seen a later rewrite; if the head moved, the CAS fails.
//  - The block pointer in a slot is written by the slot's owner before the
//    release CAS that publishes it and read by the popper after its acquire
//    CAS, so it needs no atomic.
//  - `count` travels in the same word as the cached head, so "push only if
//    fewer than depth blocks are cached" is one atomic decision, with no
//    separate shared counter to keep in sync.
//
// Batches. A per-thread front (allocators/lookaside_front.h) moves blocks to
// and from the list in batches: AllocateBatch pops k cached slots with one CAS
// (walking k - 1 links, all list-owned, the same argument as a single pop: if
// the CAS succeeds no push or pop happened since the head was read, so the
// walked chain was the stack's), then gives the k slots back to the spare
// stack with one CAS. FreeBatch takes k spare slots with one CAS and pushes
// as many as fit under the depth with one CAS. Two CASes per batch instead of
// two per block.
//
// Counters. hits/misses/frees go to one of kCounterStripes cache-line-sized
// stripes picked per thread, with relaxed fetch_add: exact totals, and threads
// on different stripes never share a line. A single shared counter would put
// one more contended line in every operation, which is the very thing a
// lookaside list exists to avoid; per-thread storage would need a registry
// per list and thread-exit handling for little more gain.

// Tests define this to widen the window between reading a stack head and
// swinging it (e.g. to yield), so that ABA interleavings actually happen.
#ifndef ALLOCMARK_LOOKASIDE_RACE_POINT
#define ALLOCMARK_LOOKASIDE_RACE_POINT() ((void)0)
#endif

namespace allocmark {

/// How a LookasideList behaves; the defaults follow the kernel's lookaside
/// lists (minimum depth 4, maximum 256).
struct LookasideOptions {
  std::size_t block_size = 64;  ///< bytes handed out per block
  /// Alignment of every block. Up to alignof(max_align_t) uses malloc,
  /// above it aligned_alloc.
  std::size_t alignment = alignof(std::max_align_t);
  std::uint32_t min_depth = 4;    ///< depth never adapts below this
  std::uint32_t max_depth = 256;  ///< slots reserved; depth never exceeds it
  std::uint32_t initial_depth = 4;
  /// Allocations (per counter stripe) between depth adjustments; a power of
  /// two. Zero keeps the depth fixed (AdjustDepth() can still be called).
  std::uint32_t adjust_interval = 1024;
};

/// Snapshot of a list's counters, in blocks; exact once the list is
/// quiescent, when cached == frees_to_list - hits - released.
struct LookasideCounters {
  std::uint64_t hits = 0;              ///< allocations served from the list
  std::uint64_t misses = 0;            ///< allocations that went to backing
  std::uint64_t frees_to_list = 0;     ///< frees kept in the list
  std::uint64_t frees_to_backing = 0;  ///< frees passed on (list full)
  std::uint64_t released = 0;  ///< cached blocks freed by Flush() and Scan()
  std::uint64_t scans = 0;     ///< Scan() calls that adjusted the depth
  std::uint32_t depth = 0;     ///< current maximum of cached blocks
  std::uint32_t cached = 0;    ///< blocks in the list right now
};

/// Depth adaptation, run every `adjust_interval` allocations (the kernel runs
/// ExAdjustLookasideDepth once a second from the balance-set manager; an
/// allocation count makes the rule deterministic and rate-independent).
/// Over the window since the last adjustment, with r = misses per mille:
///   r >= kGrowPermille  -> depth += (max - depth) * r / 2000 + kGrowStep
///   r <  kShrinkPermille -> depth -= max(1, depth / kShrinkDivisor)
///   otherwise            -> unchanged
/// clamped to [min_depth, max_depth]. Growth is proportional to the miss rate
/// and the headroom (all misses: half the headroom at once), shrinking is
/// gentle, and the dead band between stops a steady workload oscillating.
/// Lowering depth frees nothing: surplus blocks drain through pops, as in the
/// kernel, so an adjustment never puts a free() on someone's allocation path.
struct LookasideTuning {
  static constexpr std::uint32_t kGrowPermille = 50;   // 5 % misses
  static constexpr std::uint32_t kShrinkPermille = 5;  // 0.5 % misses
  static constexpr std::uint32_t kGrowStep = 5;
  static constexpr std::uint32_t kShrinkDivisor = 8;
  /// Applies the rule above to one window; exposed for tests and reports.
  static constexpr std::uint32_t NextDepth(std::uint32_t depth,
                                           std::uint32_t min_depth,
                                           std::uint32_t max_depth,
                                           std::uint64_t allocations,
                                           std::uint64_t misses) {
    if (allocations == 0) return depth;
    const std::uint64_t permille = misses * 1000 / allocations;
    std::uint64_t next = depth;
    if (permille >= kGrowPermille) {
      next += (max_depth - std::min(depth, max_depth)) * permille / 2000 +
              kGrowStep;
    } else if (permille < kShrinkPermille) {
      const std::uint64_t step =
          std::max<std::uint64_t>(1, depth / kShrinkDivisor);
      next = depth > step ? depth - step : 0;
    }
    return static_cast<std::uint32_t>(
        std::clamp<std::uint64_t>(next, min_depth, max_depth));
  }

  /// The periodic scan's rule (LookasideList::Scan, once per time window):
  /// as NextDepth, except that a window without a single allocation halves
  /// the depth. NextDepth leaves an idle list alone because it only ever
  /// runs from an allocation; the scan is what reaches idle lists, and the
  /// kernel lowers an idle list's depth on every scan too.
  static constexpr std::uint32_t ScanDepth(std::uint32_t depth,
                                           std::uint32_t min_depth,
                                           std::uint32_t max_depth,
                                           std::uint64_t allocations,
                                           std::uint64_t misses) {
    if (allocations == 0) {
      return std::clamp<std::uint32_t>(depth / 2, min_depth, max_depth);
    }
    return NextDepth(depth, min_depth, max_depth, allocations, misses);
  }
};

namespace internal {

inline constexpr std::size_t kCacheLine = 64;
inline constexpr std::uint32_t kCounterStripes = 16;

/// Stripe for the calling thread, assigned round-robin on first use so that
/// up to kCounterStripes threads never share a counter line.
inline std::uint32_t ThreadStripe() {
  static std::atomic<std::uint32_t> next_stripe{0};
  thread_local std::uint32_t stripe = UINT32_MAX;
  if (stripe == UINT32_MAX) {
    stripe =
        next_stripe.fetch_add(1, std::memory_order_relaxed) % kCounterStripes;
  }
  return stripe;
}

/// A stack head packed into one word: {index:12, count:12, tag:40}.
class PackedHead {
 public:
  static constexpr std::uint32_t kIndexBits = 12;
  static constexpr std::uint32_t kNil = (1u << kIndexBits) - 1;
  static constexpr std::uint32_t kMaxSlots = kNil;  // 4095

  static constexpr std::uint64_t Make(std::uint32_t index, std::uint32_t count,
                                      std::uint64_t tag) {
    return std::uint64_t{index} | (std::uint64_t{count} << kIndexBits) |
           (tag << (2 * kIndexBits));
  }
  static constexpr std::uint32_t Index(std::uint64_t h) { return h & kNil; }
  static constexpr std::uint32_t Count(std::uint64_t h) {
    return (h >> kIndexBits) & kNil;
  }
  static constexpr std::uint64_t Tag(std::uint64_t h) {
    return h >> (2 * kIndexBits);  // wraps modulo 2^40 by construction
  }
};

// Under ASan a cached block is poisoned, so a caller touching a block after
// freeing it is still caught although the block never reached free().
inline void Poison(void* block, std::size_t size) {
#if defined(__SANITIZE_ADDRESS__)
  ASAN_POISON_MEMORY_REGION(block, size);
#else
  (void)block, (void)size;
#endif
}
inline void Unpoison(void* block, std::size_t size) {
#if defined(__SANITIZE_ADDRESS__)
  ASAN_UNPOISON_MEMORY_REGION(block, size);
#else
  (void)block, (void)size;
#endif
}

/// Backing allocator calls for one block shape; nullptr when the request
/// cannot be met, including sizes whose round-up would wrap around.
inline void* BackingAllocate(std::size_t size, std::size_t alignment) {
  if (alignment <= alignof(std::max_align_t)) return std::malloc(size);
  // aligned_alloc wants a power-of-two alignment and a size that is a
  // multiple of it; the round-up wraps for sizes within `alignment` of
  // SIZE_MAX, and a wrapped size would hand out a tiny block.
  if (!std::has_single_bit(alignment) || size > SIZE_MAX - (alignment - 1)) {
    errno = ENOMEM;
    return nullptr;
  }
  return std::aligned_alloc(alignment,
                            (size + alignment - 1) & ~(alignment - 1));
}

}  // namespace internal

/// A fixed-block-size free list with a maximum depth, after the Windows
/// kernel's lookaside lists. Allocate() pops (a hit) or falls back to the
/// backing allocator (a miss); Free() pushes unless `depth` blocks are already
/// cached, in which case the block goes back to the backing allocator. All
/// members are safe to call concurrently; blocks may be freed on any thread.
class LookasideList {
 public:
  explicit LookasideList(const LookasideOptions& options)
      : block_size_(options.block_size),
        alignment_(options.alignment),
        max_depth_(std::clamp<std::uint32_t>(options.max_depth, 1,
                                             internal::PackedHead::kMaxSlots)),
        min_depth_(std::min(options.min_depth, max_depth_)),
        adjust_mask_(options.adjust_interval == 0
                         ? 0
                         : std::bit_ceil(options.adjust_interval) - 1),
        adjust_enabled_(options.adjust_interval != 0),
        slots_(std::make_unique<Slot[]>(max_depth_)) {
    hot_.depth.store(std::clamp(options.initial_depth, min_depth_, max_depth_),
                     std::memory_order_relaxed);
    // All slots start on the spare stack, linked 0 -> 1 -> ... -> nil.
    for (std::uint32_t i = 0; i < max_depth_; ++i) {
      slots_[i].next.store(
          i + 1 < max_depth_ ? i + 1 : internal::PackedHead::kNil,
          std::memory_order_relaxed);
    }
    hot_.spare.store(internal::PackedHead::Make(0, max_depth_, 0),
                     std::memory_order_relaxed);
    hot_.cached.store(
        internal::PackedHead::Make(internal::PackedHead::kNil, 0, 0),
        std::memory_order_relaxed);
  }

  LookasideList(const LookasideList&) = delete;
  LookasideList& operator=(const LookasideList&) = delete;

  /// Returns every cached block to the backing allocator.
  ~LookasideList() { Flush(); }

  /// A block of block_size() bytes aligned to alignment(); nullptr only if
  /// the backing allocator fails.
  void* Allocate() {
    Stripe& stripe = stripes_[internal::ThreadStripe()];
    std::uint32_t slot = Pop(hot_.cached);
    void* block;
    std::uint64_t in_stripe;
    if (slot != internal::PackedHead::kNil) {
      block = slots_[slot].block;
      Push(hot_.spare, slot, UINT32_MAX);
      internal::Unpoison(block, block_size_);
      in_stripe = stripe.hits.fetch_add(1, std::memory_order_relaxed) + 1 +
                  stripe.misses.load(std::memory_order_relaxed);
    } else {
      block = internal::BackingAllocate(block_size_, alignment_);
      in_stripe = stripe.misses.fetch_add(1, std::memory_order_relaxed) + 1 +
                  stripe.hits.load(std::memory_order_relaxed);
    }
    if (adjust_enabled_ && (in_stripe & adjust_mask_) == 0) {
      Adjust(/*whole_window_only=*/true);
    }
    return block;
  }

  /// Takes back a block from Allocate() (of any list with the same shape, or
  /// straight from the backing allocator with at least that size/alignment).
  void Free(void* block) {
    if (block == nullptr) return;
    Stripe& stripe = stripes_[internal::ThreadStripe()];
    if (TryCache(block)) {
      stripe.frees_to_list.fetch_add(1, std::memory_order_relaxed);
    } else {
      std::free(block);
      stripe.frees_to_backing.fetch_add(1, std::memory_order_relaxed);
    }
  }

  /// Up to `n` blocks into `out`, all from the list with
  /// one CAS on each stack when any are cached (n hits); otherwise one block
  /// from the backing allocator (one miss). Returns how many were written: 0
  /// only when the backing allocator fails.
  std::uint32_t AllocateBatch(void** out, std::uint32_t n) {
    Stripe& stripe = stripes_[internal::ThreadStripe()];
    std::uint32_t first, last;
    const std::uint32_t got = PopChain(hot_.cached, n, first, last);
    if (got == 0) {
      const std::uint64_t in_stripe =
          stripe.misses.fetch_add(1, std::memory_order_relaxed) + 1 +
          stripe.hits.load(std::memory_order_relaxed);
      MaybeAdjust(in_stripe, 1);
      out[0] = internal::BackingAllocate(block_size_, alignment_);
      return out[0] != nullptr ? 1 : 0;
    }
    // The chain is ours now; its links are the ones it had on the stack.
    for (std::uint32_t i = 0, slot = first; i < got; ++i) {
      out[i] = slots_[slot].block;
      internal::Unpoison(out[i], block_size_);
      slot = slots_[slot].next.load(std::memory_order_relaxed);
    }
    PushChain(hot_.spare, first, last, got);
    const std::uint64_t in_stripe =
        stripe.hits.fetch_add(got, std::memory_order_relaxed) + got +
        stripe.misses.load(std::memory_order_relaxed);
    MaybeAdjust(in_stripe, got);
    return got;
  }

  /// Takes back `n` blocks: as many as fit under the depth
  /// are cached with one CAS on each stack, the rest go to the backing
  /// allocator. Returns how many were cached.
  std::uint32_t FreeBatch(void* const* blocks, std::uint32_t n) {
    Stripe& stripe = stripes_[internal::ThreadStripe()];
    std::uint32_t kept = 0;
    const std::uint32_t depth = hot_.depth.load(std::memory_order_relaxed);
    std::uint32_t first, last;
    const std::uint32_t room = cached() < depth ? depth - cached() : 0;
    const std::uint32_t taken =
        room == 0 ? 0 : PopChain(hot_.spare, std::min(n, room), first, last);
    if (taken > 0) {
      std::uint32_t slot = first;
      for (std::uint32_t i = 0; i < taken; ++i) {
        slots_[slot].block = blocks[i];
        internal::Poison(blocks[i], block_size_);  // before publishing
        slot = slots_[slot].next.load(std::memory_order_relaxed);
      }
      kept = PushChainUpTo(hot_.cached, first, taken, depth);
      // Slots that did not fit (others filled the list meanwhile) go back.
      for (std::uint32_t i = kept; i < taken; ++i) {
        internal::Unpoison(blocks[i], block_size_);
      }
    }
    for (std::uint32_t i = kept; i < n; ++i) std::free(blocks[i]);
    stripe.frees_to_list.fetch_add(kept, std::memory_order_relaxed);
    stripe.frees_to_backing.fetch_add(n - kept, std::memory_order_relaxed);
    return kept;
  }

  /// Returns every cached block to the backing allocator; returns how many.
  /// Concurrent callers are fine: this is just pops, counted as released.
  std::size_t Flush() { return Release(0); }

  /// The periodic depth scan, after the kernel's ExAdjustLookasideDepth:
  /// applies LookasideTuning::ScanDepth to the allocations since the last
  /// scan (so an idle list shrinks too), then frees the cached blocks above
  /// the new depth. Meant for a caller off the allocation path (the
  /// adapters' scanner thread); if another thread is adjusting, does nothing.
  /// Returns the blocks freed.
  std::size_t Scan() {
    if (adjusting_.exchange(true, std::memory_order_acquire)) return 0;
    const LookasideCounters now = Counters();
    const std::uint64_t allocations =
        now.hits + now.misses - (window_start_hits_ + window_start_misses_);
    const std::uint32_t depth = LookasideTuning::ScanDepth(
        now.depth, min_depth_, max_depth_, allocations,
        now.misses - window_start_misses_);
    hot_.depth.store(depth, std::memory_order_relaxed);
    window_start_hits_ = now.hits;
    window_start_misses_ = now.misses;
    scans_.fetch_add(1, std::memory_order_relaxed);
    adjusting_.store(false, std::memory_order_release);
    return Release(depth);
  }

  /// Applies LookasideTuning::NextDepth to the allocations since the last
  /// adjustment. Runs on its own every adjust_interval allocations; callable
  /// by hand too (e.g. from a timer, like the kernel's balance-set manager).
  /// If another thread is already adjusting, this call does nothing.
  void AdjustDepth() { Adjust(/*whole_window_only=*/false); }

  /// Sums the counter stripes (relaxed: exact once the list is quiescent).
  LookasideCounters Counters() const {
    LookasideCounters c;
    for (const Stripe& s : stripes_) {
      c.hits += s.hits.load(std::memory_order_relaxed);
      c.misses += s.misses.load(std::memory_order_relaxed);
      c.frees_to_list += s.frees_to_list.load(std::memory_order_relaxed);
      c.frees_to_backing += s.frees_to_backing.load(std::memory_order_relaxed);
    }
    c.released = released_.load(std::memory_order_relaxed);
    c.scans = scans_.load(std::memory_order_relaxed);
    c.depth = depth();
    c.cached = cached();
    return c;
  }

  std::uint32_t depth() const {
    return hot_.depth.load(std::memory_order_relaxed);
  }
  std::uint32_t cached() const {
    return internal::PackedHead::Count(
        hot_.cached.load(std::memory_order_relaxed));
  }
  /// Slots not holding a block (capacity - cached when quiescent).
  std::uint32_t spare() const {
    return internal::PackedHead::Count(
        hot_.spare.load(std::memory_order_relaxed));
  }
  std::uint32_t min_depth() const { return min_depth_; }
  std::uint32_t max_depth() const { return max_depth_; }
  std::size_t block_size() const { return block_size_; }
  std::size_t alignment() const { return alignment_; }

 private:
  struct Slot {
    std::atomic<std::uint32_t> next{internal::PackedHead::kNil};
    void* block = nullptr;  // owned by whoever holds the slot; see top
  };

  // Heads and depth share a line: every operation touches both stacks, so
  // one line moving between cores is cheaper than two.
  struct alignas(internal::kCacheLine) Hot {
    std::atomic<std::uint64_t> cached{0};
    std::atomic<std::uint64_t> spare{0};
    std::atomic<std::uint32_t> depth{0};
  };

  struct alignas(internal::kCacheLine) Stripe {
    std::atomic<std::uint64_t> hits{0};
    std::atomic<std::uint64_t> misses{0};
    std::atomic<std::uint64_t> frees_to_list{0};
    std::atomic<std::uint64_t> frees_to_backing{0};
  };

  // The allocation rule, for a stripe whose count just grew by `added` to
  // `in_stripe`: adjusts when that crossed a multiple of the interval.
  void MaybeAdjust(std::uint64_t in_stripe, std::uint64_t added) {
    if (adjust_enabled_ && (in_stripe & adjust_mask_) < added) {
      Adjust(/*whole_window_only=*/true);
    }
  }

  void Adjust(bool whole_window_only) {
    if (adjusting_.exchange(true, std::memory_order_acquire)) return;
    const LookasideCounters now = Counters();
    const std::uint64_t allocations =
        now.hits + now.misses - (window_start_hits_ + window_start_misses_);
    // With several threads each stripe triggers on its own count; wait until
    // a whole window has passed overall, or windows shrink with thread count.
    if (!whole_window_only || allocations > adjust_mask_) {
      const std::uint64_t misses = now.misses - window_start_misses_;
      hot_.depth.store(
          LookasideTuning::NextDepth(now.depth, min_depth_, max_depth_,
                                     allocations, misses),
          std::memory_order_relaxed);
      window_start_hits_ = now.hits;
      window_start_misses_ = now.misses;
    }
    adjusting_.store(false, std::memory_order_release);
  }

  // Pops a slot index, or kNil when the stack is empty.
  std::uint32_t Pop(std::atomic<std::uint64_t>& head) {
    using internal::PackedHead;
    std::uint64_t h = head.load(std::memory_order_acquire);
    for (;;) {
      const std::uint32_t top = PackedHead::Index(h);
      if (top == PackedHead::kNil) return PackedHead::kNil;
      // May be stale if we lose the race; then the CAS below fails.
      const std::uint32_t next =
          slots_[top].next.load(std::memory_order_relaxed);
      ALLOCMARK_LOOKASIDE_RACE_POINT();
      const std::uint64_t want = PackedHead::Make(
          next, PackedHead::Count(h) - 1, PackedHead::Tag(h) + 1);
      if (head.compare_exchange_weak(h, want, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
        return top;
      }
    }
  }

  // Pops up to `n` slots as one chain first -> ... -> last; returns how many
  // (0 when the stack is empty). See "Batches" at the top.
  std::uint32_t PopChain(std::atomic<std::uint64_t>& head, std::uint32_t n,
                         std::uint32_t& first, std::uint32_t& last) {
    using internal::PackedHead;
    std::uint64_t h = head.load(std::memory_order_acquire);
    for (;;) {
      first = PackedHead::Index(h);
      if (first == PackedHead::kNil || n == 0) return 0;
      std::uint32_t got = std::min(n, PackedHead::Count(h));
      last = first;
      // Links read here may be stale if we lose the race (then the CAS
      // fails); a stale nil just shortens the chain.
      for (std::uint32_t i = 1; i < got; ++i) {
        const std::uint32_t next =
            slots_[last].next.load(std::memory_order_relaxed);
        if (next == PackedHead::kNil) {
          got = i;
          break;
        }
        last = next;
      }
      const std::uint32_t next =
          slots_[last].next.load(std::memory_order_relaxed);
      ALLOCMARK_LOOKASIDE_RACE_POINT();
      const std::uint64_t want = PackedHead::Make(
          next, PackedHead::Count(h) - got, PackedHead::Tag(h) + 1);
      if (head.compare_exchange_weak(h, want, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
        return got;
      }
    }
  }

  // Pushes an owned chain of `n` slots first -> ... -> last in one CAS.
  void PushChain(std::atomic<std::uint64_t>& head, std::uint32_t first,
                 std::uint32_t last, std::uint32_t n) {
    using internal::PackedHead;
    std::uint64_t h = head.load(std::memory_order_acquire);
    for (;;) {
      slots_[last].next.store(PackedHead::Index(h), std::memory_order_relaxed);
      const std::uint64_t want = PackedHead::Make(
          first, PackedHead::Count(h) + n, PackedHead::Tag(h) + 1);
      if (head.compare_exchange_weak(h, want, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
        return;
      }
    }
  }

  // Pushes the first k of an owned chain of `n` slots (first, then along the
  // links) onto `head` in one CAS, k as large as keeps the stack within
  // `limit`; the other n - k go back to the spare stack. Returns k.
  std::uint32_t PushChainUpTo(std::atomic<std::uint64_t>& head,
                              std::uint32_t first, std::uint32_t n,
                              std::uint32_t limit) {
    using internal::PackedHead;
    std::uint64_t h = head.load(std::memory_order_acquire);
    std::uint32_t k = 0, last = first, rest = internal::PackedHead::kNil;
    for (;;) {
      const std::uint32_t count = PackedHead::Count(h);
      k = count < limit ? std::min(n, limit - count) : 0;
      if (k == 0) break;
      last = first;
      for (std::uint32_t i = 1; i < k; ++i) {
        last = slots_[last].next.load(std::memory_order_relaxed);
      }
      // Owned links: only we write them, so re-reading after a lost CAS is
      // fine; but `last`'s link is overwritten below, so keep the tail first.
      rest = slots_[last].next.load(std::memory_order_relaxed);
      slots_[last].next.store(PackedHead::Index(h), std::memory_order_relaxed);
      const std::uint64_t want =
          PackedHead::Make(first, count + k, PackedHead::Tag(h) + 1);
      if (head.compare_exchange_weak(h, want, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
        break;
      }
      slots_[last].next.store(rest, std::memory_order_relaxed);
    }
    if (k < n) {
      const std::uint32_t rest_first = k == 0 ? first : rest;
      std::uint32_t rest_last = rest_first;
      for (std::uint32_t i = k + 1; i < n; ++i) {
        rest_last = slots_[rest_last].next.load(std::memory_order_relaxed);
      }
      PushChain(hot_.spare, rest_first, rest_last, n - k);
    }
    return k;
  }

  // Frees cached blocks until at most `keep` remain; returns how many.
  std::size_t Release(std::uint32_t keep) {
    std::size_t released = 0;
    while (cached() > keep) {
      const std::uint32_t slot = Pop(hot_.cached);
      if (slot == internal::PackedHead::kNil) break;
      void* block = slots_[slot].block;
      Push(hot_.spare, slot, UINT32_MAX);
      internal::Unpoison(block, block_size_);
      std::free(block);
      ++released;
    }
    released_.fetch_add(released, std::memory_order_relaxed);
    return released;
  }

  // Pushes a slot we own unless the stack already holds `limit` entries.
  bool Push(std::atomic<std::uint64_t>& head, std::uint32_t slot,
            std::uint32_t limit) {
    using internal::PackedHead;
    std::uint64_t h = head.load(std::memory_order_acquire);
    for (;;) {
      if (PackedHead::Count(h) >= limit) return false;
      slots_[slot].next.store(PackedHead::Index(h), std::memory_order_relaxed);
      const std::uint64_t want = PackedHead::Make(
          slot, PackedHead::Count(h) + 1, PackedHead::Tag(h) + 1);
      if (head.compare_exchange_weak(h, want, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
        return true;
      }
    }
  }

  bool TryCache(void* block) {
    // Cheap early out for the common "list full" case: no spare-slot traffic.
    const std::uint32_t depth = hot_.depth.load(std::memory_order_relaxed);
    if (cached() >= depth) return false;
    const std::uint32_t slot = Pop(hot_.spare);
    // No spare slot: all are cached or in flight in other threads' pops.
    if (slot == internal::PackedHead::kNil) return false;
    slots_[slot].block = block;
    // Poison before publishing: once pushed, another thread may pop and
    // unpoison it, and a late poison would then hit a live block.
    internal::Poison(block, block_size_);
    if (Push(hot_.cached, slot, depth)) return true;
    internal::Unpoison(block, block_size_);
    Push(hot_.spare, slot, UINT32_MAX);
    return false;
  }

  const std::size_t block_size_;
  const std::size_t alignment_;
  const std::uint32_t max_depth_;  // also the number of slots
  const std::uint32_t min_depth_;
  const std::uint64_t adjust_mask_;
  const bool adjust_enabled_;
  const std::unique_ptr<Slot[]> slots_;

  Hot hot_;
  Stripe stripes_[internal::kCounterStripes];

  // Touched only by the thread holding adjusting_.
  alignas(internal::kCacheLine) std::atomic<bool> adjusting_{false};
  std::uint64_t window_start_hits_ = 0;
  std::uint64_t window_start_misses_ = 0;
  std::atomic<std::uint64_t> released_{0};
  std::atomic<std::uint64_t> scans_{0};
};

}  // namespace allocmark
