// /proc/self/statm and getrusage readers (no allocation: safe in any worker).
#include "bench/probes/process_memory.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

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

ProcessMemory ReadProcessMemory() {
  ProcessMemory m;
  m.rss_bytes = ReadRssBytes();
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  m.peak_rss_bytes = static_cast<std::uint64_t>(usage.ru_maxrss) * 1024;
  m.minor_faults = static_cast<std::uint64_t>(usage.ru_minflt);
  m.major_faults = static_cast<std::uint64_t>(usage.ru_majflt);
  return m;
}

}  // namespace allocmark
