// Serialises one worker run. Only plain data crosses into JSON here; units
// are in the key names (_ns, _bytes) so readers never guess.
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

json LatencyJson(const LatencyHistogram& h, const ClockCalibration& clock,
                 bool with_buckets) {
  const LatencySummary s = Summarize(h, clock);
  json j = {
      {"count", s.count},     {"mean_ns", s.mean_ns},   {"min_ns", s.min_ns},
      {"p50_ns", s.p50_ns},   {"p90_ns", s.p90_ns},     {"p99_ns", s.p99_ns},
      {"p999_ns", s.p999_ns}, {"p9999_ns", s.p9999_ns}, {"max_ns", s.max_ns}};
  if (with_buckets) {
    json buckets = json::array();
    h.ForEachNonEmptyBucket(
        [&](std::uint64_t lo, std::uint64_t hi, std::uint64_t n) {
          buckets.push_back({clock.TicksToNs(lo), clock.TicksToNs(hi + 1), n});
        });
    j["buckets"] =
        std::move(buckets);  // [lower_ns, upper_ns (exclusive), count]
  }
  return j;
}

double Ratio(double num, double den) { return den > 0 ? num / den : 0.0; }

// The throughput pass's counters (hw mode) or the timed pass's locality; the
// runner merges both into cells[].cache.
json CacheRecordJson(const WorkerContext& ctx, const CellMeasurement& m) {
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
  return cache;
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
struct MemoryFigures {
  std::uint64_t allocator_peak = 0, allocator_end = 0,
                allocator_after_purge = 0;
  std::uint64_t sampled_peak = 0;  ///< highest allocator part of a sample
  std::uint64_t process_peak = 0;  ///< VmHWM, or a higher sample
  json hugepage_coverage = nullptr, anon_bytes = nullptr,
       anon_huge_bytes = nullptr;
  std::string hugepage_reason;
};

// AnonHugePages over the anonymous pages outside the harness's mappings
// (those are never huge: MappedArray asks MADV_NOHUGEPAGE).
json Coverage(const RssSnapshot& snap) {
  const std::uint64_t harness = snap.sample.harness_bytes;
  const std::uint64_t anon =
      snap.anon_bytes > harness ? snap.anon_bytes - harness : 0;
  if (anon == 0) return nullptr;
  return std::min(1.0, static_cast<double>(snap.anon_huge_bytes) /
                           static_cast<double>(anon));
}

MemoryFigures SplitMemory(const WorkerContext& ctx) {
  MemoryFigures f;
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
  if (f.hugepage_coverage.is_null())
    f.hugepage_reason = "no anonymous memory outside the harness";
  return f;
}

// Timeline, phase snapshots and decay-timer context from the RSS sampler.
void AddTimeline(const WorkerContext& ctx, const CellMeasurement& m,
                 json& memory) {
  const RssSampler* s = ctx.sampler;
  memory["sample_ms"] = s ? json(s->period_ms()) : json(nullptr);
  memory["timeline_columns"] = {
      "t_ns",  "rss_bytes",     "live_bytes",         "usable_bytes",
      "event", "harness_bytes", "allocator_rss_bytes"};
  if (s == nullptr) {
    memory["timeline"] = nullptr;
    memory["timeline_reason"] =
        ctx.options.timed ? "sampler off (--sample-ms 0)"
                          : "the throughput pass runs without the sampler";
    memory["phase_samples"] = nullptr;
    return;
  }
  json timeline = json::array();
  for (const RssSample& x : s->samples())
    timeline.push_back(
        {x.t_ns, x.rss_bytes, x.live_bytes, x.usable_bytes,
         SampleEventName(x.event), x.harness_bytes,
         AllocatorRss(ctx.baseline, x.rss_bytes, x.harness_bytes)});
  memory["timeline"] = std::move(timeline);
  memory["timeline_reason"] = nullptr;
  memory["timeline_final_sample_ms"] = s->final_period_ms();
  memory["replay_end_t_ns"] =
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
    p["hugepage_coverage"] = snap.have_rollup ? Coverage(snap) : json(nullptr);
    p["allocator_stats"] = StatsObject(ctx.stats, snap.stats, snap.stat_count);
    phases.push_back(std::move(p));
  }
  memory["phase_samples"] = std::move(phases);
  memory["dropped_phase_requests"] = s->dropped_requests();
}

}  // namespace

json WorkerRecordJson(const WorkerContext& ctx, const CellMeasurement& m) {
  const WorkloadSpec& spec = *ctx.spec;
  std::uint64_t allocs = 0, frees = 0, reallocs = 0, in_place = 0, copied = 0;
  std::uint64_t sends = 0, receives = 0, busy = 0;
  std::uint64_t wait = 0, waits = 0, barrier_wait = 0;
  std::uint64_t peak_live = 0, peak_usable = 0, end_live = 0,
                content_errors = 0;
  json per_thread = json::array();
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
    json pt = {
        {"thread", t},
        {"ops", ops},
        {"busy_ns", ctx.clock.TicksToNs(r.busy_ticks)},
        {"ns_per_op", ops ? ctx.clock.TicksToNs(r.busy_ticks) / ops : 0.0},
        {"wait_ns", ctx.clock.TicksToNs(r.wait_ticks)},
        {"waits", r.waits},
        {"barrier_wait_ns", ctx.clock.TicksToNs(r.barrier_wait_ticks)},
        {"wait_share",
         r.busy_ticks + r.wait_ticks
             ? static_cast<double>(r.wait_ticks) /
                   static_cast<double>(r.busy_ticks + r.wait_ticks)
             : 0.0}};
    if (!m.latency.empty()) {
      pt["latency"] = {
          {"alloc", LatencyJson(m.latency[t].op[0], ctx.clock, false)},
          {"free", LatencyJson(m.latency[t].op[1], ctx.clock, false)},
          {"realloc", LatencyJson(m.latency[t].op[2], ctx.clock, false)}};
    }
    per_thread.push_back(std::move(pt));
  }
  const std::uint64_t ops = allocs + frees + reallocs;
  const double wall_ns = ctx.clock.TicksToNs(m.wall_ticks);
  const double busy_ns = ctx.clock.TicksToNs(busy);

  json j;
  j["allocator"] = ctx.allocator;
  j["allocator_version"] = ctx.allocator_version;
  j["library"] = ctx.identity.library;
  j["identity"] = ctx.identity.detail;
  j["workload"] = spec.name;
  j["threads"] = m.plan.threads;
  j["scale"] = ScaleName(ctx.options.scale);
  j["seed"] = ctx.options.seed.value_or(spec.seed);
  j["ops_per_thread"] = m.plan.ops_per_thread;
  j["repetition"] = ctx.options.repetition;
  j["status"] = m.failed ? "failed" : "ok";
  j["reason"] = m.failed ? json(m.error) : json(nullptr);
  j["stream_digest"] = HexDigest(m.digest);
  j["ops"] = ops;
  j["records"] = m.stream.ops;
  j["counts"] = {{"allocs", allocs},
                 {"frees", frees},
                 {"reallocs", reallocs},
                 {"reallocs_in_place", in_place},
                 {"realloc_bytes_copied", copied},
                 {"sends", sends},
                 {"receives", receives},
                 {"cross_thread_frees", m.stream.cross_thread_frees},
                 {"bytes_allocated", m.stream.bytes_allocated},
                 {"leaked_blocks_intended", m.stream.leaked_blocks},
                 {"content_errors", content_errors}};
  // Proof of identical work: what ran must be what the stream asked for.
  const bool complete = !m.failed && allocs == m.stream.allocs &&
                        frees == m.stream.frees &&
                        reallocs == m.stream.reallocs;
  j["complete"] = complete;
  j["wall_ns"] = wall_ns;
  // Per-thread cost of one op (busy time summed over threads / ops) and the
  // aggregate rate (all ops / wall time).
  j["ns_per_op"] = ops ? busy_ns / static_cast<double>(ops) : 0.0;
  j["mops_per_s"] =
      wall_ns > 0 ? static_cast<double>(ops) / wall_ns * 1e3 : 0.0;
  // Time the threads spent waiting for each other, kept out of ns_per_op and
  // the latencies; a share above 5 % says the cell partly measured the
  // scheduler (the console flags it).
  j["wait"] = {{"wait_ns", ctx.clock.TicksToNs(wait)},
               {"waits", waits},
               {"barrier_wait_ns", ctx.clock.TicksToNs(barrier_wait)},
               {"wait_share", busy + wait ? static_cast<double>(wait) /
                                                static_cast<double>(busy + wait)
                                          : 0.0},
               {"lag", m.plan.ring_depth ? json(m.plan.lag) : json(nullptr)},
               {"ring_depth",
                m.plan.ring_depth ? json(m.plan.ring_depth) : json(nullptr)}};
  j["generate_ns"] = m.generate_ns;
  j["chunks"] = m.chunks;
  j["per_thread"] = std::move(per_thread);
  j["timing"] = {{"mode", !ctx.options.timed ? "untimed"
                          : ctx.batch == 1   ? "per-op"
                                             : "batched"},
                 {"batch", ctx.options.timed ? json(ctx.batch) : json(nullptr)},
                 {"batch_auto", ctx.options.batch == 0}};
  j["clock"] = {{"source", ctx.clock.SourceName()},
                {"ticks_per_ns", ctx.clock.ticks_per_ns},
                {"resolution_ns", ctx.clock.resolution_ns},
                {"overhead_ns", ctx.clock.overhead_ns}};
  if (!m.latency.empty()) {
    ThreadLatency merged{};
    for (const ThreadLatency& l : m.latency) {
      for (int k = 0; k < 3; ++k) merged.op[k].Merge(l.op[k]);
    }
    j["latency"] = {{"alloc", LatencyJson(merged.op[0], ctx.clock, true)},
                    {"free", LatencyJson(merged.op[1], ctx.clock, true)},
                    {"realloc", LatencyJson(merged.op[2], ctx.clock, true)}};
  }
  json stats = nullptr;
  if (ctx.has_stats) {
    stats = json::object();
    for (const AllocatorStat& s : ctx.stats) stats[s.name] = s.value;
  }
  const bool timed = ctx.options.timed && ctx.shared_live != nullptr;
  // --timing clock: a timed pass that kept no accounts.
  const bool accounted = ctx.options.timed && ctx.options.account;
  const double peak_live_exact =
      timed ? static_cast<double>(ctx.shared_live->live.Peak()) : 0;
  const MemoryFigures fig = SplitMemory(ctx);
  const double peak_rss = static_cast<double>(fig.allocator_peak);
  j["memory"] = {
      {"accounted", accounted},
      // Exact: the peak of the cell-wide sum that every thread adds to after
      // each timed segment (see README, Memory).
      {"peak_live_bytes",
       timed ? json(ctx.shared_live->live.Peak()) : json(nullptr)},
      {"peak_usable_bytes",
       timed ? json(ctx.shared_live->usable.Peak()) : json(nullptr)},
      {"usable_over_requested",
       timed ? json(Ratio(static_cast<double>(ctx.shared_live->usable.Peak()),
                          peak_live_exact))
             : json(nullptr)},
      {"rss_over_live_at_peak", timed && peak_live_exact > 0
                                    ? json(peak_rss / peak_live_exact)
                                    : json(nullptr)},
      {"end_rss_since_last_free_ns", ctx.end_read_ns > m.replay_end_ns
                                         ? ctx.end_read_ns - m.replay_end_ns
                                         : 0},
      {"rss_after_purge_since_last_free_ns",
       ctx.has_purge && ctx.purge_read_ns > m.replay_end_ns
           ? json(ctx.purge_read_ns - m.replay_end_ns)
           : json(nullptr)},
      {"peak_live_bytes_sum_of_threads",
       accounted ? json(peak_live) : json(nullptr)},
      {"peak_usable_bytes_sum_of_threads",
       accounted ? json(peak_usable) : json(nullptr)},
      {"end_live_bytes", accounted ? json(end_live) : json(nullptr)},
      // The allocator's part: RSS - baseline - harness growth (README,
      // Memory); the process's own figures stay beside it.
      {"peak_rss_bytes", fig.allocator_peak},
      {"end_rss_bytes", fig.allocator_end},
      {"rss_after_purge_bytes",
       ctx.has_purge ? json(fig.allocator_after_purge) : json(nullptr)},
      {"peak_rss_sampled_bytes",
       ctx.sampler ? json(fig.sampled_peak) : json(nullptr)},
      {"process_peak_rss_bytes", fig.process_peak},
      {"process_peak_rss_source",
       ctx.peak_reset ? "VmHWM, reset at the baseline" : "VmHWM since exec"},
      {"process_end_rss_bytes", ctx.memory_after_run.rss_bytes},
      {"process_rss_after_purge_bytes",
       ctx.has_purge ? json(ctx.memory_after_purge.rss_bytes) : json(nullptr)},
      {"start_rss_bytes", ctx.memory_before.rss_bytes},
      {"baseline_rss_bytes", ctx.baseline.rss_bytes},
      {"baseline_harness_bytes", ctx.baseline.harness_bytes},
      {"harness_peak_bytes", ctx.harness_peak_bytes},
      {"harness_mapped_peak_bytes", ctx.harness_mapped_peak_bytes},
      {"harness_end_bytes", ctx.memory_after_run.harness_bytes},
      {"hugepage_coverage", fig.hugepage_coverage},
      {"hugepage_coverage_reason", fig.hugepage_coverage.is_null()
                                       ? json(fig.hugepage_reason)
                                       : json(nullptr)},
      {"anon_bytes_at_coverage", fig.anon_bytes},
      {"anon_huge_bytes_at_coverage", fig.anon_huge_bytes},
      {"purge_ns", ctx.has_purge ? json(ctx.purge_ns) : json(nullptr)},
      {"minor_faults",
       ctx.memory_after_run.minor_faults - ctx.baseline_faults.minor_faults},
      {"major_faults",
       ctx.memory_after_run.major_faults - ctx.baseline_faults.major_faults},
      {"allocator_stats", stats},
      {"allocator_stats_reason",
       ctx.has_stats ? json(nullptr) : json("adapter exposes no statistics")}};
  AddTimeline(ctx, m, j["memory"]);

  // Pool tags and the leak check. The timed pass counts per tag; the
  // throughput pass can only compare executed allocations and frees.
  const std::uint64_t declared = m.stream.leaked_blocks;
  const std::int64_t undeclared = static_cast<std::int64_t>(allocs - frees) -
                                  static_cast<std::int64_t>(declared);
  json leak = {{"declared_blocks", declared},
               {"blocks", std::max<std::int64_t>(undeclared, 0)},
               {"bytes", nullptr},
               {"message", nullptr}};
  if (timed) {
    std::vector<const PoolTagCounts*> per_thread;
    for (const ThreadResult& r : m.threads) per_thread.push_back(r.tags);
    std::vector<std::string> names;
    for (const PhaseSpec& p : spec.phases) names.push_back(TagString(p.tag));
    const std::vector<PoolTagRow> rows = MergePoolTags(
        per_thread, ctx.shared_live, m.declared_tags.get(), names);
    json tags = json::array();
    for (const PoolTagRow& r : rows)
      tags.push_back({{"tag", r.tag},
                      {"phase", r.index},
                      {"allocs", r.allocs},
                      {"frees", r.frees},
                      {"live_blocks", r.live_blocks},
                      {"live_bytes", r.live_bytes},
                      {"peak_bytes", r.peak_bytes},
                      {"declared_leak_blocks", r.declared_leak_blocks},
                      {"declared_leak_bytes", r.declared_leak_bytes}});
    j["tags"] = std::move(tags);
    const LeakVerdict v = CheckLeaks(rows);
    leak["blocks"] = v.blocks;
    leak["bytes"] = v.bytes;
    if (!v.message.empty()) leak["message"] = v.message;
  } else if (undeclared > 0) {
    leak["message"] = "leak: " + std::to_string(undeclared) +
                      " blocks (per-tag figures need the timed pass)";
  }
  // Only a complete replay can be judged; a failed one already says why.
  if (!m.failed && timed && leak["message"].is_string()) {
    j["status"] = "failed";
    j["reason"] = leak["message"];
  }
  j["leak"] = std::move(leak);
  j["cache"] = CacheRecordJson(ctx, m);
  return j;
}

}  // namespace allocmark
