// The sampler thread: futex-timed wake-ups every period or on a phase request,
// statm/smaps_rollup reads with pread on descriptors opened once, and bounded
// mmap'ed storage (never the allocator under test).
#include "bench/probes/rss_sampler.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "bench/base/harness_mappings.h"
#include "bench/probes/process_memory.h"

namespace allocmark {
namespace {

std::uint64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ULL +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

// Value in kB of the line starting with `key` (e.g. "Rss:"), as bytes.
bool FindKb(const char* text, const char* key, std::uint64_t* bytes) {
  const std::size_t len = std::strlen(key);
  for (const char* line = text; line != nullptr && *line != '\0';) {
    if (std::strncmp(line, key, len) == 0) {
      *bytes = std::strtoull(line + len, nullptr, 10) * 1024;
      return true;
    }
    line = std::strchr(line, '\n');
    if (line != nullptr) ++line;
  }
  return false;
}

}  // namespace

const char* SampleEventName(SampleEvent e) {
  switch (e) {
    case SampleEvent::kTick:
      return "tick";
    case SampleEvent::kPhase:
      return "phase";
    case SampleEvent::kEnd:
      return "end";
    case SampleEvent::kPurge:
      return "purge";
  }
  return "?";
}

bool ParseSmapsRollup(const char* text, std::uint64_t* rss_bytes,
                      std::uint64_t* lazyfree_bytes) {
  // Kernels before 4.12 have no LazyFree line: then nothing is lazily freed.
  *lazyfree_bytes = 0;
  FindKb(text, "LazyFree:", lazyfree_bytes);
  return FindKb(text, "Rss:", rss_bytes);
}

bool ParseSmapsRollup(const char* text, RssSnapshot* snap) {
  snap->anon_bytes = snap->anon_huge_bytes = 0;
  FindKb(text, "Anonymous:", &snap->anon_bytes);
  FindKb(text, "AnonHugePages:", &snap->anon_huge_bytes);
  return ParseSmapsRollup(text, &snap->smaps_rss_bytes, &snap->lazyfree_bytes);
}

RssSampler::RssSampler(const SharedLive* live, std::uint32_t period_ms,
                       StatsFn stats, void* stats_context, std::size_t capacity,
                       std::size_t snapshot_capacity)
    : live_(live),
      base_period_ms_(period_ms),
      period_ms_(period_ms),
      stats_(stats),
      stats_context_(stats_context),
      samples_(capacity),
      snapshots_(snapshot_capacity),
      requests_(kRequestRing) {
  statm_fd_ = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  rollup_fd_ = open("/proc/self/smaps_rollup", O_RDONLY | O_CLOEXEC);
  start_ns_ = MonotonicNs();
}

RssSampler::~RssSampler() {
  Stop();
  if (statm_fd_ >= 0) close(statm_fd_);
  if (rollup_fd_ >= 0) close(rollup_fd_);
}

std::uint64_t RssSampler::NowNs() const { return MonotonicNs() - start_ns_; }

void RssSampler::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void RssSampler::Stop() {
  if (!thread_.joinable()) return;
  stop_.store(true, std::memory_order_release);
  wake_.fetch_add(1, std::memory_order_release);
  syscall(SYS_futex, &wake_, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
  thread_.join();
  DrainRequests();  // requests that raced with the stop
}

void RssSampler::RequestPhaseSample(std::uint32_t thread, std::uint8_t phase) {
  const std::uint64_t i = request_tail_.fetch_add(1, std::memory_order_relaxed);
  Request& r = requests_[i % kRequestRing];
  std::atomic_ref<std::uint32_t> ready(r.ready);
  if (ready.load(std::memory_order_acquire) != 0) {
    // The ring is full of unserved requests; the sampler counts the hole.
    return;
  }
  r.thread = thread;
  r.phase = phase;
  r.t_ns = NowNs();
  if (live_ != nullptr) {
    r.live_bytes = live_->live.Load();
    r.usable_bytes = live_->usable.Load();
  }
  ready.store(1, std::memory_order_release);
  wake_.fetch_add(1, std::memory_order_release);
  syscall(SYS_futex, &wake_, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

void RssSampler::DrainRequests() {
  const std::uint64_t tail = request_tail_.load(std::memory_order_acquire);
  while (request_head_ < tail) {
    Request& r = requests_[request_head_ % kRequestRing];
    std::atomic_ref<std::uint32_t> ready(r.ready);
    // A requester between its fetch_add and its ready store: give it a
    // moment; a slot still empty after that was dropped on a full ring.
    int spins = 0;
    while (ready.load(std::memory_order_acquire) == 0 && spins < 100000) {
      __builtin_ia32_pause();
      ++spins;
    }
    if (ready.load(std::memory_order_acquire) == 0) {
      ++dropped_;
    } else {
      RssSample s = Read(SampleEvent::kPhase, r.thread, r.phase);
      s.live_bytes = r.live_bytes;
      s.usable_bytes = r.usable_bytes;
      Snapshot(s, r.t_ns);
      ready.store(0, std::memory_order_release);
    }
    ++request_head_;
  }
}

void RssSampler::Loop() {
  std::uint64_t next_tick = NowNs();
  while (!stop_.load(std::memory_order_acquire)) {
    const std::uint32_t seen = wake_.load(std::memory_order_acquire);
    DrainRequests();
    const std::uint64_t now = NowNs();
    if (now >= next_tick) {
      const RssSample tick = Read(SampleEvent::kTick, 0, 0);
      Append(tick);
      const std::uint64_t last = peak_snapshot_.sample.rss_bytes;
      if (tick.rss_bytes > last + last / 16) {
        RssSnapshot snap{};
        snap.sample = tick;
        if (ReadRollup(&snap)) peak_snapshot_ = snap;
      }
      next_tick = now + static_cast<std::uint64_t>(period_ms_.load()) * 1000000;
      continue;
    }
    const std::uint64_t wait = next_tick - now;
    timespec ts{static_cast<time_t>(wait / 1000000000),
                static_cast<long>(wait % 1000000000)};
    syscall(SYS_futex, &wake_, FUTEX_WAIT_PRIVATE, seen, &ts, nullptr, 0);
  }
}

RssSample RssSampler::Read(SampleEvent event, std::uint32_t thread,
                           std::uint8_t phase) {
  RssSample s{};
  s.rss_bytes = ReadStatmRss(statm_fd_);
  s.harness_bytes = HarnessMappings::ResidentBytes();
  if (live_ != nullptr) {
    s.live_bytes = live_->live.Load();
    s.usable_bytes = live_->usable.Load();
  }
  s.event = event;
  s.thread = thread;
  s.phase = phase;
  return s;
}

void RssSampler::Append(const RssSample& sample) {
  std::lock_guard<std::mutex> lock(append_mu_);
  AppendLocked(sample);
}

std::uint64_t RssSampler::AppendLocked(const RssSample& sample) {
  RssSample s = sample;
  s.t_ns = NowNs();  // under the lock: the timeline is ordered in time
  if (sample_count_ == samples_.size()) {
    // Full: keep every event and every other tick, double the period.
    std::size_t kept = 0, ticks = 0;
    for (std::size_t i = 0; i < sample_count_; ++i) {
      const RssSample& x = samples_[i];
      if (x.event == SampleEvent::kTick && ticks++ % 2 == 1) continue;
      samples_[kept++] = x;
    }
    sample_count_ = kept;
    period_ms_.store(period_ms_.load() * 2);
    if (sample_count_ == samples_.size()) return s.t_ns;  // all events: drop
  }
  samples_[sample_count_++] = s;
  return s.t_ns;
}

bool RssSampler::ReadRollup(RssSnapshot* snap) {
  char buf[4096];
  const ssize_t n =
      rollup_fd_ < 0 ? -1 : pread(rollup_fd_, buf, sizeof(buf) - 1, 0);
  if (n > 0) {
    buf[n] = '\0';
    snap->have_rollup = ParseSmapsRollup(buf, snap);
  }
  return snap->have_rollup;
}

void RssSampler::Snapshot(const RssSample& sample, std::uint64_t since_ns) {
  RssSnapshot snap{};
  snap.sample = sample;
  ReadRollup(&snap);
  if (stats_ != nullptr)
    snap.stat_count = stats_(stats_context_, snap.stats, kMaxSnapshotStats);
  std::lock_guard<std::mutex> lock(append_mu_);
  snap.sample.t_ns = AppendLocked(sample);
  snap.lag_ns = since_ns < snap.sample.t_ns ? snap.sample.t_ns - since_ns : 0;
  if (snapshot_count_ < snapshots_.size()) snapshots_[snapshot_count_++] = snap;
}

void RssSampler::SnapshotNow(SampleEvent event) {
  Snapshot(Read(event, 0, 0), NowNs());
}

}  // namespace allocmark
