// The per-thread lists in front of the shared lookaside lists (the kernel's
// per-processor lists), their registry, and their flush when a thread exits.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "allocators/lookaside_classes.h"
#include "allocators/lookaside_list.h"

// Why per thread and not per CPU. The kernel's per-processor lists are safe
// because the kernel runs them at DISPATCH_LEVEL: nothing else touches a
// processor's list meanwhile. In user space a thread can be preempted and
// migrated between reading its CPU number and touching "its" list, so a
// per-CPU list needs an atomic per operation (or an rseq critical section in
// assembly). A thread's own list needs neither: one owner, plain loads and
// stores, and it sits in that thread's memory. The cost is memory per thread
// instead of per CPU, and a flush when the thread exits.
//
// Ownership. Each ThreadLists belongs to one (adapter, thread) pair. Only the
// owning thread pushes and pops its blocks; other threads read its counters
// and counts (relaxed atomics, single writer). The thread keeps its lists in
// a thread_local FrontHolder whose destructor, at thread exit, hands every
// block to the adapter (Retire: into the shared list up to its depth, the
// rest to glibc) and folds the counters into the adapter's retired totals,
// so replay threads that exit or are replaced mid-run lose no block and no
// count. An adapter destroyed first detaches its lists (owner = nullptr);
// the thread then just deletes them. All of this runs under one process-wide
// mutex, taken only when a thread first uses an adapter, at thread exit, and
// by Stats().

namespace allocmark::internal {

/// Slots per class in a thread's list: its maximum depth, the kernel's 256.
inline constexpr std::uint32_t kFrontCapacity = 256;

/// A counter with one writer (the owning thread) and any number of readers:
/// a relaxed load and store, no locked instruction on the hot path.
inline void Bump(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1) {
  counter.store(counter.load(std::memory_order_relaxed) + n,
                std::memory_order_relaxed);
}

/// One thread's counters for one class, named as the kernel's.
struct FrontCounters {
  std::atomic<std::uint64_t> total_allocates{0};  ///< Allocate calls
  /// Allocations the thread's list could not serve (went to the shared list).
  std::atomic<std::uint64_t> allocate_misses{0};
  std::atomic<std::uint64_t> total_frees{0};  ///< Deallocate calls
  /// Frees that found the thread's list at its depth (moved a batch on).
  std::atomic<std::uint64_t> free_misses{0};

  void AddTo(FrontCounters& sum) const {
    Bump(sum.total_allocates, total_allocates.load(std::memory_order_relaxed));
    Bump(sum.allocate_misses, allocate_misses.load(std::memory_order_relaxed));
    Bump(sum.total_frees, total_frees.load(std::memory_order_relaxed));
    Bump(sum.free_misses, free_misses.load(std::memory_order_relaxed));
  }
};

/// A thread's lists for every class of one adapter. Each class starts on
/// its own cache line, so a class's count, slots and counters share lines
/// only with each other, and a whole ThreadLists with no other object.
struct alignas(kCacheLine) ThreadLists {
  struct alignas(kCacheLine) Class {
    /// Blocks cached and the list's depth; written by the owner only, read
    /// by Stats().
    std::atomic<std::uint32_t> count{0};
    std::atomic<std::uint32_t> depth{0};
    FrontCounters counters;
    // The owner's depth window (see the adapter's AdjustFront).
    std::uint64_t window_allocates = 0;
    std::uint64_t window_misses = 0;
    void* blocks[kFrontCapacity];  // [0, count): oldest first
  };
  Class classes[kLookasideNumClasses];

  // Guarded by FrontRegistryMutex().
  void* owner = nullptr;  ///< the adapter, nullptr once it is destroyed
  void (*retire)(void* owner, ThreadLists* lists) = nullptr;
};

inline std::mutex& FrontRegistryMutex() {
  static std::mutex mutex;
  return mutex;
}

/// The calling thread's lists for the adapter it used last: the fast path is
/// one compare of a trivially destructible thread_local, no guard, no call.
struct FrontSlot {
  std::uint64_t adapter_id = 0;  ///< 0: none; ids are never reused
  ThreadLists* lists = nullptr;
};
inline thread_local FrontSlot tls_front_slot;
/// Set once the thread's FrontHolder is destroyed: from then on (other
/// thread_local destructors freeing memory) the adapters skip the front.
inline thread_local bool tls_front_gone = false;

/// Every ThreadLists the thread made; flushes and deletes them at exit.
class FrontHolder {
 public:
  ~FrontHolder() {
    tls_front_gone = true;
    tls_front_slot = FrontSlot{};
    std::lock_guard<std::mutex> lock(FrontRegistryMutex());
    for (ThreadLists* lists : lists_) {
      if (lists->owner != nullptr) lists->retire(lists->owner, lists);
      delete lists;
    }
  }

  /// This thread's lists for `owner`, made and registered by `adopt` (with
  /// the registry mutex held) on first use. Lists of destroyed adapters are
  /// deleted on the way.
  template <class Adopt>
  ThreadLists* Find(void* owner, Adopt&& adopt) {
    std::lock_guard<std::mutex> lock(FrontRegistryMutex());
    ThreadLists* found = nullptr;
    std::erase_if(lists_, [&](ThreadLists* lists) {
      if (lists->owner == owner) found = lists;
      if (lists->owner != nullptr) return false;
      delete lists;
      return true;
    });
    if (found == nullptr) {
      found = new ThreadLists;
      found->owner = owner;
      adopt(found);
      lists_.push_back(found);
    }
    return found;
  }

  static FrontHolder& ForThisThread() {
    thread_local FrontHolder holder;
    return holder;
  }

 private:
  std::vector<ThreadLists*> lists_;
};

/// Process-unique adapter ids for FrontSlot (an address could be reused by
/// the next adapter and match a stale slot).
inline std::uint64_t NextFrontAdapterId() {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace allocmark::internal
