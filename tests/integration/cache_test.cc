// End-to-end cache report: hw mode gives numbers or nulls with reasons, sim
// mode is deterministic and sees access patterns, locality is exact for null.
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>

#include "tests/integration/cli_paths.h"
#include "tests/integration/command.h"
#include "tests/sanitize/sanitized.h"

namespace allocmark {
namespace {

using nlohmann::json;
using testing::CommandResult;
using testing::kBin;
using testing::kCli;
using testing::kSrc;
using testing::ReadAll;
using testing::RunCommand;
using testing::TempPath;

// Runs `allocmark run --quiet ARGS --out TMP` and returns the document.
json RunDoc(const std::string& args, const std::string& name,
            int expect_exit = 0) {
  const std::string out = TempPath(name);
  const CommandResult r =
      RunCommand(kCli + " run --quiet " + args + " --out " + out);
  EXPECT_EQ(r.exit_code, expect_exit) << r.out << r.err;
  if (r.exit_code != 0) return json();
  const CommandResult v =
      RunCommand("python3 " + kSrc + "/scripts/validate_results.py " + out);
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  json doc = json::parse(ReadAll(out));
  std::remove(out.c_str());
  return doc;
}

const json& Cell(const json& doc, const std::string& allocator,
                 const std::string& workload, int threads) {
  for (const json& c : doc["cells"]) {
    if (c["allocator"] == allocator && c["workload"] == workload &&
        c["threads"] == threads)
      return c;
  }
  static const json none;
  ADD_FAILURE() << "no cell " << allocator << " " << workload << " x"
                << threads;
  return none;
}

TEST(CacheHw, EveryEventIsANumberOrNullWithAReason) {
  const json doc = RunDoc(
      "--allocators system,null --workloads fixed-64,mixed-small "
      "--threads 1,2 --ops 4000",
      "hw.json");
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc["run"]["cache"], "hw");
  for (const json& c : doc["cells"]) {
    ASSERT_EQ(c["status"], "ok") << c.dump();
    const json& cache = c["cache"];
    EXPECT_EQ(cache["mode"], "hw");
    for (const char* e : {"cycles", "instructions", "d1_read_misses",
                          "ll_read_misses", "dtlb_read_misses", "page_faults",
                          "task_clock_ns", "context_switches"}) {
      ASSERT_TRUE(cache["events"].contains(e)) << e;
      if (cache["events"][e].is_null()) {
        ASSERT_TRUE(cache["unavailable"].contains(e)) << e;
        EXPECT_FALSE(cache["unavailable"][e].get<std::string>().empty());
      } else {
        EXPECT_GE(cache["events"][e].get<double>(), 0) << e;
        EXPECT_FALSE(cache["unavailable"].contains(e)) << e;
      }
    }
    // Software events work everywhere, so these are never null.
    EXPECT_GT(cache["events"]["task_clock_ns"].get<double>(), 0);
    EXPECT_TRUE(cache["events"]["page_faults"].is_number());
    EXPECT_EQ(cache["per_thread"].size(), c["threads"].get<std::size_t>());
  }
}

TEST(CacheOff, NoCountersButLocality) {
  const json doc = RunDoc(
      "--allocators null --workloads fixed-64 --threads 1 --ops 4000 "
      "--cache off",
      "off.json");
  ASSERT_TRUE(doc.is_object());
  const json& cache = Cell(doc, "null", "fixed-64", 1)["cache"];
  EXPECT_EQ(cache["mode"], "off");
  EXPECT_TRUE(cache["events"].empty());
  EXPECT_TRUE(cache["locality"].is_object());
}

// See tests/unit/locality_test.cc, NullAdapterExactFigures: 64-byte blocks
// 80 bytes apart from ring offset 16, 20 lines per window of 16 where 16
// would do, every pair 16 bytes apart, no line shared between threads.
TEST(CacheLocality, NullAdapterExactFigures) {
  const json doc = RunDoc(
      "--allocators null --workloads fixed-64 --threads 1,2 --ops 4000 "
      "--cache off",
      "null.json");
  ASSERT_TRUE(doc.is_object());
  for (int threads : {1, 2}) {
    const json& loc =
        Cell(doc, "null", "fixed-64", threads)["cache"]["locality"];
    ASSERT_TRUE(loc.is_object());
    const std::uint64_t windows = 2000 / 16 * threads;  // 2000 allocs each
    EXPECT_EQ(loc["allocations"], 2000 * threads);
    EXPECT_EQ(loc["windows"], windows);
    EXPECT_EQ(loc["lines_spanned"], 20 * windows);
    EXPECT_EQ(loc["ideal_lines"], 16 * windows);
    EXPECT_DOUBLE_EQ(loc["score"].get<double>(), 0.8);
    std::uint64_t pages = 0;
    for (std::uint64_t w = 0; w < 2000 / 16; ++w) {
      const std::uint64_t lo = 16 + 1280 * w, hi = lo + 1264 - 1;
      pages += hi / 4096 - lo / 4096 + 1;
    }
    EXPECT_EQ(loc["pages_spanned"], pages * threads);
    EXPECT_EQ(loc["ideal_pages"], windows);
    EXPECT_DOUBLE_EQ(loc["near_share"].get<double>(), 1.0);
    EXPECT_EQ(loc["false_sharing"]["shared_lines"], 0);
    EXPECT_GT(loc["false_sharing"]["samples"].get<int>(), 0);
  }
}

TEST(CacheLocality, LinesSpannedNeverBelowIdealForAnyAdapter) {
  const json doc = RunDoc(
      "--allocators all --workloads fixed-64,mixed-small,realloc-grow "
      "--threads 1,2 --ops 3000 --cache off",
      "all.json");
  ASSERT_TRUE(doc.is_object());
  int checked = 0;
  for (const json& c : doc["cells"]) {
    if (c["status"] != "ok") continue;
    const json& loc = c["cache"]["locality"];
    ASSERT_TRUE(loc.is_object()) << c["allocator"];
    EXPECT_GE(loc["lines_spanned"], loc["ideal_lines"]) << c["allocator"];
    EXPECT_GE(loc["pages_spanned"], loc["ideal_pages"]) << c["allocator"];
    EXPECT_LE(loc["near_pairs"], loc["pairs"]);
    const json& fs = loc["false_sharing"];
    EXPECT_LE(fs["shared_lines"], fs["lines_with_live_blocks"]);
    if (c["threads"] == 1) {
      EXPECT_EQ(fs["shared_lines"], 0) << c["allocator"];
    }
    ++checked;
  }
  EXPECT_GE(checked, 20);
}

// The geometry is always given: VMs of this machine class expose no cache
// geometry in sysfs (and a wrong one through CPUID), and valgrind's own
// detection misreads the LLC.
// Sanitizer builds: valgrind preloads its own library ahead of the runtime,
// and ASan then refuses to start ("ASan runtime does not come first in
// initial library list"); valgrind does not support TSan either.
constexpr const char* kNoSimUnderSanitizer =
    "callgrind cannot run a sanitizer-instrumented worker";

const std::string kGeometry =
    " --sim-geometry 'I1=32768,8,64;D1=32768,8,64;LL=1048576,16,64'";

TEST(CacheSim, SingleThreadInstructionCountsRepeatExactly) {
  ALLOCMARK_SKIP_IF_SANITIZED(kNoSimUnderSanitizer);
  const std::string args =
      "--allocators system,null --workloads fixed-64 --threads 1 "
      "--ops 20000 --cache sim --no-latency" +
      kGeometry;
  const json a = RunDoc(args, "sim_a.json");
  const json b = RunDoc(args, "sim_b.json");
  ASSERT_TRUE(a.is_object() && b.is_object());
  for (const char* alloc : {"system", "null"}) {
    const json& ca = Cell(a, alloc, "fixed-64", 1)["cache"];
    const json& cb = Cell(b, alloc, "fixed-64", 1)["cache"];
    ASSERT_EQ(ca["sim"]["status"], "ok") << ca.dump();
    EXPECT_EQ(ca["sim"]["totals"]["Ir"], cb["sim"]["totals"]["Ir"]) << alloc;
    EXPECT_EQ(ca["events"]["instructions"], cb["events"]["instructions"]);
    EXPECT_GT(ca["events"]["instructions"].get<double>(), 0);
    EXPECT_EQ(ca["sim"]["threads_serialised"], false);
    // The estimate follows the stated formula from the raw totals.
    const json& t = ca["sim"]["totals"];
    const double est =
        t["Ir"].get<double>() +
        10 * (t["I1mr"].get<double>() + t["D1mr"].get<double>() +
              t["D1mw"].get<double>()) +
        100 * (t["ILmr"].get<double>() + t["DLmr"].get<double>() +
               t["DLmw"].get<double>());
    EXPECT_DOUBLE_EQ(ca["events"]["est_cycles"].get<double>(),
                     est / ca["sim"]["ops"].get<double>());
    // The geometry valgrind was given is the one stated, not its detection.
    EXPECT_EQ(ca["sim"]["geometry"]["D1"]["source"], "--sim-geometry");
    EXPECT_EQ(ca["sim"]["geometry"]["LL"]["size_bytes"], 1048576);
  }
}

TEST(CacheSim, RandomWorkingSetMissesMoreThanSequential) {
  ALLOCMARK_SKIP_IF_SANITIZED(kNoSimUnderSanitizer);
  const json doc =
      RunDoc("--allocators system --workloads " + kSrc +
                 "/tests/integration/cache-sequential.json," + kSrc +
                 "/tests/integration/cache-random.json"
                 " --threads 1 --cache sim --no-latency" +
                 kGeometry,
             "pattern.json");
  ASSERT_TRUE(doc.is_object());
  const json& seq = Cell(doc, "system", "cache-sequential", 1)["cache"];
  const json& rnd = Cell(doc, "system", "cache-random", 1)["cache"];
  const double seq_miss = seq["events"]["d1_read_misses"].get<double>() +
                          seq["events"]["d1_write_misses"].get<double>();
  const double rnd_miss = rnd["events"]["d1_read_misses"].get<double>() +
                          rnd["events"]["d1_write_misses"].get<double>();
  EXPECT_GT(rnd_miss, 1.5 * seq_miss) << seq.dump() << rnd.dump();
}

TEST(CacheSim, MultiThreadedCellSaysThreadsWereSerialised) {
  ALLOCMARK_SKIP_IF_SANITIZED(kNoSimUnderSanitizer);
  const json doc = RunDoc(
      "--allocators null --workloads fixed-64 --threads 2 --ops 4000 "
      "--cache sim --no-latency --sim-geometry "
      "'I1=32768,8,64;D1=16384,4,64;LL=1048576,16,64'",
      "sim2.json");
  ASSERT_TRUE(doc.is_object());
  const json& sim = Cell(doc, "null", "fixed-64", 2)["cache"]["sim"];
  ASSERT_EQ(sim["status"], "ok") << sim.dump();
  EXPECT_EQ(sim["threads_serialised"], true);
  EXPECT_TRUE(sim["note"].is_string());
  EXPECT_EQ(sim["geometry"]["D1"]["size_bytes"], 16384);
  EXPECT_EQ(sim["geometry"]["D1"]["source"], "--sim-geometry");
  EXPECT_EQ(doc["run"]["sim_geometry"]["D1"]["assoc"], 4);
}

TEST(CacheCli, BadInputIsOneLineAndExitTwo) {
  for (const std::string bad :
       {"--cache bogus", "--cache sim --sim-geometry 'D1=1000,3,64'",
        "--cache sim --sim-geometry 'Q1=32768,8,64'",
        "--sim-geometry 'D1=32768,8,64'"}) {
    const std::string out = TempPath("bad.json");
    const CommandResult r = RunCommand(
        kCli + " run --allocators null --workloads fixed-64 --ops 1000 " + bad +
        " --out " + out);
    EXPECT_EQ(r.exit_code, 2) << bad << r.err;
    int lines = 0;
    for (char ch : r.err) lines += ch == '\n';
    EXPECT_EQ(lines, 1) << bad << r.err;
    EXPECT_FALSE(testing::FileExists(out)) << bad;
  }
}

}  // namespace
}  // namespace allocmark
