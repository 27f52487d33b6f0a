// The profiles meant for a pull-request gate: `ci` (callgrind figures, the
// deterministic tier) and `ci-wall` (wall-clock, repetitions for a U test).
#pragma once

#include <cstdint>
#include <string>

#include "bench/spec/workload_spec.h"

namespace allocmark {

/// What a CI profile sets when the command line does not.
struct CiProfile {
  const char* name;
  Scale scale;            ///< op counts of the workloads
  const char* workloads;  ///< replaces the default `all`
  const char* threads;    ///< one thread: callgrind serialises threads
  const char* cache;      ///< sim: instruction counts and simulated cycles
  std::uint32_t repetitions;
  /// The timed passes (latency, memory accounting): the gate needs neither,
  /// and they are two of a cell's three native processes.
  bool latency;
  /// Simulated caches (--sim-geometry syntax; the command line's goes on
  /// top). Fixed, so the gate's figures do not depend on what the runner's
  /// sysfs says, or fails to say, about its caches: a typical x86 core
  /// (32 KiB 8-way L1s) with a 1 MiB 16-way last level.
  const char* sim_geometry;
};

inline constexpr const char* kCiGeometry =
    "I1=32768,8,64;D1=32768,8,64;LL=1048576,16,64";

// ci: identical builds give identical counts, so one repetition decides.
// ci-wall: 9 repetitions, the fewest for which Google Benchmark's compare.py
// trusts a U test; its smallest two-sided p is 4e-5 (U test, 9 vs 9).
inline constexpr CiProfile kCiProfiles[] = {
    {"ci", Scale::kQuick, "fixed-64,fixed-1k,mixed-small,realloc-grow", "1",
     "sim", 1, false, kCiGeometry},
    {"ci-wall", Scale::kQuick, "fixed-64,fixed-1k,mixed-small,realloc-grow",
     "1", "off", 9, false, ""},
};

/// The CI profile called `name`, or nullptr.
inline const CiProfile* FindCiProfile(const std::string& name) {
  for (const CiProfile& p : kCiProfiles)
    if (name == p.name) return &p;
  return nullptr;
}

/// Parses --shard "i/n" (0 <= i < n <= 1000); anything else is exit 2.
void ParseShard(const std::string& text, std::uint32_t* index,
                std::uint32_t* count);

}  // namespace allocmark
