// LookasideScanner: the thread a lookaside adapter owns to run its periodic
// depth scan, as the kernel's balance-set manager runs ExAdjustLookasideDepth.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>

namespace allocmark {

/// Calls `scan` every `period_ms` milliseconds on a thread of its own until
/// destroyed. The scan never runs on an allocating thread, so the time it
/// takes (and the frees of trimmed blocks) never lands in an allocation's
/// latency; the thread sleeps between scans, so it costs a wake-up per
/// period and nothing per operation.
class LookasideScanner {
 public:
  LookasideScanner(std::uint32_t period_ms, std::function<void()> scan)
      : period_(period_ms),
        scan_(std::move(scan)),
        thread_([this] { Run(); }) {}

  LookasideScanner(const LookasideScanner&) = delete;
  LookasideScanner& operator=(const LookasideScanner&) = delete;

  ~LookasideScanner() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> lock(mutex_);
    auto next = std::chrono::steady_clock::now() + period_;
    while (!wake_.wait_until(lock, next, [this] { return stop_; })) {
      lock.unlock();
      scan_();
      lock.lock();
      // From the end of this scan, so a late wake-up on a loaded box never
      // makes the next window shorter than the period.
      next = std::chrono::steady_clock::now() + period_;
    }
  }

  const std::chrono::milliseconds period_;
  const std::function<void()> scan_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;  // last: starts once everything above exists
};

}  // namespace allocmark
