// libFuzzer target: `history add` of a results document into an in-memory
// history, then the queries `history show` and `trend` run over it.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "bench/report/compare.h"
#include "bench/report/history.h"
#include "bench/report/history_format.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  using namespace allocmark;
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const nlohmann::json doc = ParseResultsText(text, "fuzz.json");
    // SQLite's in-memory database: no file, nothing left behind.
    History h = History::Open(":memory:", /*write=*/true);
    h.AddRun(doc, "fuzz.json", "fuzz");
    (void)FormatRuns(h.Runs(0));
    std::set<std::string> workloads;
    for (const nlohmann::json& c : doc["cells"])
      workloads.insert(c["workload"].get<std::string>());
    for (const std::string& w : workloads) {
      for (const std::string& metric : HistoryMetrics())
        (void)FormatTrend(h.Trend(metric, w, 0), metric, w);
    }
  } catch (const ResultsError&) {
  }
  return 0;
}
