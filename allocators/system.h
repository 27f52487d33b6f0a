// `system`: glibc malloc/free/realloc, the baseline every chart is
// normalised to. Also runs `preload:<lib>` cells with that lib preloaded.
#pragma once

#include <malloc.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "allocators/allocator.h"
#include "allocators/identity.h"

namespace allocmark {

class SystemAllocator {
 public:
  static constexpr const char* kName = "system";

  void* Allocate(std::size_t size, std::size_t align) {
    // malloc already aligns to 16; posix_memalign rejects alignments below
    // sizeof(void*).
    if (align <= 16) return std::malloc(size);
    void* p = nullptr;
    return posix_memalign(&p, align, size) == 0 ? p : nullptr;
  }
  // glibc has no sized free; the size is ignored.
  void Deallocate(void* p, std::size_t, std::size_t = 0) { std::free(p); }
  void* Reallocate(void* p, std::size_t, std::size_t size) {
    return std::realloc(p, size);
  }
  std::size_t UsableSize(void* p) { return malloc_usable_size(p); }

  std::string Version() { return "glibc " + GlibcVersion(); }

  IdentityReport CheckIdentity() {
    // glibc's own accounting must see a fresh block: a replacement malloc
    // (preloaded) leaves mallinfo2 untouched.
    const std::size_t before = mallinfo2().uordblks;
    void* volatile p =
        std::malloc(4000);  // volatile: GCC elides malloc/free pairs
    const std::size_t after = mallinfo2().uordblks;
    std::free(p);
    const bool owned = after >= before + 4000;
    return ExpectMallocFrom("libc.so", owned,
                            owned
                                ? "mallinfo2 counted a 4000-byte block"
                                : "mallinfo2 did not count a 4000-byte block");
  }

  std::vector<AllocatorStat> Stats() {
    const struct mallinfo2 mi = mallinfo2();
    return {{"arena_bytes", static_cast<double>(mi.arena)},
            {"mmap_bytes", static_cast<double>(mi.hblkhd)},
            {"in_use_bytes", static_cast<double>(mi.uordblks)},
            {"free_bytes", static_cast<double>(mi.fordblks)},
            {"releasable_bytes", static_cast<double>(mi.keepcost)}};
  }
  void Purge() { malloc_trim(0); }
};

}  // namespace allocmark

ALLOCMARK_REGISTER_ADAPTER(allocmark::SystemAllocator)
