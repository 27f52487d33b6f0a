// Runs a real program (a ProgramSpec) once, under an allocator preloaded
// into it: identity from inside its processes, wall/CPU time, page faults,
// the tree's peak RSS, success or the reason it failed.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "bench/runner/catalog.h"
#include "bench/spec/program_spec.h"

namespace allocmark {

struct ProgramRunOptions {
  std::string preload;  ///< allocator library, empty for glibc
  std::string probe;    ///< liballocmark-probe.so; empty: no identity check
  std::vector<std::string> env;  ///< extra NAME=VALUE entries
  double timeout_s = 120;
};

struct ProgramRunResult {
  bool ok = false;
  std::string reason;
  double wall_s = 0, user_s = 0, sys_s = 0;
  std::int64_t minor_faults = 0, major_faults = 0;
  /// Largest VmHWM of the tree's processes, read by each at its exit (a
  /// fresh exec'd image's own peak, unlike ru_maxrss, which keeps the
  /// spawning process's size); nullopt when no process reported it.
  std::optional<std::uint64_t> peak_rss_bytes;
  std::uint64_t peak_rss_sum_bytes = 0;  ///< summed over the processes
  int processes = 0;                     ///< that the probe saw start
  std::string malloc_library;    ///< where malloc resolved in the first one
  std::optional<double> figure;  ///< the server client's figure
};

ProgramRunResult RunProgram(const ProgramSpec& spec,
                            const ProgramRunOptions& options);

/// The library a program cell preloads for `a`: empty for system, the
/// preload:<lib> file, or the malloc-replacing library the adapter's worker
/// resolved (jemalloc, mimalloc, tcmalloc, tbb-proxy). Returns false with
/// the reason for adapters that do not replace malloc for a whole program.
bool ProgramPreload(const AdapterInfo& a, std::string* preload,
                    std::string* why_not);

/// A 16-hex-digit digest of what a program cell runs: the spec file and its
/// input, so cells of different inputs are never compared.
std::string ProgramDigest(const ProgramSpec& spec);

/// The cell record fields of one run ("program" object and the timings).
nlohmann::json ProgramCellFields(const ProgramRunResult& r,
                                 const ProgramSpec& spec);

/// A shipped trace: the program's trace, recorded once under the tracer
/// into <bin>/../traces/<name>.trace and reused. Throws SpecError when the
/// recording fails.
std::string ShippedTrace(const ProgramSpec& spec, const std::string& bin_dir);

}  // namespace allocmark
