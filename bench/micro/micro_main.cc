// Google Benchmark micro suite of one adapter's fast paths, compiled once per
// adapter (ALLOCMARK_ADAPTER_HEADER/TYPE) like the workers: one allocator each.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include ALLOCMARK_ADAPTER_HEADER
#include "allocators/allocator.h"

namespace allocmark {
namespace {

using Adapter = ALLOCMARK_ADAPTER_TYPE;

Adapter& TheAdapter() {
  static Adapter a;  // static: outlives every benchmark thread
  return a;
}

// Out of line, so main() stays small.
[[gnu::noinline]] IdentityReport Identify() {
  return TheAdapter().CheckIdentity();
}

// A template, so the discarded branch is not compiled for adapters without it.
template <class A>
void InitThread(A& a) {
  if constexpr (HasThreadInit<A>) a.ThreadInit();
}

void ThreadSetUp(const benchmark::State&) { InitThread(TheAdapter()); }

constexpr std::size_t kAlign = alignof(std::max_align_t);

// One allocate/deallocate pair of one size: the thread cache's hit path.
void BM_MallocFreePair(benchmark::State& state) {
  Adapter& a = TheAdapter();
  const auto size = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    void* p = a.Allocate(size, kAlign);
    benchmark::DoNotOptimize(p);
    a.Deallocate(p, size, kAlign);
  }
  state.SetItemsProcessed(state.iterations() * 2);
}

// 1000 allocations, then 1000 frees in allocation order. The iteration count
// is fixed so every adapter sees the same number of refills and drains.
void BM_BatchAllocateThenFree(benchmark::State& state) {
  Adapter& a = TheAdapter();
  const auto size = static_cast<std::size_t>(state.range(0));
  constexpr int kBatch = 1000;
  std::vector<void*> blocks(kBatch);  // before the timed loop
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) blocks[i] = a.Allocate(size, kAlign);
    benchmark::ClobberMemory();
    for (int i = 0; i < kBatch; ++i) a.Deallocate(blocks[i], size, kAlign);
  }
  state.SetItemsProcessed(state.iterations() * 2 * kBatch);
}

// A block grown by 64-byte steps to 4 KiB, then doubled to 256 KiB, then
// freed: the realloc-in-place and copy paths. Fixed iterations, as above.
void BM_ReallocGrowth(benchmark::State& state) {
  Adapter& a = TheAdapter();
  std::int64_t reallocs = 0;
  for (auto _ : state) {
    std::size_t size = 64;
    void* p = a.Allocate(size, kAlign);
    static_cast<char*>(p)[0] = 1;
    while (size < (256u << 10)) {
      const std::size_t next = size < 4096 ? size + 64 : size * 2;
      p = a.Reallocate(p, size, next);
      static_cast<char*>(p)[next - 1] = 1;
      size = next;
      ++reallocs;
    }
    a.Deallocate(p, size, kAlign);
  }
  state.SetItemsProcessed(reallocs);
}

BENCHMARK(BM_MallocFreePair)
    ->Setup(ThreadSetUp)
    ->Arg(16)
    ->Arg(64)
    ->Arg(256)
    ->Arg(1024)
    ->Arg(4096)
    ->Arg(65536);
BENCHMARK(BM_BatchAllocateThenFree)
    ->Setup(ThreadSetUp)
    ->Arg(64)
    ->Arg(1024)
    ->Iterations(2000);
BENCHMARK(BM_ReallocGrowth)->Setup(ThreadSetUp)->Iterations(2000);

}  // namespace
}  // namespace allocmark

int main(int argc, char** argv) {
  // Refuse to measure the wrong allocator, as the workers do.
  const allocmark::IdentityReport id = allocmark::Identify();
  if (!id.ok) {
    std::fprintf(stderr, "allocmark-micro-%s: refusing to run: %s\n",
                 std::string(allocmark::Adapter::kName).c_str(),
                 id.detail.c_str());
    return 3;
  }
  benchmark::AddCustomContext("allocator",
                              std::string(allocmark::Adapter::kName));
  benchmark::AddCustomContext("allocator_version",
                              allocmark::TheAdapter().Version());
  benchmark::AddCustomContext("allocator_library", id.library);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
