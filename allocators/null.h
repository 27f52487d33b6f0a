// `null`: a bump allocator that never frees for real. Replaying a stream on
// it measures the harness's own cost per op.
#pragma once

#include <sys/mman.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "allocators/allocator.h"
#include "allocators/identity.h"

namespace allocmark {
namespace internal {

/// A thread-private bump ring of pre-faulted memory (see NullAllocator).
struct BumpRing {
  static constexpr std::uintptr_t kHeader = 8;
  std::uintptr_t base = 0, cursor = 0, end = 0;
  bool Map(std::uintptr_t bytes) {
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED) return false;
    base = cursor = reinterpret_cast<std::uintptr_t>(p);
    end = base + bytes;
    return true;
  }
  void* Bump(std::size_t size, std::uintptr_t align) {
    std::uintptr_t p = (cursor + kHeader + align - 1) & ~(align - 1);
    if (p + size > end) p = (base + kHeader + align - 1) & ~(align - 1);
    cursor = p + size;
    reinterpret_cast<std::uint64_t*>(p)[-1] = size;
    return reinterpret_cast<void*>(p);
  }
};

}  // namespace internal

/// Each thread bumps through private, pre-faulted rings and wraps around, so
/// a replay costs no page faults and no allocator work: what remains is the
/// harness. Wrapping reuses memory that may still be "live",
/// so blocks keep their contents only until the ring comes round again.
class NullAllocator {
 public:
  static constexpr const char* kName = "null";

  void* Allocate(std::size_t size, std::size_t align) {
    // A size header before each block lets UsableSize and Reallocate work.
    const std::uintptr_t a = align < 16 ? 16 : align;
    const std::size_t need = size + a + kHeader;
    if (need > kLargeRing / 4) return AllocateHuge(size, a);
    if (small_.base == 0 && !ThreadInit()) return nullptr;
    return (need <= kSmallLimit ? small_ : large_).Bump(size, a);
  }
  void Deallocate(void*, std::size_t, std::size_t = 0) {}
  void* Reallocate(void* p, std::size_t old_size, std::size_t size) {
    void* q = Allocate(size, 0);
    if (q != nullptr) std::memmove(q, p, old_size < size ? old_size : size);
    return q;
  }
  // A wrapped ring writes new blocks over old ones, headers included, so a
  // live block's header may hold another block's bytes: clamp what it says
  // to the ring it came from. null's usable sizes are a harness figure only
  // (the reports leave null out of memory); unclamped, the garbage summed
  // in the live-bytes counters overflowed them (UBSan, memory-frag spec).
  std::size_t UsableSize(void* p) {
    const std::uint64_t said = static_cast<std::uint64_t*>(p)[-1];
    return said <= kLargeRing ? said : 0;
  }
  std::string Version() { return "allocmark bump ring 1"; }
  IdentityReport CheckIdentity() {
    return ExpectMallocFrom("libc.so", true,
                            "bump allocator over private mmap rings");
  }

  /// Maps and pre-faults this thread's rings before the timed region.
  bool ThreadInit() {
    if (small_.base != 0) return true;
    return small_.Map(kSmallRing) && large_.Map(kLargeRing);
  }

 private:
  // Small blocks cycle through a ring that stays in L2, as a real
  // allocator's recycled blocks do; a ring the size of RAM would turn every
  // touch into a cache miss and bill it to the harness.
  static constexpr std::uintptr_t kSmallRing = 256ULL << 10;
  static constexpr std::uintptr_t kSmallLimit = 4096 + 64;
  static constexpr std::uintptr_t kLargeRing = 16ULL << 20;
  static constexpr std::uintptr_t kHeader = 8;

  // Blocks too big for the ring get their own mapping, never unmapped.
  static void* AllocateHuge(std::size_t size, std::uintptr_t align) {
    const std::size_t bytes = size + align + kHeader;
    void* m = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) return nullptr;
    const std::uintptr_t p =
        (reinterpret_cast<std::uintptr_t>(m) + kHeader + align - 1) &
        ~(align - 1);
    reinterpret_cast<std::uint64_t*>(p)[-1] = size;
    return reinterpret_cast<void*>(p);
  }

  static inline thread_local internal::BumpRing small_;
  static inline thread_local internal::BumpRing large_;
};

}  // namespace allocmark

ALLOCMARK_REGISTER_ADAPTER(allocmark::NullAllocator)
