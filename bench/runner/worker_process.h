// Starts one worker process per cell and contains whatever it does: a crash,
// a hang past the timeout or an out-of-memory kill fails that cell only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace allocmark {

struct WorkerExit {
  bool started = false;
  bool timed_out = false;
  int exit_code = -1;  ///< valid when signal == 0
  int signal = 0;      ///< the signal that killed it, if any
  std::string out;     ///< stdout: the result record
  std::string err;     ///< stderr, kept for the failure reason
  double elapsed_s = 0;

  /// "killed by SIGSEGV", "timed out after 30 s", "exit code 3: <stderr>".
  std::string Describe(double timeout_s) const;
};

/// Runs argv[0] with argv and `extra_env` ("NAME=value") added to the
/// environment; kills the whole process group after `timeout_s`.
WorkerExit RunWorker(const std::vector<std::string>& argv,
                     const std::vector<std::string>& extra_env,
                     double timeout_s);

}  // namespace allocmark
