// The console summary on a small hand-made results document: fits 100
// columns, ratios to system, best and noise marks, each skip reason once,
// columns and rows with nothing measured left out; text tables split to fit.
#include "bench/report/console_summary.h"

#include <gtest/gtest.h>

#include <sstream>

#include "bench/report/console_report.h"
#include "bench/report/text_table.h"

namespace allocmark {
namespace {

using nlohmann::json;

json Cell(const std::string& alloc, const std::string& work, int threads,
          double ns, int rep = 0) {
  return {{"allocator", alloc},
          {"workload", work},
          {"threads", threads},
          {"repetition", rep},
          {"status", "ok"},
          {"reason", nullptr},
          {"ns_per_op", ns},
          {"mops_per_s", 1000 / ns},
          {"latency",
           {{"alloc", {{"p50_ns", ns}, {"p99_ns", 10 * ns}, {"p999_ns", 0}}},
            {"free", {{"p50_ns", ns}, {"p99_ns", 2 * ns}, {"p999_ns", 0}}}}},
          {"timing", {{"mode", "per-op"}}},
          {"memory",
           {{"peak_rss_bytes", ns * (1 << 20)},
            {"rss_after_purge_bytes", 1 << 20}}}};
}

json Skipped(const std::string& alloc, const std::string& work, int threads,
             const std::string& why) {
  return {{"allocator", alloc}, {"workload", work},    {"threads", threads},
          {"repetition", 0},    {"status", "skipped"}, {"reason", why}};
}

json Doc() {
  json cells = json::array();
  for (int t : {1, 2}) {
    for (const char* w : {"fixed-64", "mixed-small"}) {
      cells.push_back(Cell("system", w, t, 10));
      cells.push_back(Cell("jemalloc", w, t, 20));
      cells.push_back(Cell("mimalloc", w, t, 5));
      cells.push_back(Cell("null", w, t, 2));
      cells.push_back(Skipped("kpool-kmalloc", w, t, "no /dev/allocmark"));
    }
    if (t == 1) {
      for (const char* a : {"system", "jemalloc", "mimalloc", "null"})
        cells.push_back(Skipped(a, "larson", 1, "needs at least 2 threads"));
    } else {
      for (const char* a : {"system", "jemalloc", "mimalloc", "null"})
        cells.push_back(Cell(a, "larson", 2, 30));
    }
    cells.push_back(Skipped("kpool-kmalloc", "larson", t, "no /dev/allocmark"));
  }
  json stability = json::array({{{"workload", "fixed-64"},
                                 {"threads", 1},
                                 {"allocator", "jemalloc"},
                                 {"noisy", true},
                                 {"cv_pct", 9.0}}});
  return {{"schema_version", 1},
          {"run", {{"repetitions", 1}}},
          {"cells", cells},
          {"stability", stability}};
}

std::size_t Count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos;
       at = text.find(what, at + 1))
    ++n;
  return n;
}

std::string LineWith(const std::string& text, const std::string& what) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.find(what) != std::string::npos) return line;
  return "";
}

TEST(ConsoleSummary, FitsAHundredColumnsAndSaysEachReasonOnce) {
  const std::string out = ConsoleSummary(Doc());
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);)
    EXPECT_LE(line.size(), 100u) << line;
  EXPECT_EQ(Count(out, "no /dev/allocmark"), 1u) << out;
  EXPECT_EQ(Count(out, "needs at least 2 threads"), 1u) << out;
  EXPECT_EQ(Count(out, "larson at 1 thread"), 1u) << out;
  EXPECT_NE(out.find("kpool-kmalloc (every cell)"), std::string::npos) << out;
  EXPECT_NE(out.find("larson at 1 thread (every allocator)"), std::string::npos)
      << out;
  // Nothing measured: no kpool column, no larson row at one thread.
  EXPECT_EQ(out.substr(0, out.find("skipped (")).find("kpool"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("== 1 thread"), std::string::npos);
  EXPECT_NE(out.find("== 2 threads"), std::string::npos);
}

TEST(ConsoleSummary, RatiosToSystemWithBestAndNoiseMarks) {
  const std::string out = ConsoleSummary(Doc());
  // fixed-64 at 1 thread: system 10 ns, jemalloc 2x (noisy), mimalloc best.
  const std::string row = LineWith(out, "fixed-64");
  EXPECT_NE(row.find("10.0"), std::string::npos) << row;
  EXPECT_NE(row.find("2.00~"), std::string::npos) << row;
  EXPECT_NE(row.find("0.50*"), std::string::npos) << row;
  EXPECT_NE(row.find("2.0"), std::string::npos) << row;  // null's floor, ns
  EXPECT_NE(out.find("x sys"), std::string::npos);
  EXPECT_NE(out.find("peak RSS / RSS after purge"), std::string::npos);
  EXPECT_NE(out.find("alloc p99"), std::string::npos);
}

TEST(ConsoleDetails, LeavesOutEmptyColumnsAndListsSkipsOnce) {
  const std::string out = ConsoleDetails(Doc());
  const std::string header = out.substr(0, out.find("fixed-64"));
  EXPECT_EQ(header.find("D1 rd miss"), std::string::npos) << out;
  EXPECT_EQ(header.find("locality"), std::string::npos) << out;
  EXPECT_EQ(Count(out, "no /dev/allocmark"), 1u) << out;
  EXPECT_NE(out.find("peak RSS"), std::string::npos);
}

TEST(TextTable, SplitsIntoBlocksThatRepeatTheKeyColumn) {
  TextTable t(1);
  t.AddColumn({"key"}, Align::kLeft);
  for (int i = 0; i < 12; ++i)
    t.AddColumn({"column" + std::to_string(i), "unit"}, Align::kRight);
  std::vector<std::string> row = {"row"};
  for (int i = 0; i < 12; ++i) row.push_back(std::to_string(i * 1000));
  t.AddRow(row);
  const std::string out = t.Render(40);
  std::istringstream in(out);
  int keys = 0;
  for (std::string line; std::getline(in, line);) {
    EXPECT_LE(line.size(), 40u) << line;
    keys += line.rfind("row", 0) == 0;
  }
  EXPECT_GE(keys, 3);
  EXPECT_NE(out.find("column11"), std::string::npos);
}

TEST(Wrap, FoldsAtSpacesWithIndents) {
  EXPECT_EQ(Wrap("aaa bbb ccc", 8, "> ", "  "), "> aaa\n  bbb\n  ccc\n");
  EXPECT_EQ(Wrap("aaa bbb", 20, "", "  "), "aaa bbb\n");
}

}  // namespace
}  // namespace allocmark
