// Stream files: what the runner writes is what the generator makes, a worker
// replaying the mapped file does the same work as one that generates, and
// every damaged or foreign file is refused with its name.
#include "bench/stream/stream_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "allocators/system.h"
#include "bench/probes/clock.h"
#include "bench/replay/cell_runner.h"

namespace allocmark {
namespace {

std::string Spec(const std::string& name) {
  return std::string(ALLOCMARK_WORKLOAD_DIR) + "/" + name + ".json";
}

struct TempFile {
  std::string path = (std::filesystem::temp_directory_path() /
                      ("allocmark-stream-test-" + std::to_string(getpid()) +
                       "-" + std::to_string(counter++)))
                         .string();
  ~TempFile() { std::remove(path.c_str()); }
  static inline int counter = 0;
};

StreamKey KeyFor(const std::string& spec_path, std::uint32_t threads,
                 std::uint64_t ops, std::uint64_t seed) {
  return {HashSpecFile(spec_path), threads, ops, seed};
}

std::vector<Op> Generated(const WorkloadSpec& spec, const StreamKey& k,
                          std::uint32_t t) {
  StreamGenerator gen(spec, k.threads, k.ops_per_thread, k.seed);
  std::vector<std::vector<Op>> buffers(k.threads, std::vector<Op>(1000));
  std::vector<std::span<Op>> spans(buffers.begin(), buffers.end());
  std::vector<std::size_t> filled(k.threads);
  std::vector<Op> out;
  bool more = true;
  while (more) {
    more = gen.NextChunk(spans, filled);
    out.insert(out.end(), buffers[t].begin(), buffers[t].begin() + filled[t]);
  }
  return out;
}

bool SameOps(std::span<const Op> a, const std::vector<Op>& b) {
  return a.size() == b.size() &&
         std::memcmp(a.data(), b.data(), a.size_bytes()) == 0;
}

TEST(StreamFile, HoldsExactlyWhatTheGeneratorMakes) {
  for (const char* name : {"fixed-64", "mixed-small", "larson"}) {
    SCOPED_TRACE(name);
    const WorkloadSpec spec = LoadWorkloadSpec(Spec(name));
    const StreamKey k = KeyFor(Spec(name), 2, 20000, 7);
    TempFile f;
    WriteStreamFile(spec, k, f.path);
    const StreamFile file(f.path, k);
    StreamGenerator gen(spec, 2, 20000, 7);
    EXPECT_EQ(file.plan().slots_per_thread, gen.plan().slots_per_thread);
    EXPECT_EQ(file.plan().mailboxes, gen.plan().mailboxes);
    for (std::uint32_t t = 0; t < 2; ++t)
      EXPECT_TRUE(
          SameOps(file.Ops(t, 0, file.chunks()), Generated(spec, k, t)));
    EXPECT_GT(file.chunks(), 1u);
  }
}

// The same cell from the mapped file and from the generator: same digest,
// same counts, every op executed, contents checked, hand-offs included.
TEST(StreamFile, ReplayFromTheFileEqualsReplayOfTheGenerator) {
  for (const char* name : {"fixed-64", "larson", "xmalloc-test"}) {
    SCOPED_TRACE(name);
    const WorkloadSpec spec = LoadWorkloadSpec(Spec(name));
    const StreamKey k = KeyFor(Spec(name), 2, 30000, spec.seed);
    TempFile f;
    WriteStreamFile(spec, k, f.path);
    const StreamFile file(f.path, k);
    CellOptions opt;
    opt.threads = 2;
    opt.ops_per_thread = k.ops_per_thread;
    opt.seed = k.seed;
    opt.chunk_ops = 5000;  // groups several stored chunks per replayed one
    opt.replay.check_contents = true;
    SystemAllocator alloc;
    const CellMeasurement generated =
        RunCell<SystemAllocator, MonotonicClock>(alloc, spec, opt);
    // Handed another spec: only a replay of the file can match the digest.
    opt.stream_file = &file;
    const WorkloadSpec other = LoadWorkloadSpec(Spec("mixed-small"));
    const CellMeasurement mapped =
        RunCell<SystemAllocator, MonotonicClock>(alloc, other, opt);
    ASSERT_FALSE(generated.failed) << generated.error;
    ASSERT_FALSE(mapped.failed) << mapped.error;
    EXPECT_EQ(mapped.digest, generated.digest);
    EXPECT_EQ(mapped.stream.ops, generated.stream.ops);
    EXPECT_EQ(mapped.stream.sends, generated.stream.sends);
    for (std::uint32_t t = 0; t < 2; ++t) {
      EXPECT_EQ(mapped.threads[t].allocs, generated.threads[t].allocs);
      EXPECT_EQ(mapped.threads[t].frees, generated.threads[t].frees);
      EXPECT_EQ(mapped.threads[t].receives, generated.threads[t].receives);
      EXPECT_EQ(mapped.threads[t].content_errors, 0u);
    }
  }
}

// Expects the file refused with a message naming it and saying `why`.
void ExpectRefused(const std::string& path, const StreamKey& k,
                   const std::string& why) {
  try {
    StreamFile file(path, k);
    ADD_FAILURE() << "accepted a file that is " << why;
  } catch (const SpecError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << msg;
    EXPECT_NE(msg.find(why), std::string::npos) << msg;
  }
}

std::vector<char> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void WriteAll(const std::string& path, const std::vector<char>& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

TEST(StreamFile, DamagedOrForeignFilesAreRefusedByName) {
  const WorkloadSpec spec = LoadWorkloadSpec(Spec("mixed-small"));
  const StreamKey k = KeyFor(Spec("mixed-small"), 1, 5000, 3);
  TempFile good;
  WriteStreamFile(spec, k, good.path);
  const std::vector<char> bytes = ReadAll(good.path);

  StreamKey other = k;
  other.seed = 4;
  ExpectRefused(good.path, other, "another workload");
  other = k;
  other.spec_hash ^= 1;
  ExpectRefused(good.path, other, "another workload");

  TempFile bad;
  for (std::size_t keep :
       {std::size_t{0}, std::size_t{40}, bytes.size() / 2, bytes.size() - 1}) {
    WriteAll(bad.path, std::vector<char>(bytes.begin(), bytes.begin() + keep));
    ExpectRefused(bad.path, k, "truncated");
  }
  std::vector<char> edited = bytes;
  edited[0] = 'X';
  WriteAll(bad.path, edited);
  ExpectRefused(bad.path, k, "not an allocmark stream file");
  edited = bytes;
  edited[8] = 2;  // version
  WriteAll(bad.path, edited);
  ExpectRefused(bad.path, k, "version 2");
  edited = bytes;
  edited[4096 + 8] ^= 1;  // thread 0's first op's size
  WriteAll(bad.path, edited);
  ExpectRefused(bad.path, k, "digest");
  edited = bytes;
  edited[bytes.size() - 1] ^= 0x40;  // the chunk table's last entry
  WriteAll(bad.path, edited);
  ExpectRefused(bad.path, k, "chunk table");
  ExpectRefused(bad.path + ".missing", k, "cannot open");
}

}  // namespace
}  // namespace allocmark
