// The allocation trace file format (version 1), shared by the LD_PRELOAD
// tracer (tracer/) and the reader: plain structs, no dependencies.
#pragma once

#include <cstdint>

namespace allocmark::trace {

/// A trace file is one TraceHeader, then chunks: a ChunkHeader and `count`
/// TraceEvents of one thread, written whole by one write(). A thread's chunks
/// appear in its call order; chunks of different threads interleave.
/// Little-endian, as written by the x86-64/arm64 process that recorded it.
inline constexpr char kMagic[8] = {'A', 'L', 'M', 'K', 'T', 'R', 'C', 'E'};
inline constexpr std::uint32_t kVersion = 1;
inline constexpr std::uint32_t kChunkMagic = 0x4b4e4843;  // "CHNK"

/// Header flags.
inline constexpr std::uint32_t kFlagComplete = 1;  ///< the process exited
inline constexpr std::uint32_t kFlagForked = 2;    ///< a fork child's trace
inline constexpr std::uint32_t kFlagExeced = 4;    ///< ended by an exec

struct TraceHeader {
  char magic[8];
  std::uint32_t version;
  std::uint32_t header_bytes;  ///< sizeof(TraceHeader): 64
  std::uint32_t event_bytes;   ///< sizeof(TraceEvent): 32
  std::uint32_t flags;         ///< kFlagComplete is set last, at a clean exit
  std::uint32_t pid;
  std::uint32_t ppid;
  std::uint64_t start_unix_ns;  ///< CLOCK_REALTIME when tracing started
  std::uint64_t end_ns;         ///< event clock at the end (complete traces)
  std::uint32_t image;          ///< 0, or 1 + the execs of this pid before it
  std::uint32_t threads;        ///< thread indices handed out (complete traces)
  std::uint32_t reserved[2];
};
static_assert(sizeof(TraceHeader) == 64);

struct ChunkHeader {
  std::uint32_t magic;   ///< kChunkMagic
  std::uint32_t thread;  ///< 0 = the thread that made the first call
  std::uint32_t count;   ///< events that follow
  std::uint32_t reserved;
};
static_assert(sizeof(ChunkHeader) == 16);

/// What was called. Values are part of the format.
enum class CallKind : std::uint8_t {
  kMalloc = 1,
  kCalloc = 2,
  kRealloc = 3,        ///< the call: ptr = block passed in, size = new size
  kReallocResult = 4,  ///< follows its kRealloc: ptr = block returned
  kFree = 5,
  kPosixMemalign = 6,
  kAlignedAlloc = 7,
  kMemalign = 8,
  kValloc = 9,
  kPvalloc = 10,
  kReallocarray = 11,  ///< like kRealloc (size = nmemb * size), then a result
};
inline constexpr int kMaxCallKind = 11;

/// One call. `time_ns` is CLOCK_MONOTONIC since the trace started, read
/// *after* a call that hands out a block returns and *before* a call that
/// takes one back enters, so a block freed by one thread and handed out
/// again to another is always seen freed first.
struct TraceEvent {
  std::uint64_t time_ns;
  std::uint64_t ptr;        ///< block returned, freed or passed to realloc
  std::uint64_t size;       ///< bytes requested (calloc: nmemb * size)
  std::uint8_t kind;        ///< CallKind
  std::uint8_t align_log2;  ///< requested alignment, 0 when none
  std::uint8_t reserved[6];
};
static_assert(sizeof(TraceEvent) == 32);

}  // namespace allocmark::trace
