// Serialises one worker run. Only plain data crosses into JSON here; units
// are in the key names (_ns, _bytes) so readers never guess.
#include "bench/worker_record.h"

#include <cstdio>

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

}  // namespace

json WorkerRecordJson(const WorkerContext& ctx, const CellMeasurement& m) {
  const WorkloadSpec& spec = *ctx.spec;
  std::uint64_t allocs = 0, frees = 0, reallocs = 0, in_place = 0, copied = 0;
  std::uint64_t sends = 0, receives = 0, busy = 0;
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
        {"ns_per_op", ops ? ctx.clock.TicksToNs(r.busy_ticks) / ops : 0.0}};
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
  j["memory"] = {
      {"accounted", ctx.options.timed},
      {"peak_live_bytes_sum_of_threads",
       ctx.options.timed ? json(peak_live) : json(nullptr)},
      {"peak_usable_bytes_sum_of_threads",
       ctx.options.timed ? json(peak_usable) : json(nullptr)},
      {"end_live_bytes", ctx.options.timed ? json(end_live) : json(nullptr)},
      {"peak_rss_bytes", ctx.memory_after_run.peak_rss_bytes},
      {"start_rss_bytes", ctx.memory_before.rss_bytes},
      {"end_rss_bytes", ctx.memory_after_run.rss_bytes},
      {"rss_after_purge_bytes",
       ctx.has_purge ? json(ctx.memory_after_purge.rss_bytes) : json(nullptr)},
      {"purge_ns", ctx.has_purge ? json(ctx.purge_ns) : json(nullptr)},
      {"minor_faults",
       ctx.memory_after_run.minor_faults - ctx.memory_before.minor_faults},
      {"major_faults",
       ctx.memory_after_run.major_faults - ctx.memory_before.major_faults},
      {"allocator_stats", stats},
      {"allocator_stats_reason",
       ctx.has_stats ? json(nullptr) : json("adapter exposes no statistics")}};
  return j;
}

}  // namespace allocmark
