// Regression tests of the hostile review (issue 18), one group per defect
// class: output targets, reader crashes, stop signals, option ranges, reader
// validation, status vocabulary, failure reasons, same-name specs, reasons.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/command.h"
#include "tests/sanitize/sanitized.h"

namespace allocmark {
namespace {

using nlohmann::json;
using testing::CommandResult;
using testing::FileExists;
using testing::ReadAll;
using testing::RunCommand;

// ALLOCMARK_TEST_BIN_DIR runs these regressions against another build (an
// older revision's, to see them fail there).
const std::string kBin = std::getenv("ALLOCMARK_TEST_BIN_DIR")
                             ? std::getenv("ALLOCMARK_TEST_BIN_DIR")
                             : ALLOCMARK_BIN_DIR;
const std::string kSrc = ALLOCMARK_SOURCE_DIR;
const std::string kCli = kBin + "/allocmark";
const std::string kQuickRun =
    " run --quiet --workloads fixed-64 --threads 1 --ops 2000 --no-latency";

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "/hard_" + std::to_string(getpid()) + "_" +
         name;
}

int CountLines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// A small valid results document; `edit` may break one cell.
json GoodResults() {
  json cells = json::array();
  for (int rep = 0; rep < 3; ++rep) {
    cells.push_back({{"allocator", "system"},
                     {"workload", "fixed-64"},
                     {"threads", 1},
                     {"repetition", rep},
                     {"scale", "quick"},
                     {"status", "ok"},
                     {"reason", nullptr},
                     {"stream_digest", "00112233aabbccdd"},
                     {"ops", 1000},
                     {"wall_ns", 5000},
                     {"ns_per_op", 10.0 + rep},
                     {"memory", {{"peak_rss_bytes", 4 << 20}}}});
  }
  return {{"schema_version", 1},
          {"context", {{"date", "2026-01-01"}, {"host", "h"}}},
          {"run", {{"profile", "quick"}}},
          {"adapters", json::array()},
          {"cells", cells}};
}

// --- 1. Output targets that are not regular files ------------------------

TEST(HardeningOutput, FifoAndDeviceAreRefusedNotReplaced) {
  const std::string fifo = TempPath("fifo");
  std::remove(fifo.c_str());
  ASSERT_EQ(mkfifo(fifo.c_str(), 0644), 0);
  std::vector<std::string> targets = {fifo};
  // A character device like /dev/null (1,3): only root may make one.
  const std::string dev = TempPath("dev");
  std::remove(dev.c_str());
  if (mknod(dev.c_str(), S_IFCHR | 0644, makedev(1, 3)) == 0)
    targets.push_back(dev);
  const std::string results = TempPath("good.json");
  WriteFile(results, GoodResults().dump());
  for (const std::string& target : targets) {
    struct stat before {};
    ASSERT_EQ(lstat(target.c_str(), &before), 0);
    const CommandResult run =
        RunCommand(kCli + kQuickRun + " --allocators system --out " + target);
    EXPECT_EQ(run.exit_code, 2) << run.out << run.err;
    EXPECT_EQ(CountLines(run.err), 1) << run.err;
    EXPECT_NE(run.err.find("not a regular file"), std::string::npos) << run.err;
    const CommandResult exp = RunCommand(kCli + " export --format gbench " +
                                         results + " -o " + target);
    EXPECT_EQ(exp.exit_code, 2) << exp.err;
    EXPECT_EQ(CountLines(exp.err), 1) << exp.err;
    struct stat after {};
    ASSERT_EQ(lstat(target.c_str(), &after), 0);
    EXPECT_EQ(after.st_mode & S_IFMT, before.st_mode & S_IFMT) << target;
    EXPECT_EQ(after.st_ino, before.st_ino) << target << " was replaced";
    std::remove(target.c_str());
  }
  std::remove(results.c_str());
}

// --- 2. Crashes: null figures in export, long output names ---------------

TEST(HardeningCrash, ExportRefusesNullOrStringFiguresAndNullContext) {
  const std::string in = TempPath("null.json");
  for (int variant = 0; variant < 3; ++variant) {
    json doc = GoodResults();
    if (variant == 0) doc["cells"][0]["ns_per_op"] = nullptr;
    if (variant == 1) doc["cells"][0]["ns_per_op"] = "fast";
    if (variant == 2) doc["context"] = nullptr;
    WriteFile(in, doc.dump());
    for (const char* format : {"gbench", "bencher", "gab"}) {
      const CommandResult r =
          RunCommand(kCli + " export --format " + format + " " + in);
      EXPECT_EQ(r.exit_code, 2) << variant << format << r.err;
      EXPECT_EQ(CountLines(r.err), 1) << r.err;
      EXPECT_NE(r.err.find(in), std::string::npos) << r.err;
    }
  }
  std::remove(in.c_str());
}

TEST(HardeningCrash, LongOutputNamesWorkUpTo255AndAreRefusedBeyond) {
  const std::string dir = TempPath("long");
  mkdir(dir.c_str(), 0755);
  const std::string results = TempPath("long-in.json");
  WriteFile(results, GoodResults().dump());
  // 250 bytes: legal, and must stay so with the temp file's name.
  const std::string legal = dir + "/" + std::string(245, 'a') + ".json";
  const CommandResult ok =
      RunCommand(kCli + " export --format gbench " + results + " -o " + legal);
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_TRUE(FileExists(legal));
  const CommandResult run =
      RunCommand(kCli + kQuickRun + " --allocators system --out " + legal);
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_TRUE(json::parse(ReadAll(legal)).contains("cells"));
  std::remove(legal.c_str());
  const std::string overlong = dir + "/" + std::string(300, 'b') + ".json";
  for (const std::string& cmd :
       {kCli + kQuickRun + " --allocators system --out " + overlong,
        kCli + " export --format gbench " + results + " -o " + overlong,
        kCli + " micro --allocators system --out " + overlong}) {
    const CommandResult r = RunCommand(cmd);
    EXPECT_EQ(r.exit_code, 2) << cmd << r.err;
    EXPECT_EQ(CountLines(r.err), 1) << r.err;
  }
  std::remove(results.c_str());
  rmdir(dir.c_str());
}

// --- 3. Stop signals ------------------------------------------------------

struct Spawned {
  pid_t pid = -1;
  std::string out, err;
};

// Starts allocmark with ALLOCMARK_TEST_FAULT=hang:system, so its system
// worker hangs (timeout 600 s) after the lookaside cell has completed.
Spawned SpawnHangingRun(const std::string& out) {
  Spawned s;
  s.out = out + ".stdout";
  s.err = out + ".stderr";
  s.pid = fork();
  if (s.pid == 0) {
    setenv("ALLOCMARK_TEST_FAULT", "hang:system", 1);
    const int o = open(s.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int e = open(s.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(o, STDOUT_FILENO);
    dup2(e, STDERR_FILENO);
    execl(kCli.c_str(), kCli.c_str(), "run", "--quiet", "--allocators",
          "lookaside,system", "--workloads", "fixed-64", "--threads", "1",
          "--ops", "2000", "--timeout", "600", "--out", out.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  return s;
}

std::vector<pid_t> Children(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" +
                   std::to_string(pid) + "/children");
  std::vector<pid_t> out;
  for (pid_t c; in >> c;) out.push_back(c);
  return out;
}

// The hanging cell's worker: a child running a workload (not an identity
// probe). Waits for it as long as the run needs to get there.
pid_t WaitForCellWorker(pid_t runner) {
  for (int i = 0; i < 3000; ++i) {  // bounded: 300 s
    for (pid_t c : Children(runner)) {
      const std::string cmd =
          ReadAll("/proc/" + std::to_string(c) + "/cmdline");
      if (cmd.find("allocmark-worker-system") != std::string::npos &&
          cmd.find("--workload") != std::string::npos)
        return c;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return -1;
}

// Gone or a zombie nobody reaps (PID 1 of a container may not).
bool Dead(pid_t pid) {
  const std::string stat = ReadAll("/proc/" + std::to_string(pid) + "/stat");
  if (stat.empty()) return true;
  const std::size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() &&
         stat[paren + 2] == 'Z';
}

bool WaitDead(pid_t pid) {
  for (int i = 0; i < 600; ++i) {  // bounded: 60 s
    if (Dead(pid)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

TEST(HardeningSignals, StopSignalKillsTheWorkerAndKeepsCompletedCells) {
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) {
    const std::string out = TempPath("sig" + std::to_string(sig) + ".json");
    std::remove(out.c_str());
    Spawned s = SpawnHangingRun(out);
    ASSERT_GT(s.pid, 0);
    const pid_t worker = WaitForCellWorker(s.pid);
    ASSERT_GT(worker, 0) << ReadAll(s.err);
    ASSERT_EQ(kill(s.pid, sig), 0);
    int status = 0;
    ASSERT_EQ(waitpid(s.pid, &status, 0), s.pid);
    const bool worker_dead = WaitDead(worker);
    if (!worker_dead) kill(worker, SIGKILL);
    EXPECT_TRUE(worker_dead)
        << "worker outlived allocmark (signal " << sig << ")";
    ASSERT_TRUE(WIFEXITED(status)) << "allocmark died by its signal " << sig;
    EXPECT_EQ(WEXITSTATUS(status), 128 + sig);
    const std::string err = ReadAll(s.err);
    EXPECT_NE(err.find("interrupted by SIG"), std::string::npos) << err;
    ASSERT_TRUE(FileExists(out)) << err;
    const json doc = json::parse(ReadAll(out));
    EXPECT_EQ(doc["run"]["complete"], false);
    EXPECT_EQ(doc["run"]["interrupted_by"],
              std::string("SIG") + sigabbrev_np(sig));
    ASSERT_EQ(doc["cells"].size(), 1u) << doc["cells"].dump();
    EXPECT_EQ(doc["cells"][0]["allocator"], "lookaside");
    EXPECT_EQ(doc["cells"][0]["status"], "ok");
    const CommandResult v =
        RunCommand("python3 " + kSrc + "/scripts/validate_results.py " + out);
    EXPECT_EQ(v.exit_code, 0) << v.err;
    for (const std::string& f : {out, s.out, s.err}) std::remove(f.c_str());
  }
}

TEST(HardeningSignals, SecondSigintExitsAtOnce) {
  const std::string out = TempPath("sigint2.json");
  Spawned s = SpawnHangingRun(out);
  ASSERT_GT(s.pid, 0);
  const pid_t worker = WaitForCellWorker(s.pid);
  ASSERT_GT(worker, 0) << ReadAll(s.err);
  kill(s.pid, SIGINT);
  kill(s.pid, SIGINT);
  int status = 0;
  ASSERT_EQ(waitpid(s.pid, &status, 0), s.pid);
  const bool worker_dead = WaitDead(worker);
  if (!worker_dead) kill(worker, SIGKILL);
  EXPECT_TRUE(worker_dead);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
  for (const std::string& f : {out, s.out, s.err}) std::remove(f.c_str());
}

TEST(HardeningSignals, WorkerDiesWithASigkilledRunner) {
  const std::string out = TempPath("sigkill.json");
  Spawned s = SpawnHangingRun(out);
  ASSERT_GT(s.pid, 0);
  const pid_t worker = WaitForCellWorker(s.pid);
  ASSERT_GT(worker, 0) << ReadAll(s.err);
  kill(s.pid, SIGKILL);
  int status = 0;
  waitpid(s.pid, &status, 0);
  const bool worker_dead = WaitDead(worker);
  if (!worker_dead) kill(worker, SIGKILL);
  EXPECT_TRUE(worker_dead) << "the worker is an orphan";
  for (const std::string& f : {out, s.out, s.err}) std::remove(f.c_str());
}

// --- 4. Option ranges: exit 2, one line, the good results file kept -------

class HardeningOptions : public ::testing::TestWithParam<const char*> {};

TEST_P(HardeningOptions, RefusedWithOneLineAndTheResultsFileKept) {
  const std::string out = TempPath("keep.json");
  const std::string good = GoodResults().dump();
  WriteFile(out, good);
  const CommandResult r =
      RunCommand(kCli +
                 " run --quiet --allocators system --workloads fixed-64 "
                 "--out " +
                 out + " " + GetParam());
  EXPECT_EQ(r.exit_code, 2) << GetParam() << r.out << r.err;
  EXPECT_EQ(CountLines(r.err), 1) << r.err;
  EXPECT_EQ(ReadAll(out), good) << GetParam();
  std::remove(out.c_str());
}

INSTANTIATE_TEST_SUITE_P(
    Cases, HardeningOptions,
    ::testing::Values("--ops 1000000000001", "--ops -5", "--ops 0",
                      "--ops 12abc", "--timeout nan", "--timeout inf",
                      "--timeout -1", "--timeout 0x10", "--seed -1",
                      "--seed 99999999999999999999999", "--seed 1e3",
                      "--threads ''", "--threads 1,,2", "--threads 2,",
                      "--repetitions 0", "--repetitions -1",
                      "--repetitions 1000000"));

// --- 5. Readers validate their input --------------------------------------

TEST(HardeningReaders, CompareAndHistoryRefuseBadFigures) {
  const std::string base = TempPath("base.json");
  const std::string bad = TempPath("badfig.json");
  const std::string db = TempPath("hist.sqlite");
  WriteFile(base, GoodResults().dump());
  const std::vector<json> figures = {"fast", json::array(), -3.0, nullptr};
  for (const json& f : figures) {
    json doc = GoodResults();
    if (f.is_null())
      doc["cells"][1].erase("ns_per_op");
    else
      doc["cells"][1]["ns_per_op"] = f;
    WriteFile(bad, doc.dump());
    const CommandResult c = RunCommand(kCli + " compare " + base + " " + bad);
    EXPECT_EQ(c.exit_code, 2) << f.dump() << c.out << c.err;
    EXPECT_EQ(CountLines(c.err), 1) << c.err;
    EXPECT_NE(c.err.find("ns_per_op"), std::string::npos) << c.err;
    std::remove(db.c_str());
    const CommandResult h =
        RunCommand(kCli + " history add " + bad + " --db " + db);
    EXPECT_EQ(h.exit_code, 2) << f.dump() << h.out << h.err;
    EXPECT_EQ(CountLines(h.err), 1) << h.err;
    EXPECT_FALSE(FileExists(db)) << "history add stored a bad file";
  }
  for (const std::string& p : {base, bad, db}) std::remove(p.c_str());
}

TEST(HardeningReaders, ReportSaysOneLineWithoutTraceback) {
  const std::string binary = TempPath("binary.json");
  WriteFile(binary, std::string("\x89PNG\r\n\x1a\n\xff\xfe\x00\x01", 12));
  const std::string nullctx = TempPath("nullctx.json");
  json doc = GoodResults();
  doc["context"] = nullptr;
  WriteFile(nullctx, doc.dump());
  const std::string good = TempPath("report-good.json");
  WriteFile(good, GoodResults().dump());
  const std::string outdir = TempPath("report-out");
  // -o under a regular file: no directory can be made there.
  const std::string unwritable = good + "/charts";
  for (const std::string& args :
       {binary + " -o " + outdir, nullctx + " -o " + outdir,
        good + " -o " + unwritable}) {
    const CommandResult r = RunCommand(kCli + " report " + args);
    EXPECT_EQ(r.exit_code, 2) << args << r.out << r.err;
    EXPECT_EQ(CountLines(r.err), 1) << r.err;
    EXPECT_EQ(r.err.find("Traceback"), std::string::npos) << r.err;
  }
  for (const std::string& p : {binary, nullctx, good}) std::remove(p.c_str());
}

// --- 7. Status vocabulary: refusals fail, nothing measured is not exit 0 --

TEST(HardeningStatus, IdentityMismatchAndNonMallocPreloadFailTheirCells) {
  std::vector<std::pair<std::string, std::string>> cases = {
      {"", "--allocators preload:/etc/passwd"},
      {"", "--allocators preload:/usr/lib/x86_64-linux-gnu/libz.so.1"},
  };
  // Not in sanitizer builds: a malloc preloaded ahead of the runtime stops
  // the CLI itself (ASan refuses to start), and mimalloc is not built there.
  if (!testing::kSanitized) {
    cases.push_back({"LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 ",
                     "--allocators system,mimalloc"});
  }
  for (const auto& [env, allocators] : cases) {
    const std::string out = TempPath("identity.json");
    const CommandResult r =
        RunCommand(env + kCli + kQuickRun + " " + allocators + " --out " + out);
    EXPECT_EQ(r.exit_code, 1) << allocators << r.out << r.err;
    const json doc = json::parse(ReadAll(out));
    for (const json& c : doc["cells"]) {
      EXPECT_EQ(c["status"], "failed") << c.dump();
      EXPECT_TRUE(c["reason"].is_string());
    }
    std::remove(out.c_str());
  }
}

TEST(HardeningStatus, ARunOfSkippedCellsOnlyIsNotASuccess) {
  if (access("/dev/allocmark", F_OK) == 0)
    GTEST_SKIP() << "the kernel driver is loaded: kpool cells would run";
  const std::string out = TempPath("skipped.json");
  const CommandResult r =
      RunCommand(kCli + kQuickRun + " --allocators kpool --out " + out);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("nothing was measured"), std::string::npos) << r.err;
  // The document is named: a range-for over a member of the temporary
  // json::parse() returns reads freed memory (ASan heap-use-after-free).
  const json doc = json::parse(ReadAll(out));
  for (const json& c : doc["cells"]) EXPECT_EQ(c["status"], "skipped");
  std::remove(out.c_str());
}

// --- 8. The failure reason of a 1 TiB block -------------------------------

TEST(HardeningReasons, HugeBlockFailsWithTheAllocationReason) {
  const std::string spec = TempPath("huge.json");
  // 200 live blocks of 1 TiB: more than x86-64 user space (128 TiB), so
  // every allocator runs out of address space after some blocks succeed.
  WriteFile(spec, R"({"name": "huge-block", "description": "1 TiB blocks",
    "seed": 1,
    "ops_per_thread": {"quick": 1000, "default": 1000, "full": 1000},
    "phases": [{"name": "p", "tag": "HUGE",
      "sizes": {"dist": "fixed", "size": 1099511627776},
      "lifetime": "batch", "working_set": 200}]})");
  const std::string out = TempPath("huge-out.json");
  const CommandResult r = RunCommand(
      kCli + " run --quiet --allocators " +
      testing::StandIn("system,jemalloc,mimalloc") +
      " --threads 1 --profile quick --workloads " + spec + " --out " + out);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const json doc = json::parse(ReadAll(out));
  ASSERT_EQ(doc["cells"].size(), 3u);
  for (const json& c : doc["cells"]) {
    EXPECT_EQ(c["status"], "failed") << c.dump();
    EXPECT_NE(c["reason"].get<std::string>().find(
                  "allocation of 1099511627776 bytes"),
              std::string::npos)
        << c["allocator"] << ": " << c["reason"];
  }
  std::remove(spec.c_str());
  std::remove(out.c_str());
}

// --- 9. Two specs with one name -------------------------------------------

TEST(HardeningSpecs, TwoSpecsWithOneNameAreRefused) {
  const std::string a = TempPath("same-a.json");
  const std::string b = TempPath("same-b.json");
  const std::string text = ReadAll(kSrc + "/bench/workloads/fixed-64.json");
  std::string renamed = text;
  renamed.replace(renamed.find("\"fixed-64\""), 10, "\"mine\"");
  std::string resized = renamed;
  resized.replace(resized.find("\"size\": 64"), 10, "\"size\": 32");
  WriteFile(a, renamed);
  WriteFile(b, resized);
  const std::string shadow = TempPath("shadow.json");
  std::string shadowing = text;
  shadowing.replace(shadowing.find("\"size\": 64"), 10, "\"size\": 48");
  WriteFile(shadow, shadowing);
  const std::string out = TempPath("same-out.json");
  for (const std::string& workloads : {a + "," + b, "fixed-64," + shadow}) {
    const CommandResult r =
        RunCommand(kCli +
                   " run --quiet --allocators system --threads 1 "
                   "--ops 2000 --workloads " +
                   workloads + " --out " + out);
    EXPECT_EQ(r.exit_code, 2) << workloads << r.out << r.err;
    EXPECT_EQ(CountLines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find("two workloads are named"), std::string::npos)
        << r.err;
    EXPECT_FALSE(FileExists(out));
  }
  for (const std::string& p : {a, b, shadow}) std::remove(p.c_str());
}

// --- 11. Informative reasons and refusals ---------------------------------

TEST(HardeningReasons, WorkerWithoutARecordSaysSo) {
  const std::string out = TempPath("garbage.json");
  const CommandResult r =
      RunCommand("ALLOCMARK_TEST_FAULT=garbage:system " + kCli + kQuickRun +
                 " --allocators system,lookaside --out " + out);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const json doc = json::parse(ReadAll(out));  // not a temporary: see above
  for (const json& c : doc["cells"]) {
    if (c["allocator"] != "system") continue;
    const std::string reason = c["reason"];
    EXPECT_NE(reason.find("no result record"), std::string::npos) << reason;
    EXPECT_NE(reason.find("not json"), std::string::npos) << reason;
  }
  std::remove(out.c_str());
}

TEST(HardeningReasons, BadFilterAndNegativeLimitExitTwo) {
  const CommandResult micro =
      RunCommand(kCli + " micro --allocators system --filter '(' --out " +
                 TempPath("micro.json"));
  EXPECT_EQ(micro.exit_code, 2) << micro.err;
  EXPECT_EQ(CountLines(micro.err), 1) << micro.err;
  EXPECT_NE(micro.err.find("--filter"), std::string::npos) << micro.err;
  for (const char* limit : {"-1", "x", "99999999999999999999"}) {
    const CommandResult r = RunCommand(kCli + " history show --limit " + limit +
                                       " --db " + TempPath("none.db"));
    EXPECT_EQ(r.exit_code, 2) << limit << r.err;
    EXPECT_NE(r.err.find("--limit"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace allocmark
