// Formats cells[].tags like poolmon: allocs, frees, live, bytes, peak, and
// the declared leak, then the leak verdict of the cell.
#include "bench/report/pool_tag_report.h"

#include <cstdio>

namespace allocmark {

using nlohmann::json;

std::string PoolTagTable(const json& results) {
  std::string out = "pool tags (per cell; peak = exact cell-wide peak)\n";
  char line[256];
  for (const json& c : results["cells"]) {
    std::snprintf(line, sizeof(line), "%s %s x%d rep %d: %s\n",
                  c["allocator"].get<std::string>().c_str(),
                  c["workload"].get<std::string>().c_str(),
                  c["threads"].get<int>(), c["repetition"].get<int>(),
                  c["reason"].is_string()
                      ? c["reason"].get<std::string>().c_str()
                      : c["status"].get<std::string>().c_str());
    out += line;
    if (!c.contains("tags") || !c["tags"].is_array()) {
      out += "  (no tag figures: the timed pass did not run)\n";
      continue;
    }
    std::snprintf(line, sizeof(line), "  %-4s %12s %12s %10s %14s %14s %12s\n",
                  "tag", "allocs", "frees", "live", "live bytes", "peak bytes",
                  "declared");
    out += line;
    for (const json& t : c["tags"]) {
      std::snprintf(line, sizeof(line),
                    "  %-4s %12llu %12llu %10lld %14lld %14lld %12lld\n",
                    t["tag"].get<std::string>().c_str(),
                    t["allocs"].get<unsigned long long>(),
                    t["frees"].get<unsigned long long>(),
                    t["live_blocks"].get<long long>(),
                    t["live_bytes"].get<long long>(),
                    t["peak_bytes"].get<long long>(),
                    t["declared_leak_blocks"].get<long long>());
      out += line;
    }
  }
  return out;
}

}  // namespace allocmark
