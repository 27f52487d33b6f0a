// Process-level memory probes a worker reads outside timed regions: resident
// set size (statm), the worker's own peak (VmHWM), faults, harness pages.
#pragma once

#include <cstdint>

namespace allocmark {

struct ProcessMemory {
  std::uint64_t rss_bytes = 0;
  /// VmHWM: the high-water mark of this process's own address space since
  /// exec or the last ResetPeakRss(). Not ru_maxrss, which carries the
  /// forking parent's size across fork and exec.
  std::uint64_t peak_rss_bytes = 0;
  /// Resident bytes of the harness's registered mappings (mincore).
  std::uint64_t harness_bytes = 0;
  /// Per-process counters (zeroed at fork); use differences only.
  std::uint64_t minor_faults = 0;
  std::uint64_t major_faults = 0;
};

ProcessMemory ReadProcessMemory();
std::uint64_t ReadRssBytes();
/// Resident bytes from an open /proc/self/statm descriptor (pread, no
/// allocation: the RSS sampler keeps its own descriptor open).
std::uint64_t ReadStatmRss(int fd);
/// `VmHWM:` (kB) from /proc/<pid>/status text, as bytes; false if absent.
bool ParseVmHwm(const char* text, std::uint64_t* bytes);
/// Restarts VmHWM at the current RSS (writes 5 to /proc/self/clear_refs,
/// Linux >= 4.0); false where the kernel refuses.
bool ResetPeakRss();

/// What was resident when the allocator had not yet been called.
struct MemoryBaseline {
  std::uint64_t rss_bytes = 0;
  std::uint64_t harness_bytes = 0;
};

/// The allocator's part of a resident figure: rss minus the baseline minus
/// what the harness's mappings grew since it, clamped to [0, rss].
std::uint64_t AllocatorRss(const MemoryBaseline& base, std::uint64_t rss,
                           std::uint64_t harness_bytes);

}  // namespace allocmark
