// Reads /proc, /sys and uname for the context block; fields that cannot be
// read are null, never guessed.
#include "bench/runner/context.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>

#include "allocators/identity.h"
#include "allocmark_build_info.h"

namespace allocmark {
namespace {

using nlohmann::json;

std::string ReadFirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

json CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) == 0)
      return line.substr(line.find(':') + 2);
  }
  return nullptr;
}

json Caches() {
  json caches = json::array();
  for (int i = 0; i < 8; ++i) {
    const std::string base =
        "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
    const std::string level = ReadFirstLine(base + "level");
    if (level.empty()) break;
    caches.push_back(
        {{"level", std::stoi(level)},
         {"type", ReadFirstLine(base + "type")},
         {"size", ReadFirstLine(base + "size")},
         {"line_bytes", ReadFirstLine(base + "coherency_line_size")},
         {"shared_cpus", ReadFirstLine(base + "shared_cpu_list")}});
  }
  return caches;
}

json Virtualization() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("flags", 0) == 0)
      return line.find(" hypervisor") != std::string::npos;
  }
  return nullptr;
}

// The bracketed choice of a THP setting ("always [madvise] never"), or null.
json ThpSetting(const std::string& name) {
  const std::string line =
      ReadFirstLine("/sys/kernel/mm/transparent_hugepage/" + name);
  const std::size_t open = line.find('['), close = line.find(']');
  if (open == std::string::npos || close == std::string::npos || close < open)
    return nullptr;
  return line.substr(open + 1, close - open - 1);
}

std::string IsoNow() {
  const std::time_t now = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return buf;
}

}  // namespace

json MachineContext(const ClockCalibration& clock) {
  utsname u{};
  uname(&u);
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  const std::string governor =
      ReadFirstLine("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor");
  return {
      {"date", IsoNow()},
      {"host", host},
      {"cpu_model", CpuModel()},
      {"cores", sysconf(_SC_NPROCESSORS_ONLN)},
      {"caches", Caches()},
      {"hypervisor", Virtualization()},
      {"cpu_scaling_governor",
       governor.empty() ? json(nullptr) : json(governor)},
      {"kernel", std::string(u.sysname) + " " + u.release},
      // Hugepage coverage in the memory table depends on these.
      {"transparent_hugepage",
       {{"enabled", ThpSetting("enabled")}, {"defrag", ThpSetting("defrag")}}},
      {"glibc", GlibcVersion()},
      {"git_revision", ALLOCMARK_GIT_REVISION},
      {"build_type", ALLOCMARK_BUILD_TYPE},
      {"clock",
       {{"source", clock.SourceName()},
        {"ticks_per_ns", clock.ticks_per_ns},
        {"ticks_per_ns_rel_error", clock.ticks_per_ns_rel_error},
        {"resolution_ns", clock.resolution_ns},
        {"overhead_ns", clock.overhead_ns}}},
  };
}

}  // namespace allocmark
