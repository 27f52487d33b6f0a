// mimalloc's stress test (mstress), natively: threads allocate, free and
// keep blocks, and swap blocks with a shared transfer array by atomic
// exchange, never waiting for each other; rounds of fresh threads.
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "bench/native/native_common.h"

namespace allocmark::native {
namespace {

constexpr std::size_t kTransfers = 1000;
constexpr std::size_t kMaxItem = 128;  // words
constexpr std::uintptr_t kCookie = 0xbf58476d1ce4e5b9ULL;
std::atomic<void*> transfer[kTransfers];
std::atomic<std::uint64_t> total_ops{0};

// Each word holds (items - i) ^ cookie, so a free can check the block and
// the checking reads the whole block, as the original does.
void* AllocItems(std::size_t items, Random& r) {
  if (r.Below(100) < 1) items *= 100;  // 1 % huge blocks
  auto* p =
      static_cast<std::uintptr_t*>(std::malloc(items * sizeof(std::uintptr_t)));
  for (std::size_t i = 0; i < items; ++i) p[i] = (items - i) ^ kCookie;
  return p;
}

void FreeItems(void* block) {
  if (block == nullptr) return;
  auto* q = static_cast<std::uintptr_t*>(block);
  const std::uintptr_t items = q[0] ^ kCookie;
  for (std::uintptr_t i = 0; i < items; ++i) {
    if ((q[i] ^ kCookie) != items - i) {
      std::fprintf(stderr, "mstress: block %p corrupted at word %zu\n", block,
                   static_cast<std::size_t>(i));
      std::abort();
    }
  }
  std::free(block);
}

void Stress(long tid, long scale, std::uint64_t seed) {
  Random r(seed);
  std::size_t allocs = 80 * static_cast<std::size_t>(scale) *
                       static_cast<std::size_t>(tid % 8 + 1);
  std::size_t retain = allocs / 2;
  std::vector<void*> data, retained;
  std::uint64_t ops = 0;
  while (allocs > 0 || retain > 0) {
    if (retain == 0 || (r.Below(100) < 50 && allocs > 0)) {
      --allocs;
      data.push_back(AllocItems(r.Below(kMaxItem) + 1, r));
    } else {
      retained.push_back(AllocItems(10 * (r.Below(10 * kMaxItem) + 1), r));
      --retain;
    }
    ++ops;
    if (r.Below(100) < 66 && !data.empty()) {
      const std::size_t i = r.Below(data.size());
      if (data[i] != nullptr) ++ops;
      FreeItems(data[i]);
      data[i] = nullptr;
    }
    if (r.Below(100) < 25 && !data.empty()) {
      // The only hand-off: a swap with whatever another thread left there.
      const std::size_t i = r.Below(data.size());
      data[i] = transfer[r.Below(kTransfers)].exchange(
          data[i], std::memory_order_acq_rel);
    }
  }
  for (void* p : retained) FreeItems(p);
  for (void* p : data) {
    if (p != nullptr) ++ops;
    FreeItems(p);
  }
  total_ops.fetch_add(ops + retained.size());
}

}  // namespace
}  // namespace allocmark::native

int main(int argc, char** argv) {
  using namespace allocmark::native;
  const long threads = PositiveArg(argc, argv, 1, 2, "threads");
  const long scale = PositiveArg(argc, argv, 2, 25, "scale");
  const long rounds = PositiveArg(argc, argv, 3, 5, "rounds");
  const std::uint64_t t0 = NowNs();
  const std::uint64_t c0 = ProcessCpuNs();
  // Rounds of fresh threads; the transfer array outlives them, so blocks of
  // exited threads are freed by later ones.
  for (long round = 0; round < rounds; ++round) {
    std::vector<std::thread> workers;
    for (long t = 0; t < threads; ++t)
      workers.emplace_back(Stress, t, scale,
                           static_cast<std::uint64_t>(round * 1000 + t) + 42);
    for (auto& w : workers) w.join();
  }
  for (auto& slot : transfer) FreeItems(slot.exchange(nullptr));
  const std::uint64_t wall = NowNs() - t0;
  const std::uint64_t cpu = ProcessCpuNs() - c0;
  Report("mstress", wall, cpu, total_ops.load());
  return 0;
}
