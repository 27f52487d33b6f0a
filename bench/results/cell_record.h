// The typed cell record: one struct family mirroring cells[] of
// results/schema.json, written by workers and read by everything after them.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "bench/base/check.h"

namespace allocmark {

/// A field of a record: absent from the document, present as null, or a
/// value. Reads like std::optional; a round trip keeps the three apart, so
/// "not measured" (null, often with a *_reason beside it) is never confused
/// with "not written by this kind of record" (absent).
template <class T>
class Nullable {
 public:
  Nullable() = default;
  Nullable(std::nullptr_t) : state_(kNull) {}
  template <class U = T>
  requires(std::is_convertible_v<U&&, T> &&
           !std::is_same_v<std::decay_t<U>, std::nullptr_t> &&
           !std::is_same_v<std::decay_t<U>, Nullable>) Nullable(U&& v)
      : state_(kValue), value_(std::forward<U>(v)) {}

  bool present() const { return state_ != kAbsent; }
  bool is_null() const { return state_ == kNull; }
  bool has_value() const { return state_ == kValue; }
  explicit operator bool() const { return has_value(); }
  const T& operator*() const {
    ALLOCMARK_CHECK(has_value(), "read of an absent or null record field");
    return value_;
  }
  T& operator*() {
    ALLOCMARK_CHECK(has_value(), "read of an absent or null record field");
    return value_;
  }
  const T* operator->() const { return &**this; }
  T* operator->() { return &**this; }
  T value_or(T fallback) const { return has_value() ? value_ : fallback; }
  /// Makes the field a default value (if it is not one) and returns it.
  T& ensure() {
    if (!has_value()) *this = T{};
    return value_;
  }
  bool operator==(const Nullable&) const = default;

 private:
  enum State : unsigned char { kAbsent, kNull, kValue } state_ = kAbsent;
  T value_{};
};

/// A sub-tree the record carries whole (a probe's own part, a timeline):
/// nullopt is absent, a JSON null is null.
using OpaqueJson = std::optional<nlohmann::json>;

/// A record or results document that does not match the schema. The message
/// names the field ("cells[3].memory.peak_rss_bytes: expected ...").
class RecordError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class CellStatus { kOk, kFailed, kSkipped };
const char* CellStatusName(CellStatus s);

// Every struct below lists its fields once, in an X-macro: X(type, json_key).
// The reader and writer are generated from the same lists; a key the list
// does not name is kept in `extra`, so a round trip loses nothing.

using StatValues = std::map<std::string, double>;
using EventValues = std::map<std::string, Nullable<double>>;
using Reasons = std::map<std::string, std::string>;

/// One non-empty histogram bucket: [lower_ns, upper_ns (exclusive), count].
struct LatencyBucket {
  double lower_ns = 0, upper_ns = 0;
  std::uint64_t count = 0;
  bool operator==(const LatencyBucket&) const = default;
};

#define ALLOCMARK_LATENCY_FIELDS(X) \
  X(Nullable<std::uint64_t>, count) \
  X(Nullable<double>, mean_ns)      \
  X(Nullable<double>, min_ns)       \
  X(Nullable<double>, p50_ns)       \
  X(Nullable<double>, p90_ns)       \
  X(Nullable<double>, p99_ns)       \
  X(Nullable<double>, p999_ns)      \
  X(Nullable<double>, p9999_ns)     \
  X(Nullable<double>, max_ns)       \
  X(Nullable<std::vector<LatencyBucket>>, buckets)

#define ALLOCMARK_OP_LATENCIES_FIELDS(X) \
  X(Nullable<LatencyFigures>, alloc)     \
  X(Nullable<LatencyFigures>, free)      \
  X(Nullable<LatencyFigures>, realloc)

#define ALLOCMARK_WAIT_FIELDS(X)       \
  X(Nullable<double>, wait_ns)         \
  X(Nullable<std::uint64_t>, waits)    \
  X(Nullable<double>, barrier_wait_ns) \
  X(Nullable<double>, wait_share)      \
  X(Nullable<std::uint64_t>, lag)      \
  X(Nullable<std::uint64_t>, ring_depth)

#define ALLOCMARK_COUNTS_FIELDS(X)                   \
  X(Nullable<std::uint64_t>, allocs)                 \
  X(Nullable<std::uint64_t>, frees)                  \
  X(Nullable<std::uint64_t>, reallocs)               \
  X(Nullable<std::uint64_t>, reallocs_in_place)      \
  X(Nullable<std::uint64_t>, realloc_bytes_copied)   \
  X(Nullable<std::uint64_t>, sends)                  \
  X(Nullable<std::uint64_t>, receives)               \
  X(Nullable<std::uint64_t>, cross_thread_frees)     \
  X(Nullable<std::uint64_t>, bytes_allocated)        \
  X(Nullable<std::uint64_t>, leaked_blocks_intended) \
  X(Nullable<std::uint64_t>, content_errors)

#define ALLOCMARK_THREAD_FIELDS(X)     \
  X(Nullable<std::uint64_t>, thread)   \
  X(Nullable<std::uint64_t>, ops)      \
  X(Nullable<double>, busy_ns)         \
  X(Nullable<double>, ns_per_op)       \
  X(Nullable<double>, wait_ns)         \
  X(Nullable<std::uint64_t>, waits)    \
  X(Nullable<double>, barrier_wait_ns) \
  X(Nullable<double>, wait_share)      \
  X(Nullable<OpLatencies>, latency)

#define ALLOCMARK_TIMING_FIELDS(X)         \
  X(Nullable<std::string>, mode)           \
  X(Nullable<std::uint64_t>, batch)        \
  X(Nullable<bool>, batch_auto)            \
  X(Nullable<double>, untimed_ns_per_op)   \
  X(Nullable<double>, timed_ns_per_op)     \
  X(Nullable<double>, timing_cost_pct)     \
  X(Nullable<double>, accounted_ns_per_op) \
  X(Nullable<bool>, emulated)

#define ALLOCMARK_CLOCK_FIELDS(X)             \
  X(Nullable<std::string>, source)            \
  X(Nullable<double>, ticks_per_ns)           \
  X(Nullable<double>, ticks_per_ns_rel_error) \
  X(Nullable<double>, resolution_ns)          \
  X(Nullable<double>, overhead_ns)

// Kernel pools: where the figures come from. A cell adds latency_pass, the
// timed pass's own copy of these facts.
#define ALLOCMARK_KERNEL_FIELDS(X)                   \
  X(Nullable<std::string>, backend)                  \
  X(Nullable<std::uint64_t>, abi_version)            \
  X(Nullable<std::uint64_t>, tick_khz)               \
  X(Nullable<std::uint64_t>, max_block_bytes)        \
  X(Nullable<bool>, init_on_alloc)                   \
  X(Nullable<std::uint64_t>, clamped_groups)         \
  X(Nullable<std::uint64_t>, batch)                  \
  X(Nullable<std::string>, ticks_to_ns)              \
  X(Nullable<std::string>, ns_per_op_source)         \
  X(Nullable<double>, replay_ioctl_ns_per_op)        \
  X(Nullable<std::string>, reallocs_in_place_reason) \
  X(Nullable<bool>, emulated)

// cells[].cache: the perf-counter, callgrind and locality probes' parts,
// carried whole where they are the probe's own.
#define ALLOCMARK_CACHE_FIELDS(X)   \
  X(Nullable<std::string>, mode)    \
  X(Nullable<EventValues>, events)  \
  X(Nullable<Reasons>, unavailable) \
  X(Nullable<bool>, multiplexed)    \
  X(OpaqueJson, per_thread)         \
  X(OpaqueJson, sim)                \
  X(OpaqueJson, locality)           \
  X(Nullable<std::string>, locality_reason)

#define ALLOCMARK_MEMORY_FIELDS(X)                               \
  X(Nullable<bool>, accounted)                                   \
  X(Nullable<std::uint64_t>, peak_live_bytes)                    \
  X(Nullable<std::uint64_t>, peak_usable_bytes)                  \
  X(Nullable<double>, usable_over_requested)                     \
  X(Nullable<double>, rss_over_live_at_peak)                     \
  X(Nullable<std::uint64_t>, end_rss_since_last_free_ns)         \
  X(Nullable<std::uint64_t>, rss_after_purge_since_last_free_ns) \
  X(Nullable<std::uint64_t>, peak_live_bytes_sum_of_threads)     \
  X(Nullable<std::uint64_t>, peak_usable_bytes_sum_of_threads)   \
  X(Nullable<std::uint64_t>, end_live_bytes)                     \
  X(Nullable<std::uint64_t>, peak_rss_bytes)                     \
  X(Nullable<std::uint64_t>, end_rss_bytes)                      \
  X(Nullable<std::uint64_t>, rss_after_purge_bytes)              \
  X(Nullable<std::uint64_t>, peak_rss_sampled_bytes)             \
  X(Nullable<std::uint64_t>, process_peak_rss_bytes)             \
  X(Nullable<std::string>, process_peak_rss_source)              \
  X(Nullable<std::uint64_t>, process_end_rss_bytes)              \
  X(Nullable<std::uint64_t>, process_rss_after_purge_bytes)      \
  X(Nullable<std::uint64_t>, start_rss_bytes)                    \
  X(Nullable<std::uint64_t>, baseline_rss_bytes)                 \
  X(Nullable<std::uint64_t>, baseline_harness_bytes)             \
  X(Nullable<std::uint64_t>, harness_peak_bytes)                 \
  X(Nullable<std::uint64_t>, harness_mapped_peak_bytes)          \
  X(Nullable<std::uint64_t>, harness_end_bytes)                  \
  X(Nullable<double>, hugepage_coverage)                         \
  X(Nullable<std::string>, hugepage_coverage_reason)             \
  X(Nullable<std::uint64_t>, anon_bytes_at_coverage)             \
  X(Nullable<std::uint64_t>, anon_huge_bytes_at_coverage)        \
  X(Nullable<std::uint64_t>, purge_ns)                           \
  X(Nullable<std::uint64_t>, minor_faults)                       \
  X(Nullable<std::uint64_t>, major_faults)                       \
  X(Nullable<StatValues>, allocator_stats)                       \
  X(Nullable<std::string>, allocator_stats_reason)               \
  X(Nullable<std::uint64_t>, sample_ms)                          \
  X(OpaqueJson, timeline_columns)                                \
  X(OpaqueJson, timeline)                                        \
  X(Nullable<std::string>, timeline_reason)                      \
  X(Nullable<std::uint64_t>, timeline_final_sample_ms)           \
  X(Nullable<std::uint64_t>, replay_end_t_ns)                    \
  X(OpaqueJson, phase_samples)                                   \
  X(Nullable<std::uint64_t>, dropped_phase_requests)

#define ALLOCMARK_POOL_TAG_FIELDS(X)              \
  X(Nullable<std::string>, tag)                   \
  X(Nullable<std::int64_t>, phase)                \
  X(Nullable<std::uint64_t>, allocs)              \
  X(Nullable<std::uint64_t>, frees)               \
  X(Nullable<std::int64_t>, live_blocks)          \
  X(Nullable<std::int64_t>, live_bytes)           \
  X(Nullable<std::uint64_t>, leaks)               \
  X(Nullable<std::int64_t>, peak_bytes)           \
  X(Nullable<std::string>, peak_bytes_reason)     \
  X(Nullable<std::int64_t>, declared_leak_blocks) \
  X(Nullable<std::int64_t>, declared_leak_bytes)

#define ALLOCMARK_LEAK_FIELDS(X)                   \
  X(Nullable<std::int64_t>, declared_blocks)       \
  X(Nullable<std::int64_t>, blocks)                \
  X(Nullable<std::int64_t>, bytes)                 \
  X(Nullable<std::string>, message)                \
  X(Nullable<std::uint64_t>, kernel_leaked_blocks) \
  X(Nullable<std::uint64_t>, kernel_leaked_bytes)

// The cell's identity (allocator, workload, threads, status) is always
// written; everything else may be absent.
#define ALLOCMARK_CELL_FIELDS(X)                                      \
  X(Nullable<std::uint64_t>, repetition)                              \
  X(Nullable<std::string>, scale)                                     \
  X(Nullable<std::string>, reason)                                    \
  X(Nullable<std::string>, stream_digest)                             \
  X(Nullable<std::uint64_t>, ops)                                     \
  X(Nullable<double>, wall_ns)                                        \
  X(Nullable<double>, ns_per_op)                                      \
  X(Nullable<double>, mops_per_s)                                     \
  X(Nullable<WaitFigures>, wait)                                      \
  X(Nullable<std::string>, allocator_version)                         \
  X(Nullable<std::string>, library)                                   \
  X(Nullable<std::string>, identity)                                  \
  X(Nullable<std::uint64_t>, seed)                                    \
  X(Nullable<std::uint64_t>, ops_per_thread)                          \
  X(Nullable<std::uint64_t>, records)                                 \
  X(Nullable<bool>, complete)                                         \
  X(Nullable<OpCounts>, counts)                                       \
  X(Nullable<std::vector<ThreadFigures>>, per_thread)                 \
  X(Nullable<std::uint64_t>, generate_ns)                             \
  X(Nullable<std::string>, stream_source)                             \
  X(Nullable<std::uint64_t>, chunks)                                  \
  X(Nullable<std::vector<std::int64_t>>, pinned_cpus)                 \
  X(Nullable<double>, process_s)                                      \
  X(Nullable<TimingFigures>, timing)                                  \
  X(Nullable<ClockFigures>, clock)                                    \
  X(Nullable<std::string>, virtualization)                            \
  X(Nullable<KernelFacts>, kernel)                                    \
  X(Nullable<CacheFigures>, cache)                                    \
  X(Nullable<OpLatencies>, latency)                                   \
  X(Nullable<std::vector<Nullable<OpLatencies>>>, latency_per_thread) \
  X(Nullable<MemoryFigures>, memory)                                  \
  X(Nullable<std::vector<PoolTagFigures>>, tags)                      \
  X(Nullable<LeakFigures>, leak)

#define ALLOCMARK_RECORD_MEMBER(type, key) type key;
#define ALLOCMARK_RECORD_STRUCT(Name, FIELDS)                       \
  struct Name {                                                     \
    FIELDS(ALLOCMARK_RECORD_MEMBER)                                 \
    /** Keys the field list does not name, kept for round trips. */ \
    nlohmann::json extra = nlohmann::json::object();                \
    bool operator==(const Name&) const = default;                   \
  };

ALLOCMARK_RECORD_STRUCT(LatencyFigures, ALLOCMARK_LATENCY_FIELDS)
ALLOCMARK_RECORD_STRUCT(OpLatencies, ALLOCMARK_OP_LATENCIES_FIELDS)
ALLOCMARK_RECORD_STRUCT(WaitFigures, ALLOCMARK_WAIT_FIELDS)
ALLOCMARK_RECORD_STRUCT(OpCounts, ALLOCMARK_COUNTS_FIELDS)
ALLOCMARK_RECORD_STRUCT(ThreadFigures, ALLOCMARK_THREAD_FIELDS)
ALLOCMARK_RECORD_STRUCT(TimingFigures, ALLOCMARK_TIMING_FIELDS)
ALLOCMARK_RECORD_STRUCT(ClockFigures, ALLOCMARK_CLOCK_FIELDS)
ALLOCMARK_RECORD_STRUCT(KernelPassFacts, ALLOCMARK_KERNEL_FIELDS)
#define ALLOCMARK_KERNEL_CELL_FIELDS(X) \
  ALLOCMARK_KERNEL_FIELDS(X)            \
  X(Nullable<KernelPassFacts>, latency_pass)
ALLOCMARK_RECORD_STRUCT(KernelFacts, ALLOCMARK_KERNEL_CELL_FIELDS)
ALLOCMARK_RECORD_STRUCT(CacheFigures, ALLOCMARK_CACHE_FIELDS)
ALLOCMARK_RECORD_STRUCT(MemoryFigures, ALLOCMARK_MEMORY_FIELDS)
ALLOCMARK_RECORD_STRUCT(PoolTagFigures, ALLOCMARK_POOL_TAG_FIELDS)
ALLOCMARK_RECORD_STRUCT(LeakFigures, ALLOCMARK_LEAK_FIELDS)

/// One cell of results/schema.json, or one worker pass's record (the same
/// shape; the runner merges a cell's passes into one).
struct CellRecord {
  std::string allocator, workload;
  std::uint32_t threads = 0;
  CellStatus status = CellStatus::kSkipped;
  ALLOCMARK_CELL_FIELDS(ALLOCMARK_RECORD_MEMBER)
  /// Keys the field list does not name, kept for round trips.
  nlohmann::json extra = nlohmann::json::object();
  bool operator==(const CellRecord&) const = default;

  bool ok() const { return status == CellStatus::kOk; }
};

/// The one reader: a cell object of a results document or a worker record.
/// Throws RecordError naming the field (`where` prefixes the message).
CellRecord ReadCellRecord(const nlohmann::json& cell,
                          const std::string& where = "cell");
/// The cells[] of a results document, in order.
std::vector<CellRecord> ReadCellRecords(const nlohmann::json& document);
/// The one writer; WriteCellRecord(ReadCellRecord(j)) == j.
nlohmann::json WriteCellRecord(const CellRecord& cell);
/// cells[].cache alone: the probes (perf counters, locality, callgrind) hand
/// over their parts as JSON; this checks and types them like the reader.
CacheFigures ReadCacheFigures(const nlohmann::json& cache,
                              const std::string& where = "cache");
nlohmann::json WriteCacheFigures(const CacheFigures& cache);

/// A pass's kernel facts, as a cell's latency_pass.
KernelPassFacts PassFacts(const KernelFacts& facts);

/// The one "did this cell leak" rule: the end-of-cell check left a message,
/// and it is the verdict that counts (the cell was ok, or failed for the leak
/// itself). A replay that failed for another reason also leaves blocks live,
/// by design; its own reason is the one that counts.
bool Leaked(const CellRecord& cell);
/// An ok cell with a leak message fails with that message as its reason.
void FailOnLeak(CellRecord& cell);

}  // namespace allocmark
