// RssSampler: a thread beside the replay that reads RSS (statm, pread on a
// kept-open descriptor), the harness's resident pages and the live bytes every
// period and at every phase boundary, where it also reads smaps_rollup and
// allocator statistics.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <span>
#include <thread>

#include "bench/base/mapped_array.h"
#include "bench/probes/pool_tags.h"

namespace allocmark {

enum class SampleEvent : std::uint8_t {
  kTick = 0,   ///< periodic (--sample-ms)
  kPhase = 1,  ///< a replay thread entered a phase (= ended the previous one)
  kEnd = 2,    ///< after the workload's last op, before the purge
  kPurge = 3,  ///< after the adapter's purge hook
};
const char* SampleEventName(SampleEvent e);

/// One point of the timeline. Times are ns since the sampler started.
struct RssSample {
  std::uint64_t t_ns;
  std::uint64_t rss_bytes;      ///< statm resident pages
  std::uint64_t harness_bytes;  ///< resident pages of harness mappings
  std::int64_t live_bytes;      ///< requested bytes live in the whole cell
  std::int64_t usable_bytes;
  SampleEvent event;
  std::uint8_t phase;
  std::uint32_t thread;
};

inline constexpr std::size_t kMaxSnapshotStats = 8;

/// The fuller reading taken at phase boundaries, at the end and after purge.
/// Phase samples carry the live bytes of the boundary itself (read by the
/// requesting thread); RSS, rollup and stats are read `lag_ns` later.
struct RssSnapshot {
  RssSample sample;
  std::uint64_t smaps_rss_bytes;  ///< smaps_rollup Rss
  std::uint64_t lazyfree_bytes;   ///< smaps_rollup LazyFree (MADV_FREE'd)
  std::uint64_t anon_bytes;       ///< smaps_rollup Anonymous
  std::uint64_t anon_huge_bytes;  ///< smaps_rollup AnonHugePages
  bool have_rollup;
  std::uint64_t lag_ns;  ///< phase samples: reading time - boundary time
  std::uint32_t stat_count;
  double stats[kMaxSnapshotStats];  ///< the adapter's Stats(), in its order
};

/// Reads `Rss:` and `LazyFree:` (kB) from smaps_rollup text; false if absent.
bool ParseSmapsRollup(const char* text, std::uint64_t* rss_bytes,
                      std::uint64_t* lazyfree_bytes);
/// Also reads `Anonymous:` and `AnonHugePages:` (0 when absent: no THP).
bool ParseSmapsRollup(const char* text, RssSnapshot* snap);

class RssSampler {
 public:
  /// Writes up to `max` allocator figures; called on the sampler thread at
  /// phase boundaries only (mallinfo2 walks free lists).
  using StatsFn = std::uint32_t (*)(void* context, double* out,
                                    std::uint32_t max);

  /// `live` may be null (no accounting); period_ms > 0.
  RssSampler(const SharedLive* live, std::uint32_t period_ms,
             StatsFn stats = nullptr, void* stats_context = nullptr,
             std::size_t capacity = 2048, std::size_t snapshot_capacity = 1024);
  ~RssSampler();
  RssSampler(const RssSampler&) = delete;
  RssSampler& operator=(const RssSampler&) = delete;

  void Start();
  void Stop();

  /// From a replay thread at a phase op: lock-free, no I/O; queues the
  /// request and wakes the sampler, which takes the sample promptly.
  void RequestPhaseSample(std::uint32_t thread, std::uint8_t phase);
  /// Matches ReplayThread::on_phase.
  static void OnPhase(void* sampler, std::uint32_t thread, std::uint8_t phase) {
    static_cast<RssSampler*>(sampler)->RequestPhaseSample(thread, phase);
  }

  /// From the worker's main thread, outside the replay: a full snapshot now.
  void SnapshotNow(SampleEvent event);

  /// Valid after Stop().
  std::span<const RssSample> samples() const {
    return {samples_.data(), sample_count_};
  }
  std::span<const RssSnapshot> snapshots() const {
    return {snapshots_.data(), snapshot_count_};
  }
  std::uint64_t NowNs() const;  ///< on the timeline's clock
  std::uint64_t start_ns() const { return start_ns_; }  ///< CLOCK_MONOTONIC
  std::uint32_t period_ms() const { return base_period_ms_; }
  /// Period after decimation: when the timeline fills, every other tick is
  /// dropped and the period doubles, so memory stays bounded.
  std::uint32_t final_period_ms() const { return period_ms_.load(); }
  std::uint64_t dropped_requests() const { return dropped_; }
  /// smaps_rollup read at the tick with the highest RSS (re-read only when
  /// the RSS passed the last reading by 1/16, so a growing heap costs a few
  /// dozen reads): hugepage coverage where the heap is largest, which phase
  /// boundaries can miss. have_rollup is false if never read.
  const RssSnapshot& peak_snapshot() const { return peak_snapshot_; }

 private:
  struct Request {
    std::uint32_t ready;  // atomic_ref: 1 once thread/phase are written
    std::uint32_t thread;
    std::uint8_t phase;
    std::uint64_t t_ns;  // the boundary itself, and the live bytes then
    std::int64_t live_bytes, usable_bytes;
  };
  static constexpr std::uint32_t kRequestRing = 1024;

  void Loop();
  void DrainRequests();
  RssSample Read(SampleEvent event, std::uint32_t thread, std::uint8_t phase);
  void Append(const RssSample& s);
  std::uint64_t AppendLocked(const RssSample& s);  // returns its t_ns
  void Snapshot(const RssSample& s, std::uint64_t lag_ns);
  bool ReadRollup(RssSnapshot* snap);

  const SharedLive* live_;
  std::uint32_t base_period_ms_;
  std::atomic<std::uint32_t> period_ms_;  // doubled by decimation
  StatsFn stats_;
  void* stats_context_;
  int statm_fd_ = -1, rollup_fd_ = -1;
  std::uint64_t start_ns_ = 0;

  MappedArray<RssSample> samples_;
  std::size_t sample_count_ = 0;
  MappedArray<RssSnapshot> snapshots_;
  std::size_t snapshot_count_ = 0;
  std::mutex append_mu_;  // sampler thread vs SnapshotNow; never the replay

  MappedArray<Request> requests_;
  std::atomic<std::uint64_t> request_tail_{0};
  std::uint64_t request_head_ = 0;
  std::uint64_t dropped_ = 0;
  RssSnapshot peak_snapshot_{};         // sampler thread only
  std::atomic<std::uint32_t> wake_{0};  // futex word
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace allocmark
