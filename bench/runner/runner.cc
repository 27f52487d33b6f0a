// Runs cells, merges each cell's untimed (throughput) and timed (latency,
// memory) typed worker records, and checks that every row did identical work.
#include "bench/runner/runner.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <tuple>

#include "bench/results/cell_record.h"
#include "bench/results/stability_table.h"
#include "bench/runner/program_run.h"
#include "bench/runner/stream_cache.h"
#include "bench/runner/worker_process.h"

namespace allocmark {

using nlohmann::json;

namespace {

inline constexpr int kSchemaVersion = 1;
// Valgrind runs a worker 20-100 times slower; --timeout is for native runs.
inline constexpr double kSimTimeoutFactor = 20;

bool NeedsTwoThreads(const WorkloadSpec& spec) {
  for (const PhaseSpec& p : spec.phases) {
    if (p.cross_thread_share > 0) return true;
  }
  return false;
}

CellRecord BaseCell(const AdapterInfo& a, const WorkloadSpec& w,
                    std::uint32_t threads, std::uint32_t rep,
                    const RunPlan& plan) {
  CellRecord c;
  c.allocator = a.name;
  c.workload = w.name;
  c.threads = threads;
  c.repetition = rep;
  c.scale = ScaleName(plan.scale);
  c.status = CellStatus::kSkipped;
  c.reason = nullptr;
  c.stream_digest = nullptr;
  c.ops = nullptr;
  c.wall_ns = nullptr;
  c.ns_per_op = nullptr;
  return c;
}

std::vector<std::string> WorkerArgs(const AdapterInfo& a, const WorkloadSpec& w,
                                    std::uint32_t threads, std::uint32_t rep,
                                    const RunPlan& plan,
                                    const ClockCalibration& clock, bool timed,
                                    const std::string& stream_file) {
  std::vector<std::string> args = {a.worker,
                                   "--workload",
                                   w.path,
                                   "--threads",
                                   std::to_string(threads),
                                   "--scale",
                                   ScaleName(plan.scale),
                                   "--timing",
                                   timed ? "on" : "off",
                                   "--repetition",
                                   std::to_string(rep)};
  if (plan.ops_per_thread)
    args.insert(args.end(), {"--ops", std::to_string(*plan.ops_per_thread)});
  if (plan.seed)
    args.insert(args.end(), {"--seed", std::to_string(*plan.seed)});
  args.insert(args.end(),
              {"--batch", plan.batch ? std::to_string(plan.batch) : "auto"});
  if (plan.check_contents) args.push_back("--check");
  if (plan.pin) args.push_back("--pin");
  if (timed)
    args.insert(args.end(), {"--sample-ms", std::to_string(plan.sample_ms)});
  // Counters ride on the throughput pass; sim mode adds its own pass.
  args.insert(args.end(),
              {"--cache", !timed && plan.cache == "hw" ? "hw" : "off"});
  if (clock.source == ClockSource::kTsc) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.9f", clock.ticks_per_ns);
    args.insert(args.end(), {"--ticks-per-ns", buf});
  }
  if (!a.preload.empty())
    args.insert(args.end(), {"--expect-malloc-from", a.preload});
  if (!stream_file.empty())
    args.insert(args.end(), {"--stream-file", stream_file});
  return args;
}

// A pass that left no record: the runner's own record of why.
CellRecord FailedPass(const std::string& reason) {
  CellRecord r;
  r.status = CellStatus::kFailed;
  r.reason = reason;
  return r;
}

// One worker pass; returns its record, or a failed record with the reason.
CellRecord RunPass(const std::vector<std::string>& args, const AdapterInfo& a,
                   double timeout_s) {
  std::vector<std::string> env;
  if (!a.preload.empty()) env.push_back("LD_PRELOAD=" + a.preload);
  const WorkerExit exit = RunWorker(args, env, timeout_s);
  if (!exit.interrupted && !exit.timed_out && exit.signal == 0 &&
      (exit.exit_code == 0 || exit.exit_code == 1)) {
    std::string malformed;
    try {
      const json doc = json::parse(exit.out);
      if (doc.is_object()) {
        CellRecord record = ReadCellRecord(doc, "worker record");
        record.process_s = exit.elapsed_s;  // sim mode's yardstick
        return record;
      }
    } catch (const RecordError& e) {
      malformed = e.what();
    } catch (const std::exception&) {
    }
    if (!malformed.empty())
      return FailedPass("worker wrote a malformed record: " + malformed);
    // Exited as if it had run, but left no record: say so, not "exit code 0".
    std::string said = exit.out.substr(0, 60);
    for (char& ch : said) {
      if (ch == '\n' || ch == '\r' || ch == '\t') ch = ' ';
    }
    std::string reason = "worker exited with code " +
                         std::to_string(exit.exit_code) +
                         " but wrote no result record";
    reason +=
        said.empty() ? " (stdout empty)" : " (stdout began: '" + said + "')";
    const std::string described = exit.Describe(timeout_s);
    if (const std::size_t colon = described.find(": ");
        colon != std::string::npos)
      reason += described.substr(colon);  // the last line of stderr
    return FailedPass(reason);
  }
  return FailedPass(exit.Describe(timeout_s));
}

std::vector<Nullable<OpLatencies>> PerThreadLatency(const CellRecord& pass) {
  std::vector<Nullable<OpLatencies>> out;
  if (pass.per_thread) {
    for (const ThreadFigures& pt : *pass.per_thread)
      out.push_back(pt.latency.present() ? pt.latency : nullptr);
  }
  return out;
}

// The timing mode, ns/op, timing cost and latency of a timed pass: the
// accounted one, then the clock-only one where there is one.
void TakeTimedPass(const CellRecord& untimed, const CellRecord& pass,
                   TimingFigures& timing, CellRecord& cell) {
  if (pass.timing) {
    timing.mode = pass.timing->mode;
    timing.batch = pass.timing->batch;
    timing.batch_auto = pass.timing->batch_auto;
  }
  timing.timed_ns_per_op = pass.ns_per_op;
  const double u = untimed.ns_per_op.value_or(0);
  const double v = pass.ns_per_op.value_or(0);
  timing.timing_cost_pct = u > 0 ? (v - u) / u * 100 : 0.0;
  cell.latency = pass.latency.present() ? pass.latency : nullptr;
  cell.latency_per_thread = PerThreadLatency(pass);
}

// The cell from its passes' records: the throughput pass (ns/op, counts,
// memory), the timed pass (accounted memory, tags, leak) and the clock pass
// (latency, from a pass that only reads the clock).
CellRecord MergeCell(CellRecord cell, const CellRecord& untimed,
                     const CellRecord* timed, const CellRecord* clock) {
  // A worker may find the cell outside its adapter's limits (a kernel
  // backend's largest block): skipped with its reason, not failed.
  if (untimed.status == CellStatus::kSkipped) {
    cell.reason = untimed.reason.value_or("skipped by worker");
    return cell;
  }
  if (!untimed.ok() && !Leaked(untimed)) {
    cell.status = CellStatus::kFailed;
    cell.reason = "throughput pass: " + untimed.reason.value_or("unknown");
    return cell;
  }
  cell.allocator_version = untimed.allocator_version;
  cell.library = untimed.library;
  cell.identity = untimed.identity;
  cell.seed = untimed.seed;
  cell.ops_per_thread = untimed.ops_per_thread;
  cell.stream_digest = untimed.stream_digest;
  cell.ops = untimed.ops;
  cell.records = untimed.records;
  cell.counts = untimed.counts;
  cell.complete = untimed.complete;
  cell.wall_ns = untimed.wall_ns;
  cell.ns_per_op = untimed.ns_per_op;
  cell.mops_per_s = untimed.mops_per_s;
  cell.wait = untimed.wait;
  cell.per_thread = untimed.per_thread;
  cell.generate_ns = untimed.generate_ns;
  cell.chunks = untimed.chunks;
  cell.pinned_cpus = untimed.pinned_cpus;
  // Kernel pools: where the numbers come from and whether they are emulated.
  cell.virtualization = untimed.virtualization;
  cell.kernel = untimed.kernel;
  const bool complete = untimed.complete.value_or(false);
  cell.status = complete ? CellStatus::kOk : CellStatus::kFailed;
  if (!complete) cell.reason = "ops executed differ from the stream";
  cell.leak = untimed.leak.present() ? untimed.leak : nullptr;
  if (Leaked(untimed)) {
    cell.status = CellStatus::kFailed;
    cell.reason = *untimed.leak->message;
  }
  TimingFigures timing;
  timing.mode = "untimed";
  timing.batch = nullptr;
  timing.batch_auto = nullptr;
  timing.untimed_ns_per_op = untimed.ns_per_op;
  timing.timed_ns_per_op = nullptr;
  timing.timing_cost_pct = nullptr;
  cell.latency = nullptr;
  cell.memory = untimed.memory;
  if (timed != nullptr) {
    const CellRecord& t = *timed;
    // A leak fails the cell but leaves its measurements worth reading.
    const bool leaked = Leaked(t);
    if (!t.ok() && !leaked) {
      cell.status = CellStatus::kFailed;
      cell.reason = "latency pass: " + t.reason.value_or("unknown");
    } else if (t.stream_digest != untimed.stream_digest) {
      cell.status = CellStatus::kFailed;
      cell.reason = "latency pass replayed a different stream";
    } else {
      TakeTimedPass(untimed, t, timing, cell);
      if (t.kernel) {
        timing.emulated = t.timing && t.timing->emulated.value_or(false);
        cell.kernel.ensure().latency_pass = PassFacts(*t.kernel);
      }
      cell.memory = t.memory;  // accounted: live and usable bytes
      cell.tags = t.tags.present() ? t.tags : nullptr;
      cell.leak = t.leak;
      if (leaked) {
        cell.status = CellStatus::kFailed;
        cell.reason = *t.leak->message;
      }
      // Latency and the timing cost come from the pass that only reads the
      // clock; the accounted pass's ns/op shows what the accounting costs.
      if (clock != nullptr && cell.ok()) {
        const CellRecord& c = *clock;
        if (!c.ok()) {
          cell.status = CellStatus::kFailed;
          cell.reason = "clock pass: " + c.reason.value_or("unknown");
        } else if (c.stream_digest != untimed.stream_digest) {
          cell.status = CellStatus::kFailed;
          cell.reason = "clock pass replayed a different stream";
        } else {
          timing.accounted_ns_per_op = t.ns_per_op;
          TakeTimedPass(untimed, c, timing, cell);
        }
      }
    }
  }
  cell.timing = timing;
  return cell;
}

// One run of a real program under adapter `a` (bench/runner/program_run.h).
// Its figures (the `program` part) ride in the record's extra keys.
CellRecord ProgramCell(const AdapterInfo& a, const ProgramSpec& p,
                       std::uint32_t rep, const RunPlan& plan) {
  WorkloadSpec w;
  w.name = std::string(kProgramPrefix) + p.name;
  CellRecord cell = BaseCell(a, w, 1, rep, plan);
  cell.seed = nullptr;
  cell.ops_per_thread = 1;
  std::string preload, why_not;
  if (!a.available) {
    if (a.refused) cell.status = CellStatus::kFailed;
    cell.reason = a.reason;
    return cell;
  }
  if (!ProgramPreload(a, &preload, &why_not)) {
    cell.reason = why_not;
    return cell;
  }
  ProgramRunOptions o;
  o.preload = preload;
  o.probe = plan.probe_lib;
  o.timeout_s = plan.timeout_s;
  const ProgramRunResult r = RunProgram(p, o);
  json j = WriteCellRecord(cell);
  j.update(ProgramCellFields(r, p));
  j["status"] = r.ok ? "ok" : "failed";
  j["reason"] = r.ok ? json(nullptr) : json(r.reason);
  j["allocator_version"] = a.version;
  return ReadCellRecord(j, "program cell");
}

// Rows of the same workload, threads, scale and seed must have one digest.
void CheckDigests(std::vector<CellRecord>& cells) {
  std::map<std::string, std::map<std::string, int>> digests;
  auto number = [](const Nullable<std::uint64_t>& v) {
    return v ? std::to_string(*v) : std::string("null");
  };
  auto key = [&](const CellRecord& c) {
    return c.workload + "/" + std::to_string(c.threads) + "/" +
           c.scale.value_or("") + "/" + number(c.seed) + "/" +
           number(c.ops_per_thread);
  };
  for (const CellRecord& c : cells) {
    if (c.ok()) ++digests[key(c)][c.stream_digest.value_or("")];
  }
  for (CellRecord& c : cells) {
    if (!c.ok()) continue;
    const auto& seen = digests[key(c)];
    if (seen.size() > 1) {
      c.status = CellStatus::kFailed;
      c.reason =
          "stream digest differs from other allocators' for the same workload";
    }
  }
}

}  // namespace

std::vector<std::uint32_t> ParseThreadList(const std::string& text) {
  auto number = [&](const std::string& s) -> std::uint32_t {
    char* end = nullptr;
    errno = 0;
    const unsigned long v = std::strtoul(s.c_str(), &end, 10);
    if (s.empty() || s[0] == '-' || *end != '\0' || errno != 0 || v == 0 ||
        v > kMaxThreads)
      throw SpecError("--threads: '" + s + "' is not a thread count in [1, " +
                      std::to_string(kMaxThreads) +
                      "] (use 1,2,4 or 1..16 or 1..16:1)");
    return static_cast<std::uint32_t>(v);
  };
  // SplitList drops empty items; here "1,,2" or "2," is a typo to refuse.
  if (text.empty() || text.front() == ',' || text.back() == ',' ||
      text.find(",,") != std::string::npos)
    throw SpecError("--threads: '" + text +
                    "' has an empty item (use 1,2,4 or 1..16 or 1..16:1)");
  std::vector<std::uint32_t> out;
  for (const std::string& item : SplitList(text)) {
    const std::size_t dots = item.find("..");
    if (dots == std::string::npos) {
      out.push_back(number(item));
      continue;
    }
    const std::uint32_t lo = number(item.substr(0, dots));
    std::string rest = item.substr(dots + 2);
    std::uint32_t step = 0;  // 0: powers of two
    if (const std::size_t colon = rest.find(':'); colon != std::string::npos) {
      step = number(rest.substr(colon + 1));
      rest = rest.substr(0, colon);
    }
    const std::uint32_t hi = number(rest);
    if (lo > hi)
      throw SpecError("--threads: range '" + item + "' runs backwards");
    for (std::uint32_t t = lo; t <= hi; t = step ? t + step : t * 2)
      out.push_back(t);
  }
  if (out.empty())
    throw SpecError("--threads: empty list (use 1,2,4 or 1..16)");
  return out;
}

RunOutcome RunMatrix(const RunPlan& plan, const ClockCalibration& clock,
                     const json& context) {
  RunOutcome outcome;
  std::vector<CellRecord> cells;
  // Cells in matrix order (programs, then workloads); a shard keeps every
  // shard_count-th of them.
  std::size_t per_rep = plan.programs.size() * plan.adapters.size();
  for (const WorkloadSpec& w : plan.workloads)
    per_rep +=
        (w.trace_path.empty() ? plan.threads.size() : 1) * plan.adapters.size();
  std::size_t in_shard = 0;
  for (std::size_t i = 0; i < per_rep; ++i) in_shard += InShard(plan, i);
  const std::size_t total = plan.repetitions * in_shard;
  std::size_t done = 0;
  StreamCache streams(plan.stream_cache);
  // Interleaved: repetition r of every cell before r + 1, so slow drift of
  // the machine spreads over all allocators instead of favouring one.
  for (std::uint32_t r = 0; r < plan.repetitions && !StopSignal(); ++r) {
    const std::uint32_t rep = plan.first_repetition + r;
    std::size_t ordinal = 0;
    for (const ProgramSpec& p : plan.programs) {
      for (const AdapterInfo& a : plan.adapters) {
        if (StopSignal()) break;
        if (!InShard(plan, ordinal++)) continue;
        ++done;
        if (plan.progress) {
          std::fprintf(stderr, "\r\033[K[%zu/%zu] rep %u %s program:%s", done,
                       total, rep + 1, a.name.c_str(), p.name.c_str());
          std::fflush(stderr);
        }
        cells.push_back(ProgramCell(a, p, rep, plan));
      }
    }
    for (const WorkloadSpec& w : plan.workloads) {
      if (StopSignal()) break;
      // A trace replays with the threads it was recorded with, once.
      const std::vector<std::uint32_t> thread_counts =
          w.trace_path.empty() ? plan.threads
                               : std::vector<std::uint32_t>{w.threads};
      for (std::uint32_t threads : thread_counts) {
        if (StopSignal()) break;
        for (const AdapterInfo& a : plan.adapters) {
          if (StopSignal()) break;
          if (!InShard(plan, ordinal++)) continue;
          ++done;
          if (plan.progress) {
            std::fprintf(stderr, "\r\033[K[%zu/%zu] rep %u %s %s x%u", done,
                         total, rep + 1, a.name.c_str(), w.name.c_str(),
                         threads);
            std::fflush(stderr);
          }
          CellRecord cell = BaseCell(a, w, threads, rep, plan);
          if (!a.available) {
            // Skipped is for what this machine lacks; a worker that ran and
            // refused (another allocator found, a preload that is no malloc)
            // is a failure a CI job must see.
            if (a.refused) cell.status = CellStatus::kFailed;
            cell.reason = a.reason;
          } else if (threads == 1 && NeedsTwoThreads(w)) {
            cell.reason = "cross-thread workload needs at least 2 threads";
          } else {
            const std::string stream = streams.Path(
                w, threads,
                plan.ops_per_thread.value_or(
                    w.ops_per_thread[static_cast<int>(plan.scale)]),
                plan.seed.value_or(w.seed));
            const CellRecord untimed = RunPass(
                WorkerArgs(a, w, threads, rep, plan, clock, false, stream), a,
                plan.timeout_s);
            std::optional<CellRecord> timed;
            // A leak fails the cell, but the timed pass still runs: it
            // names the tags the leaked blocks belong to.
            if (plan.latency && (untimed.ok() || Leaked(untimed)))
              timed = RunPass(
                  WorkerArgs(a, w, threads, rep, plan, clock, true, stream), a,
                  plan.timeout_s);
            // The latency figures come from a third pass that reads the
            // clock and keeps no accounts (kernel pools time in the driver
            // and have no such pass).
            std::optional<CellRecord> clock_pass;
            if (timed && timed->ok() && !timed->kernel.present()) {
              std::vector<std::string> args =
                  WorkerArgs(a, w, threads, rep, plan, clock, true, stream);
              std::find(args.begin(), args.end(), "--timing")[1] = "clock";
              clock_pass = RunPass(args, a, plan.timeout_s);
            }
            cell =
                MergeCell(std::move(cell), untimed, timed ? &*timed : nullptr,
                          clock_pass ? &*clock_pass : nullptr);
            if (untimed.ok()) {
              json sim;
              if (plan.cache == "sim") {
                std::vector<std::string> args =
                    WorkerArgs(a, w, threads, rep, plan, clock, false, stream);
                const auto flag =
                    std::find(args.begin(), args.end(), "--cache");
                flag[1] = "sim";
                std::vector<std::string> env;
                if (!a.preload.empty())
                  env.push_back("LD_PRELOAD=" + a.preload);
                // Test fault slow:<adapter>: the native pass's extra work.
                if (untimed.extra.contains("test_fault_slow_steps"))
                  env.push_back("ALLOCMARK_TEST_FAULT_SLOW_STEPS=" +
                                untimed.extra["test_fault_slow_steps"].dump());
                sim = RunSimPass(args, env, plan.sim_geometry,
                                 plan.timeout_s * kSimTimeoutFactor, untimed);
                if (sim["status"] != "ok" && cell.ok()) {
                  cell.status = CellStatus::kFailed;
                  cell.reason = "sim pass: " + sim["reason"].get<std::string>();
                }
              }
              cell.cache =
                  MergeCacheCell(plan.cache, untimed, timed ? &*timed : nullptr,
                                 sim.is_null() ? nullptr : &sim);
            }
          }
          // A cell cut short by a stop signal measured nothing: dropped, and
          // the document says the run is incomplete.
          if (StopSignal()) break;
          cells.push_back(std::move(cell));
        }
      }
    }
  }
  if (plan.progress) std::fprintf(stderr, "\r\033[K");
  outcome.interrupted_by = StopSignal();
  outcome.cells_planned = total;
  CheckDigests(cells);
  // Per cell over its repetitions: CV and the median's confidence interval
  // of ns/op, so a reader sees which differences the noise can explain.
  const json stability = StabilityTable(cells);
  json cell_list = json::array();
  for (const CellRecord& c : cells) {
    if (c.status == CellStatus::kOk) ++outcome.cells_ok;
    if (c.status == CellStatus::kFailed) ++outcome.cells_failed;
    if (c.status == CellStatus::kSkipped) ++outcome.cells_skipped;
    cell_list.push_back(WriteCellRecord(c));
  }
  json adapters = json::array();
  for (const AdapterInfo& a : plan.adapters) {
    adapters.push_back(
        {{"name", a.name},
         {"available", a.available},
         {"reason", a.available ? json(nullptr) : json(a.reason)},
         {"version", a.version},
         {"library", a.library}});
  }
  json run = {
      {"profile", plan.profile},
      {"scale", ScaleName(plan.scale)},
      {"repetitions", plan.repetitions},
      {"timeout_s", plan.timeout_s},
      {"latency_pass", plan.latency},
      {"check_contents", plan.check_contents},
      {"pin", plan.pin},
      {"cache", plan.cache},
      {"sim_geometry",
       plan.cache == "sim" ? GeometryJson(plan.sim_geometry) : json(nullptr)},
      {"batch", plan.batch ? json(plan.batch) : json("auto")},
      {"stream_cache", streams.Summary()},
      {"complete", outcome.interrupted_by == 0},
      {"interrupted_by", outcome.interrupted_by == 0
                             ? json(nullptr)
                             : json(std::string("SIG") +
                                    (sigabbrev_np(outcome.interrupted_by)
                                         ? sigabbrev_np(outcome.interrupted_by)
                                         : "?"))},
      {"cells_planned", total},
      {"first_repetition", plan.first_repetition},
      {"shard", plan.shard_count > 1 ? json{{"index", plan.shard_index},
                                            {"count", plan.shard_count}}
                                     : json(nullptr)}};
  outcome.results = {{"schema_version", kSchemaVersion},
                     {"context", context},
                     {"run", run},
                     {"adapters", adapters},
                     {"cells", std::move(cell_list)},
                     {"stability", stability}};
  return outcome;
}

}  // namespace allocmark
