// Formats cells[].tags like poolmon: allocs, frees, live, bytes, peak, and
// the declared leak, then the leak verdict of the cell.
#include "bench/report/pool_tag_report.h"

#include <cstdio>

#include "bench/results/cell_record.h"

namespace allocmark {

using nlohmann::json;

std::string PoolTagTable(const json& results) {
  std::string out = "pool tags (per cell; peak = exact cell-wide peak)\n";
  char line[256];
  for (const CellRecord& c : ReadCellRecords(results)) {
    std::snprintf(line, sizeof(line), "%s %s x%u rep %llu: %s\n",
                  c.allocator.c_str(), c.workload.c_str(), c.threads,
                  static_cast<unsigned long long>(c.repetition.value_or(0)),
                  c.reason ? c.reason->c_str() : CellStatusName(c.status));
    out += line;
    if (!c.tags) {
      out += "  (no tag figures: the timed pass did not run)\n";
      continue;
    }
    std::snprintf(line, sizeof(line), "  %-4s %12s %12s %10s %14s %14s %12s\n",
                  "tag", "allocs", "frees", "live", "live bytes", "peak bytes",
                  "declared");
    out += line;
    for (const PoolTagFigures& t : *c.tags) {
      // A kernel pool's peak can be null (the driver's is since load).
      char peak[24] = "-";
      if (t.peak_bytes)
        std::snprintf(peak, sizeof(peak), "%lld",
                      static_cast<long long>(*t.peak_bytes));
      std::snprintf(line, sizeof(line),
                    "  %-4s %12llu %12llu %10lld %14lld %14s %12lld\n",
                    t.tag.value_or("").c_str(),
                    static_cast<unsigned long long>(t.allocs.value_or(0)),
                    static_cast<unsigned long long>(t.frees.value_or(0)),
                    static_cast<long long>(t.live_blocks.value_or(0)),
                    static_cast<long long>(t.live_bytes.value_or(0)), peak,
                    static_cast<long long>(t.declared_leak_blocks.value_or(0)));
      out += line;
    }
  }
  return out;
}

}  // namespace allocmark
