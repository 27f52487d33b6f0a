// fork/exec with pipes and poll-based timeout; the worker gets its own process
// group so a hanging multi-threaded worker dies whole, and dies with its
// parent. Fork, not posix_spawn, for PR_SET_PDEATHSIG in the child; no figure
// depends on it: exec gives the worker a fresh mm, whose VmHWM it reads (the
// inherited ru_maxrss is never used).
#include "bench/runner/worker_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

extern char** environ;

namespace allocmark {
namespace {

// Written by the signal handler; read by the runner between polls.
volatile sig_atomic_t g_stop_signal = 0;
// The process group of the worker running now (0: none), for the handler.
volatile sig_atomic_t g_worker_group = 0;

void OnStopSignal(int sig) {
  if (g_worker_group > 0) kill(-g_worker_group, SIGKILL);
  if (g_stop_signal != 0) _exit(128 + sig);  // the second one: leave now
  g_stop_signal = sig;
}

}  // namespace

void InstallStopHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: poll and waitpid return EINTR
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
}

int StopSignal() { return g_stop_signal; }

std::string WorkerExit::Describe(double timeout_s) const {
  if (!started) return "could not start worker: " + err;
  if (interrupted) {
    const char* abbrev = sigabbrev_np(g_stop_signal);
    return std::string("interrupted by SIG") + (abbrev ? abbrev : "?");
  }
  if (timed_out) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "timed out after %g s", timeout_s);
    return buf;
  }
  if (signal != 0) {
    const char* abbrev = sigabbrev_np(signal);
    std::string s = std::string("killed by SIG") +
                    (abbrev ? abbrev : std::to_string(signal).c_str());
    if (signal == SIGKILL) s += " (out of memory?)";
    return s;
  }
  std::string tail = err;
  while (!tail.empty() && (tail.back() == '\n' || tail.back() == ' '))
    tail.pop_back();
  const std::size_t nl = tail.rfind('\n');
  if (nl != std::string::npos) tail = tail.substr(nl + 1);
  return "exit code " + std::to_string(exit_code) +
         (tail.empty() ? "" : ": " + tail);
}

WorkerExit RunWorker(const std::vector<std::string>& argv,
                     const std::vector<std::string>& extra_env,
                     double timeout_s) {
  WorkerExit result;
  if (g_stop_signal != 0) {
    result.interrupted = true;
    return result;
  }
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) {
    result.err = std::strerror(errno);
    return result;
  }
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    result.err = std::strerror(errno);
    close(out_pipe[0]);
    close(out_pipe[1]);
    return result;
  }
  // Build argv/envp before fork: the child may only call async-signal-safe
  // code.
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_strings(extra_env);
  for (char** e = environ; *e != nullptr; ++e) {
    bool overridden = false;
    for (const auto& x : extra_env) {
      const std::size_t eq = x.find('=');
      overridden |= std::strncmp(*e, x.c_str(), eq + 1) == 0;
    }
    if (!overridden) env_strings.push_back(*e);
  }
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  const auto start = std::chrono::steady_clock::now();
  const pid_t parent = getpid();
  // Blocked across fork so the handler never sees a half-registered child.
  sigset_t stop_set, old_set;
  sigemptyset(&stop_set);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&stop_set, sig);
  sigprocmask(SIG_BLOCK, &stop_set, &old_set);
  const pid_t pid = fork();
  if (pid < 0) {
    sigprocmask(SIG_SETMASK, &old_set, nullptr);
    result.err = std::strerror(errno);
    return result;
  }
  if (pid == 0) {
    setpgid(0, 0);
    // Dies with allocmark whatever kills it; if allocmark is already gone
    // (reparented before prctl), leave at once.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    // The worker reacts to signals as a fresh process would.
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &dfl, nullptr);
    sigprocmask(SIG_SETMASK, &old_set, nullptr);
    dup2(out_pipe[1], STDOUT_FILENO);
    dup2(err_pipe[1], STDERR_FILENO);
    execve(args[0], args.data(), envp.data());
    const char msg[] = "exec failed\n";
    (void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
    _exit(127);
  }
  result.started = true;
  setpgid(pid, pid);
  g_worker_group = pid;
  sigprocmask(SIG_SETMASK, &old_set, nullptr);
  close(out_pipe[1]);
  close(err_pipe[1]);

  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  const auto deadline = start + std::chrono::duration<double>(timeout_s);
  while (open_fds > 0) {
    if (g_stop_signal != 0) {
      result.interrupted = true;
      kill(-pid, SIGKILL);
      break;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      kill(-pid, SIGKILL);
      break;
    }
    const int n =
        poll(fds, 2, static_cast<int>(std::min<long long>(left.count(), 1000)));
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      char buf[65536];
      const ssize_t got = read(fds[i].fd, buf, sizeof(buf));
      if (got > 0) {
        if (sinks[i]->size() < (64u << 20))
          sinks[i]->append(buf, static_cast<std::size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& f : fds) {
    if (f.fd >= 0) close(f.fd);
  }
  int status = 0;
  // The pipes closed, but the process may still be exiting (or hung after
  // closing them): wait with the same deadline.
  while (true) {
    const pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) break;
    if (g_stop_signal != 0 && !result.interrupted) {
      result.interrupted = true;
      kill(-pid, SIGKILL);
    }
    if (std::chrono::steady_clock::now() > deadline && !result.timed_out) {
      result.timed_out = true;
      kill(-pid, SIGKILL);
    }
    usleep(1000);
  }
  kill(-pid, SIGKILL);  // stragglers in the group
  g_worker_group = 0;
  // The handler may have killed the worker before the loops above saw it.
  if (g_stop_signal != 0) result.interrupted = true;
  result.elapsed_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
  } else if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  }
  if (result.timed_out) result.signal = 0;
  return result;
}

}  // namespace allocmark
