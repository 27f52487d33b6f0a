// The kernel pools end to end: `allocmark run --vm` boots the driver's VM and
// every backend replays the streams the user-space adapters replay.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/integration/cli_paths.h"
#include "tests/integration/command.h"

namespace allocmark {
namespace {

using nlohmann::json;
using testing::CommandResult;
using testing::kBin;
using testing::kCli;
using testing::kSrc;
using testing::ReadAll;
using testing::RunCommand;

const std::string kVmBuild = ALLOCMARK_VM_BUILD;
const std::string kBackends[] = {"kmalloc", "kmem_cache", "vmalloc", "pages"};
// Fixed and mixed sizes; cross-thread hand-offs through reused mailboxes;
// 64 KiB blocks, beyond kmem_cache's 8 KiB.
const std::string kWorkloads = "fixed-64,mixed-small,fixed-64k," + kSrc +
                               "/tests/integration/kpool-handoff.json";

// One VM boot for the whole suite: it is the expensive part (~10 s under
// TCG plus the guest's run).
class KpoolVmTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    out_ = new std::string(::testing::TempDir() + "/kpool-vm.json");
    result_ = new CommandResult(RunCommand(
        kCli + " run --vm --vm-build " + kVmBuild +
        " --allocators kpool,system --workloads " + kWorkloads +
        " --threads 1,2 --ops 2000 --repetitions 1 --quiet --out " + *out_));
  }
  static void TearDownTestSuite() {
    delete result_;
    delete out_;
  }
  void SetUp() override {
    const std::string all = result_->out + result_->err;
    if (all.find("this host cannot run the VM") != std::string::npos)
      GTEST_SKIP() << all;
    ASSERT_EQ(result_->exit_code, 0) << result_->out << result_->err;
    doc_ = json::parse(ReadAll(*out_));
  }

  // cells[workload/threads/allocator]
  std::map<std::string, json> Cells() const {
    std::map<std::string, json> by;
    for (const json& c : doc_["cells"])
      by[c["workload"].get<std::string>() + "/" + c["threads"].dump() + "/" +
         c["allocator"].get<std::string>()] = c;
    return by;
  }

  static std::string* out_;
  static CommandResult* result_;
  json doc_;
};

std::string* KpoolVmTest::out_ = nullptr;
CommandResult* KpoolVmTest::result_ = nullptr;

TEST_F(KpoolVmTest, ResultsAreSchemaValidAndRecordTheVm) {
  const CommandResult v =
      RunCommand("python3 " + kSrc + "/scripts/validate_results.py " + *out_);
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  const json& ctx = doc_["context"];
  ASSERT_TRUE(ctx.contains("virtualization"));
  const std::string virt = ctx["virtualization"];
  EXPECT_TRUE(virt == "kvm" || virt == "tcg") << virt;
  EXPECT_GT(ctx["vm"]["boot_and_run_s"].get<double>(), 0);
  EXPECT_EQ(ctx["vm"]["timings_emulated"].get<bool>(), virt == "tcg");
  if (virt == "tcg") {
    EXPECT_NE(result_->out.find("emulated"), std::string::npos)
        << "the table must say TCG timings are emulated";
  }
}

TEST_F(KpoolVmTest, EveryBackendReplaysTheUserSpaceStreams) {
  const auto cells = Cells();
  const std::string virt = doc_["context"]["virtualization"];
  for (const std::string wl : {"fixed-64", "mixed-small", "kpool-handoff"}) {
    for (const char* threads : {"1", "2"}) {
      if (wl == "kpool-handoff" && std::string(threads) == "1") continue;
      const std::string key = wl + "/" + threads + "/";
      ASSERT_TRUE(cells.count(key + "system")) << key;
      const json& sys = cells.at(key + "system");
      ASSERT_EQ(sys["status"], "ok") << sys.dump();
      for (const std::string& b : kBackends) {
        const json& c = cells.at(key + "kpool-" + b);
        SCOPED_TRACE(key + "kpool-" + b);
        ASSERT_EQ(c["status"], "ok") << c["reason"];
        EXPECT_EQ(c["stream_digest"], sys["stream_digest"]);
        EXPECT_TRUE(c["complete"].get<bool>());
        // The kernel's op counts are the stream's, and the user side's.
        for (const char* k : {"allocs", "frees", "reallocs", "sends",
                              "receives", "cross_thread_frees"})
          EXPECT_EQ(c["counts"][k], sys["counts"][k]) << k;
        EXPECT_EQ(c["ops"].get<std::uint64_t>(),
                  c["counts"]["allocs"].get<std::uint64_t>() +
                      c["counts"]["frees"].get<std::uint64_t>() +
                      c["counts"]["reallocs"].get<std::uint64_t>());
        EXPECT_EQ(c["ops"], sys["ops"]);
        // Histograms from the driver hold every timed op.
        EXPECT_EQ(c["latency"]["alloc"]["count"], c["counts"]["allocs"]);
        EXPECT_EQ(c["latency"]["free"]["count"], c["counts"]["frees"]);
        EXPECT_EQ(c["latency"]["realloc"]["count"], c["counts"]["reallocs"]);
        // Zero leaks: the kernel freed nothing at END beyond the declared.
        EXPECT_EQ(c["leak"]["blocks"], 0);
        EXPECT_EQ(c["leak"]["kernel_leaked_blocks"],
                  c["leak"]["declared_blocks"]);
        ASSERT_TRUE(c["tags"].is_array());
        ASSERT_FALSE(c["tags"].empty());
        EXPECT_EQ(c["tags"][0]["allocs"], c["counts"]["allocs"]);
        EXPECT_EQ(c["virtualization"], virt);
        EXPECT_EQ(c["kernel"]["backend"], b);
        EXPECT_EQ(c["timing"]["emulated"].get<bool>(), virt == "tcg");
        EXPECT_GT(c["ns_per_op"].get<double>(), 0);
      }
    }
  }
}

TEST_F(KpoolVmTest, BlocksAboveABackendsLimitAreSkippedNotFailed) {
  const auto cells = Cells();
  for (const char* threads : {"1", "2"}) {
    const json& c =
        cells.at(std::string("fixed-64k/") + threads + "/kpool-kmem_cache");
    EXPECT_EQ(c["status"], "skipped");
    EXPECT_NE(c["reason"].get<std::string>().find("8192"), std::string::npos)
        << c["reason"];
    EXPECT_EQ(cells.at(std::string("fixed-64k/") + threads +
                       "/kpool-kmalloc")["status"],
              "ok");
  }
}

// The guest's streams are the host's: same generator, same digest.
TEST_F(KpoolVmTest, GuestDigestsEqualTheHostRun) {
  const std::string host_out = ::testing::TempDir() + "/kpool-host.json";
  const CommandResult r = RunCommand(
      kCli + " run --allocators null --workloads " + kWorkloads +
      " --threads 1,2 --ops 2000 --repetitions 1 --no-latency --quiet --out " +
      host_out);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const json host = json::parse(ReadAll(host_out));
  const auto cells = Cells();
  int compared = 0;
  for (const json& h : host["cells"]) {
    if (h["status"] != "ok") continue;
    const std::string key = h["workload"].get<std::string>() + "/" +
                            h["threads"].dump() + "/kpool-kmalloc";
    ASSERT_TRUE(cells.count(key)) << key;
    EXPECT_EQ(cells.at(key)["stream_digest"], h["stream_digest"]) << key;
    ++compared;
  }
  EXPECT_EQ(compared, 7);  // kpool-handoff needs 2 threads
}

}  // namespace
}  // namespace allocmark
