// Test-only adapter whose operations spin for known times, so the latency
// pipeline (clock, overhead subtraction, batching, histograms) can be checked
// end to end against the truth: 89 % of calls take 1 us, 10.5 % 10 us and
// 0.5 % 100 us, so p50, p99 and p99.9 each fall inside one class, never on a
// boundary where one sample more or less would flip them.
#pragma once

#include <cstdlib>
#include <string>

#include "allocators/allocator.h"
#include "allocators/identity.h"
#include "bench/probes/clock.h"

namespace allocmark {

class SpinAllocator {
 public:
  static constexpr const char* kName = "spin";
  /// Durations change every 64 calls, so batches of K <= 64 aligned to the
  /// 1024-block rounds of tests/integration/spin.json are homogeneous.
  static constexpr int kRun = 64;

  static std::uint64_t DurationNs(std::uint64_t call) {
    const std::uint64_t j = (call / kRun) % 200;
    return j < 178 ? 1000 : j < 199 ? 10000 : 100000;
  }

  void* Allocate(std::size_t size, std::size_t) {
    SpinFor(DurationNs(alloc_calls_++));
    return std::malloc(size);
  }
  void Deallocate(void* p, std::size_t, std::size_t = 0) {
    SpinFor(DurationNs(free_calls_++));
    std::free(p);
  }
  void* Reallocate(void* p, std::size_t, std::size_t size) {
    return std::realloc(p, size);
  }
  std::size_t UsableSize(void*) { return 0; }
  std::string Version() { return "test spin 1"; }
  IdentityReport CheckIdentity() {
    return ExpectMallocFrom("libc.so", true, "test adapter");
  }

 private:
  // One replay thread in the tests, so plain counters suffice.
  std::uint64_t alloc_calls_ = 0;
  std::uint64_t free_calls_ = 0;
};

}  // namespace allocmark

ALLOCMARK_REGISTER_ADAPTER(allocmark::SpinAllocator)
