// Lever and Boreham's xmalloc-test, natively: allocating threads fill
// batches of 4096 blocks and push them on a shared stack; freeing threads pop
// batches and free every block. A fixed number of batches, not a fixed time.
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "bench/native/native_common.h"

namespace allocmark::native {
namespace {

constexpr int kPerBatch = 4096;
constexpr int kQueueLimit = 100;  // batches waiting before producers block

struct Batch {
  Batch* next;
  void* blocks[kPerBatch];
};

class BatchStack {
 public:
  void Push(Batch* b) {
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [&] { return count_ < kQueueLimit; });
    b->next = top_;
    top_ = b;
    ++count_;
    not_empty_.notify_one();
  }
  Batch* Pop() {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [&] { return top_ != nullptr; });
    Batch* b = top_;
    top_ = b->next;
    --count_;
    not_full_.notify_one();
    return b;
  }

 private:
  std::mutex mu_;
  std::condition_variable not_empty_, not_full_;
  Batch* top_ = nullptr;
  int count_ = 0;
};

void Produce(BatchStack* stack, long batches, std::size_t size) {
  for (long k = 0; k < batches; ++k) {
    auto* b = static_cast<Batch*>(std::malloc(sizeof(Batch)));
    for (int i = 0; i < kPerBatch; ++i) {
      b->blocks[i] = std::malloc(size);
      std::memset(b->blocks[i], i & 0xff, size < 128 ? size : 128);
    }
    stack->Push(b);
  }
}

void Consume(BatchStack* stack, long batches) {
  for (long k = 0; k < batches; ++k) {
    Batch* b = stack->Pop();
    for (int i = 0; i < kPerBatch; ++i) std::free(b->blocks[i]);
    std::free(b);
  }
}

}  // namespace
}  // namespace allocmark::native

int main(int argc, char** argv) {
  using namespace allocmark::native;
  // threads: allocating plus freeing threads (even; half of each).
  const long threads = PositiveArg(argc, argv, 1, 2, "threads");
  const long batches = PositiveArg(argc, argv, 2, 100, "batches per producer");
  const long size = PositiveArg(argc, argv, 3, 64, "block size");
  if (threads % 2 != 0) {
    std::fprintf(stderr, "%s: threads must be even (got %ld)\n", argv[0],
                 threads);
    return 2;
  }
  BatchStack stack;
  std::vector<std::thread> workers;
  const std::uint64_t t0 = NowNs();
  const std::uint64_t c0 = ProcessCpuNs();
  for (long w = 0; w < threads / 2; ++w) {
    workers.emplace_back(Consume, &stack, batches);
    workers.emplace_back(Produce, &stack, batches,
                         static_cast<std::size_t>(size));
  }
  for (auto& w : workers) w.join();
  const std::uint64_t wall = NowNs() - t0;
  const std::uint64_t cpu = ProcessCpuNs() - c0;
  Report("xmalloc-test", wall, cpu,
         2ULL * static_cast<std::uint64_t>(threads / 2) *
             static_cast<std::uint64_t>(batches) * kPerBatch);
  return 0;
}
