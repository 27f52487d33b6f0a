// Pool tags: the declared-leak tally of op streams, merging of per-thread
// counts, the exact shared peak and the leak verdict's wording.
#include "bench/probes/pool_tags.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace allocmark {
namespace {

Op MakeOp(OpKind kind, std::uint8_t tag, std::uint32_t slot,
          std::uint64_t arg) {
  return {kind, 0, Touch::kNone, tag, slot, arg};
}

TEST(StreamTagTally, CountsWhatTheStreamLeavesLivePerTag) {
  StreamTagTally tally(2, 4);
  const std::vector<Op> t0 = {
      MakeOp(OpKind::kAlloc, 0, 0, 100), MakeOp(OpKind::kAlloc, 0, 1, 50),
      MakeOp(OpKind::kRealloc, 0, 1, 80),  // 50 -> 80: +30 under tag 0
      MakeOp(OpKind::kFree, 0, 0, 100), MakeOp(OpKind::kAlloc, 1, 0, 7)};
  const std::vector<Op> t1 = {MakeOp(OpKind::kReceive, 0, 2, 0),
                              MakeOp(OpKind::kFree, 1, 2, 7)};
  tally.Add(0, t0);
  tally.Add(1, t1);
  EXPECT_EQ(tally.live_blocks(0), 1);
  EXPECT_EQ(tally.live_bytes(0), 80);
  EXPECT_EQ(tally.live_blocks(1), 0);  // freed on the other thread
  EXPECT_EQ(tally.live_bytes(1), 0);
}

TEST(PoolTags, MergeAndLeakVerdict) {
  std::vector<PoolTagCounts> a(kMaxPoolTags), b(kMaxPoolTags);
  a[0] = {10, 8, 2, 200};
  b[0] = {0, 1, -1, -100};  // freed one of a's blocks
  a[3] = {4, 0, 4, 64};
  const PoolTagCounts* threads[] = {a.data(), b.data()};
  StreamTagTally declared(1, 1);
  const std::vector<Op> stream = {MakeOp(OpKind::kAlloc, 0, 0, 100)};
  declared.Add(0, stream);  // tag 0 declares one block of 100 bytes
  const std::vector<std::string> names = {"AAAA", "BBBB", "CCCC", "DDDD"};
  const std::vector<PoolTagRow> rows =
      MergePoolTags(threads, nullptr, &declared, names);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].tag, "AAAA");
  EXPECT_EQ(rows[0].allocs, 10u);
  EXPECT_EQ(rows[0].frees, 9u);
  EXPECT_EQ(rows[0].live_blocks, 1);
  EXPECT_EQ(rows[0].live_bytes, 100);
  EXPECT_EQ(rows[1].tag, "DDDD");
  const LeakVerdict v = CheckLeaks(rows);
  EXPECT_EQ(v.blocks, 4);
  EXPECT_EQ(v.bytes, 64);
  EXPECT_EQ(v.message, "leak: 4 blocks, 64 bytes under tag DDDD");
  // Only the declared leak left: no verdict.
  a[3] = {};
  EXPECT_TRUE(CheckLeaks(MergePoolTags(threads, nullptr, &declared, names))
                  .message.empty());
}

// Two threads add and remove concurrently: the value returns to zero and the
// peak is at least what one thread alone reached and at most both together.
TEST(SharedLiveCounter, PeakIsExactUnderConcurrency) {
  SharedLiveCounter c{};
  auto work = [&c] {
    for (int round = 0; round < 1000; ++round) {
      for (int i = 0; i < 10; ++i) c.Add(100);
      for (int i = 0; i < 10; ++i) c.Add(-100);
    }
  };
  std::thread t1(work), t2(work);
  t1.join();
  t2.join();
  EXPECT_EQ(c.Load(), 0);
  EXPECT_GE(c.Peak(), 1000);
  EXPECT_LE(c.Peak(), 2000);
  SharedLiveCounter single{};
  single.Add(5);
  single.Add(7);
  single.Add(-10);
  EXPECT_EQ(single.Peak(), 12);
  EXPECT_EQ(single.Load(), 2);
}

}  // namespace
}  // namespace allocmark
