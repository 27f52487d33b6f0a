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
  bool interrupted = false;  ///< killed because the run received a stop signal
  int exit_code = -1;        ///< valid when signal == 0
  int signal = 0;            ///< the signal that killed it, if any
  std::string out;           ///< stdout: the result record
  std::string err;           ///< stderr, kept for the failure reason
  double elapsed_s = 0;

  /// "killed by SIGSEGV", "timed out after 30 s", "exit code 3: <stderr>".
  std::string Describe(double timeout_s) const;
};

/// Makes SIGINT, SIGTERM and SIGHUP stop the run instead of killing it: the
/// first one kills the running worker's process group, makes RunWorker
/// return `interrupted` and StopSignal() report it, so the caller can write
/// what it has. A second one kills the worker group and exits at once with
/// 128 + signal. Installed without SA_RESTART, so a blocked poll wakes.
void InstallStopHandlers();
/// The stop signal received since InstallStopHandlers, or 0.
int StopSignal();

/// Runs argv[0] with argv and `extra_env` ("NAME=value") added to the
/// environment; kills the whole process group after `timeout_s`. The worker
/// gets its own process group and PR_SET_PDEATHSIG(SIGKILL): it never outlives
/// allocmark, even one killed with SIGKILL. A stop signal (see
/// InstallStopHandlers) kills it and returns at once; so does a call made
/// after one was received.
WorkerExit RunWorker(const std::vector<std::string>& argv,
                     const std::vector<std::string>& extra_env,
                     double timeout_s);

}  // namespace allocmark
