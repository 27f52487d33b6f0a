// RssSampler: smaps_rollup parsing, periodic samples ordered in time, phase
// requests answered with the boundary's live bytes, snapshots at end.
#include "bench/probes/rss_sampler.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace allocmark {
namespace {

TEST(SmapsRollup, ReadsRssAndLazyFree) {
  const char* text =
      "55d0c0000000-7ffd00000000 ---p 00000000 00:00 0   [rollup]\n"
      "Rss:                2048 kB\n"
      "Pss:                1024 kB\n"
      "LazyFree:             12 kB\n";
  std::uint64_t rss = 0, lazy = 0;
  ASSERT_TRUE(ParseSmapsRollup(text, &rss, &lazy));
  EXPECT_EQ(rss, 2048u * 1024);
  EXPECT_EQ(lazy, 12u * 1024);
  EXPECT_FALSE(ParseSmapsRollup("Pss: 1 kB\n", &rss, &lazy));
}

std::uint32_t FakeStats(void*, double* out, std::uint32_t max) {
  EXPECT_GE(max, 2u);
  out[0] = 1.5;
  out[1] = 2.5;
  return 2;
}

TEST(RssSampler, TicksPhasesAndSnapshots) {
  SharedLive live{};
  RssSampler sampler(&live, 2, &FakeStats, nullptr);
  sampler.Start();
  live.live.Add(4096);
  live.usable.Add(8192);
  sampler.RequestPhaseSample(1, 3);
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  live.live.Add(-4096);
  sampler.SnapshotNow(SampleEvent::kEnd);
  sampler.Stop();

  const auto samples = sampler.samples();
  ASSERT_GE(samples.size(), 4u);  // ticks every 2 ms over 30 ms, the rest
  for (std::size_t i = 1; i < samples.size(); ++i)
    EXPECT_GE(samples[i].t_ns, samples[i - 1].t_ns);
  for (const RssSample& s : samples) EXPECT_GT(s.rss_bytes, 0u);

  const auto snaps = sampler.snapshots();
  ASSERT_EQ(snaps.size(), 2u);
  EXPECT_EQ(snaps[0].sample.event, SampleEvent::kPhase);
  EXPECT_EQ(snaps[0].sample.thread, 1u);
  EXPECT_EQ(snaps[0].sample.phase, 3);
  EXPECT_EQ(snaps[0].sample.live_bytes, 4096);  // at the request itself
  EXPECT_EQ(snaps[0].sample.usable_bytes, 8192);
  EXPECT_EQ(snaps[0].stat_count, 2u);
  EXPECT_EQ(snaps[0].stats[1], 2.5);
  EXPECT_TRUE(snaps[0].have_rollup);
  EXPECT_GT(snaps[0].smaps_rss_bytes, 0u);
  EXPECT_EQ(snaps[1].sample.event, SampleEvent::kEnd);
  EXPECT_EQ(snaps[1].sample.live_bytes, 0);
  EXPECT_EQ(sampler.dropped_requests(), 0u);
}

// A full timeline halves its ticks and doubles the period, keeping events.
TEST(RssSampler, DecimatesWhenFull) {
  RssSampler sampler(nullptr, 1, nullptr, nullptr, 8, 8);
  sampler.Start();
  sampler.RequestPhaseSample(0, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  sampler.Stop();
  EXPECT_LE(sampler.samples().size(), 8u);
  EXPECT_GT(sampler.final_period_ms(), 1u);
  int phases = 0;
  for (const RssSample& s : sampler.samples())
    phases += s.event == SampleEvent::kPhase;
  EXPECT_EQ(phases, 1);
}

}  // namespace
}  // namespace allocmark
