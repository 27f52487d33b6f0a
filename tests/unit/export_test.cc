// Tests of the export formats: Debian's compare.py (libbenchmark-tools) parses
// the Google Benchmark export and sees a 2x slowdown; Bencher/gab shapes.
#include "bench/report/export.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "bench/report/compare.h"

namespace allocmark {
namespace {

using nlohmann::json;

const char kComparePy[] = "/usr/share/benchmark/compare.py";

json Crafted(double jemalloc_ns) {
  json cells = json::array();
  for (int rep = 0; rep < 4; ++rep) {
    for (auto [name, ns] :
         {std::pair{"system", 10.0}, {"jemalloc", jemalloc_ns}}) {
      cells.push_back({{"allocator", name},
                       {"workload", "fixed-64"},
                       {"threads", 1},
                       {"repetition", rep},
                       {"status", "ok"},
                       {"reason", nullptr},
                       {"stream_digest", "00112233aabbccdd"},
                       {"ops", 20000},
                       {"ns_per_op", ns + rep * 0.01},
                       {"mops_per_s", 1000 / ns},
                       {"latency", {{"alloc", {{"p99_ns", 40.0}}}}},
                       {"memory", {{"peak_rss_bytes", 4 << 20}}}});
    }
  }
  cells.push_back({{"allocator", "kpool"},
                   {"workload", "fixed-64"},
                   {"threads", 1},
                   {"repetition", 0},
                   {"status", "skipped"},
                   {"reason", "/dev/allocmark not present"}});
  return {{"schema_version", 1},
          {"context",
           {{"host", "test"},
            {"date", "2024-01-01T00:00:00Z"},
            {"cores", 2},
            {"caches", {{{"level", 1}, {"type", "Data"}, {"size", "32K"}}}}}},
          {"run", {{"profile", "quick"}}},
          {"cells", cells}};
}

std::string Write(const std::string& name, const json& j) {
  const std::string path =
      ::testing::TempDir() + "/export_" + std::to_string(getpid()) + "_" + name;
  std::ofstream(path) << j.dump(1);
  return path;
}

TEST(Export, ComparePyParsesTheGoogleBenchmarkExport) {
  ASSERT_TRUE(std::ifstream(kComparePy).good())
      << kComparePy << " missing: apt-get install libbenchmark-tools";
  const std::string base =
      Write("base.json", ExportGoogleBenchmark(Crafted(8)));
  const std::string now = Write("new.json", ExportGoogleBenchmark(Crafted(16)));
  const std::string out = base + ".out";
  // Debian's python3 (with scipy), not whatever python3 is first on PATH.
  const std::string cmd = std::string("/usr/bin/python3 ") + kComparePy +
                          " --no-color benchmarks " + base + " " + now + " >" +
                          out + " 2>&1";
  const int status = std::system(cmd.c_str());
  std::stringstream text;
  text << std::ifstream(out).rdbuf();
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << text.str();
  // compare.py prints (new - old) / old: +1.0000 for the 2x slowdown.
  EXPECT_NE(text.str().find("jemalloc/fixed-64/1t"), std::string::npos)
      << text.str();
  EXPECT_NE(text.str().find("+1.00"), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("U Test"), std::string::npos) << text.str();
  std::remove(base.c_str());
  std::remove(now.c_str());
  std::remove(out.c_str());
}

TEST(Export, GoogleBenchmarkHasOneRunPerRepetitionAndAggregates) {
  const json g = ExportGoogleBenchmark(Crafted(8));
  int iterations = 0, aggregates = 0;
  for (const json& b : g["benchmarks"]) {
    EXPECT_EQ(b["time_unit"], "ns");
    if (b["run_type"] == "iteration") {
      ++iterations;
      EXPECT_EQ(b["repetitions"], 4);
    } else {
      ++aggregates;
    }
    EXPECT_EQ(b["name"].get<std::string>().find("kpool"), std::string::npos);
  }
  EXPECT_EQ(iterations, 8);
  EXPECT_EQ(aggregates, 6);  // mean, median, stddev for two cells
  EXPECT_EQ(g["context"]["caches"][0]["size"], 32768);
}

TEST(Export, BencherAndGithubActionBenchmarkShapes) {
  const json b = ExportBencher(Crafted(8));
  ASSERT_TRUE(b.contains("jemalloc/fixed-64/1t"));
  const json& lat = b["jemalloc/fixed-64/1t"]["latency"];
  EXPECT_NEAR(lat["value"].get<double>(), 8.015, 1e-9);  // median of 4
  EXPECT_NEAR(lat["lower_value"].get<double>(), 8.0, 1e-9);
  EXPECT_NEAR(lat["upper_value"].get<double>(), 8.03, 1e-9);
  EXPECT_TRUE(b["system/fixed-64/1t"].contains("peak-rss"));
  const json gab = ExportGithubActionBenchmark(Crafted(8));
  ASSERT_TRUE(gab.is_array());
  bool found = false;
  for (const json& e : gab) {
    EXPECT_TRUE(e.contains("name") && e.contains("unit") &&
                e.contains("value"));
    if (e["name"] == "system/fixed-64/1t ns/op") {
      found = true;
      EXPECT_NEAR(e["value"].get<double>(), 10.015, 1e-9);
    }
  }
  EXPECT_TRUE(found);
  EXPECT_THROW(ExportResults(Crafted(8), "csv"), ResultsError);
}

}  // namespace
}  // namespace allocmark
