// `tbb` and `tbb-proxy`: Intel oneTBB's scalable allocator, called through
// its own API (tbb) or installed as the process's malloc (tbb-proxy).
#pragma once

#include <oneapi/tbb/scalable_allocator.h>
#include <oneapi/tbb/version.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "allocators/allocator.h"
#include "allocators/identity.h"

namespace allocmark {

class TbbAllocator {
 public:
  static constexpr const char* kName = "tbb";

  void* Allocate(std::size_t size, std::size_t align) {
    return align == 0 ? scalable_malloc(size)
                      : scalable_aligned_malloc(size, align);
  }
  void Deallocate(void* p, std::size_t, std::size_t = 0) { scalable_free(p); }
  void* Reallocate(void* p, std::size_t, std::size_t size) {
    return scalable_realloc(p, size);
  }
  std::size_t UsableSize(void* p) { return scalable_msize(p); }
  std::string Version() {
    return "oneTBB " TBB_VERSION_STRING " (compile-time)";
  }

  IdentityReport CheckIdentity() {
    // malloc must stay glibc's (no proxy), and scalable_malloc must be TBB's.
    IdentityReport report = ExpectMallocFrom("libc.so", true, "");
    const std::string tbb = LibraryDefining("scalable_malloc");
    void* p = scalable_malloc(100);
    const bool owned = p != nullptr && scalable_msize(p) >= 100;
    scalable_free(p);
    if (report.ok &&
        (tbb.find("libtbbmalloc") == std::string::npos || !owned)) {
      report.ok = false;
      report.detail =
          "scalable_malloc resolves to " + tbb + ", expected libtbbmalloc";
    }
    if (report.ok)
      report.detail = "scalable_msize sized a scalable_malloc'd block";
    report.library = tbb;
    return report;
  }

  void Purge() {
    scalable_allocation_command(TBBMALLOC_CLEAN_ALL_BUFFERS, nullptr);
  }
};

/// libtbbmalloc_proxy replaces malloc/free/realloc process-wide; this adapter
/// measures TBB the way a program using the proxy sees it.
class TbbProxyAllocator {
 public:
  static constexpr const char* kName = "tbb-proxy";

  void* Allocate(std::size_t size, std::size_t align) {
    // TBB aligns blocks under 16 bytes to 8 only, so an explicit alignment
    // goes through posix_memalign (which rejects alignments below a pointer).
    if (align == 0) return std::malloc(size);
    if (align < sizeof(void*)) align = sizeof(void*);
    void* p = nullptr;
    return posix_memalign(&p, align, size) == 0 ? p : nullptr;
  }
  void Deallocate(void* p, std::size_t, std::size_t = 0) { std::free(p); }
  void* Reallocate(void* p, std::size_t, std::size_t size) {
    return std::realloc(p, size);
  }
  std::size_t UsableSize(void* p) { return scalable_msize(p); }
  std::string Version() {
    return "oneTBB " TBB_VERSION_STRING " proxy (compile-time)";
  }

  IdentityReport CheckIdentity() {
    void* p = std::malloc(100);
    const bool owned = p != nullptr && scalable_msize(p) >= 100;
    std::free(p);
    return ExpectMallocFrom(
        "libtbbmalloc_proxy", owned,
        owned ? "scalable_msize sized a malloc'd block"
              : "scalable_msize did not recognise a malloc'd block");
  }

  void Purge() {
    scalable_allocation_command(TBBMALLOC_CLEAN_ALL_BUFFERS, nullptr);
  }
};

}  // namespace allocmark

ALLOCMARK_REGISTER_ADAPTER(allocmark::TbbAllocator)
ALLOCMARK_REGISTER_ADAPTER(allocmark::TbbProxyAllocator)
