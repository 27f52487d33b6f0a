// A workload spec: the declarative description (bench/workloads/*.json) that
// a seed compiles into identical op streams for every backend.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "bench/spec/op.h"

namespace allocmark {

/// Malformed or out-of-range spec; the message names the key and the fix.
class SpecError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline constexpr std::uint64_t kMaxBlockSize = 1ULL << 40;  // 1 TiB
inline constexpr std::uint64_t kMaxOpsPerThread = 1'000'000'000'000ULL;
inline constexpr std::uint32_t kMaxThreads = 1024;
inline constexpr std::uint32_t kMaxWorkingSet = 1u << 24;
/// Hand-off lag bounds: the rings that carry hand-offs hold about 2 * lag
/// blocks per thread pair (bench/README.md, "Why streams never deadlock").
inline constexpr std::uint32_t kMaxLag = 1u << 20;
/// A descheduled peer on a loaded 2-core machine is gone for a scheduler
/// slice (milliseconds); at 20-100 ns per op a lag of 16384 turns lets the
/// running thread go on for 0.3-1.6 ms before it must wait, while a ring
/// slot is touched again only 16384 hand-offs later.
inline constexpr std::uint32_t kDefaultLag = 16384;

/// kInverseSquare is glibc bench-malloc-thread's law, density ~ size^-2:
/// a Pareto with alpha 1, named because users look for it by that name.
enum class SizeDist {
  kFixed,
  kUniform,
  kLogUniform,
  kPareto,
  kTable,
  kInverseSquare
};

struct SizeSpec {
  SizeDist dist = SizeDist::kFixed;
  std::uint64_t min = 0;
  std::uint64_t max = 0;
  double alpha = 1.0;  ///< Pareto shape: density ~ size^-(alpha+1)
  std::vector<std::pair<std::uint64_t, double>> table;  ///< (size, weight)
  std::uint64_t align = 0;  ///< 0: the allocator's default alignment
};

enum class Lifetime { kLifo, kFifo, kRandom, kBatch, kReverse };

enum class ReallocPolicy { kStep, kDouble, kShrink, kRandom };

struct ReallocSpec {
  ReallocPolicy policy = ReallocPolicy::kStep;
  std::uint64_t step = 64;
  std::uint64_t max = 0;  ///< 0: the size distribution's max
};

enum class HandOff { kRing, kRandomPeer, kProducerConsumer };

/// What a thread does with a block handed to it: free it at once, or adopt it
/// into its own live set (freed later under its lifetime model, or handed on).
enum class Receiver { kFree, kAdopt };

inline constexpr std::uint32_t kMaxTouchRepeat = 1u << 20;
inline constexpr std::uint32_t kMaxPhases = 255;

struct PhaseSpec {
  std::string name;
  std::array<char, 4> tag{};  ///< pool tag, four printable characters
  double share = 1.0;         ///< fraction of each thread's ops
  SizeSpec sizes;
  Lifetime lifetime = Lifetime::kRandom;
  std::uint32_t working_set = 1;  ///< max live objects per thread
  double alloc_share = 0.5, free_share = 0.5, realloc_share = 0.0;
  ReallocSpec realloc;
  Touch touch = Touch::kNone;
  std::uint32_t touch_repeat = 1;  ///< power of two: writes per touch
  /// Fill/drain cycles: once W blocks are live, free this fraction of W,
  /// then refill. 0: none, except batch/reverse lifetimes, which drain all.
  double drain = 0.0;
  bool respawn = false;  ///< the phase starts on a fresh OS thread
  double cross_thread_share = 0.0;
  HandOff hand_off = HandOff::kRing;
  Receiver receiver = Receiver::kFree;
};

enum class Scale { kQuick = 0, kDefault = 1, kFull = 2 };

struct WorkloadSpec {
  std::string name;
  std::string description;
  std::string path;  ///< file it was read from, for messages
  std::uint64_t seed = 1;
  std::uint32_t threads = 1;                      ///< default thread count
  std::array<std::uint64_t, 3> ops_per_thread{};  ///< by Scale
  std::vector<PhaseSpec> phases;
  std::uint32_t leak_blocks = 0;  ///< blocks each thread leaves live on purpose
  /// A block sent at the sender's turn k is received no earlier than the
  /// receiver's turn k + lag. Unset: kDefaultLag, capped at an eighth of the
  /// op budget so short runs still hand blocks off before the tear-down.
  std::optional<std::uint32_t> lag;
  bool test_only = false;  ///< hidden from `all`
  /// A recorded trace's replay (bench/stream/trace_streams.h): the streams
  /// come from this file, not from the phases, which only name its tag.
  std::string trace_path;
};

/// Parses and validates a spec; throws SpecError naming the key.
WorkloadSpec ParseWorkloadSpec(const std::string& json_text,
                               const std::string& path);
WorkloadSpec LoadWorkloadSpec(const std::string& path);

/// Checks the spec against a thread count (cross-thread needs two threads).
void ValidateForThreads(const WorkloadSpec& spec, std::uint32_t threads);

/// True when some phase hands blocks to other threads.
bool HasHandOffs(const WorkloadSpec& spec);

/// The lag the generator uses for this op budget and thread count (see
/// WorkloadSpec::lag; the default also keeps all rings within 2^20 boxes).
std::uint32_t EffectiveLag(const WorkloadSpec& spec, std::uint32_t threads,
                           std::uint64_t ops_per_thread);

const char* ScaleName(Scale s);
bool ParseScale(const std::string& name, Scale* out);
std::string TagString(const std::array<char, 4>& tag);

}  // namespace allocmark
