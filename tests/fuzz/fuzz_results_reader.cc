// libFuzzer target: the results reader and what reads through it. A document
// that CheckResultsDocument accepts must be safe for every reader: export in
// each format and compare (against itself) must not throw anything but
// ResultsError, crash or trip a sanitizer.
#include <cstddef>
#include <cstdint>
#include <string>

#include "bench/report/compare.h"
#include "bench/report/compare_format.h"
#include "bench/report/export.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  using namespace allocmark;
  const std::string text(reinterpret_cast<const char*>(data), size);
  nlohmann::json doc;
  try {
    doc = ParseResultsText(text, "fuzz.json");
  } catch (const ResultsError&) {
    return 0;
  }
  for (const char* format : {"gbench", "bencher", "gab"}) {
    try {
      (void)ExportResults(doc, format).dump();
    } catch (const ResultsError&) {
    }
  }
  try {
    CompareOptions options;
    options.allow_different_streams = true;
    const Comparison c = CompareResults(doc, doc, options, "a", "b");
    (void)FormatComparisonText(c);
    (void)FormatComparisonMarkdown(c);
    (void)ComparisonJson(c).dump();
  } catch (const ResultsError&) {
  }
  return 0;
}
