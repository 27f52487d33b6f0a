// glibc's bench-malloc-thread, natively: each thread replaces random blocks
// of its own working set with blocks of inverse-square distributed size.
#include <cmath>
#include <thread>
#include <vector>

#include "bench/native/native_common.h"

namespace allocmark::native {
namespace {

constexpr std::size_t kWorkingSet = 1024;
constexpr double kMin = 4, kMax = 32768;
constexpr std::size_t kTable = 1 << 16;  // precomputed sizes and indexes

// Inverse-square density on [min, max] by inverting its distribution
// function: F(s) = (1/min - 1/s) / (1/min - 1/max).
std::size_t InverseSquareSize(Random& r) {
  const double u = r.Unit();
  const double inv = 1 / kMin - u * (1 / kMin - 1 / kMax);
  return static_cast<std::size_t>(1 / inv);
}

void Replace(long iterations, std::uint64_t seed) {
  Random r(seed);
  // Tables first, so the timed loop does nothing but index, free, malloc.
  std::vector<std::size_t> sizes(kTable), slots(kTable);
  for (std::size_t i = 0; i < kTable; ++i) {
    sizes[i] = InverseSquareSize(r);
    slots[i] = r.Below(kWorkingSet);
  }
  std::vector<void*> live(kWorkingSet, nullptr);
  for (long i = 0; i < iterations; ++i) {
    const std::size_t k = static_cast<std::size_t>(i) & (kTable - 1);
    std::free(live[slots[k]]);
    auto* p = static_cast<char*>(std::malloc(sizes[k]));
    p[0] = 1;
    live[slots[k]] = p;
  }
  for (void* p : live) std::free(p);
}

}  // namespace
}  // namespace allocmark::native

int main(int argc, char** argv) {
  using namespace allocmark::native;
  const long threads = PositiveArg(argc, argv, 1, 2, "threads");
  const long iterations =
      PositiveArg(argc, argv, 2, 300000, "iterations per thread");
  std::vector<std::thread> workers;
  const std::uint64_t t0 = NowNs();
  const std::uint64_t c0 = ProcessCpuNs();
  for (long t = 0; t < threads; ++t)
    workers.emplace_back(Replace, iterations,
                         static_cast<std::uint64_t>(t) + 21);
  for (auto& w : workers) w.join();
  const std::uint64_t wall = NowNs() - t0;
  const std::uint64_t cpu = ProcessCpuNs() - c0;
  Report("glibc-thread", wall, cpu,
         2ULL * static_cast<std::uint64_t>(threads) *
             static_cast<std::uint64_t>(iterations));
  return 0;
}
