// What can be run: the adapter catalogue (name -> worker executable and
// availability) and the workload catalogue (bench/workloads/*.json).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "bench/spec/workload_spec.h"

namespace allocmark {

struct AdapterInfo {
  std::string name;  ///< as given on the command line
  std::string description;
  std::string worker;   ///< worker executable path
  std::string preload;  ///< preload:<lib> cells: the library
  bool available = false;
  std::string reason;  ///< why not available
  /// The worker ran and refused (identity mismatch, a preload that is not a
  /// malloc, a crashed probe): its cells fail. Otherwise an unavailable
  /// adapter is one this machine lacks, and its cells are skipped.
  bool refused = false;
  std::string version;
  std::string library;
};

/// Every adapter allocmark knows, in display order, with availability probed
/// by running each worker's --identity (about 5 ms each).
std::vector<AdapterInfo> AdapterCatalog(const std::string& bin_dir);

/// Resolves "a,b" / "all" / "preload:/path/lib.so" against the catalogue.
/// Throws SpecError (exit 2) naming an unknown adapter and the accepted ones.
std::vector<AdapterInfo> SelectAdapters(const std::vector<AdapterInfo>& catalog,
                                        const std::string& list,
                                        const std::string& bin_dir);

/// Directory of shipped workload specs: $ALLOCMARK_WORKLOADS, else the source
/// tree this binary was built from.
std::string WorkloadDir();

/// All specs in `dir` by name (test-only ones included, flagged).
std::map<std::string, WorkloadSpec> LoadWorkloads(const std::string& dir);

/// Resolves "a,b" / "all" / a path to a .json file; throws SpecError.
std::vector<WorkloadSpec> SelectWorkloads(
    const std::map<std::string, WorkloadSpec>& all, const std::string& list);

std::vector<std::string> SplitList(const std::string& list);

}  // namespace allocmark
