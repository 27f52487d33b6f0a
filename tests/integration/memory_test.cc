// End-to-end tests of the memory report: exact live peaks on a known
// schedule, the RSS timeline, external fragmentation on a frag workload,
// pool-tag counts, the leak check, and the allocator's part of the RSS.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
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

json RunCli(const std::string& args, int expect_exit,
            std::string* out = nullptr) {
  const std::string path = TempPath("r.json");
  const CommandResult r =
      RunCommand(kCli + " run --quiet " + args + " --out " + path);
  EXPECT_EQ(r.exit_code, expect_exit) << r.out << r.err;
  if (out != nullptr) *out = r.out;
  return json::parse(ReadAll(path));
}

const json* FindTag(const json& cell, const std::string& tag) {
  for (const json& t : cell["tags"]) {
    if (t["tag"] == tag) return &t;
  }
  return nullptr;
}

// Batches of 100 x 1000 B then 50 x 3000 B, 1000 ops each: per thread
// 5 + 10 full cycles, so the peak is exactly max(100000, 150000).
TEST(Memory, KnownScheduleGivesExactPeaksAndATimeline) {
  const json doc = RunCli(
      "--allocators " + testing::StandIn("system,jemalloc,mimalloc") +
          " --workloads " + kSrc + "/tests/integration/memory-schedule.json" +
          " --threads 1 --sample-ms 1",
      0);
  for (const json& c : doc["cells"]) {
    SCOPED_TRACE(c["allocator"].get<std::string>());
    ASSERT_EQ(c["status"], "ok") << c.dump();
    const json& m = c["memory"];
    EXPECT_EQ(m["peak_live_bytes"], 150000);
    EXPECT_GE(m["peak_usable_bytes"].get<double>(), 150000);
    EXPECT_GE(m["peak_rss_bytes"].get<double>(), 150000);
    EXPECT_GE(m["usable_over_requested"].get<double>(), 1.0);
    EXPECT_EQ(m["end_live_bytes"], 0);
    // The timeline is ordered in time and holds every phase boundary.
    const json& tl = m["timeline"];
    ASSERT_TRUE(tl.is_array());
    int phase_rows = 0;
    for (std::size_t i = 0; i < tl.size(); ++i) {
      if (i > 0) {
        EXPECT_GE(tl[i][0], tl[i - 1][0]);
      }
      phase_rows += tl[i][4] == "phase";
    }
    EXPECT_EQ(phase_rows, 2);
    EXPECT_EQ(tl.back()[4], "purge");
    int seen_a = 0, seen_b = 0;
    for (const json& p : m["phase_samples"]) {
      if (p["event"] != "phase") continue;
      seen_a += p["tag"] == "AAAA";
      seen_b += p["tag"] == "BBBB";
      // Each batch ends empty, so both boundaries see no live bytes.
      EXPECT_EQ(p["live_bytes"], 0) << p.dump();
      EXPECT_GT(p["rss_bytes"].get<double>(), 0);
    }
    EXPECT_EQ(seen_a, 1);
    EXPECT_EQ(seen_b, 1);
    // Tags: 5 cycles of 100 blocks, 10 cycles of 50, peaks per tag.
    const json* a = FindTag(c, "AAAA");
    const json* b = FindTag(c, "BBBB");
    ASSERT_TRUE(a && b);
    EXPECT_EQ((*a)["allocs"], 500);
    EXPECT_EQ((*a)["frees"], 500);
    EXPECT_EQ((*a)["peak_bytes"], 100000);
    EXPECT_EQ((*b)["allocs"], 500);
    EXPECT_EQ((*b)["frees"], 500);
    EXPECT_EQ((*b)["peak_bytes"], 150000);
    EXPECT_EQ((*b)["live_blocks"], 0);
    EXPECT_EQ(c["leak"]["blocks"], 0);
  }
}

// Two threads: the cell-wide peak lies between the largest thread's peak and
// the sum of the threads' peaks.
TEST(Memory, TwoThreadPeakIsBoundedByPerThreadPeaks) {
  const json doc =
      RunCli("--allocators system --workloads " + kSrc +
                 "/tests/integration/memory-schedule.json" + " --threads 2",
             0);
  const json& m = doc["cells"][0]["memory"];
  EXPECT_GE(m["peak_live_bytes"], 150000);
  EXPECT_LE(m["peak_live_bytes"], m["peak_live_bytes_sum_of_threads"]);
  EXPECT_EQ(m["peak_live_bytes_sum_of_threads"], 300000);
}

// Free 90 % of a large mixed live set: glibc cannot return the holes, so RSS
// stays far above the live bytes; every adapter reports sane figures.
TEST(Memory, FragLeavesRssFarAboveLiveForSystemMalloc) {
  const json doc = RunCli("--allocators all --workloads " + kSrc +
                              "/tests/integration/memory-frag.json --threads 1",
                          0);
  for (const json& c : doc["cells"]) {
    if (c["status"] == "skipped") continue;
    SCOPED_TRACE(c["allocator"].get<std::string>());
    ASSERT_EQ(c["status"], "ok") << c["reason"];
    // null's pre-faulted rings are harness memory, mapped by each replay
    // thread as it starts: it is no allocator here (README, Memory).
    if (c["allocator"] == "null") continue;
    const json& m = c["memory"];
    const double peak = m["peak_live_bytes"].get<double>();
    EXPECT_GT(peak, 5e6);
    EXPECT_GE(m["peak_usable_bytes"].get<double>(), peak);
    EXPECT_GE(m["peak_rss_bytes"].get<double>(), peak);
    EXPECT_LT(m["rss_over_live_at_peak"].get<double>(), 50);
    double after_drain = 0;
    for (const json& p : m["phase_samples"]) {
      if (p["event"] == "phase" && p["tag"] == "HOLD")
        after_drain = p["rss_over_live"].get<double>();
    }
    if (c["allocator"] == "system") {
      EXPECT_GT(after_drain, 4) << m.dump();
    }
    EXPECT_GT(after_drain, 0);
  }
}

TEST(Memory, LeakCheckFailsOnlyTheLeakingCell) {
  // Declared leaks pass.
  const json clean = RunCli(
      "--allocators " + testing::StandIn("system,mimalloc") + " --workloads " +
          kSrc + "/tests/integration/leaky.json --threads 2",
      0);
  for (const json& c : clean["cells"]) {
    EXPECT_EQ(c["status"], "ok") << c["reason"];
    EXPECT_EQ(c["leak"]["declared_blocks"], 10);
  }
  // The test fault makes system's thread 0 skip its last 3 frees.
  const std::string path = TempPath("leak.json");
  const CommandResult r =
      RunCommand("ALLOCMARK_TEST_FAULT=leak:system " + kCli +
                 " run --quiet --tags --allocators " +
                 testing::StandIn("system,mimalloc") + " --workloads " + kSrc +
                 "/tests/integration/leaky.json --threads 2 --out " + path);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const json leak = json::parse(ReadAll(path));
  for (const json& c : leak["cells"]) {
    SCOPED_TRACE(c["allocator"].get<std::string>());
    const json* t = FindTag(c, "LEAK");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ((*t)["declared_leak_blocks"], 10);  // 5 per thread
    if (c["allocator"] == "system") {
      EXPECT_EQ(c["status"], "failed");
      const std::string reason = c["reason"];
      EXPECT_EQ(reason.rfind("leak: 3 blocks, ", 0), 0u) << reason;
      EXPECT_NE(reason.find(" bytes under tag LEAK"), std::string::npos);
      EXPECT_EQ((*t)["live_blocks"], 13);
      EXPECT_EQ((*t)["allocs"].get<int>() - (*t)["frees"].get<int>(), 13);
    } else {
      EXPECT_EQ(c["status"], "ok") << c["reason"];
      EXPECT_EQ((*t)["live_blocks"], 10);
    }
  }
  EXPECT_NE(r.out.find("pool tags"), std::string::npos);
  EXPECT_NE(r.out.find("LEAK"), std::string::npos);
}

// Every allocator figure lies in [0, the raw figure beside it].
void ExpectAllocatorPartWithinRaw(const json& m) {
  EXPECT_LE(m["peak_rss_bytes"], m["process_peak_rss_bytes"]);
  EXPECT_LE(m["end_rss_bytes"], m["process_end_rss_bytes"]);
  if (m["rss_after_purge_bytes"].is_number()) {
    EXPECT_LE(m["rss_after_purge_bytes"], m["process_rss_after_purge_bytes"]);
  }
  if (!m["timeline"].is_array()) return;
  const json& cols = m["timeline_columns"];
  ASSERT_EQ(cols[1], "rss_bytes");
  ASSERT_EQ(cols[6], "allocator_rss_bytes");
  for (const json& row : m["timeline"]) {
    EXPECT_GE(row[6].get<double>(), 0);
    EXPECT_LE(row[6], row[1]) << row.dump();
  }
  for (const json& p : m["phase_samples"])
    EXPECT_LE(p["allocator_rss_bytes"], p["rss_bytes"]) << p.dump();
}

TEST(Memory, AllocatorPartIsNeverNegativeNorAboveTheRawFigure) {
  const json doc = RunCli("--allocators all --workloads fixed-64," + kSrc +
                              "/tests/integration/memory-frag.json" +
                              " --threads 1 --sample-ms 1",
                          0);
  for (const json& c : doc["cells"]) {
    if (c["status"] == "skipped") continue;
    SCOPED_TRACE(c["allocator"].get<std::string>() + " " +
                 c["workload"].get<std::string>());
    ASSERT_EQ(c["status"], "ok") << c["reason"];
    ExpectAllocatorPartWithinRaw(c["memory"]);
  }
}

// Hunter et al.'s figure: AnonHugePages over the anonymous RSS outside the
// harness, at every phase sample, with the THP settings in the context.
TEST(Memory, HugepageCoverageIsReportedOrNullWithAReason) {
  const json doc = RunCli("--allocators system,jemalloc --workloads " + kSrc +
                              "/tests/integration/memory-schedule.json" +
                              " --threads 1 --sample-ms 1",
                          0);
  const json& thp = doc["context"]["transparent_hugepage"];
  ASSERT_TRUE(thp.is_object());
  const bool readable = access("/proc/self/smaps_rollup", R_OK) == 0;
  for (const json& c : doc["cells"]) {
    SCOPED_TRACE(c["allocator"].get<std::string>());
    const json& m = c["memory"];
    if (readable) {
      ASSERT_TRUE(m["hugepage_coverage"].is_number()) << m.dump();
      EXPECT_GE(m["hugepage_coverage"].get<double>(), 0.0);
      EXPECT_LE(m["hugepage_coverage"].get<double>(), 1.0);
      EXPECT_LE(m["anon_huge_bytes_at_coverage"], m["anon_bytes_at_coverage"]);
      for (const json& p : m["phase_samples"]) {
        EXPECT_TRUE(p["anon_huge_bytes"].is_number()) << p.dump();
        EXPECT_TRUE(p.contains("hugepage_coverage"));
      }
    } else {
      EXPECT_TRUE(m["hugepage_coverage"].is_null());
      EXPECT_TRUE(m["hugepage_coverage_reason"].is_string());
    }
  }
}

// Runs the system worker on fixed-64 with fork + exec from this process, as
// a runner that forks would, and returns its record.
json ForkWorkerOnFixed64() {
  int out[2];
  EXPECT_EQ(pipe(out), 0);
  const std::string worker = kBin + "/allocmark-worker-system";
  const std::string workload = kSrc + "/bench/workloads/fixed-64.json";
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    execl(worker.c_str(), worker.c_str(), "--workload", workload.c_str(),
          "--threads", "1", "--scale", "quick", "--timing", "on", "--sample-ms",
          "1", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  std::string text;
  char buf[65536];
  for (ssize_t n; (n = read(out[0], buf, sizeof(buf))) > 0;)
    text.append(buf, static_cast<std::size_t>(n));
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << text;
  return json::parse(text);
}

// ru_maxrss starts a forked child at its parent's RSS and keeps it across
// exec; the worker's peak must not see its parent at all.
TEST(Memory, PeakIsTheWorkersOwnWhateverItsParentHolds) {
  const json small = ForkWorkerOnFixed64()["memory"];
  constexpr std::size_t kParent = 256u << 20;
  void* fat = mmap(nullptr, kParent, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(fat, MAP_FAILED);
  std::memset(fat, 1, kParent);  // resident in the parent when it forks
  const json big = ForkWorkerOnFixed64()["memory"];
  munmap(fat, kParent);
  constexpr double kFewMiB = 4 << 20;
  for (const char* key : {"process_peak_rss_bytes", "peak_rss_bytes"}) {
    SCOPED_TRACE(key);
    EXPECT_NEAR(big[key].get<double>(), small[key].get<double>(), kFewMiB);
    EXPECT_LT(big[key].get<double>(), 64 << 20);
  }
}

// The harness's mappings on a known run: one op buffer of --chunk records
// per thread, so doubling the chunk maps exactly that many more bytes per
// thread, while the pages the stream touches (all ops fit one chunk) stay.
TEST(Memory, HarnessAccountingEqualsTheMappedSizes) {
  auto run = [](int chunk) {
    const std::string path = TempPath("harness.json");
    const CommandResult r = RunCommand(
        kBin + "/allocmark-worker-system --workload " + kSrc +
        "/bench/workloads/fixed-64.json --threads 2 --ops 20000 --timing off "
        "--chunk " +
        std::to_string(chunk) + " >" + path);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(ReadAll(path))["memory"];
  };
  constexpr int kOpBytes = 16;
  const json a = run(65536), b = run(131072);
  EXPECT_EQ(b["harness_mapped_peak_bytes"].get<double>() -
                a["harness_mapped_peak_bytes"].get<double>(),
            2.0 * 65536 * kOpBytes);
  // Each thread's 20000 ops were written into its buffer: resident, harness.
  EXPECT_GE(a["harness_peak_bytes"].get<double>(), 2.0 * 20000 * kOpBytes);
  EXPECT_LE(a["harness_peak_bytes"], a["harness_mapped_peak_bytes"]);
  EXPECT_EQ(a["harness_peak_bytes"], b["harness_peak_bytes"]);
  ExpectAllocatorPartWithinRaw(a);
}

// 100 MiB in 4 KiB blocks, then all freed: glibc's peak is the live bytes
// plus its per-block overhead, and malloc_trim hands it all back.
TEST(Memory, KnownHundredMiBScheduleGivesTheAllocatorsPeak) {
  const json doc = RunCli("--allocators system --workloads " + kSrc +
                              "/tests/integration/memory-100m.json" +
                              " --threads 1 --sample-ms 5",
                          0);
  const json& c = doc["cells"][0];
  ASSERT_EQ(c["status"], "ok") << c["reason"];
  const json& m = c["memory"];
  EXPECT_EQ(m["peak_live_bytes"], 25600 * 4096);
  const double usable = m["peak_usable_bytes"].get<double>();
  EXPECT_NEAR(m["peak_rss_bytes"].get<double>(), usable, 0.05 * usable)
      << m.dump();
  ASSERT_TRUE(m["rss_after_purge_bytes"].is_number());
  EXPECT_LE(m["rss_after_purge_bytes"].get<double>(), 1 << 20);
  ExpectAllocatorPartWithinRaw(m);
}

TEST(Memory, BadSampleMsIsRejected) {
  const std::string path = TempPath("bad.json");
  const CommandResult r =
      RunCommand(kCli +
                 " run --quiet --allocators system --workloads fixed-64 "
                 "--sample-ms 999999 --out " +
                 path);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--sample-ms"), std::string::npos);
  EXPECT_FALSE(testing::FileExists(path));
}

}  // namespace
}  // namespace allocmark
