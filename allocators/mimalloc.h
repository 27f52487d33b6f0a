// `mimalloc`: Debian's libmimalloc through the mi_ API (sized free,
// aligned allocation) and mi_process_info for statistics.
#pragma once

#include <mimalloc.h>

#include <cstring>
#include <string>
#include <vector>

#include "allocators/allocator.h"
#include "allocators/identity.h"

namespace allocmark {

class MimallocAllocator {
 public:
  static constexpr const char* kName = "mimalloc";

  void* Allocate(std::size_t size, std::size_t align) {
    return align == 0 ? mi_malloc(size) : mi_malloc_aligned(size, align);
  }
  void Deallocate(void* p, std::size_t size, std::size_t align = 0) {
    if (align == 0) {
      mi_free_size(p, size);
    } else {
      mi_free_size_aligned(p, size, align);
    }
  }
  void* Reallocate(void* p, std::size_t, std::size_t size) {
    return mi_realloc(p, size);
  }
  std::size_t UsableSize(void* p) { return mi_usable_size(p); }

  std::string Version() {
    const int v = mi_version();  // e.g. 209 for 2.0.9
    return std::to_string(v / 100) + "." + std::to_string(v / 10 % 10) + "." +
           std::to_string(v % 10);
  }

  IdentityReport CheckIdentity() {
    constexpr std::size_t kProbeBytes = 100;
    void* p = malloc(kProbeBytes);
    // Filled before its address goes to a `const void*` parameter: GCC 12
    // otherwise warns that the callee may read the fresh, uninitialised
    // bytes (-Wmaybe-uninitialized, seen in sanitizer builds).
    if (p != nullptr) std::memset(p, 0, kProbeBytes);
    const bool owned = p != nullptr && mi_is_in_heap_region(p);
    free(p);
    return ExpectMallocFrom(
        "libmimalloc", owned,
        owned ? "mi_is_in_heap_region owns a malloc'd block"
              : "a malloc'd block is outside mimalloc's heap");
  }

  std::vector<AllocatorStat> Stats() {
    std::size_t elapsed, user, sys, rss, peak_rss, commit, peak_commit, faults;
    mi_process_info(&elapsed, &user, &sys, &rss, &peak_rss, &commit,
                    &peak_commit, &faults);
    return {{"current_rss", static_cast<double>(rss)},
            {"peak_rss", static_cast<double>(peak_rss)},
            {"current_commit", static_cast<double>(commit)},
            {"peak_commit", static_cast<double>(peak_commit)},
            {"page_faults", static_cast<double>(faults)}};
  }
  void Purge() { mi_collect(true); }
};

}  // namespace allocmark

ALLOCMARK_REGISTER_ADAPTER(allocmark::MimallocAllocator)
