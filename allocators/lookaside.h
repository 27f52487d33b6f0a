// The lookaside adapters: size classes over LookasideLists on glibc, with
// per-thread lists in front ("lookaside") or without ("lookaside-shared").
#pragma once

#include <gnu/libc-version.h>
#include <malloc.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "allocators/allocator.h"
#include "allocators/identity.h"
#include "allocators/lookaside_classes.h"
#include "allocators/lookaside_front.h"
#include "allocators/lookaside_list.h"
#include "allocators/lookaside_scan.h"

// The free-size contract: Deallocate and Reallocate take the size (and, for
// over-aligned blocks, the alignment) the block was allocated with. No header
// records it, so a larger size would file the block under a class it is too
// small for and a later request of that class would overrun it. With this
// macro set (the default in builds without NDEBUG) every small free checks
// that glibc's usable size covers the class it is filed under and aborts
// with the sizes otherwise; the check costs a malloc_usable_size per free.
#ifndef ALLOCMARK_LOOKASIDE_CHECK_FREES
#ifdef NDEBUG
#define ALLOCMARK_LOOKASIDE_CHECK_FREES 0
#else
#define ALLOCMARK_LOOKASIDE_CHECK_FREES 1
#endif
#endif

namespace allocmark {

/// Which lists sit in front of the shared ones.
enum class LookasideFront {
  kNone,       ///< "lookaside-shared": every operation on the shared list
  kPerThread,  ///< "lookaside": a thread's own lists first, in batches after
};

/// How a lookaside adapter is set up; the defaults are what the workers run.
struct LookasideAdapterOptions {
  /// Template for every class's shared list (block_size and alignment are
  /// set per class). Depth adapts every 1024 allocations of a list, as
  /// before; the periodic scan below adds the time window.
  LookasideOptions shared;
  /// Period of the depth scan over every class, on a thread the adapter
  /// owns; the kernel's is one second. 0: no thread, call Scan() by hand.
  std::uint32_t scan_period_ms = 1000;
  /// Depth of each thread's list per class: where it starts and its bounds
  /// (at most internal::kFrontCapacity). A free that finds the list at its
  /// depth moves the older half to the shared list at once, and an empty
  /// list refills with up to half its depth in one go. Each thread adapts
  /// its own depths with LookasideTuning::NextDepth every
  /// front_adjust_interval allocations of a class, checked on its misses
  /// only (the fast paths stay two loads and a store); 0 keeps them fixed.
  std::uint32_t front_initial_depth = 32;
  std::uint32_t front_min_depth = 8;
  std::uint32_t front_max_depth = 256;
  std::uint32_t front_adjust_interval = 1024;
};

/// The Windows-kernel-style lookaside allocator: requests up to 4 KiB with
/// alignment up to alignof(max_align_t) are served from the size class's
/// lists; anything bigger or more aligned goes straight to glibc (malloc /
/// aligned_alloc / realloc), and comes back there on free. Every cached block
/// is a glibc block of exactly its class size, so no header is needed:
/// Deallocate finds the class from the requested size (see the free-size
/// contract above), UsableSize asks malloc_usable_size.
///
/// With LookasideFront::kPerThread, as ExAllocateFromPPLookasideList does with
/// a processor's list: an allocation pops the thread's list, then refills it
/// from the shared list (up to half its depth, one CAS per stack),
/// then takes one block from glibc; a free pushes onto the thread's list
/// below its depth, else moves the older half to the shared list (one CAS
/// per stack; what does not fit under the shared depth goes to glibc).
template <LookasideFront kFront>
class BasicLookasideAllocator {
 public:
  static constexpr std::string_view kName =
      kFront == LookasideFront::kPerThread ? "lookaside" : "lookaside-shared";
  /// Alignment every class guarantees (what glibc malloc guarantees).
  static constexpr std::size_t kClassAlignment = alignof(std::max_align_t);
  static constexpr std::size_t kMaxClassSize = internal::kLookasideMaxClassSize;
  static constexpr std::size_t kNumClasses = internal::kLookasideNumClasses;

  /// Class index serving a request of `size` bytes (size <= kMaxClassSize).
  static constexpr std::size_t ClassOf(std::size_t size) {
    return internal::kLookasideClassOf16[(size + 15) / 16];
  }
  static constexpr std::size_t ClassSize(std::size_t class_index) {
    return internal::kLookasideClassSizes[class_index];
  }

  explicit BasicLookasideAllocator(LookasideAdapterOptions options = {})
      : front_max_depth_(std::clamp<std::uint32_t>(options.front_max_depth, 2,
                                                   internal::kFrontCapacity)),
        front_min_depth_(std::clamp<std::uint32_t>(options.front_min_depth, 2,
                                                   front_max_depth_)),
        front_initial_depth_(std::clamp(options.front_initial_depth,
                                        front_min_depth_, front_max_depth_)),
        front_adjust_interval_(options.front_adjust_interval) {
    for (std::size_t c = 0; c < kNumClasses; ++c) {
      options.shared.block_size = ClassSize(c);
      options.shared.alignment = kClassAlignment;
      lists_[c].emplace(options.shared);
    }
    if (options.scan_period_ms != 0) {
      scanner_ = std::make_unique<LookasideScanner>(options.scan_period_ms,
                                                    [this] { Scan(); });
    }
  }

  BasicLookasideAllocator(const BasicLookasideAllocator&) = delete;
  BasicLookasideAllocator& operator=(const BasicLookasideAllocator&) = delete;

  /// Stops the scanner, takes every thread's blocks back (threads that still
  /// run must not use the adapter any more), and the lists' destructors give
  /// every cached block back to glibc.
  ~BasicLookasideAllocator() {
    scanner_.reset();
    if constexpr (kFront == LookasideFront::kPerThread) {
      std::lock_guard<std::mutex> lock(internal::FrontRegistryMutex());
      for (internal::ThreadLists* lists : threads_) {
        Drain(*lists);
        lists->owner = nullptr;
      }
      threads_.clear();
    }
  }

  /// nullptr when glibc cannot serve the request (sizes near SIZE_MAX too).
  void* Allocate(std::size_t size, std::size_t alignment) {
    if (size <= kMaxClassSize && alignment <= kClassAlignment) [[likely]] {
      const std::size_t c = ClassOf(size);
      if constexpr (kFront == LookasideFront::kPerThread) {
        if (internal::ThreadLists* lists = Mine()) [[likely]] {
          auto& k = lists->classes[c];
          internal::Bump(k.counters.total_allocates);
          const std::uint32_t n = k.count.load(std::memory_order_relaxed);
          if (n > 0) [[likely]] {
            k.count.store(n - 1, std::memory_order_relaxed);
            internal::Unpoison(k.blocks[n - 1], ClassSize(c));
            return k.blocks[n - 1];
          }
          return Refill(k, c);
        }
        CountDirect(c, /*free=*/false);
      }
      return lists_[c]->Allocate();
    }
    return AllocateBypass(size, alignment);
  }

  /// `size` and `alignment` are those passed to Allocate (sized free; see
  /// the free-size contract at the top). Over-aligned blocks go back to glibc:
  /// they are not class blocks and must never be handed out as one.
  void Deallocate(void* ptr, std::size_t size, std::size_t alignment = 0) {
    if (ptr == nullptr) return;
    if (size <= kMaxClassSize && alignment <= kClassAlignment) [[likely]] {
      const std::size_t c = ClassOf(size);
      CheckFree(ptr, size, c);
      if constexpr (kFront == LookasideFront::kPerThread) {
        if (internal::ThreadLists* lists = Mine()) [[likely]] {
          auto& k = lists->classes[c];
          internal::Bump(k.counters.total_frees);
          const std::uint32_t n = k.count.load(std::memory_order_relaxed);
          if (n < k.depth.load(std::memory_order_relaxed)) [[likely]] {
            internal::Poison(ptr, ClassSize(c));
            k.blocks[n] = ptr;
            k.count.store(n + 1, std::memory_order_relaxed);
            return;
          }
          Spill(k, c, ptr);
          return;
        }
        CountDirect(c, /*free=*/true);
      }
      lists_[c]->Free(ptr);
      return;
    }
    bypass_[internal::ThreadStripe()].frees.fetch_add(
        1, std::memory_order_relaxed);
    std::free(ptr);
  }

  /// In place when both sizes share a class; otherwise allocate, copy, free.
  /// Blocks from Reallocate carry only kClassAlignment.
  void* Reallocate(void* ptr, std::size_t old_size, std::size_t new_size) {
    if (ptr == nullptr) return Allocate(new_size, kClassAlignment);
    const bool old_small = old_size <= kMaxClassSize;
    const bool new_small = new_size <= kMaxClassSize;
    if (old_small && new_small && ClassOf(old_size) == ClassOf(new_size)) {
      return ptr;
    }
    // Both outside the lists: glibc can often grow in place or by mremap.
    if (!old_small && !new_small) return std::realloc(ptr, new_size);
    void* fresh = Allocate(new_size, kClassAlignment);
    if (fresh == nullptr) return nullptr;
    std::memcpy(fresh, ptr, std::min(old_size, new_size));
    Deallocate(ptr, old_size);
    return fresh;
  }

  /// glibc's usable size of the backing block (>= the class size).
  std::size_t UsableSize(void* ptr) { return malloc_usable_size(ptr); }

  std::string Version() {
    return std::string("allocmark ") + std::string(kName) +
           " 2 (backing: glibc " + gnu_get_libc_version() + ")";
  }

  /// The lists sit on glibc malloc, so `malloc` must resolve to glibc's
  /// libc.so; any other interposed malloc (LD_PRELOAD) is refused. The rule
  /// is every glibc-backed adapter's (ExpectMallocFrom), so in a sanitizer
  /// build the runtime's malloc is the backing, as it is for system.
  IdentityReport CheckIdentity() {
    IdentityReport report =
        ExpectMallocFrom("libc.so", true, "glibc malloc backs the lists");
    report.detail = std::string(kName) + ": " + report.detail;
    return report;
  }

  /// One class's figures, named as the kernel's GENERAL_LOOKASIDE fields.
  /// TotalAllocates / TotalFrees count the class's Allocate / Deallocate
  /// calls; AllocateMisses the blocks taken from glibc because every list
  /// was empty, FreeMisses the blocks given to glibc because every list was
  /// full (on a free, a spill or a thread's exit); Depth / MaximumDepth are
  /// the shared list's. The P* figures are the thread lists' (per-thread
  /// variant only): PAllocateMisses / PFreeMisses are the operations that
  /// went on to the shared list. Blocks cached = CachedBlocks (shared) +
  /// PCachedBlocks (threads still running); released counts cached blocks
  /// given back by Scan() and Purge(). Once every block is freed,
  /// AllocateMisses == FreeMisses + released + cached + p_cached.
  struct ClassFigures {
    std::uint64_t total_allocates = 0, allocate_misses = 0;
    std::uint64_t total_frees = 0, free_misses = 0;
    std::uint64_t p_allocate_misses = 0, p_free_misses = 0;
    std::uint64_t cached = 0, p_cached = 0, released = 0, scans = 0;
    std::uint64_t depth = 0, maximum_depth = 0, p_depth = 0;
  };

  ClassFigures Figures(std::size_t c) const {
    const LookasideCounters shared = lists_[c]->Counters();
    ClassFigures f;
    f.allocate_misses = shared.misses;
    f.free_misses = shared.frees_to_backing;
    f.cached = shared.cached;
    f.released = shared.released + purged_[c].load(std::memory_order_relaxed);
    f.scans = shared.scans;
    f.depth = shared.depth;
    f.maximum_depth = lists_[c]->max_depth();
    if constexpr (kFront == LookasideFront::kPerThread) {
      std::lock_guard<std::mutex> lock(internal::FrontRegistryMutex());
      internal::FrontCounters sum;
      retired_[c].AddTo(sum);
      direct_[c].AddTo(sum);
      for (const internal::ThreadLists* lists : threads_) {
        lists->classes[c].counters.AddTo(sum);
        f.p_cached += lists->classes[c].count.load(std::memory_order_relaxed);
        f.p_depth += lists->classes[c].depth.load(std::memory_order_relaxed);
      }
      f.total_allocates = sum.total_allocates.load(std::memory_order_relaxed);
      f.total_frees = sum.total_frees.load(std::memory_order_relaxed);
      f.p_allocate_misses = sum.allocate_misses.load(std::memory_order_relaxed);
      f.p_free_misses = sum.free_misses.load(std::memory_order_relaxed);
    } else {
      f.total_allocates = shared.hits + shared.misses;
      f.total_frees = shared.frees_to_list + shared.frees_to_backing;
    }
    return f;
  }

  /// Totals first (the RSS sampler's phase snapshots keep the first eight),
  /// then every class as `class_<size>.<Field>`. `allocations` and `frees`
  /// count every call, class and bypass alike.
  std::vector<AllocatorStat> Stats() {
    std::vector<AllocatorStat> per_class;
    ClassFigures sum;
    std::uint64_t cached_bytes = 0;
    for (std::size_t c = 0; c < kNumClasses; ++c) {
      const ClassFigures f = Figures(c);
      sum.total_allocates += f.total_allocates;
      sum.allocate_misses += f.allocate_misses;
      sum.total_frees += f.total_frees;
      sum.free_misses += f.free_misses;
      sum.p_allocate_misses += f.p_allocate_misses;
      sum.p_free_misses += f.p_free_misses;
      sum.cached += f.cached;
      sum.p_cached += f.p_cached;
      sum.released += f.released;
      sum.scans = std::max(sum.scans, f.scans);
      sum.depth += f.depth;
      sum.p_depth += f.p_depth;
      sum.maximum_depth += f.maximum_depth;
      cached_bytes += (f.cached + f.p_cached) * ClassSize(c);
      const std::string prefix = "class_" + std::to_string(ClassSize(c)) + ".";
      AppendFigures(per_class, prefix, f);
    }
    const std::uint64_t bypass_allocations = Bypass(&BypassStripe::allocations);
    const std::uint64_t bypass_frees = Bypass(&BypassStripe::frees);
    std::vector<AllocatorStat> stats = {
        {"allocations", double(sum.total_allocates + bypass_allocations)},
        {"TotalAllocates", double(sum.total_allocates)},
        {"AllocateMisses", double(sum.allocate_misses)},
        {"TotalFrees", double(sum.total_frees)},
        {"FreeMisses", double(sum.free_misses)},
        {"cached_bytes", double(cached_bytes)},
        {"Depth", double(sum.depth)},
        {"MaximumDepth", double(sum.maximum_depth)},
        {"frees", double(sum.total_frees + bypass_frees)},
        {"bypass_allocations", double(bypass_allocations)},
        {"bypass_frees", double(bypass_frees)},
        {"hit_rate",
         sum.total_allocates > 0
             ? 1.0 - double(sum.allocate_misses) / double(sum.total_allocates)
             : 0.0},
        {"scans", double(sum.scans)},
        {"released_blocks", double(sum.released)},
    };
    AppendFigures(stats, "", sum, /*totals=*/true);
    stats.insert(stats.end(), per_class.begin(), per_class.end());
    return stats;
  }

  /// The periodic depth scan (the scanner thread calls it every period):
  /// every class's shared list, idle or not, adapts its depth to the miss
  /// rate of the last window and frees what it caches above it.
  void Scan() {
    for (auto& list : lists_) list->Scan();
  }

  /// Flushes the shared lists and the calling thread's lists back to glibc,
  /// then lets glibc return what it can. Other threads' lists are theirs to
  /// touch; in a worker the replay threads have exited (and flushed) by now.
  void Purge() {
    if constexpr (kFront == LookasideFront::kPerThread) {
      if (internal::ThreadLists* lists = Mine()) {
        for (std::size_t c = 0; c < kNumClasses; ++c) {
          auto& k = lists->classes[c];
          const std::uint32_t n = k.count.load(std::memory_order_relaxed);
          for (std::uint32_t i = 0; i < n; ++i) {
            internal::Unpoison(k.blocks[i], ClassSize(c));
            std::free(k.blocks[i]);
          }
          k.count.store(0, std::memory_order_relaxed);
          // Not FreeMisses: no free asked for these, as with a list Flush.
          purged_[c].fetch_add(n, std::memory_order_relaxed);
        }
      }
    }
    for (auto& list : lists_) list->Flush();
    malloc_trim(0);
  }

  /// The shared list behind a class, for tests and reports.
  LookasideList& list(std::size_t class_index) { return *lists_[class_index]; }
  /// Depth a thread's list starts with (per-thread variant).
  std::uint32_t front_initial_depth() const { return front_initial_depth_; }

 private:
  struct alignas(internal::kCacheLine) BypassStripe {
    std::atomic<std::uint64_t> allocations{0};
    std::atomic<std::uint64_t> frees{0};
  };

  void AppendFigures(std::vector<AllocatorStat>& out, const std::string& prefix,
                     const ClassFigures& f, bool totals = false) const {
    if (!totals) {
      out.push_back({prefix + "TotalAllocates", double(f.total_allocates)});
      out.push_back({prefix + "AllocateMisses", double(f.allocate_misses)});
      out.push_back({prefix + "TotalFrees", double(f.total_frees)});
      out.push_back({prefix + "FreeMisses", double(f.free_misses)});
      out.push_back({prefix + "Depth", double(f.depth)});
      out.push_back({prefix + "MaximumDepth", double(f.maximum_depth)});
    }
    out.push_back({prefix + "CachedBlocks", double(f.cached)});
    if constexpr (kFront == LookasideFront::kPerThread) {
      out.push_back({prefix + "PAllocateMisses", double(f.p_allocate_misses)});
      out.push_back({prefix + "PFreeMisses", double(f.p_free_misses)});
      out.push_back({prefix + "PCachedBlocks", double(f.p_cached)});
      out.push_back({prefix + "PDepth", double(f.p_depth)});
    }
  }

  void* AllocateBypass(std::size_t size, std::size_t alignment) {
    bypass_[internal::ThreadStripe()].allocations.fetch_add(
        1, std::memory_order_relaxed);
    // Freed with its alignment, an over-aligned block goes back to glibc.
    // Rounded up to its class anyway, so that a free that breaks the
    // contract by leaving the alignment out files a block that is big
    // enough for the class it lands in, not one that a later request of
    // that class would overrun.
    if (size <= kMaxClassSize) size = ClassSize(ClassOf(size));
    return internal::BackingAllocate(size, alignment);
  }

  std::uint64_t Bypass(std::atomic<std::uint64_t> BypassStripe::*field) const {
    std::uint64_t n = 0;
    for (const auto& s : bypass_)
      n += (s.*field).load(std::memory_order_relaxed);
    return n;
  }

  void CheckFree(void* ptr, std::size_t size, std::size_t c) {
    if constexpr (ALLOCMARK_LOOKASIDE_CHECK_FREES) {
      const std::size_t usable = malloc_usable_size(ptr);
      if (usable < ClassSize(c)) {
        std::fprintf(stderr,
                     "%s:%d: %s: block %p freed with size %zu (class %zu) "
                     "holds only %zu bytes: the free size must be the "
                     "requested size\n",
                     __FILE__, __LINE__, std::string(kName).c_str(), ptr, size,
                     ClassSize(c), usable);
        std::abort();
      }
    } else {
      (void)ptr, (void)size, (void)c;
    }
  }

  // ---- per-thread front ---------------------------------------------------

  internal::ThreadLists* Mine() {
    const internal::FrontSlot slot = internal::tls_front_slot;
    if (slot.adapter_id == id_) [[likely]]
      return slot.lists;
    return MineSlow();
  }

  [[gnu::noinline]] internal::ThreadLists* MineSlow() {
    if (internal::tls_front_gone) return nullptr;  // the thread is exiting
    internal::ThreadLists* lists = internal::FrontHolder::ForThisThread().Find(
        this, [this](internal::ThreadLists* fresh) {
          fresh->retire = &RetireThread;
          for (auto& k : fresh->classes) {
            k.depth.store(front_initial_depth_, std::memory_order_relaxed);
          }
          threads_.push_back(fresh);
        });
    internal::tls_front_slot = internal::FrontSlot{id_, lists};
    return lists;
  }

  [[gnu::noinline]] void* Refill(internal::ThreadLists::Class& k,
                                 std::size_t c) {
    internal::Bump(k.counters.allocate_misses);
    AdjustFront(k);
    const std::uint32_t got = lists_[c]->AllocateBatch(
        k.blocks, std::max(k.depth.load(std::memory_order_relaxed) / 2, 1u));
    if (got == 0) return nullptr;
    for (std::uint32_t i = 0; i + 1 < got; ++i) {
      internal::Poison(k.blocks[i], ClassSize(c));
    }
    k.count.store(got - 1, std::memory_order_relaxed);
    return k.blocks[got - 1];
  }

  // The list is at its depth: the older blocks move to the shared list, the
  // newest (likeliest still in this core's cache) stay.
  [[gnu::noinline]] void Spill(internal::ThreadLists::Class& k, std::size_t c,
                               void* ptr) {
    internal::Bump(k.counters.free_misses);
    AdjustFront(k);
    const std::uint32_t n = k.count.load(std::memory_order_relaxed);
    const std::uint32_t keep = k.depth.load(std::memory_order_relaxed) / 2;
    const std::uint32_t moved = n > keep ? n - keep : 0;
    for (std::uint32_t i = 0; i < moved; ++i) {
      internal::Unpoison(k.blocks[i], ClassSize(c));
    }
    lists_[c]->FreeBatch(k.blocks, moved);
    std::memmove(k.blocks, k.blocks + moved, (n - moved) * sizeof(void*));
    internal::Poison(ptr, ClassSize(c));
    k.blocks[n - moved] = ptr;
    k.count.store(n - moved + 1, std::memory_order_relaxed);
  }

  // The kernel's rule on one thread's list, by its owner, once a window of
  // front_adjust_interval allocations has passed. Only misses call it: a
  // list that never misses is deep enough, and one that stops being used
  // goes back to the shared lists when its thread exits.
  void AdjustFront(internal::ThreadLists::Class& k) {
    const std::uint64_t allocates =
        k.counters.total_allocates.load(std::memory_order_relaxed);
    if (front_adjust_interval_ == 0 ||
        allocates - k.window_allocates < front_adjust_interval_) {
      return;
    }
    const std::uint64_t misses =
        k.counters.allocate_misses.load(std::memory_order_relaxed);
    k.depth.store(LookasideTuning::NextDepth(
                      k.depth.load(std::memory_order_relaxed), front_min_depth_,
                      front_max_depth_, allocates - k.window_allocates,
                      misses - k.window_misses),
                  std::memory_order_relaxed);
    k.window_allocates = allocates;
    k.window_misses = misses;
  }

  // Every block of a thread's lists into the shared lists (glibc for what
  // does not fit). Registry mutex held.
  void Drain(internal::ThreadLists& lists) {
    for (std::size_t c = 0; c < kNumClasses; ++c) {
      auto& k = lists.classes[c];
      const std::uint32_t n = k.count.load(std::memory_order_relaxed);
      for (std::uint32_t i = 0; i < n; ++i) {
        internal::Unpoison(k.blocks[i], ClassSize(c));
      }
      lists_[c]->FreeBatch(k.blocks, n);
      k.count.store(0, std::memory_order_relaxed);
    }
  }

  // A thread exits: its blocks and counters stay with the adapter. Registry
  // mutex held (FrontHolder's destructor).
  static void RetireThread(void* owner, internal::ThreadLists* lists) {
    auto* self = static_cast<BasicLookasideAllocator*>(owner);
    self->Drain(*lists);
    for (std::size_t c = 0; c < kNumClasses; ++c) {
      lists->classes[c].counters.AddTo(self->retired_[c]);
    }
    std::erase(self->threads_, lists);
    lists->owner = nullptr;
  }

  // Operations of a thread past its FrontHolder's destructor; rare, so a
  // locked add is fine.
  void CountDirect(std::size_t c, bool free) {
    auto& counter = free ? direct_[c].total_frees : direct_[c].total_allocates;
    counter.fetch_add(1, std::memory_order_relaxed);
  }

  const std::uint32_t front_max_depth_;
  const std::uint32_t front_min_depth_;
  const std::uint32_t front_initial_depth_;
  const std::uint32_t front_adjust_interval_;
  const std::uint64_t id_ = internal::NextFrontAdapterId();
  std::array<std::optional<LookasideList>, kNumClasses> lists_;
  BypassStripe bypass_[internal::kCounterStripes];
  // Per-thread variant: registered thread lists and the counters of exited
  // threads, guarded by FrontRegistryMutex().
  std::vector<internal::ThreadLists*> threads_;
  std::array<internal::FrontCounters, kNumClasses> retired_;
  std::array<internal::FrontCounters, kNumClasses> direct_;
  std::array<std::atomic<std::uint64_t>, kNumClasses> purged_{};
  std::unique_ptr<LookasideScanner> scanner_;  // last: stopped first
};

/// "lookaside": per-thread lists in front of the shared ones.
using LookasideAllocator = BasicLookasideAllocator<LookasideFront::kPerThread>;
/// "lookaside-shared": the shared lists alone, one CAS pair per operation.
using LookasideSharedAllocator = BasicLookasideAllocator<LookasideFront::kNone>;

}  // namespace allocmark

ALLOCMARK_REGISTER_ADAPTER(allocmark::LookasideAllocator)
ALLOCMARK_REGISTER_ADAPTER(allocmark::LookasideSharedAllocator)
