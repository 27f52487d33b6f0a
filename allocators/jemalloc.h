// `jemalloc`: Debian's libjemalloc through its non-standard API (mallocx,
// sdallocx, rallocx) and its stats through mallctl.
#pragma once

#include <jemalloc/jemalloc.h>

#include <cstdint>
#include <string>
#include <vector>

#include "allocators/allocator.h"
#include "allocators/identity.h"

namespace allocmark {

class JemallocAllocator {
 public:
  static constexpr const char* kName = "jemalloc";

  void* Allocate(std::size_t size, std::size_t align) {
    return mallocx(size, align == 0 ? 0 : MALLOCX_ALIGN(align));
  }
  // Sized free skips the size-class lookup: jemalloc's fast path. The flags
  // must repeat the alignment, which decides the size class of the block.
  void Deallocate(void* p, std::size_t size, std::size_t align = 0) {
    sdallocx(p, size, align == 0 ? 0 : MALLOCX_ALIGN(align));
  }
  void* Reallocate(void* p, std::size_t, std::size_t size) {
    return rallocx(p, size, 0);
  }
  std::size_t UsableSize(void* p) { return sallocx(p, 0); }

  std::string Version() {
    const char* version = nullptr;
    std::size_t len = sizeof(version);
    if (mallctl("version", &version, &len, nullptr, 0) != 0) return "unknown";
    return version;
  }

  IdentityReport CheckIdentity() {
    void* p =
        calloc(1, 100);  // calloc: GCC warns on sizing uninitialised memory
    const bool owned = p != nullptr && sallocx(p, 0) >= 100;
    free(p);
    return ExpectMallocFrom("libjemalloc", owned,
                            owned
                                ? "sallocx sized a malloc'd block"
                                : "sallocx did not recognise a malloc'd block");
  }

  std::vector<AllocatorStat> Stats() {
    std::uint64_t epoch = 1;
    std::size_t len = sizeof(epoch);
    mallctl("epoch", &epoch, &len, &epoch, len);  // refresh the cached stats
    std::vector<AllocatorStat> out;
    for (const char* name :
         {"stats.allocated", "stats.active", "stats.resident", "stats.mapped",
          "stats.retained"}) {
      std::size_t value = 0;
      len = sizeof(value);
      if (mallctl(name, &value, &len, nullptr, 0) == 0)
        out.push_back({name, static_cast<double>(value)});
    }
    return out;
  }
  void Purge() {
    // MALLCTL_ARENAS_ALL (4096) purges every arena's dirty and muzzy pages.
    mallctl("arena.4096.purge", nullptr, nullptr, nullptr, 0);
  }
};

}  // namespace allocmark

ALLOCMARK_REGISTER_ADAPTER(allocmark::JemallocAllocator)
