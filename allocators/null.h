// `null`: a bump allocator that never frees for real. Replaying a stream on
// it measures the harness's own cost per op.
#pragma once

#include <sys/mman.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>

#include "allocators/allocator.h"
#include "allocators/identity.h"

namespace allocmark {

class NullAllocator {
 public:
  static constexpr const char* kName = "null";

  NullAllocator() {
    // Address space only; pages appear when a touch policy writes them.
    void* p = mmap(nullptr, kReserve, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    base_ = p == MAP_FAILED ? 0 : reinterpret_cast<std::uintptr_t>(p);
    next_chunk_.store(base_);
  }
  ~NullAllocator() {
    if (base_ != 0) munmap(reinterpret_cast<void*>(base_), kReserve);
  }

  void* Allocate(std::size_t size, std::size_t align) {
    // A size header before each block lets UsableSize and Reallocate work.
    const std::uintptr_t a = align < 16 ? 16 : align;
    std::uintptr_t p = (cursor_ + kHeader + a - 1) & ~(a - 1);
    if (p + size > limit_) {
      if (!Refill(size + a + kHeader)) return nullptr;
      p = (cursor_ + kHeader + a - 1) & ~(a - 1);
    }
    cursor_ = p + size;
    reinterpret_cast<std::uint64_t*>(p)[-1] = size;
    return reinterpret_cast<void*>(p);
  }
  void Deallocate(void*, std::size_t) {}
  void* Reallocate(void* p, std::size_t old_size, std::size_t size) {
    void* q = Allocate(size, 0);
    if (q != nullptr) std::memcpy(q, p, old_size < size ? old_size : size);
    return q;
  }
  std::size_t UsableSize(void* p) { return static_cast<std::uint64_t*>(p)[-1]; }
  std::string Version() { return "allocmark bump 1"; }
  IdentityReport CheckIdentity() {
    IdentityReport r = ExpectMallocFrom("libc.so", base_ != 0,
                                        "256 GiB of address space reserved");
    if (base_ == 0) r.detail = "could not reserve address space";
    return r;
  }

 private:
  static constexpr std::uintptr_t kReserve = 256ULL << 30;
  static constexpr std::uintptr_t kChunk = 64ULL << 20;
  static constexpr std::uintptr_t kHeader = 8;

  // Threads bump privately inside 64 MiB chunks taken from the reservation.
  bool Refill(std::size_t need) {
    const std::uintptr_t bytes = need > kChunk ? (need + kChunk - 1) & ~(kChunk - 1) : kChunk;
    const std::uintptr_t start = next_chunk_.fetch_add(bytes);
    if (start + bytes > base_ + kReserve) return false;
    cursor_ = start;
    limit_ = start + bytes;
    return true;
  }

  std::uintptr_t base_ = 0;
  std::atomic<std::uintptr_t> next_chunk_{0};
  static inline thread_local std::uintptr_t cursor_ = 0;
  static inline thread_local std::uintptr_t limit_ = 0;
};

}  // namespace allocmark

ALLOCMARK_REGISTER_ADAPTER(allocmark::NullAllocator)
