// Simulated cache mode: the worker under valgrind's callgrind with the cache
// geometry given explicitly (sysfs or the user), and the parsed event totals.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "bench/results/cell_record.h"

namespace allocmark {

/// One simulated cache: valgrind's --I1/--D1/--LL=size,assoc,line_size.
struct CacheLevel {
  std::uint64_t size_bytes = 0;
  std::uint32_t assoc = 0;
  std::uint32_t line_bytes = 0;
  std::string source;  ///< "sysfs <path>" or "--sim-geometry"
};

struct CacheGeometry {
  CacheLevel i1, d1, ll;
};

/// Reads L1i, L1d and the last unified level from `sysfs_dir`
/// (/sys/devices/system/cpu/cpu0/cache). Levels it cannot read stay zero.
CacheGeometry ReadCacheGeometry(
    const std::string& sysfs_dir = "/sys/devices/system/cpu/cpu0/cache");

/// Applies "D1=32768,8,64;LL=33554432,16,64" (any of I1, D1, LL) over `g`.
/// Returns an error naming the bad part, or "" on success. Valgrind needs
/// power-of-two line sizes and sets; those are checked here, not by valgrind.
std::string ApplyGeometryOverride(const std::string& text, CacheGeometry& g);

/// "" when `g` can be handed to valgrind, else what is missing or invalid.
std::string CheckGeometry(const CacheGeometry& g);

/// The valgrind path, or "" when it is not installed.
std::string FindValgrind();

/// valgrind argv to put before the worker's: callgrind with collection off
/// until the worker switches it on around each replay chunk, the cache
/// simulator on with `g`, output to `out_file`.
std::vector<std::string> SimCommandPrefix(const std::string& valgrind,
                                          const CacheGeometry& g,
                                          const std::string& out_file);

/// Event totals of a callgrind output file (its "events:" and "summary:" or
/// "totals:" lines), e.g. {"Ir": n, "D1mr": n, ...}; nullopt if unreadable.
std::optional<std::vector<std::pair<std::string, std::uint64_t>>>
ParseCallgrindTotals(const std::string& path);

/// Estimated cycles from callgrind's events (the formula KCachegrind uses
/// without branch simulation): Ir + 10 * L1 misses + 100 * LL misses.
inline constexpr const char* kCycleFormula =
    "Ir + 10 * (I1mr + D1mr + D1mw) + 100 * (ILmr + DLmr + DLmw)";

/// `events` {name: per op} and `unavailable` of a sim pass from its totals.
nlohmann::json SimEventsJson(
    const std::vector<std::pair<std::string, std::uint64_t>>& totals,
    std::uint64_t ops);

nlohmann::json GeometryJson(const CacheGeometry& g);

/// Runs the worker `args` (a throughput-pass command line with `--cache sim`)
/// under callgrind and returns cells[].cache.sim: events per op, geometry,
/// the cycle formula, how much slower than `native` (the native throughput
/// pass's record) it ran, or `status`/`reason` when it could not run.
nlohmann::json RunSimPass(const std::vector<std::string>& args,
                          const std::vector<std::string>& env,
                          const CacheGeometry& g, double timeout_s,
                          const CellRecord& native);

/// cells[].cache from the passes' records: the throughput pass's `cache`
/// (hw events), the timed pass's `cache.locality`, and in sim mode `sim`
/// (events, geometry, timings, or the reason it has none).
CacheFigures MergeCacheCell(const std::string& mode, const CellRecord& untimed,
                            const CellRecord* timed, const nlohmann::json* sim);

}  // namespace allocmark
