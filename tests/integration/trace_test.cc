// `allocmark record` -> trace -> op streams -> replay, on trace_program's
// known calls; `trace info`; the incomplete and bad-input traces.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "bench/stream/trace_streams.h"
#include "bench/trace/trace_file.h"
#include "tests/integration/command.h"

namespace allocmark {
namespace {

namespace fs = std::filesystem;
using testing::RunCommand;
using trace::CallKind;

const std::string kBin = ALLOCMARK_BIN_DIR;
const std::string kAllocmark = kBin + "/allocmark";
const std::string kProgram = kBin + "/trace_program";

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "/trace_test_" + std::to_string(getpid()) +
         "_" + name;
}

// Records one mode of trace_program once per test binary run.
const std::string& Recorded(const std::string& mode) {
  static std::map<std::string, std::string> done;
  auto it = done.find(mode);
  if (it != done.end()) return it->second;
  const std::string path = TempPath(mode + ".trace");
  const auto r = RunCommand(kAllocmark + " record -o " + path + " -- " +
                            kProgram + " " + mode);
  EXPECT_TRUE(r.exit_code == 0 || mode == "crash") << r.out << r.err;
  return done[mode] = path;
}

// Marker-sized calls only (the runtimes allocate below 7000 at start-up).
bool Marker(const TraceCall& c) { return c.size >= 7000 && c.size < 100000; }

TEST(Trace, RecordsEveryCallKindWithItsSizeAndAlignment) {
  const Trace t = ReadTrace(Recorded("calls"));
  EXPECT_TRUE(t.complete);
  ASSERT_EQ(t.threads.size(), 2u);
  std::map<std::pair<CallKind, std::uint64_t>, int> seen;
  std::map<std::uint64_t, std::uint8_t> align;
  for (const TraceCall& c : t.threads[0]) {
    if (!Marker(c) || c.kind == CallKind::kFree) continue;
    ++seen[{c.kind, c.size}];
    align[c.size] = c.align_log2;
  }
  EXPECT_EQ((seen[{CallKind::kMalloc, 7001}]), 1);
  EXPECT_EQ((seen[{CallKind::kCalloc, 7007}]), 1);
  EXPECT_EQ((seen[{CallKind::kPosixMemalign, 7064}]), 1);
  EXPECT_EQ(align[7064], 6);
  EXPECT_EQ((seen[{CallKind::kAlignedAlloc, 7168}]), 1);
  EXPECT_EQ(align[7168], 7);
  EXPECT_EQ((seen[{CallKind::kMemalign, 7256}]), 1);
  EXPECT_EQ(align[7256], 8);
  EXPECT_EQ((seen[{CallKind::kValloc, 7100}]), 1);
  EXPECT_EQ(align[7100], 12);
  EXPECT_EQ((seen[{CallKind::kPvalloc, 7200}]), 1);
  EXPECT_EQ((seen[{CallKind::kReallocarray, 7021}]), 1);
  EXPECT_EQ((seen[{CallKind::kReallocarray, 7028}]), 1);
  EXPECT_EQ((seen[{CallKind::kMalloc, 7300}]), 1);
  for (int i = 1; i <= 8; ++i)
    EXPECT_EQ((seen[{CallKind::kRealloc, 7300u + i * 4096u}]), 1) << i;
  for (int i = 0; i < 50; ++i)
    EXPECT_EQ((seen[{CallKind::kMalloc, 8000u + i}]), 1) << i;
}

TEST(Trace, EveryMarkerBlockIsFreedOnceOnTheThreadThatFreedIt) {
  const Trace t = ReadTrace(Recorded("calls"));
  ASSERT_EQ(t.threads.size(), 2u);
  // Both threads' calls in time order (an address freed by one thread may
  // be handed out again to the other), tracking which block lives where.
  std::vector<std::pair<std::uint64_t, std::pair<int, const TraceCall*>>> all;
  for (int th = 0; th < 2; ++th) {
    for (const TraceCall& c : t.threads[th])
      all.push_back({c.release_ns, {th, &c}});
  }
  std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    return a.first < b.first;
  });
  std::map<std::uint64_t, std::pair<std::uint64_t, int>> live;  // size, thread
  std::multiset<std::uint64_t> freed;
  int frees_by_worker_of_main = 0, frees_by_main_of_worker = 0;
  for (const auto& [time, tc] : all) {
    const auto& [th, c] = tc;
    if (c->kind == CallKind::kMalloc && c->size >= 8000 && c->size < 9020)
      live[c->ptr_out] = {c->size, th};
    if (c->kind != CallKind::kFree) continue;
    auto it = live.find(c->ptr_in);
    if (it == live.end()) continue;
    freed.insert(it->second.first);
    if (it->second.second == 0 && th == 1) ++frees_by_worker_of_main;
    if (it->second.second == 1 && th == 0) ++frees_by_main_of_worker;
    live.erase(it);
  }
  EXPECT_EQ(frees_by_worker_of_main, 50);
  EXPECT_EQ(frees_by_main_of_worker, 20);
  EXPECT_EQ(freed.size(), 70u);
  for (std::uint64_t s : freed) EXPECT_EQ(freed.count(s), 1u) << s;
}

TEST(Trace, StreamsKeepTheReallocChainAndHandOffsAcrossThreads) {
  const auto r = LoadTraceReplay(Recorded("calls"));
  ASSERT_EQ(r->ops.size(), 2u);
  EXPECT_GE(r->stats.cross_thread_frees, 70u);
  // The chain: one slot, alloc 7300, eight reallocs, one free, in order.
  const std::vector<Op>& main_ops = r->ops[0];
  std::size_t i = 0;
  while (i < main_ops.size() &&
         !(main_ops[i].kind == OpKind::kAlloc && main_ops[i].arg == 7300))
    ++i;
  ASSERT_LT(i, main_ops.size());
  const std::uint32_t slot = main_ops[i].slot;
  std::vector<std::uint64_t> chain;
  OpKind last = OpKind::kAlloc;
  for (++i; i < main_ops.size(); ++i) {
    if (main_ops[i].slot != slot) continue;
    last = main_ops[i].kind;
    if (last != OpKind::kRealloc) break;
    chain.push_back(main_ops[i].arg);
  }
  ASSERT_EQ(chain.size(), 8u);
  for (int k = 0; k < 8; ++k) EXPECT_EQ(chain[k], 7300u + (k + 1) * 4096u);
  EXPECT_EQ(last, OpKind::kFree);
  EXPECT_EQ(main_ops[i].arg, 7300u + 8 * 4096u);
  // Each block of 8000..8049 bytes: sent by thread 0, received and freed
  // by thread 1 from the same mailbox.
  std::map<std::uint64_t, std::uint64_t> sent_box;  // mailbox -> slot
  for (const Op& op : r->ops[0])
    if (op.kind == OpKind::kSend) sent_box[op.arg] = op.slot;
  int received = 0;
  const std::vector<Op>& w = r->ops[1];
  for (std::size_t k = 0; k + 1 < w.size(); ++k) {
    if (w[k].kind != OpKind::kReceive || !sent_box.count(w[k].arg)) continue;
    EXPECT_EQ(w[k + 1].kind, OpKind::kFree);
    EXPECT_EQ(w[k + 1].slot, w[k].slot);
    if (w[k + 1].arg >= 8000 && w[k + 1].arg < 8050) ++received;
  }
  EXPECT_EQ(received, 50);
}

TEST(Trace, ReplaysOnEveryAdapterWithOneDigest) {
  const std::string out = TempPath("run.json");
  const auto r =
      RunCommand(kAllocmark + " run --workloads trace:" + Recorded("calls") +
                 " --allocators system,jemalloc,mimalloc,lookaside,null"
                 " --profile quick --no-latency --out " +
                 out);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const auto doc = nlohmann::json::parse(testing::ReadAll(out));
  std::set<std::string> digests;
  int ok = 0;
  for (const auto& c : doc["cells"]) {
    if (c["status"] == "skipped") continue;
    EXPECT_EQ(c["status"], "ok") << c.dump();
    EXPECT_EQ(c["threads"], 2);
    digests.insert(c["stream_digest"].dump());
    ++ok;
  }
  EXPECT_GE(ok, 2);
  EXPECT_EQ(digests.size(), 1u);
}

TEST(Trace, InfoSummarisesCallsAndCrossThreadShare) {
  const auto r = RunCommand(kAllocmark + " trace info " + Recorded("calls"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("complete"), std::string::npos);
  EXPECT_NE(r.out.find("posix_memalign"), std::string::npos);
  EXPECT_NE(r.out.find("reallocarray"), std::string::npos);
  EXPECT_NE(r.out.find("2 thread(s)"), std::string::npos);
  EXPECT_NE(r.out.find("cross-thread:"), std::string::npos);
}

TEST(Trace, CrashedProgramLeavesAnIncompleteButValidTrace) {
  const Trace t = ReadTrace(Recorded("crash"));
  EXPECT_FALSE(t.complete);
  int markers = 0;
  for (const TraceCall& c : t.threads[0])
    markers += c.kind == CallKind::kMalloc && c.size >= 7500 && c.size < 7510;
  EXPECT_EQ(markers, 10);
  const auto r = RunCommand(kAllocmark + " trace info " + Recorded("crash"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("incomplete"), std::string::npos);
}

TEST(Trace, ForkChildWritesItsOwnTrace) {
  // record keeps the larger trace as FILE and the other as FILE.<pid>.0.
  const std::string file = Recorded("fork");
  std::vector<std::string> traces = {file};
  for (const auto& e : fs::directory_iterator(fs::path(file).parent_path())) {
    const std::string name = e.path().filename().string();
    if (name.rfind(fs::path(file).filename().string() + ".", 0) == 0)
      traces.push_back(e.path().string());
  }
  ASSERT_EQ(traces.size(), 2u);
  std::string child;
  for (const std::string& path : traces) {
    if (ReadTrace(path).header.flags & trace::kFlagForked) child = path;
  }
  ASSERT_FALSE(child.empty());
  const Trace t = ReadTrace(child);
  EXPECT_TRUE(t.complete);
  int mine = 0;
  for (const TraceCall& c : t.threads[0])
    mine += c.kind == CallKind::kMalloc && c.size >= 7700 && c.size < 7705;
  EXPECT_EQ(mine, 5);
  const auto r = LoadTraceReplay(child);
  EXPECT_GE(r->stats.inherited_frees, 1u);  // the parent's block
}

// Writes `bytes` to a file and expects `trace info` and `run` to refuse it
// with one line naming the file and `what`.
void ExpectRefused(const std::string& name, const std::string& bytes,
                   const std::string& what) {
  const std::string path = TempPath(name);
  std::ofstream(path, std::ios::binary) << bytes;
  for (const std::string& cmd :
       {kAllocmark + " trace info " + path,
        kAllocmark + " run --allocators system --workloads trace:" + path +
            " --out " + TempPath(name + ".json")}) {
    const auto r = RunCommand(cmd);
    EXPECT_EQ(r.exit_code, 2) << cmd << "\n" << r.err;
    EXPECT_NE(r.err.find(path), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(what), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  EXPECT_FALSE(fs::exists(TempPath(name + ".json")));
}

std::string Good() { return testing::ReadAll(Recorded("calls")); }

TEST(TraceBadInput, Truncated) {
  const std::string good = Good();
  ExpectRefused("truncated", good.substr(0, good.size() - 7), "truncated");
  ExpectRefused("short", good.substr(0, 20), "truncated");
}

TEST(TraceBadInput, Foreign) {
  ExpectRefused("foreign", std::string(200, 'x'), "not an allocmark trace");
  ExpectRefused("empty", "", "not an allocmark trace");
}

TEST(TraceBadInput, NewerVersion) {
  std::string bytes = Good();
  const std::uint32_t v = trace::kVersion + 1;
  std::memcpy(bytes.data() + 8, &v, sizeof(v));
  ExpectRefused("newer", bytes, "newer");
}

TEST(TraceBadInput, FreeOfAnUnknownBlock) {
  trace::TraceHeader h{};
  std::memcpy(h.magic, trace::kMagic, sizeof(h.magic));
  h.version = trace::kVersion;
  h.header_bytes = sizeof(h);
  h.event_bytes = sizeof(trace::TraceEvent);
  h.flags = trace::kFlagComplete;
  trace::ChunkHeader c{trace::kChunkMagic, 0, 2, 0};
  trace::TraceEvent e[2] = {};
  e[0] = {10, 0x1000, 64, static_cast<std::uint8_t>(CallKind::kMalloc), 0, {}};
  e[1] = {20, 0x2000, 0, static_cast<std::uint8_t>(CallKind::kFree), 0, {}};
  std::string bytes(reinterpret_cast<const char*>(&h), sizeof(h));
  bytes.append(reinterpret_cast<const char*>(&c), sizeof(c));
  bytes.append(reinterpret_cast<const char*>(e), sizeof(e));
  ExpectRefused("unknown-free", bytes, "unknown block 0x2000");
}

}  // namespace
}  // namespace allocmark
