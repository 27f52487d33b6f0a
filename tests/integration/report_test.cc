// End-to-end tests of the reporting commands on a real quick-profile run:
// report draws every chart the data allows and its HTML links only real
// files; compare and export work from the CLI; bad input exits 2.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "tests/integration/cli_paths.h"
#include "tests/integration/command.h"
#include "tests/sanitize/sanitized.h"

namespace allocmark {
namespace {

using nlohmann::json;
using testing::CommandResult;
using testing::FileExists;
using testing::kCli;
using testing::ReadAll;
using testing::RunCommand;
using testing::TempPath;

// One small quick-profile run shared by the tests: two allocators, a
// fixed-size and a realloc workload, 1 and 2 threads, 3 repetitions.
const std::string kOther = testing::StandIn("mimalloc");
const std::string& QuickRun() {
  static const std::string path = [] {
    const std::string p = TempPath("quick.json");
    const CommandResult r = RunCommand(
        kCli + " run --quiet --profile quick --allocators system," + kOther +
        " --workloads fixed-64,realloc-grow --threads 1,2 --repetitions 3 "
        "--out " +
        p);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    return p;
  }();
  return path;
}

void ChecksReportDrawsEveryChartAndLinksOnlyExistingFiles() {
  const std::string out = TempPath("report");
  std::filesystem::remove_all(out);
  const CommandResult r =
      RunCommand(kCli + " report " + QuickRun() + " -o " + out);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  const json doc = json::parse(ReadAll(QuickRun()));
  // Every thread count gets its own latency and timeline charts.
  std::vector<std::string> charts = {"time_vs_system", "rss_vs_system",
                                     "purged_vs_system", "fragmentation",
                                     "thread_scaling"};
  for (const std::string op : {"alloc", "free", "realloc"})
    for (const std::string t : {"1t", "2t"})
      charts.push_back("latency_" + op + "_" + t);
  // Optional probes: their chart is required exactly when the data is there.
  bool timeline = false, cache = false;
  for (const json& c : doc["cells"]) {
    if (c.contains("memory") && c["memory"].contains("timeline") &&
        c["memory"]["timeline"].is_array() && !c["memory"]["timeline"].empty())
      timeline = true;
    if (c.contains("cache") && c["cache"].contains("events"))
      for (const auto& [k, v] : c["cache"]["events"].items())
        if (v.is_number()) cache = true;
  }
  if (timeline)
    charts.insert(charts.end(), {"rss_timeline_1t", "rss_timeline_2t"});
  for (const std::string& c : charts) {
    EXPECT_TRUE(FileExists(out + "/" + c + ".png")) << c << "\n" << r.out;
    EXPECT_TRUE(FileExists(out + "/" + c + ".svg")) << c;
  }
  int pngs = 0, cache_charts = 0;
  for (const auto& f : std::filesystem::directory_iterator(out)) {
    if (f.path().extension() != ".png") continue;
    ++pngs;
    cache_charts += f.path().filename().string().rfind("cache_", 0) == 0;
  }
  EXPECT_EQ(cache_charts > 0, cache);
  const std::string html = ReadAll(out + "/index.html");
  EXPECT_FALSE(html.empty());
  const std::regex ref(R"re((?:src|href)="([^"]+)")re");
  int refs = 0;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), ref);
       it != std::sregex_iterator(); ++it) {
    const std::string target = (*it)[1];
    EXPECT_EQ(target.find("://"), std::string::npos)
        << "not offline: " << target;
    EXPECT_TRUE(FileExists(out + "/" + target)) << target;
    ++refs;
  }
  EXPECT_EQ(refs, 2 * pngs);  // every chart: its PNG shown, its SVG linked
  // Every chart names its machine, profile and date.
  const std::string svg = ReadAll(out + "/time_vs_system.svg");
  EXPECT_NE(svg.find("profile quick"), std::string::npos);
  EXPECT_NE(svg.find(doc["context"]["host"].get<std::string>()),
            std::string::npos);
  std::filesystem::remove_all(out);
}

TEST(Report, BadOrEmptyResultsFileIsAClearError) {
  const std::string empty = TempPath("empty.json");
  { std::ofstream(empty) << ""; }
  const std::string out = TempPath("bad_report");
  std::filesystem::remove_all(out);
  for (const std::string& input :
       {empty, std::string(ALLOCMARK_SOURCE_DIR) + "/results/schema.json",
        TempPath("missing.json")}) {
    const CommandResult r =
        RunCommand(kCli + " report " + input + " -o " + out);
    EXPECT_EQ(r.exit_code, 2) << input << r.err;
    EXPECT_NE(r.err.find(input), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(std::filesystem::exists(out))
        << "output written for " << input;
  }
}

void ChecksCompareCliTwofoldSlowdownExitsOneAndNamesTheCell() {
  json base = json::parse(ReadAll(QuickRun()));
  json slow = base;
  // Ten repetitions on each side from the real cells, the new side 2x slower.
  json cells = json::array(), slow_cells = json::array();
  for (int rep = 0; rep < 10; ++rep) {
    for (json c : base["cells"]) {
      if (c["repetition"] != 0) continue;
      c["repetition"] = rep;
      c["ns_per_op"] = c["ns_per_op"].get<double>() * (1 + 0.01 * rep);
      cells.push_back(c);
      if (c["allocator"] == kOther && c["workload"] == "fixed-64" &&
          c["threads"] == 1)
        c["ns_per_op"] = c["ns_per_op"].get<double>() * 2;
      slow_cells.push_back(c);
    }
  }
  base["cells"] = cells;
  slow["cells"] = slow_cells;
  const std::string a = TempPath("a.json"), b = TempPath("b.json");
  std::ofstream(a) << base.dump();
  std::ofstream(b) << slow.dump();
  CommandResult r = RunCommand(kCli + " compare " + a + " " + b);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("regression: " + kOther + "/fixed-64/1t ns_per_op"),
            std::string::npos)
      << r.out;
  r = RunCommand(kCli + " compare --format markdown " + a + " " + a);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("no regression"), std::string::npos);
  r = RunCommand(kCli + " compare " + a + " " + TempPath("missing.json"));
  EXPECT_EQ(r.exit_code, 2);
}

void ChecksExportCliGbench() {
  const std::string out = TempPath("gbench.json");
  const CommandResult r =
      RunCommand(kCli + " export --format gbench " + QuickRun() + " -o " + out);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const json g = json::parse(ReadAll(out));
  EXPECT_FALSE(g["benchmarks"].empty());
  EXPECT_EQ(RunCommand(kCli + " export --format csv " + QuickRun()).exit_code,
            2);
}

// One process, one quick run: ctest runs each test in its own process, and
// the run is the slow part.
TEST(ReportCli, QuickRunChartsCompareAndExport) {
  ASSERT_TRUE(FileExists(QuickRun()));
  ChecksReportDrawsEveryChartAndLinksOnlyExistingFiles();
  ChecksCompareCliTwofoldSlowdownExitsOneAndNamesTheCell();
  ChecksExportCliGbench();
}

}  // namespace
}  // namespace allocmark
