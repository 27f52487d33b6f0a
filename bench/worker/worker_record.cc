// Builds the typed record of one worker run from its measurement; the
// results layer's one writer turns it into JSON.
#include "bench/worker/worker_record.h"

#include <algorithm>
#include <cstdio>

#include "bench/probes/locality_record.h"
#include "bench/probes/perf_counters_record.h"

namespace allocmark {

using nlohmann::json;

std::string HexDigest(std::uint64_t digest) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx",
                static_cast<unsigned long long>(digest));
  return buf;
}

json IdentityJson(const std::string& allocator, const std::string& version,
                  const IdentityReport& id) {
  return {{"allocator", allocator},
          {"version", version},
          {"library", id.library},
          {"ok", id.ok},
          {"detail", id.detail}};
}

namespace {

LatencyFigures LatencyOf(const LatencyHistogram& h,
                         const ClockCalibration& clock, bool with_buckets) {
  const LatencySummary s = Summarize(h, clock);
  LatencyFigures f;
  f.count = s.count;
  f.mean_ns = s.mean_ns;
  f.min_ns = s.min_ns;
  f.p50_ns = s.p50_ns;
  f.p90_ns = s.p90_ns;
  f.p99_ns = s.p99_ns;
  f.p999_ns = s.p999_ns;
  f.p9999_ns = s.p9999_ns;
  f.max_ns = s.max_ns;
  if (with_buckets) {
    std::vector<LatencyBucket>& buckets = f.buckets.ensure();
    h.ForEachNonEmptyBucket(
        [&](std::uint64_t lo, std::uint64_t hi, std::uint64_t n) {
          buckets.push_back({clock.TicksToNs(lo), clock.TicksToNs(hi + 1), n});
        });
  }
  return f;
}

OpLatencies LatenciesOf(const ThreadLatency& l, const ClockCalibration& clock,
                        bool with_buckets) {
  OpLatencies out;
  out.alloc = LatencyOf(l.op[0], clock, with_buckets);
  out.free = LatencyOf(l.op[1], clock, with_buckets);
  out.realloc = LatencyOf(l.op[2], clock, with_buckets);
  return out;
}

double Ratio(double num, double den) { return den > 0 ? num / den : 0.0; }

// The throughput pass's counters (hw mode) or the timed pass's locality; the
// runner merges both into cells[].cache. The probes hand over JSON parts.
CacheFigures CacheRecord(const WorkerContext& ctx, const CellMeasurement& m) {
  json cache = {{"mode", ctx.options.cache}};
  std::vector<PerfReading> perf;
  std::vector<std::uint64_t> ops;
  std::vector<LocalityCounts> locality;
  for (const ThreadResult& r : m.threads) {
    perf.push_back(r.perf);
    ops.push_back(r.allocs + r.frees + r.reallocs);
    locality.push_back(r.locality.counts);
  }
  if (!ctx.options.timed && ctx.options.cache == "hw")
    cache.update(PerfEventsJson(perf, ops));
  if (ctx.options.timed) cache["locality"] = LocalityJson(locality, m.sharing);
  return ReadCacheFigures(cache, "worker record cache");
}

json StatsObject(const std::vector<AllocatorStat>& names, const double* values,
                 std::uint32_t count) {
  if (count == 0) return nullptr;
  json o = json::object();
  for (std::uint32_t i = 0; i < count && i < names.size(); ++i)
    o[names[i].name] = values[i];
  return o;
}

// The allocator's share of the process's resident memory, and its peak.
struct MemorySplit {
  std::uint64_t allocator_peak = 0, allocator_end = 0,
                allocator_after_purge = 0;
  std::uint64_t sampled_peak = 0;  ///< highest allocator part of a sample
  std::uint64_t process_peak = 0;  ///< VmHWM, or a higher sample
  Nullable<double> hugepage_coverage = nullptr;
  Nullable<std::uint64_t> anon_bytes = nullptr, anon_huge_bytes = nullptr;
  std::string hugepage_reason;
};

// AnonHugePages over the anonymous pages outside the harness's mappings
// (those are never huge: MappedArray asks MADV_NOHUGEPAGE).
Nullable<double> Coverage(const RssSnapshot& snap) {
  const std::uint64_t harness = snap.sample.harness_bytes;
  const std::uint64_t anon =
      snap.anon_bytes > harness ? snap.anon_bytes - harness : 0;
  if (anon == 0) return nullptr;
  return std::min(1.0, static_cast<double>(snap.anon_huge_bytes) /
                           static_cast<double>(anon));
}

MemorySplit SplitMemory(const WorkerContext& ctx) {
  MemorySplit f;
  const ProcessMemory& run = ctx.memory_after_run;
  f.process_peak = run.peak_rss_bytes;
  // VmHWM is exact for the process; its harness share at that instant is
  // unknown, so the most the harness ever held is taken off (a lower bound
  // of the allocator's peak). The samples, each split exactly, raise it.
  std::uint64_t peak =
      AllocatorRss(ctx.baseline, run.peak_rss_bytes, ctx.harness_peak_bytes);
  if (ctx.sampler != nullptr) {
    for (const RssSample& x : ctx.sampler->samples()) {
      if (x.event == SampleEvent::kPurge) continue;
      f.process_peak = std::max(f.process_peak, x.rss_bytes);
      f.sampled_peak =
          std::max(f.sampled_peak,
                   AllocatorRss(ctx.baseline, x.rss_bytes, x.harness_bytes));
    }
  }
  f.allocator_end =
      AllocatorRss(ctx.baseline, run.rss_bytes, run.harness_bytes);
  f.allocator_after_purge =
      AllocatorRss(ctx.baseline, ctx.memory_after_purge.rss_bytes,
                   ctx.memory_after_purge.harness_bytes);
  f.allocator_peak = std::min(
      f.process_peak, std::max({peak, f.sampled_peak, f.allocator_end}));

  // Hugepage coverage where the anonymous memory was largest: a phase or
  // end sample, or the sampler's reading at its highest tick.
  if (ctx.sampler == nullptr) {
    f.hugepage_reason = ctx.options.timed
                            ? "sampler off (--sample-ms 0)"
                            : "the throughput pass runs without the sampler";
    return f;
  }
  const RssSnapshot* best = nullptr;
  auto consider = [&](const RssSnapshot& snap) {
    if (!snap.have_rollup || snap.sample.event == SampleEvent::kPurge) return;
    if (best == nullptr || snap.anon_bytes > best->anon_bytes) best = &snap;
  };
  for (const RssSnapshot& snap : ctx.sampler->snapshots()) consider(snap);
  consider(ctx.sampler->peak_snapshot());
  if (best == nullptr) {
    f.hugepage_reason = "/proc/self/smaps_rollup unreadable";
    return f;
  }
  f.hugepage_coverage = Coverage(*best);
  f.anon_bytes = best->anon_bytes;
  f.anon_huge_bytes = best->anon_huge_bytes;
  if (!f.hugepage_coverage)
    f.hugepage_reason = "no anonymous memory outside the harness";
  return f;
}

// Timeline, phase snapshots and decay-timer context from the RSS sampler.
void AddTimeline(const WorkerContext& ctx, const CellMeasurement& m,
                 MemoryFigures& memory) {
  const RssSampler* s = ctx.sampler;
  memory.sample_ms = s ? Nullable<std::uint64_t>(s->period_ms()) : nullptr;
  memory.timeline_columns =
      json{"t_ns",  "rss_bytes",     "live_bytes",         "usable_bytes",
           "event", "harness_bytes", "allocator_rss_bytes"};
  if (s == nullptr) {
    memory.timeline = json(nullptr);
    memory.timeline_reason =
        ctx.options.timed ? "sampler off (--sample-ms 0)"
                          : "the throughput pass runs without the sampler";
    memory.phase_samples = json(nullptr);
    return;
  }
  json timeline = json::array();
  for (const RssSample& x : s->samples())
    timeline.push_back(
        {x.t_ns, x.rss_bytes, x.live_bytes, x.usable_bytes,
         SampleEventName(x.event), x.harness_bytes,
         AllocatorRss(ctx.baseline, x.rss_bytes, x.harness_bytes)});
  memory.timeline = std::move(timeline);
  memory.timeline_reason = nullptr;
  memory.timeline_final_sample_ms = s->final_period_ms();
  memory.replay_end_t_ns =
      m.replay_end_ns > s->start_ns() ? m.replay_end_ns - s->start_ns() : 0;
  const std::vector<std::string> tags = [&] {
    std::vector<std::string> t;
    for (const PhaseSpec& p : ctx.spec->phases) t.push_back(TagString(p.tag));
    return t;
  }();
  json phases = json::array();
  for (const RssSnapshot& snap : s->snapshots()) {
    const RssSample& x = snap.sample;
    const std::uint64_t own =
        AllocatorRss(ctx.baseline, x.rss_bytes, x.harness_bytes);
    json p = {{"t_ns", x.t_ns},
              {"event", SampleEventName(x.event)},
              {"rss_bytes", x.rss_bytes},
              {"harness_bytes", x.harness_bytes},
              {"allocator_rss_bytes", own},
              {"live_bytes", x.live_bytes},
              {"usable_bytes", x.usable_bytes},
              {"rss_over_live", Ratio(static_cast<double>(own),
                                      static_cast<double>(x.live_bytes))}};
    if (x.event == SampleEvent::kPhase) {
      p["thread"] = x.thread;
      p["phase"] = x.phase;
      p["tag"] = x.phase < tags.size() ? json(tags[x.phase]) : json(nullptr);
      p["lag_ns"] = snap.lag_ns;
    }
    if (x.event != SampleEvent::kPhase)
      p["since_last_free_ns"] = x.t_ns + s->start_ns() > m.replay_end_ns
                                    ? x.t_ns + s->start_ns() - m.replay_end_ns
                                    : 0;
    p["smaps_rss_bytes"] =
        snap.have_rollup ? json(snap.smaps_rss_bytes) : json(nullptr);
    p["lazyfree_bytes"] =
        snap.have_rollup ? json(snap.lazyfree_bytes) : json(nullptr);
    p["rss_minus_lazyfree_bytes"] =
        snap.have_rollup ? json(snap.smaps_rss_bytes - snap.lazyfree_bytes)
                         : json(nullptr);
    p["anon_bytes"] = snap.have_rollup ? json(snap.anon_bytes) : json(nullptr);
    p["anon_huge_bytes"] =
        snap.have_rollup ? json(snap.anon_huge_bytes) : json(nullptr);
    const Nullable<double> coverage = Coverage(snap);
    p["hugepage_coverage"] =
        snap.have_rollup && coverage ? json(*coverage) : json(nullptr);
    p["allocator_stats"] = StatsObject(ctx.stats, snap.stats, snap.stat_count);
    phases.push_back(std::move(p));
  }
  memory.phase_samples = std::move(phases);
  memory.dropped_phase_requests = s->dropped_requests();
}

// Pool tags and the leak check. The timed pass counts per tag; the
// throughput pass can only compare executed allocations and frees.
void AddLeakCheck(const WorkerContext& ctx, const CellMeasurement& m,
                  bool timed, std::uint64_t allocs, std::uint64_t frees,
                  CellRecord& r) {
  const std::uint64_t declared = m.stream.leaked_blocks;
  const std::int64_t undeclared = static_cast<std::int64_t>(allocs - frees) -
                                  static_cast<std::int64_t>(declared);
  LeakFigures& leak = r.leak.ensure();
  leak.declared_blocks = static_cast<std::int64_t>(declared);
  leak.blocks = std::max<std::int64_t>(undeclared, 0);
  leak.bytes = nullptr;
  leak.message = nullptr;
  if (timed) {
    std::vector<const PoolTagCounts*> per_thread;
    for (const ThreadResult& t : m.threads) per_thread.push_back(t.tags);
    std::vector<std::string> names;
    for (const PhaseSpec& p : ctx.spec->phases)
      names.push_back(TagString(p.tag));
    const std::vector<PoolTagRow> rows = MergePoolTags(
        per_thread, ctx.shared_live, m.declared_tags.get(), names);
    std::vector<PoolTagFigures>& tags = r.tags.ensure();
    for (const PoolTagRow& row : rows) {
      PoolTagFigures t;
      t.tag = row.tag;
      t.phase = row.index;
      t.allocs = row.allocs;
      t.frees = row.frees;
      t.live_blocks = row.live_blocks;
      t.live_bytes = row.live_bytes;
      t.peak_bytes = row.peak_bytes;
      t.declared_leak_blocks = row.declared_leak_blocks;
      t.declared_leak_bytes = row.declared_leak_bytes;
      tags.push_back(std::move(t));
    }
    const LeakVerdict v = CheckLeaks(rows);
    leak.blocks = v.blocks;
    leak.bytes = v.bytes;
    if (!v.message.empty()) leak.message = v.message;
    // Only a complete replay can be judged; a failed one already says why.
    FailOnLeak(r);
  } else if (undeclared > 0) {
    leak.message = "leak: " + std::to_string(undeclared) +
                   " blocks (per-tag figures need the timed pass)";
  }
}

}  // namespace

CellRecord WorkerRecord(const WorkerContext& ctx, const CellMeasurement& m) {
  const WorkloadSpec& spec = *ctx.spec;
  std::uint64_t allocs = 0, frees = 0, reallocs = 0, in_place = 0, copied = 0;
  std::uint64_t sends = 0, receives = 0, busy = 0;
  std::uint64_t wait = 0, waits = 0, barrier_wait = 0;
  std::uint64_t peak_live = 0, peak_usable = 0, end_live = 0,
                content_errors = 0;
  std::vector<ThreadFigures> per_thread;
  for (std::size_t t = 0; t < m.threads.size(); ++t) {
    const ThreadResult& r = m.threads[t];
    allocs += r.allocs;
    frees += r.frees;
    reallocs += r.reallocs;
    in_place += r.reallocs_in_place;
    copied += r.realloc_bytes_copied;
    sends += r.sends;
    receives += r.receives;
    busy += r.busy_ticks;
    wait += r.wait_ticks;
    waits += r.waits;
    barrier_wait += r.barrier_wait_ticks;
    // Per-thread peaks are not simultaneous; their sum bounds the true peak.
    peak_live += r.peak_live_bytes;
    peak_usable += r.peak_usable_bytes;
    end_live += r.live_bytes;
    content_errors += r.content_errors;
    const std::uint64_t ops = r.allocs + r.frees + r.reallocs;
    ThreadFigures& pt = per_thread.emplace_back();
    pt.thread = t;
    pt.ops = ops;
    pt.busy_ns = ctx.clock.TicksToNs(r.busy_ticks);
    pt.ns_per_op = ops ? ctx.clock.TicksToNs(r.busy_ticks) / ops : 0.0;
    pt.wait_ns = ctx.clock.TicksToNs(r.wait_ticks);
    pt.waits = r.waits;
    pt.barrier_wait_ns = ctx.clock.TicksToNs(r.barrier_wait_ticks);
    pt.wait_share = r.busy_ticks + r.wait_ticks
                        ? static_cast<double>(r.wait_ticks) /
                              static_cast<double>(r.busy_ticks + r.wait_ticks)
                        : 0.0;
    if (!m.latency.empty())
      pt.latency = LatenciesOf(m.latency[t], ctx.clock, false);
  }
  const std::uint64_t ops = allocs + frees + reallocs;
  const double wall_ns = ctx.clock.TicksToNs(m.wall_ticks);
  const double busy_ns = ctx.clock.TicksToNs(busy);

  CellRecord j;
  j.allocator = ctx.allocator;
  j.allocator_version = ctx.allocator_version;
  j.library = ctx.identity.library;
  j.identity = ctx.identity.detail;
  j.workload = spec.name;
  j.threads = m.plan.threads;
  j.scale = ScaleName(ctx.options.scale);
  j.seed = ctx.options.seed.value_or(spec.seed);
  j.ops_per_thread = m.plan.ops_per_thread;
  j.repetition = ctx.options.repetition;
  j.status = m.failed ? CellStatus::kFailed : CellStatus::kOk;
  j.reason = m.failed ? Nullable<std::string>(m.error) : nullptr;
  j.stream_digest = HexDigest(m.digest);
  j.ops = ops;
  j.records = m.stream.ops;
  OpCounts& counts = j.counts.ensure();
  counts.allocs = allocs;
  counts.frees = frees;
  counts.reallocs = reallocs;
  // The driver resizes in place or moves without saying which.
  counts.reallocs_in_place =
      ctx.kernel_memory ? nullptr : Nullable<std::uint64_t>(in_place);
  counts.realloc_bytes_copied =
      ctx.kernel_memory ? nullptr : Nullable<std::uint64_t>(copied);
  counts.sends = sends;
  counts.receives = receives;
  counts.cross_thread_frees = m.stream.cross_thread_frees;
  counts.bytes_allocated = m.stream.bytes_allocated;
  counts.leaked_blocks_intended = m.stream.leaked_blocks;
  counts.content_errors = content_errors;
  // Proof of identical work: what ran must be what the stream asked for.
  j.complete = !m.failed && allocs == m.stream.allocs &&
               frees == m.stream.frees && reallocs == m.stream.reallocs;
  j.wall_ns = wall_ns;
  // Per-thread cost of one op (busy time summed over threads / ops) and the
  // aggregate rate (all ops / wall time).
  j.ns_per_op = ops ? busy_ns / static_cast<double>(ops) : 0.0;
  j.mops_per_s = wall_ns > 0 ? static_cast<double>(ops) / wall_ns * 1e3 : 0.0;
  // Time the threads spent waiting for each other, kept out of ns_per_op and
  // the latencies; a share above 5 % says the cell partly measured the
  // scheduler (the console flags it).
  WaitFigures& w = j.wait.ensure();
  w.wait_ns = ctx.clock.TicksToNs(wait);
  w.waits = waits;
  w.barrier_wait_ns = ctx.clock.TicksToNs(barrier_wait);
  w.wait_share =
      busy + wait ? static_cast<double>(wait) / static_cast<double>(busy + wait)
                  : 0.0;
  w.lag = m.plan.ring_depth ? Nullable<std::uint64_t>(m.plan.lag) : nullptr;
  w.ring_depth =
      m.plan.ring_depth ? Nullable<std::uint64_t>(m.plan.ring_depth) : nullptr;
  j.generate_ns = m.generate_ns;
  j.stream_source = m.from_stream_file ? "file" : "generated";
  j.chunks = m.chunks;
  j.per_thread = std::move(per_thread);
  // -1 per thread when not pinned; kernel pools do not pin.
  if (!m.pinned_cpus.empty())
    j.pinned_cpus =
        std::vector<std::int64_t>(m.pinned_cpus.begin(), m.pinned_cpus.end());
  TimingFigures& timing = j.timing.ensure();
  timing.mode = !ctx.options.timed ? "untimed"
                : ctx.batch == 1   ? "per-op"
                                   : "batched";
  timing.batch =
      ctx.options.timed ? Nullable<std::uint64_t>(ctx.batch) : nullptr;
  timing.batch_auto = ctx.options.batch == 0;
  ClockFigures& clock = j.clock.ensure();
  clock.source = ctx.clock.SourceName();
  clock.ticks_per_ns = ctx.clock.ticks_per_ns;
  clock.resolution_ns = ctx.clock.resolution_ns;
  clock.overhead_ns = ctx.clock.overhead_ns;
  if (!m.latency.empty()) {
    ThreadLatency merged{};
    for (const ThreadLatency& l : m.latency) {
      for (int k = 0; k < 3; ++k) merged.op[k].Merge(l.op[k]);
    }
    j.latency = LatenciesOf(merged, ctx.clock, true);
  }
  Nullable<StatValues> stats = nullptr;
  if (ctx.has_stats) {
    StatValues& values = stats.ensure();
    for (const AllocatorStat& s : ctx.stats) values[s.name] = s.value;
  }
  const bool timed = ctx.options.timed && ctx.shared_live != nullptr;
  // --timing clock: a timed pass that kept no accounts. Kernel memory is not
  // the worker's: live and usable bytes are not tracked there.
  const bool accounted =
      ctx.options.timed && ctx.options.account && !ctx.kernel_memory;
  const double peak_live_exact =
      timed ? static_cast<double>(ctx.shared_live->live.Peak()) : 0;
  const MemorySplit fig = SplitMemory(ctx);
  const double peak_rss = static_cast<double>(fig.allocator_peak);
  MemoryFigures& mem = j.memory.ensure();
  auto when = [](bool cond, auto value) {
    return cond ? Nullable<decltype(value)>(value) : nullptr;
  };
  mem.accounted = accounted;
  // Exact: the peak of the cell-wide sum that every thread adds to after
  // each timed segment (see README, Memory).
  mem.peak_live_bytes =
      when(timed, timed ? ctx.shared_live->live.Peak() : std::uint64_t{0});
  mem.peak_usable_bytes =
      when(timed, timed ? ctx.shared_live->usable.Peak() : std::uint64_t{0});
  mem.usable_over_requested = when(
      timed, timed ? Ratio(static_cast<double>(ctx.shared_live->usable.Peak()),
                           peak_live_exact)
                   : 0.0);
  mem.rss_over_live_at_peak =
      when(timed && peak_live_exact > 0,
           peak_live_exact > 0 ? peak_rss / peak_live_exact : 0.0);
  mem.end_rss_since_last_free_ns =
      ctx.end_read_ns > m.replay_end_ns ? ctx.end_read_ns - m.replay_end_ns : 0;
  mem.rss_after_purge_since_last_free_ns =
      when(ctx.has_purge && ctx.purge_read_ns > m.replay_end_ns,
           ctx.purge_read_ns - m.replay_end_ns);
  mem.peak_live_bytes_sum_of_threads = when(accounted, peak_live);
  mem.peak_usable_bytes_sum_of_threads = when(accounted, peak_usable);
  mem.end_live_bytes = when(accounted, end_live);
  // The allocator's part: RSS - baseline - harness growth (README, Memory);
  // the process's own figures stay beside it.
  mem.peak_rss_bytes = fig.allocator_peak;
  mem.end_rss_bytes = fig.allocator_end;
  mem.rss_after_purge_bytes = when(ctx.has_purge, fig.allocator_after_purge);
  mem.peak_rss_sampled_bytes = when(ctx.sampler != nullptr, fig.sampled_peak);
  mem.process_peak_rss_bytes = fig.process_peak;
  mem.process_peak_rss_source =
      ctx.peak_reset ? "VmHWM, reset at the baseline" : "VmHWM since exec";
  mem.process_end_rss_bytes = ctx.memory_after_run.rss_bytes;
  mem.process_rss_after_purge_bytes =
      when(ctx.has_purge, ctx.memory_after_purge.rss_bytes);
  mem.start_rss_bytes = ctx.memory_before.rss_bytes;
  mem.baseline_rss_bytes = ctx.baseline.rss_bytes;
  mem.baseline_harness_bytes = ctx.baseline.harness_bytes;
  mem.harness_peak_bytes = ctx.harness_peak_bytes;
  mem.harness_mapped_peak_bytes = ctx.harness_mapped_peak_bytes;
  mem.harness_end_bytes = ctx.memory_after_run.harness_bytes;
  mem.hugepage_coverage = fig.hugepage_coverage;
  mem.hugepage_coverage_reason =
      fig.hugepage_coverage ? nullptr
                            : Nullable<std::string>(fig.hugepage_reason);
  mem.anon_bytes_at_coverage = fig.anon_bytes;
  mem.anon_huge_bytes_at_coverage = fig.anon_huge_bytes;
  mem.purge_ns = when(ctx.has_purge, ctx.purge_ns);
  mem.minor_faults =
      ctx.memory_after_run.minor_faults - ctx.baseline_faults.minor_faults;
  mem.major_faults =
      ctx.memory_after_run.major_faults - ctx.baseline_faults.major_faults;
  mem.allocator_stats = stats;
  mem.allocator_stats_reason =
      ctx.has_stats ? nullptr
      : ctx.kernel_memory
          ? Nullable<std::string>(
                "kernel pool: RSS is the worker's own; see "
                "tags for the driver's view")
          : Nullable<std::string>("adapter exposes no statistics");
  AddTimeline(ctx, m, mem);
  if (!ctx.kernel_memory) AddLeakCheck(ctx, m, timed, allocs, frees, j);
  j.cache = CacheRecord(ctx, m);
  return j;
}

}  // namespace allocmark
