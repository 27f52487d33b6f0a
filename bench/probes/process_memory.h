// Process-level memory probes a worker reads outside timed regions: resident
// set size from /proc/self/statm, peak RSS and page faults from getrusage.
#pragma once

#include <cstdint>

namespace allocmark {

struct ProcessMemory {
  std::uint64_t rss_bytes = 0;
  std::uint64_t peak_rss_bytes =
      0;  ///< ru_maxrss: high-water mark of the process
  std::uint64_t minor_faults = 0;
  std::uint64_t major_faults = 0;
};

ProcessMemory ReadProcessMemory();
std::uint64_t ReadRssBytes();
/// Resident bytes from an open /proc/self/statm descriptor (pread, no
/// allocation: the RSS sampler keeps its own descriptor open).
std::uint64_t ReadStatmRss(int fd);

}  // namespace allocmark
