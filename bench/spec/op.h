// The op record: the unit of work every backend replays, user space and
// kernel alike. Layout is fixed (16 bytes) and mirrored by
// driver/allocmark_uapi.h.
#pragma once

#include <cstdint>

namespace allocmark {

/// What one op does. Values are part of the stream digest and the kernel ABI.
enum class OpKind : std::uint8_t {
  kAlloc = 0,    ///< slots[slot] = allocate(arg, 1 << align_log2)
  kFree = 1,     ///< deallocate(slots[slot], its size); arg = that size
  kRealloc = 2,  ///< slots[slot] = reallocate(slots[slot], old, arg)
  kSend = 3,     ///< mailbox[arg] = slots[slot]; slot becomes empty
  kReceive = 4,  ///< slots[slot] = mailbox[arg]; waits until it is filled
  kPhase = 5,    ///< a phase boundary; tag = index of the new phase;
                 ///< arg & kPhaseRespawn: go on in a fresh OS thread
};

/// kPhase arg bit: the replay retires this OS thread here and continues the
/// stream (same slots, same live set) in a new one, as larson and mstress
/// replace threads. Backends that cannot replace threads (the kernel) treat
/// the op as a plain phase boundary.
inline constexpr std::uint64_t kPhaseRespawn = 1;
inline constexpr int kOpKindCount = 6;

/// How an allocated or resized block is touched (outside the timed region).
enum class Touch : std::uint8_t {
  kNone = 0,
  kFirstByte = 1,
  kWholeBlock = 2,  ///< write every cache line
  kReadBack = 3,    ///< write every cache line, then read them back
};

/// The touch byte holds the policy in bits 0-1 and, in bits 2-7, log2 of how
/// many times it is applied (repeated writes model false sharing).
inline constexpr std::uint8_t kTouchPolicyMask = 3;
inline Touch TouchPolicy(Touch t) {
  return static_cast<Touch>(static_cast<std::uint8_t>(t) & kTouchPolicyMask);
}
inline std::uint64_t TouchRepeats(Touch t) {
  return std::uint64_t{1} << (static_cast<std::uint8_t>(t) >> 2);
}
inline Touch WithTouchRepeatsLog2(Touch t, unsigned repeats_log2) {
  return static_cast<Touch>(static_cast<std::uint8_t>(TouchPolicy(t)) |
                            repeats_log2 << 2);
}

/// One operation of one thread's op stream.
struct Op {
  OpKind kind;
  std::uint8_t align_log2;  ///< alloc alignment; 0 means the default (16)
  Touch touch;
  std::uint8_t tag;    ///< phase index; names a pool tag in the spec
  std::uint32_t slot;  ///< index into the thread's slot table
  std::uint64_t arg;  ///< size for alloc/realloc/free, mailbox for send/receive
};
static_assert(sizeof(Op) == 16, "Op is part of the kernel ABI");

}  // namespace allocmark
