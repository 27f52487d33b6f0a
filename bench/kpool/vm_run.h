// `allocmark run --vm`: runs the matrix inside a QEMU guest booted by
// driver/vm/run, kernel pools and user adapters side by side, and reports it.
#pragma once

#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace allocmark {

struct VmRunRequest {
  /// `allocmark run` arguments for the guest, without --out and --vm;
  /// workloads are named, their spec files copied in (workload_files).
  std::vector<std::string> guest_args;
  std::vector<std::string> workload_files;
  std::string out;         ///< host results path (written atomically)
  std::string bin_dir;     ///< holds guest/ with the static binaries
  std::string vm_build;    ///< driver/vm/prepare's cache; "" = <build>/vm
  double timeout_s = 900;  ///< boot-and-run limit
  int mem_mb = 1024;
  bool quiet = false;
  /// Formats the guest's results for the console (the CLI passes the
  /// console reporter; this layer never includes a reporter).
  std::function<std::string(const nlohmann::json&)> console_table;
};

/// Boots the VM, runs the guest's `allocmark run`, brings results.json back
/// over the 9p share, adds the VM context, prints the table and writes
/// `out`. Returns the guest run's exit code (0 / 1), or 1 when the VM could
/// not run (the message says why and, for missing pieces, what builds them).
int RunInVm(const VmRunRequest& request);

}  // namespace allocmark
