// Larson and Krishnan's server simulation, natively: each thread replaces
// random blocks of its array; after each round a fresh thread inherits it.
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "bench/native/native_common.h"

namespace allocmark::native {
namespace {

// A thread's array of live blocks, handed whole to the next thread: the
// original's only source of cross-thread frees.
struct Area {
  std::vector<char*> blocks;
  Random rng{1};
  long rounds_left = 0;
  long replacements = 0;  // per round
  std::uint64_t ops = 0;
  std::promise<void> done;  // set by the last thread of the chain
};

constexpr std::size_t kMin = 8, kMax = 1000;

void Round(Area* area) {
  const std::size_t n = area->blocks.size();
  for (long i = 0; i < area->replacements; ++i) {
    const std::size_t victim = area->rng.Below(n);
    std::free(area->blocks[victim]);
    const std::size_t size = kMin + area->rng.Below(kMax - kMin + 1);
    char* p = static_cast<char*>(std::malloc(size));
    p[0] = static_cast<char>(i);
    area->blocks[victim] = p;
  }
  area->ops += 2 * static_cast<std::uint64_t>(area->replacements);
  // Thread replacement: the successor starts as this thread exits and frees
  // what this one allocated. Detached, as the original's threads are.
  if (--area->rounds_left > 0) {
    std::thread(Round, area).detach();
  } else {
    area->done.set_value();
  }
}

}  // namespace
}  // namespace allocmark::native

int main(int argc, char** argv) {
  using namespace allocmark::native;
  const long threads = PositiveArg(argc, argv, 1, 2, "threads");
  const long blocks = PositiveArg(argc, argv, 2, 1000, "blocks per thread");
  const long rounds = PositiveArg(argc, argv, 3, 8, "rounds");
  const long per_round =
      PositiveArg(argc, argv, 4, 30000, "replacements per round");
  std::vector<std::unique_ptr<Area>> areas;
  // As in the original, the main thread allocates every thread's first
  // array, so the first round frees blocks of another thread too.
  for (long t = 0; t < threads; ++t) {
    auto a = std::make_unique<Area>();
    a->rng = Random(static_cast<std::uint64_t>(t) + 11);
    a->rounds_left = rounds;
    a->replacements = per_round;
    for (long i = 0; i < blocks; ++i) {
      const std::size_t size = kMin + a->rng.Below(kMax - kMin + 1);
      a->blocks.push_back(static_cast<char*>(std::malloc(size)));
    }
    areas.push_back(std::move(a));
  }
  const std::uint64_t t0 = NowNs();
  const std::uint64_t c0 = ProcessCpuNs();
  for (auto& a : areas) std::thread(Round, a.get()).detach();
  for (auto& a : areas) a->done.get_future().wait();
  const std::uint64_t wall = NowNs() - t0;
  const std::uint64_t cpu = ProcessCpuNs() - c0;
  std::uint64_t ops = 0;
  for (auto& a : areas) {
    ops += a->ops;
    for (char* p : a->blocks) std::free(p);
  }
  Report("larson", wall, cpu, ops);
  return 0;
}
