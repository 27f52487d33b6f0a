// `tcmalloc`: gperftools' tcmalloc (minimal build, no profiler hooks) through
// its tc_ API (unsized free: see Deallocate); statistics and purge through
// MallocExtension.
#pragma once

#include <gperftools/malloc_extension.h>
#include <gperftools/tcmalloc.h>

#include <string>
#include <vector>

#include "allocators/allocator.h"
#include "allocators/identity.h"

namespace allocmark {

class TcmallocAllocator {
 public:
  static constexpr const char* kName = "tcmalloc";

  void* Allocate(std::size_t size, std::size_t align) {
    return align == 0 ? tc_malloc(size) : tc_memalign(align, size);
  }
  // Unsized on purpose: gperftools 2.10's tc_free_sized corrupts the heap
  // when given the size of a block that tc_realloc resized (allocmark's
  // realloc-grow workload crashes in CentralFreeList::ReleaseToSpans).
  void Deallocate(void* p, std::size_t, std::size_t = 0) { tc_free(p); }
  void* Reallocate(void* p, std::size_t, std::size_t size) {
    return tc_realloc(p, size);
  }
  std::size_t UsableSize(void* p) { return tc_malloc_size(p); }

  std::string Version() {
    int major = 0, minor = 0;
    const char* patch = nullptr;
    tc_version(&major, &minor, &patch);
    return "gperftools " + std::to_string(major) + "." + std::to_string(minor) +
           (patch ? patch : "");
  }

  IdentityReport CheckIdentity() {
    void* p = malloc(100);
    const bool owned =
        MallocExtension::instance()->GetOwnership(p) == MallocExtension::kOwned;
    free(p);
    return ExpectMallocFrom(
        "libtcmalloc", owned,
        owned ? "MallocExtension owns a malloc'd block"
              : "MallocExtension does not own a malloc'd block");
  }

  std::vector<AllocatorStat> Stats() {
    std::vector<AllocatorStat> out;
    for (const char* name :
         {"generic.current_allocated_bytes", "generic.heap_size",
          "tcmalloc.pageheap_free_bytes", "tcmalloc.pageheap_unmapped_bytes"}) {
      std::size_t value = 0;
      if (MallocExtension::instance()->GetNumericProperty(name, &value))
        out.push_back({name, static_cast<double>(value)});
    }
    return out;
  }
  void Purge() { MallocExtension::instance()->ReleaseFreeMemory(); }
};

}  // namespace allocmark

ALLOCMARK_REGISTER_ADAPTER(allocmark::TcmallocAllocator)
