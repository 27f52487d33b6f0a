// HarnessMappings: the table of every mapping the harness makes (MappedArray
// registers itself), so memory probes count its resident pages apart.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <mutex>

#include "bench/base/check.h"

namespace allocmark {

/// Process-wide registry of harness mappings. Plain static storage and a
/// mutex: registering never calls the allocator under test. Mappings are
/// added and removed outside timed regions; the sampler thread walks them.
class HarnessMappings {
 public:
  static void Add(const void* base, std::size_t bytes) {
    Table& t = Get();
    std::lock_guard<std::mutex> lock(t.mu);
    ALLOCMARK_CHECK(t.count < kCapacity, "harness mapping table full");
    const std::size_t page = PageSize();
    bytes = (bytes + page - 1) / page * page;  // what mmap really maps
    t.entries[t.count++] = {reinterpret_cast<std::uintptr_t>(base), bytes};
    t.mapped += bytes;
    t.peak_mapped = std::max(t.peak_mapped, t.mapped);
  }

  /// Call before munmap. The harness never returns pages of a live mapping,
  /// so its resident total only grows between removals: measuring it before
  /// each removal makes PeakResidentBytes() exact.
  static void Remove(const void* base) {
    Table& t = Get();
    std::lock_guard<std::mutex> lock(t.mu);
    t.peak_resident = std::max(t.peak_resident, ResidentLocked(t));
    const auto b = reinterpret_cast<std::uintptr_t>(base);
    for (std::size_t i = 0; i < t.count; ++i) {
      if (t.entries[i].base != b) continue;
      t.mapped -= t.entries[i].bytes;
      t.entries[i] = t.entries[--t.count];
      return;
    }
    ALLOCMARK_CHECK(false, "removing a harness mapping never added");
  }

  /// Resident bytes of all harness mappings now (mincore).
  static std::uint64_t ResidentBytes() {
    Table& t = Get();
    std::lock_guard<std::mutex> lock(t.mu);
    const std::uint64_t now = ResidentLocked(t);
    t.peak_resident = std::max(t.peak_resident, now);
    return now;
  }
  /// The most harness bytes ever resident at once (see Remove).
  static std::uint64_t PeakResidentBytes() {
    const std::uint64_t now = ResidentBytes();
    Table& t = Get();
    std::lock_guard<std::mutex> lock(t.mu);
    return std::max(t.peak_resident, now);
  }
  /// Restarts PeakResidentBytes() at the current resident total.
  static void ResetPeak() {
    Table& t = Get();
    std::lock_guard<std::mutex> lock(t.mu);
    t.peak_resident = ResidentLocked(t);
    t.peak_mapped = t.mapped;
  }
  static std::uint64_t MappedBytes() {
    Table& t = Get();
    std::lock_guard<std::mutex> lock(t.mu);
    return t.mapped;
  }
  static std::uint64_t PeakMappedBytes() {
    Table& t = Get();
    std::lock_guard<std::mutex> lock(t.mu);
    return t.peak_mapped;
  }

 private:
  static constexpr std::size_t kCapacity = 4096;
  struct Entry {
    std::uintptr_t base;
    std::size_t bytes;
  };
  struct Table {
    std::mutex mu;
    Entry entries[kCapacity];
    std::size_t count = 0;
    std::uint64_t mapped = 0, peak_mapped = 0, peak_resident = 0;
  };
  static Table& Get() {
    static Table table;  // zero-initialised .bss; touched only as it fills
    return table;
  }

  static std::size_t PageSize() {
    static const std::size_t page = static_cast<std::size_t>(getpagesize());
    return page;
  }

  static std::uint64_t ResidentLocked(const Table& t) {
    const std::size_t page = PageSize();
    // One bit per page in pieces of 4096 pages: no allocation, small stack.
    unsigned char vec[4096];
    std::uint64_t pages = 0;
    for (std::size_t i = 0; i < t.count; ++i) {
      const std::uintptr_t end = t.entries[i].base + t.entries[i].bytes;
      for (std::uintptr_t p = t.entries[i].base; p < end;) {
        const std::size_t len =
            std::min<std::uintptr_t>(end - p, sizeof(vec) * page);
        if (mincore(reinterpret_cast<void*>(p), len, vec) == 0) {
          const std::size_t n = (len + page - 1) / page;
          for (std::size_t k = 0; k < n; ++k) pages += vec[k] & 1;
        }
        p += len;
      }
    }
    return pages * page;
  }
};

}  // namespace allocmark
