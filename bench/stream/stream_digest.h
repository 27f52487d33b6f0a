// A 64-bit digest of op streams: proof that two result rows replayed the
// same work. Independent of how the streams were split into chunks.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>

#include "bench/spec/op.h"

namespace allocmark {

/// Streaming digest of one thread's ops (a multiply-xorshift hash over each
/// 16-byte record, chained); Combine() folds the per-thread digests in order.
class StreamDigest {
 public:
  void Add(std::span<const Op> ops) {
    for (const Op& op : ops) {
      std::uint64_t words[2];
      std::memcpy(words, &op, sizeof(words));
      state_ = Mix(state_ ^ Mix(words[0] + 0x9e3779b97f4a7c15ULL * ++count_));
      state_ = Mix(state_ ^ words[1]);
    }
  }
  std::uint64_t value() const { return Mix(state_ ^ count_); }
  std::uint64_t count() const { return count_; }

  /// Streams with hand-offs fold their lag in as one more element after the
  /// threads' digests: the lag is part of what was replayed.
  static std::uint64_t LagElement(std::uint32_t lag) {
    return 0x6c6167ULL << 32 | lag;  // "lag"
  }

  static std::uint64_t Combine(std::span<const std::uint64_t> per_thread) {
    std::uint64_t h = 0x6a09e667f3bcc908ULL ^ per_thread.size();
    for (std::uint64_t d : per_thread) h = Mix(h ^ d) * 0xff51afd7ed558ccdULL;
    return Mix(h);
  }

 private:
  static std::uint64_t Mix(std::uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
  }
  std::uint64_t state_ = 0xcbf29ce484222325ULL;
  std::uint64_t count_ = 0;
};

}  // namespace allocmark
