// The yardstick for the harness's cost: fixed-64 written by hand as a plain
// malloc/free loop (batches of 1000 blocks of 64 bytes, first byte touched,
// freed in allocation order), timed the same way allocmark's untimed pass is.
#include <time.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace {

std::uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + ts.tv_nsec;
}

}  // namespace

int main(int argc, char** argv) {
  const long ops = argc > 1 ? std::atol(argv[1]) : 2'000'000;
  if (ops < 2000) {
    std::fprintf(stderr, "allocmark-baseline: ops must be >= 2000\n");
    return 2;
  }
  constexpr int kBatch = 1000;
  static void* blocks[kBatch];
  const long rounds = ops / (2 * kBatch);
  const std::uint64_t t0 = NowNs();
  for (long r = 0; r < rounds; ++r) {
    for (int i = 0; i < kBatch; ++i) {
      auto* p = static_cast<volatile char*>(std::malloc(64));
      p[0] = static_cast<char>(i);
      blocks[i] = const_cast<char*>(p);
    }
    for (int i = 0; i < kBatch; ++i) std::free(blocks[i]);
  }
  const std::uint64_t t1 = NowNs();
  std::printf(
      "{\"ops\": %ld, \"ns_per_op\": %.3f}\n", rounds * 2 * kBatch,
      static_cast<double>(t1 - t0) / static_cast<double>(rounds * 2 * kBatch));
  return 0;
}
