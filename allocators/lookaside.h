// LookasideAllocator: the "lookaside" adapter, one LookasideList per size
// class over glibc malloc, plus its size-class table and identity check.
#pragma once

#include <dlfcn.h>
#include <gnu/libc-version.h>
#include <malloc.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "allocators/allocator.h"
#include "allocators/lookaside_list.h"

namespace allocmark {

namespace internal {

/// Size classes: every 16 bytes up to 128, then four per power of two up to
/// 4 KiB (worst-case internal waste 25 %, as in jemalloc's small classes).
/// 28 classes; with the kernel's maximum depth of 256 the lists can cache
/// at most 256 * 26368 bytes, about 6.6 MiB.
inline constexpr std::array<std::uint32_t, 28> kLookasideClassSizes = {
    16,   32,   48,   64,   80,   96,   112,  128, 160, 192,
    224,  256,  320,  384,  448,  512,  640,  768, 896, 1024,
    1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096};

inline constexpr std::size_t kLookasideMaxClassSize =
    kLookasideClassSizes.back();

/// Class index for each size rounded up to 16 bytes: one load per lookup.
inline constexpr auto kLookasideClassOf16 = [] {
  std::array<std::uint8_t, kLookasideMaxClassSize / 16 + 1> table{};
  std::size_t c = 0;
  for (std::size_t i = 0; i < table.size(); ++i) {
    while (kLookasideClassSizes[c] < i * 16) ++c;
    table[i] = static_cast<std::uint8_t>(c);
  }
  return table;
}();

}  // namespace internal

/// The Windows-kernel-style lookaside allocator: requests up to 4 KiB with
/// alignment up to alignof(max_align_t) are served from the size class's
/// LookasideList; anything bigger or more aligned goes straight to glibc
/// (malloc / aligned_alloc / realloc). Every block is a glibc block of at
/// least its class size, so no header is needed: Deallocate finds the class
/// from the requested size, UsableSize asks malloc_usable_size.
class LookasideAllocator {
 public:
  static constexpr std::string_view kName = "lookaside";
  /// Alignment every class guarantees (what glibc malloc guarantees).
  static constexpr std::size_t kClassAlignment = alignof(std::max_align_t);
  static constexpr std::size_t kMaxClassSize = internal::kLookasideMaxClassSize;
  static constexpr std::size_t kNumClasses =
      internal::kLookasideClassSizes.size();

  /// Class index serving a request of `size` bytes (size <= kMaxClassSize).
  static constexpr std::size_t ClassOf(std::size_t size) {
    return internal::kLookasideClassOf16[(size + 15) / 16];
  }
  static constexpr std::size_t ClassSize(std::size_t class_index) {
    return internal::kLookasideClassSizes[class_index];
  }

  /// `options` is the template for every class's list; block_size and
  /// alignment are set per class.
  explicit LookasideAllocator(LookasideOptions options = {}) {
    for (std::size_t c = 0; c < kNumClasses; ++c) {
      options.block_size = ClassSize(c);
      options.alignment = kClassAlignment;
      lists_[c].emplace(options);
    }
  }

  LookasideAllocator(const LookasideAllocator&) = delete;
  LookasideAllocator& operator=(const LookasideAllocator&) = delete;
  /// The lists' destructors flush every cached block back to glibc.
  ~LookasideAllocator() = default;

  void* Allocate(std::size_t size, std::size_t alignment) {
    if (size <= kMaxClassSize && alignment <= kClassAlignment) [[likely]] {
      return lists_[ClassOf(size)]->Allocate();
    }
    return AllocateBypass(size, alignment);
  }

  /// `size` is the size passed to Allocate (sized free).
  void Deallocate(void* ptr, std::size_t size, std::size_t /*align*/ = 0) {
    if (size <= kMaxClassSize) [[likely]] {
      // Over-aligned blocks of this size land here too; they are glibc blocks
      // of at least the class size, so any later request of the class fits.
      lists_[ClassOf(size)]->Free(ptr);
      return;
    }
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
    return std::string("allocmark lookaside 1 (backing: glibc ") +
           gnu_get_libc_version() + ")";
  }

  /// The lists sit on glibc malloc, so `malloc` must resolve to glibc's
  /// libc.so; an interposed malloc (LD_PRELOAD, sanitizer) is refused.
  IdentityReport CheckIdentity() {
    IdentityReport report;
    void* malloc_symbol = dlsym(RTLD_DEFAULT, "malloc");
    Dl_info info{};
    if (malloc_symbol == nullptr || dladdr(malloc_symbol, &info) == 0 ||
        info.dli_fname == nullptr) {
      report.detail = "lookaside: cannot resolve malloc with dlsym/dladdr";
      return report;
    }
    report.library = info.dli_fname;
    const std::string_view path = report.library;
    const std::string_view base = path.substr(path.find_last_of('/') + 1);
    report.ok = base.starts_with("libc.so");
    report.detail =
        report.ok
            ? "lookaside: malloc resolves to " + report.library + " (glibc " +
                  gnu_get_libc_version() + ")"
            : "lookaside: needs glibc malloc as its backing allocator, but "
              "malloc resolves to " +
                  report.library;
    return report;
  }

  /// Totals over all classes, and the spread of their depths.
  std::vector<AllocatorStat> Stats() {
    LookasideCounters sum;
    std::uint32_t depth_min = UINT32_MAX, depth_max = 0;
    for (const auto& list : lists_) {
      const LookasideCounters c = list->Counters();
      sum.hits += c.hits;
      sum.misses += c.misses;
      sum.frees_to_list += c.frees_to_list;
      sum.frees_to_backing += c.frees_to_backing;
      sum.depth += c.depth;
      sum.cached += c.cached;
      depth_min = std::min(depth_min, c.depth);
      depth_max = std::max(depth_max, c.depth);
    }
    const double allocations = static_cast<double>(sum.hits + sum.misses);
    return {
        {"hits", static_cast<double>(sum.hits)},
        {"misses", static_cast<double>(sum.misses)},
        {"hit_rate", allocations > 0 ? sum.hits / allocations : 0.0},
        {"frees_to_list", static_cast<double>(sum.frees_to_list)},
        {"frees_to_backing", static_cast<double>(sum.frees_to_backing)},
        {"bypass_allocations", static_cast<double>(BypassAllocations())},
        {"cached_blocks", static_cast<double>(sum.cached)},
        {"depth_total", static_cast<double>(sum.depth)},
        {"depth_min_class", static_cast<double>(depth_min)},
        {"depth_max_class", static_cast<double>(depth_max)},
        {"depth_mean_class", static_cast<double>(sum.depth) / kNumClasses},
    };
  }

  /// Flushes every list back to glibc, then lets glibc return what it can.
  void Purge() {
    for (auto& list : lists_) list->Flush();
    malloc_trim(0);
  }

  /// The list behind a class, for tests and reports.
  LookasideList& list(std::size_t class_index) { return *lists_[class_index]; }

 private:
  struct alignas(internal::kCacheLine) BypassStripe {
    std::atomic<std::uint64_t> allocations{0};
  };

  void* AllocateBypass(std::size_t size, std::size_t alignment) {
    bypass_[internal::ThreadStripe()].allocations.fetch_add(
        1, std::memory_order_relaxed);
    // A small over-aligned block is freed into its class's list (Deallocate
    // has no alignment), so it must be at least the class size.
    if (size <= kMaxClassSize) size = ClassSize(ClassOf(size));
    return internal::BackingAllocate(size, alignment);
  }

  std::uint64_t BypassAllocations() const {
    std::uint64_t n = 0;
    for (const auto& s : bypass_) {
      n += s.allocations.load(std::memory_order_relaxed);
    }
    return n;
  }

  std::array<std::optional<LookasideList>, kNumClasses> lists_;
  BypassStripe bypass_[internal::kCounterStripes];
};

}  // namespace allocmark

ALLOCMARK_REGISTER_ADAPTER(allocmark::LookasideAllocator)
