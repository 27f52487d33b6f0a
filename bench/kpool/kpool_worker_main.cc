// main() of allocmark-worker-kpool-<backend>: generates the same op streams as
// every user-space worker and has the driver replay them, one stream per
// thread.
#include <cpuid.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "bench/base/mapped_array.h"
#include "bench/kpool/kpool.h"
#include "bench/probes/clock.h"
#include "bench/probes/latency_histogram.h"
#include "bench/probes/pool_tags.h"
#include "bench/probes/process_memory.h"
#include "bench/replay/cell_runner.h"
#include "bench/stream/stream_generator.h"
#include "bench/worker/worker_options.h"
#include "bench/worker/worker_record.h"
#include "bench/worker/worker_startup.h"

namespace allocmark {
namespace {

constexpr std::uint32_t kThroughputBatch = ALLOCMARK_MAX_BATCH;

// kvm, tcg, none, or another hypervisor's CPUID signature. The VM harness
// says it outright (ALLOCMARK_VIRTUALIZATION, from the kernel command line);
// elsewhere CPUID leaf 0x40000000 names the hypervisor.
std::string Virtualization() {
  if (const char* env = std::getenv("ALLOCMARK_VIRTUALIZATION");
      env != nullptr && *env != '\0')
    return env;
  unsigned a, b, c, d;
  __cpuid(1, a, b, c, d);
  if ((c & (1u << 31)) == 0) return "none";
  __cpuid(0x40000000, a, b, c, d);
  char sig[13] = {};
  std::memcpy(sig, &b, 4);
  std::memcpy(sig + 4, &c, 4);
  std::memcpy(sig + 8, &d, 4);
  if (std::strncmp(sig, "KVMKVMKVM", 9) == 0) return "kvm";
  if (std::strncmp(sig, "TCGTCGTCGTCG", 12) == 0) return "tcg";
  return std::string("other:") + sig;
}

// Why this workload cannot run on the backend ("" when it can): blocks
// above the backend's limit, alignments or tag counts the driver refuses.
std::string SkipReason(const WorkloadSpec& spec, KpoolBackend backend,
                       const KpoolDevice& dev) {
  std::uint64_t largest = 0, align = 0;
  for (const PhaseSpec& p : spec.phases) {
    largest = std::max(largest, p.sizes.max);
    if (p.realloc_share > 0) largest = std::max(largest, p.realloc.max);
    align = std::max(align, p.sizes.align);
  }
  const std::string name = KpoolBackendName(backend);
  if (largest > dev.MaxSize(backend))
    return "blocks up to " + std::to_string(largest) + " bytes exceed " + name +
           "'s largest block (" + std::to_string(dev.MaxSize(backend)) +
           " bytes)";
  if (align > (std::uint64_t{1} << ALLOCMARK_MAX_ALIGN_LOG2))
    return "alignment " + std::to_string(align) +
           " exceeds the driver's 4096 bytes";
  if (spec.phases.size() > ALLOCMARK_MAX_TAGS)
    return std::to_string(spec.phases.size()) +
           " phases: the driver takes at most 16 pool tags per stream";
  return "";
}

// The kernel's tick histogram as a LatencyHistogram: same bucket layout, so
// percentiles are the kernel's exactly; min and max are placed exactly, the
// sum (only the mean uses it) is overridden with the kernel's exact sum.
LatencyHistogram FromKernel(const std::uint64_t* buckets,
                            const allocmark_kind_stats& s) {
  LatencyHistogram h;
  if (s.count == 0) return h;
  const int min_bucket = BucketIndex(s.min), max_bucket = BucketIndex(s.max);
  for (int i = 0; i < kBucketCount; ++i) {
    std::uint64_t n = buckets[i];
    if (n == 0) continue;
    if (i == min_bucket) {
      h.Record(s.min, 1);
      --n;
    }
    if (i == max_bucket && n > 0) {
      h.Record(s.max, 1);
      --n;
    }
    h.Record(BucketLowerBound(i), n);
  }
  return h;
}

struct KernelThread {
  int stream = 0;
  allocmark_end end{};
  std::uint64_t ioctl_ticks = 0;             // user-measured time inside REPLAY
  std::uint64_t counted[kOpKindCount] = {};  // ops that took effect
};

struct KernelCell {
  CellMeasurement m;
  std::vector<KernelThread> threads;
  std::unique_ptr<StreamTagTally> declared;
  // The poolmon view of each tag before the cell, after the replay (live
  // figures) and after END (leaks freed).
  struct TagSnapshots {
    allocmark_tag_stats before, replayed, after;
  };
  std::map<std::string, TagSnapshots> tags;
  std::vector<std::string> tag_order;
};

std::string Errno(int rc) { return std::strerror(-rc); }

void FillBegin(allocmark_begin& b, KpoolBackend backend, const StreamPlan& plan,
               std::uint32_t batch, const WorkloadSpec& spec) {
  b = {};
  b.backend = static_cast<std::uint32_t>(backend);
  b.nr_slots = std::max<std::uint32_t>(plan.slots_per_thread, 1);
  b.nr_mailboxes = plan.mailboxes;
  b.batch = batch;
  b.nr_tags = static_cast<std::uint32_t>(spec.phases.size());
  for (std::size_t i = 0; i < spec.phases.size(); ++i)
    std::memcpy(b.tags[i], spec.phases[i].tag.data(), 4);
}

// Times a few hundred allocations of the first phase's smallest size one by
// one and picks the smallest K for which the TSC step is at most 5 % of a
// K-op batch, as user-space --batch auto does (capped at the driver's 64).
std::uint32_t ProbeKernelBatch(KpoolDevice& dev, KpoolBackend backend,
                               const WorkloadSpec& spec,
                               const ClockCalibration& clock) {
  constexpr std::uint32_t kProbeOps = 256;
  StreamPlan plan;
  plan.slots_per_thread = kProbeOps;
  allocmark_begin b;
  FillBegin(b, backend, plan, 1, spec);
  b.nr_mailboxes = 0;
  const int id = dev.Begin(b);
  if (id <= 0) return kThroughputBatch;
  const std::uint64_t size = spec.phases[0].sizes.min;
  std::vector<Op> ops;
  for (std::uint32_t i = 0; i < kProbeOps; ++i)
    ops.push_back({OpKind::kAlloc, 0, Touch::kNone, 0, i, size});
  for (std::uint32_t i = 0; i < kProbeOps; ++i)
    ops.push_back({OpKind::kFree, 0, Touch::kNone, 0, i, size});
  std::uint64_t done = 0;
  dev.Replay(id, ops.data(), ops.size(), &done);
  auto hist = std::make_unique<KpoolHistograms>();
  allocmark_end end;
  if (dev.End(id, &end, hist.get()) != 0 || end.kinds[0].count == 0)
    return kThroughputBatch;
  const LatencyHistogram h =
      FromKernel(hist->counts[ALLOCMARK_TIMED_ALLOC], end.kinds[0]);
  const double p50 =
      static_cast<double>(std::max<std::uint64_t>(h.Percentile(50), 1));
  const double step = std::max(clock.resolution_ticks, 1.0);
  std::uint32_t k = 1;
  while (k < ALLOCMARK_MAX_BATCH && step > 0.05 * k * p50) k *= 2;
  return k;
}

// The cell: the generator fills each thread's chunk, every thread replays
// its chunk through one REPLAY ioctl, repeat; then END collects the kernel's
// counts, histograms and leaks.
KernelCell RunKernelCell(KpoolDevice& dev, KpoolBackend backend,
                         const WorkloadSpec& spec, const CellOptions& opt,
                         std::uint32_t batch) {
  KernelCell kc;
  CellMeasurement& m = kc.m;
  StreamGenerator gen(spec, opt.threads, opt.ops_per_thread, opt.seed);
  m.plan = gen.plan();
  const std::uint32_t n = opt.threads;
  kc.threads.resize(n);
  kc.declared = std::make_unique<StreamTagTally>(n, m.plan.slots_per_thread);

  for (const PhaseSpec& p : spec.phases) {
    const std::string tag = TagString(p.tag);
    if (kc.tags.count(tag)) continue;
    kc.tag_order.push_back(tag);
    char raw[4];
    std::memcpy(raw, p.tag.data(), 4);
    dev.TagStats(raw, &kc.tags[tag].before);  // -ENOENT: never used, zeros
  }
  allocmark_begin begin;
  FillBegin(begin, backend, m.plan, batch, spec);
  for (std::uint32_t t = 0; t < n; ++t) {
    const int id = dev.Begin(begin);
    if (id <= 0) {
      m.failed = true;
      m.error = "BEGIN: " + Errno(id);
      return kc;
    }
    kc.threads[t].stream = id;
  }

  std::vector<MappedArray<Op>> buffers;
  std::vector<std::span<Op>> spans;
  for (std::uint32_t t = 0; t < n; ++t) {
    buffers.emplace_back(opt.chunk_ops);
    spans.emplace_back(buffers.back().data(), opt.chunk_ops);
  }
  std::vector<std::size_t> filled(n);
  MappedArray<ThreadResult> results(n);
  std::atomic<bool> stop{false};
  std::barrier sync(n + 1);
  std::vector<std::thread> workers;
  for (std::uint32_t t = 0; t < n; ++t) {
    workers.emplace_back([&, t] {
      KernelThread& kt = kc.threads[t];
      ThreadResult& r = results[t];
      while (true) {
        sync.arrive_and_wait();  // chunk ready (or stop)
        if (stop.load(std::memory_order_acquire)) break;
        const Op* ops = buffers[t].data();
        std::uint64_t done = 0;
        std::uint32_t fault = ALLOCMARK_FAULT_NONE;
        // The driver's own stateless check first: an op it would refuse
        // fails the cell here, with the driver's reason, before the chunk.
        if (const KpoolRefusal bad =
                CheckKpoolOps(begin, dev.MaxSize(backend), {ops, filled[t]});
            bad.fault != ALLOCMARK_FAULT_NONE) {
          r.failed = true;
          const Op& op = ops[bad.index];
          std::snprintf(r.error, sizeof(r.error),
                        "op kind %d slot %u arg %llu refused before REPLAY: "
                        "%s",
                        static_cast<int>(op.kind), op.slot,
                        static_cast<unsigned long long>(op.arg),
                        allocmark_fault_name(bad.fault));
          stop.store(true, std::memory_order_release);
          sync.arrive_and_wait();
          continue;
        }
        const std::uint64_t t0 = TscClock::Now();
        const int rc = dev.Replay(kt.stream, ops, filled[t], &done, &fault);
        const std::uint64_t t1 = TscClock::Now();
        kt.ioctl_ticks += t1 - t0;
        r.last_start_ticks = t0;
        r.last_end_ticks = t1;
        for (std::uint64_t i = 0; i < done; ++i)
          ++kt.counted[static_cast<int>(ops[i].kind)];
        if (rc != 0 && !r.failed) {
          r.failed = true;
          const Op& bad = ops[done];
          std::snprintf(r.error, sizeof(r.error),
                        "REPLAY: %s at op kind %d slot %u arg %llu (%s)",
                        Errno(rc).c_str(), static_cast<int>(bad.kind), bad.slot,
                        static_cast<unsigned long long>(bad.arg),
                        allocmark_fault_name(fault));
          stop.store(true, std::memory_order_release);
        }
        sync.arrive_and_wait();  // chunk done
      }
    });
  }
  bool more = true;
  std::uint64_t wall = 0;
  while (more && !stop.load()) {
    const std::uint64_t g0 = MonotonicClock::Now();
    more = gen.NextChunk(spans, filled);
    for (std::uint32_t t = 0; t < n; ++t)
      kc.declared->Add(t, std::span<const Op>(spans[t].data(), filled[t]));
    m.generate_ns += MonotonicClock::Now() - g0;
    ++m.chunks;
    sync.arrive_and_wait();
    sync.arrive_and_wait();
    std::uint64_t first = UINT64_MAX, last = 0;
    for (std::uint32_t t = 0; t < n; ++t) {
      first = std::min(first, results[t].last_start_ticks);
      last = std::max(last, results[t].last_end_ticks);
    }
    if (last > first) wall += last - first;
  }
  m.replay_end_ns = MonotonicClock::Now();
  m.wall_ticks = wall;
  const bool failed = stop.load();
  stop.store(true, std::memory_order_release);
  sync.arrive_and_wait();
  for (auto& w : workers) w.join();

  for (const std::string& tag : kc.tag_order) {
    char raw[4];
    std::memcpy(raw, tag.data(), 4);
    dev.TagStats(raw, &kc.tags[tag].replayed);
  }
  m.digest = gen.Digest();
  m.stream = gen.TotalCounts();
  m.latency.resize(n);
  auto hist = std::make_unique<KpoolHistograms>();
  for (std::uint32_t t = 0; t < n; ++t) {
    KernelThread& kt = kc.threads[t];
    ThreadResult r = results[t];
    if (const int rc = dev.End(kt.stream, &kt.end, hist.get()); rc != 0) {
      m.failed = true;
      if (m.error.empty()) m.error = "END: " + Errno(rc);
    }
    // Counts are the kernel's; ns/op comes from the driver's own timing:
    // the sum of its timed intervals around the allocator calls.
    r.allocs = kt.end.kinds[ALLOCMARK_TIMED_ALLOC].count;
    r.frees = kt.end.kinds[ALLOCMARK_TIMED_FREE].count;
    r.reallocs = kt.end.kinds[ALLOCMARK_TIMED_REALLOC].count;
    r.sends = kt.counted[static_cast<int>(OpKind::kSend)];
    r.receives = kt.counted[static_cast<int>(OpKind::kReceive)];
    r.busy_ticks = 0;
    for (int k = 0; k < ALLOCMARK_NR_TIMED; ++k) {
      r.busy_ticks += kt.end.kinds[k].sum;
      m.latency[t].op[k] = FromKernel(hist->counts[k], kt.end.kinds[k]);
    }
    if (r.failed && m.error.empty())
      m.error = "thread " + std::to_string(t) + ": " + r.error;
    m.threads.push_back(r);
  }
  for (const std::string& tag : kc.tag_order) {
    char raw[4];
    std::memcpy(raw, tag.data(), 4);
    dev.TagStats(raw, &kc.tags[tag].after);
  }
  m.failed = m.failed || failed;
  if (m.failed && m.error.empty()) m.error = "replay stopped";
  return kc;
}

// The exact mean from the kernel's sum (the rebuilt histogram's is not).
void ExactMean(Nullable<LatencyFigures>& f, const allocmark_kind_stats& s,
               const ClockCalibration& clock) {
  if (f && s.count > 0)
    f->mean_ns = clock.TicksToNs(s.sum) / static_cast<double>(s.count);
}

void ExactMeans(Nullable<OpLatencies>& l, const allocmark_kind_stats* kinds,
                const ClockCalibration& clock) {
  if (!l) return;
  ExactMean(l->alloc, kinds[0], clock);
  ExactMean(l->free, kinds[1], clock);
  ExactMean(l->realloc, kinds[2], clock);
}

// Adds what only the driver knows about a kernel run: exact means, leaks and
// tags, and where the numbers come from. The record already left out what
// the worker cannot see (WorkerContext::kernel_memory).
void AddKernelFacts(CellRecord& j, const KernelCell& kc,
                    const WorkerContext& ctx, KpoolBackend backend,
                    const KpoolDevice& dev, std::uint32_t batch,
                    const std::string& virt) {
  const CellMeasurement& m = kc.m;
  allocmark_kind_stats merged[ALLOCMARK_NR_TIMED] = {};
  std::uint64_t leaked_blocks = 0, leaked_bytes = 0, ioctl_ticks = 0;
  std::uint64_t clamped = 0;
  for (const KernelThread& kt : kc.threads) {
    clamped += kt.end.clamped;
    for (int k = 0; k < ALLOCMARK_NR_TIMED; ++k) {
      merged[k].count += kt.end.kinds[k].count;
      merged[k].sum += kt.end.kinds[k].sum;
    }
    leaked_blocks += kt.end.leaked_blocks;
    leaked_bytes += kt.end.leaked_bytes;
    ioctl_ticks += kt.ioctl_ticks;
  }
  static_assert(ALLOCMARK_NR_TIMED == 3, "alloc, free, realloc");
  ExactMeans(j.latency, merged, ctx.clock);
  if (j.per_thread) {
    for (std::size_t t = 0; t < kc.threads.size(); ++t)
      ExactMeans(j.per_thread->at(t).latency, kc.threads[t].end.kinds,
                 ctx.clock);
  }

  std::int64_t declared_blocks = 0, declared_bytes = 0;
  std::vector<PoolTagFigures>& tags = j.tags.ensure();
  for (std::size_t i = 0; i < ctx.spec->phases.size(); ++i) {
    declared_blocks += kc.declared->live_blocks(i);
    declared_bytes += kc.declared->live_bytes(i);
  }
  for (const std::string& name : kc.tag_order) {
    const KernelCell::TagSnapshots& snap = kc.tags.at(name);
    const allocmark_tag_stats &before = snap.before, &mid = snap.replayed,
                              &after = snap.after;
    std::int64_t phase = -1, decl_blocks = 0, decl_bytes = 0;
    for (std::size_t i = 0; i < ctx.spec->phases.size(); ++i) {
      if (TagString(ctx.spec->phases[i].tag) != name) continue;
      if (phase < 0) phase = static_cast<std::int64_t>(i);
      decl_blocks += kc.declared->live_blocks(i);
      decl_bytes += kc.declared->live_bytes(i);
    }
    // The driver's peak is since load; it is this cell's only when the tag
    // was idle before and the cell raised it.
    const bool own_peak =
        before.live_bytes == 0 && after.peak_bytes > before.peak_bytes;
    PoolTagFigures& t = tags.emplace_back();
    t.tag = name;
    t.phase = phase;
    t.allocs = after.allocs - before.allocs;
    t.frees = mid.frees - before.frees;
    t.live_blocks =
        static_cast<std::int64_t>(mid.live_blocks - before.live_blocks);
    t.live_bytes =
        static_cast<std::int64_t>(mid.live_bytes - before.live_bytes);
    t.leaks = after.leaks - before.leaks;
    t.peak_bytes = own_peak ? Nullable<std::int64_t>(
                                  static_cast<std::int64_t>(after.peak_bytes))
                            : nullptr;
    t.peak_bytes_reason =
        own_peak ? nullptr
                 : Nullable<std::string>(
                       "the driver's per-tag peak is since load and an "
                       "earlier cell reached it");
    t.declared_leak_blocks = decl_blocks;
    t.declared_leak_bytes = decl_bytes;
  }
  const std::int64_t blocks =
      static_cast<std::int64_t>(leaked_blocks) - declared_blocks;
  const std::int64_t bytes =
      static_cast<std::int64_t>(leaked_bytes) - declared_bytes;
  LeakFigures& leak = j.leak.ensure();
  leak.declared_blocks = declared_blocks;
  leak.blocks = std::max<std::int64_t>(blocks, 0);
  leak.bytes = std::max<std::int64_t>(bytes, 0);
  leak.kernel_leaked_blocks = leaked_blocks;
  leak.kernel_leaked_bytes = leaked_bytes;
  leak.message = nullptr;
  if (blocks > 0 || bytes > 0)
    leak.message = "leak: " + std::to_string(blocks) + " blocks, " +
                   std::to_string(bytes) + " bytes left live in " +
                   KpoolBackendName(backend);
  FailOnLeak(j);

  const std::uint64_t ops =
      m.stream.allocs + m.stream.frees + m.stream.reallocs;
  j.virtualization = virt;
  j.timing.ensure().emulated = virt == "tcg";
  KernelFacts& k = j.kernel.ensure();
  k.backend = KpoolBackendName(backend);
  k.abi_version = dev.version().abi_version;
  k.tick_khz = dev.version().tick_khz;
  k.max_block_bytes = dev.MaxSize(backend);
  k.init_on_alloc =
      (dev.version().status & ALLOCMARK_STATUS_INIT_ON_ALLOC) != 0;
  k.clamped_groups = clamped;
  k.batch = batch;
  k.ticks_to_ns =
      dev.version().tick_khz != 0
          ? "the driver's tick_khz (the kernel's TSC calibration)"
          : "user-side TSC calibration (driver reported tick_khz 0)";
  k.ns_per_op_source =
      "the driver's timed intervals around the allocator calls, summed "
      "(clock reads included, not subtracted; touches and bookkeeping "
      "excluded)";
  k.replay_ioctl_ns_per_op =
      ops ? ctx.clock.TicksToNs(ioctl_ticks) / static_cast<double>(ops) : 0.0;
  k.reallocs_in_place_reason = "the driver does not report it";
  k.emulated = virt == "tcg";
}

CellRecord SkippedRecord(const WorkerContext& ctx, const WorkloadSpec& spec,
                         std::uint32_t threads, const std::string& reason) {
  CellRecord r;
  r.allocator = ctx.allocator;
  r.allocator_version = ctx.allocator_version;
  r.workload = spec.name;
  r.threads = threads;
  r.repetition = ctx.options.repetition;
  r.status = CellStatus::kSkipped;
  r.reason = reason;
  return r;
}

int Main(int argc, char** argv) {
  const WorkerOptions options = ParseWorkerOptions(argc, argv);
  KpoolBackend backend;
  ALLOCMARK_CHECK(ParseKpoolBackend(ALLOCMARK_KPOOL_BACKEND, &backend),
                  "ALLOCMARK_KPOOL_BACKEND names no driver backend");
  const std::string name = std::string("kpool-") + KpoolBackendName(backend);
  KpoolDevice dev;
  const IdentityReport id = dev.Open();
  const std::string version =
      id.ok ? "allocmark.ko ABI " + std::to_string(dev.version().abi_version) +
                  ", " + KpoolBackendName(backend)
            : "unavailable";
  WorkloadSpec spec;
  CellOptions cell;
  if (const auto stop =
          StartWorker(options, name, name, version, id, &spec, &cell))
    return *stop;
  cell.chunk_ops =
      std::min<std::size_t>(cell.chunk_ops, ALLOCMARK_MAX_OPS_PER_CALL);

  WorkerContext ctx;
  ctx.allocator = name;
  ctx.allocator_version = version;
  ctx.identity = id;
  ctx.spec = &spec;
  ctx.options = options;
  if (const std::string why = SkipReason(spec, backend, dev); !why.empty()) {
    std::cout
        << WriteCellRecord(SkippedRecord(ctx, spec, cell.threads, why)).dump()
        << "\n";
    return 0;
  }
  // get_cycles() is the TSC on x86, the counter TscClock reads: the user-side
  // step and overhead describe the kernel's clock too.
  ClockCalibration known;
  known.source = ClockSource::kTsc;
  known.ticks_per_ns = dev.version().tick_khz != 0
                           ? static_cast<double>(dev.version().tick_khz) / 1e6
                           : Calibrate(ClockSource::kTsc).ticks_per_ns;
  ctx.clock = CalibrateWithFrequency(known);

  std::uint32_t batch = kThroughputBatch;  // fewest clock reads per op
  if (options.timed)
    batch = options.batch != 0
                ? std::min<std::uint32_t>(options.batch, ALLOCMARK_MAX_BATCH)
                : ProbeKernelBatch(dev, backend, spec, ctx.clock);
  ctx.batch = options.timed ? batch : 1;
  ctx.memory_before = ReadProcessMemory();
  const KernelCell kc = RunKernelCell(dev, backend, spec, cell, batch);
  ctx.memory_after_run = ReadProcessMemory();
  ctx.end_read_ns = MonotonicClock::Now();
  ctx.memory_after_purge = ctx.memory_after_run;
  ctx.kernel_memory = true;
  CellRecord record = WorkerRecord(ctx, kc.m);
  AddKernelFacts(record, kc, ctx, backend, dev, batch, Virtualization());
  std::cout << WriteCellRecord(record).dump() << "\n";
  std::cout.flush();
  return kc.m.failed ? 1 : 0;
}

}  // namespace
}  // namespace allocmark

int main(int argc, char** argv) { return allocmark::Main(argc, argv); }
