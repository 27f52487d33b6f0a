// Per-thread perf_event_open counters around the replay: hardware events where
// the machine has a PMU, software events everywhere, each failure kept as data.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace allocmark {

/// The events a cache report asks for, in a fixed order (their JSON names are
/// PerfEventName()). Hardware events first; software ones work everywhere.
enum class PerfEvent : std::uint8_t {
  kCycles,
  kInstructions,
  kD1ReadMisses,
  kLlReadMisses,
  kDtlbReadMisses,
  kPageFaults,
  kTaskClock,
  kContextSwitches,
};
inline constexpr int kPerfEventCount = 8;
inline constexpr std::uint32_t kPerfHardwareMask = 0x1f;
inline constexpr std::uint32_t kPerfSoftwareMask = 0xe0;
inline constexpr std::uint32_t kPerfAllMask = 0xff;

inline constexpr std::uint32_t PerfBit(PerfEvent e) {
  return 1u << static_cast<int>(e);
}

/// JSON name of event `index`: "cycles", "d1_read_misses", "task_clock_ns"...
const char* PerfEventName(int index);
bool PerfEventIsHardware(int index);

/// Sentinel in PerfReading::status: opened, but never scheduled on the PMU.
inline constexpr int kPerfNeverScheduled = -1;

/// What one thread counted. Plain data: it lives in mmapped harness memory
/// and is summed over a thread's OS threads (respawns) and over chunks.
struct PerfReading {
  std::uint32_t requested = 0;  ///< bit mask of PerfEvent
  /// Per event: 0 counted, an errno from perf_event_open, or
  /// kPerfNeverScheduled.
  int status[kPerfEventCount] = {};
  std::uint64_t value[kPerfEventCount] = {};  ///< scaled for multiplexing
  bool multiplexed = false;  ///< some group ran only part of the time
};

/// "ENOENT: no hardware PMU (virtual machine)", "EACCES: ..." for an event's
/// status. `pmu_missing`: the cycles event failed with ENOENT as well.
std::string PerfUnavailableReason(int status, bool pmu_missing);

/// The counters of the calling thread: a hardware group and a software group,
/// both opened disabled. Opening never fails as a whole; an event that cannot
/// be opened keeps its errno and the others go on.
class ThreadCounters {
 public:
  ThreadCounters() = default;
  ThreadCounters(const ThreadCounters&) = delete;
  ThreadCounters& operator=(const ThreadCounters&) = delete;
  ~ThreadCounters() { Close(); }

  /// Opens the events in `mask` for this thread (outside the timed region).
  /// `sim`: running under callgrind --collect-atstart=no; Start/Stop then
  /// also switch callgrind's collection, which callgrind keeps per thread.
  void Open(std::uint32_t mask, bool sim = false);
  /// One ioctl per group: counting on / off around a replay chunk.
  void Start();
  void Stop();
  /// Adds what was counted since Open (scaled if multiplexed) into `into`
  /// and closes the events.
  void ReadInto(PerfReading& into);
  void Close();

 private:
  struct Group {
    int leader = -1;
    int members = 0;
    int event[kPerfEventCount] = {};  ///< PerfEvent index per member position
    int fd[kPerfEventCount] = {};
  };
  void Add(Group& g, int index);
  void ReadGroup(Group& g, PerfReading& into);

  std::uint32_t requested_ = 0;
  bool sim_ = false, collecting_ = false;
  int status_[kPerfEventCount] = {};
  Group hardware_, software_;
};

}  // namespace allocmark
