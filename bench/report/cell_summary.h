// One summary per (workload, threads, allocator): the medians over its ok
// repetitions that the console prints. The only console file that reads
// cells by key, so it is the one to move onto the typed cell record.
#pragma once

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench/results/stability.h"

namespace allocmark {

inline constexpr double kNoFigure = std::numeric_limits<double>::quiet_NaN();

struct CellSummary {
  std::string workload;
  std::uint32_t threads = 0;
  std::string allocator;
  int ok = 0, failed = 0, skipped = 0;  ///< repetitions by status
  std::string reason;                   ///< first failure or skip reason
  Stability stability;                  ///< of ns/op over ok repetitions
  bool noisy = false;                   ///< CV above NoisyCvPct(threads)
  double ns_per_op = kNoFigure, mops_per_s = kNoFigure;
  double wait_share = kNoFigure;  ///< NaN: the cell has no hand-offs
  // Latency (ns) from the timed pass; `batch` > 1 when timed in batches.
  double alloc_p50 = kNoFigure, alloc_p99 = kNoFigure, alloc_p999 = kNoFigure;
  double free_p50 = kNoFigure, free_p99 = kNoFigure, free_p999 = kNoFigure;
  std::string timing_mode;  ///< "batched", "per-op", ... or empty
  int batch = 0;
  // The allocator's memory (bytes); also from leaking cells, which fail
  // but were measured. NaN for null: its rings are harness memory.
  double peak_rss = kNoFigure, rss_after_purge = kNoFigure;
  double rss_over_live = kNoFigure, hugepage_coverage = kNoFigure;
  // Cache counters per op, locality score.
  double instructions = kNoFigure, d1_read_misses = kNoFigure;
  double locality = kNoFigure;
  std::string cache_mode;

  bool measured() const { return ok > 0; }
  bool is_floor() const { return allocator == "null"; }
};

/// Summaries in the order cells first appear in the document. Noise comes
/// from the document's `stability` array where it has one.
std::vector<CellSummary> SummarizeCells(const nlohmann::json& results);

/// The run's thread counts, ascending, and its allocators in first-seen
/// order with `system` first and `null` last.
std::vector<std::uint32_t> ThreadCounts(const std::vector<CellSummary>& cells);
std::vector<std::string> Allocators(const std::vector<CellSummary>& cells);

}  // namespace allocmark
