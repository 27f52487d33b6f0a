// /proc/self/statm, /proc/self/status and getrusage readers (no allocation:
// safe in any worker), and the split of RSS into the allocator's part.
#include "bench/probes/process_memory.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "bench/base/harness_mappings.h"

namespace allocmark {

std::uint64_t ReadStatmRss(int fd) {
  char buf[128];
  const ssize_t n = fd < 0 ? -1 : pread(fd, buf, sizeof(buf) - 1, 0);
  if (n <= 0) return 0;
  buf[n] = '\0';
  unsigned long long size = 0, resident = 0;
  if (std::sscanf(buf, "%llu %llu", &size, &resident) != 2) return 0;
  return resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

std::uint64_t ReadRssBytes() {
  static const int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  return ReadStatmRss(fd);
}

bool ParseVmHwm(const char* text, std::uint64_t* bytes) {
  for (const char* line = text; line != nullptr && *line != '\0';) {
    if (std::strncmp(line, "VmHWM:", 6) == 0) {
      char* end = nullptr;
      const unsigned long long kb = std::strtoull(line + 6, &end, 10);
      if (end == line + 6) return false;
      *bytes = static_cast<std::uint64_t>(kb) * 1024;
      return true;
    }
    line = std::strchr(line, '\n');
    if (line != nullptr) ++line;
  }
  return false;
}

namespace {

std::uint64_t ReadVmHwm() {
  static const int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  char buf[4096];
  const ssize_t n = fd < 0 ? -1 : pread(fd, buf, sizeof(buf) - 1, 0);
  if (n <= 0) return 0;
  buf[n] = '\0';
  std::uint64_t bytes = 0;
  return ParseVmHwm(buf, &bytes) ? bytes : 0;
}

}  // namespace

bool ResetPeakRss() {
  const int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = write(fd, "5", 1) == 1;
  close(fd);
  return ok;
}

ProcessMemory ReadProcessMemory() {
  ProcessMemory m;
  m.rss_bytes = ReadRssBytes();
  m.harness_bytes = HarnessMappings::ResidentBytes();
  // VmHWM is max(recorded mark, current RSS): read after RSS, it bounds it.
  m.peak_rss_bytes = ReadVmHwm();
  if (m.peak_rss_bytes < m.rss_bytes) m.peak_rss_bytes = m.rss_bytes;
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  m.minor_faults = static_cast<std::uint64_t>(usage.ru_minflt);
  m.major_faults = static_cast<std::uint64_t>(usage.ru_majflt);
  return m;
}

std::uint64_t AllocatorRss(const MemoryBaseline& base, std::uint64_t rss,
                           std::uint64_t harness_bytes) {
  const std::int64_t part = static_cast<std::int64_t>(rss) -
                            static_cast<std::int64_t>(base.rss_bytes) -
                            (static_cast<std::int64_t>(harness_bytes) -
                             static_cast<std::int64_t>(base.harness_bytes));
  if (part < 0) return 0;
  return static_cast<std::uint64_t>(part) > rss
             ? rss
             : static_cast<std::uint64_t>(part);
}

}  // namespace allocmark
