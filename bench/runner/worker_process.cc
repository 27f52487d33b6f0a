// posix_spawn with pipes and poll-based timeout; the worker gets its own
// process group so a hanging multi-threaded worker dies whole.
#include "bench/runner/worker_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

extern char** environ;

namespace allocmark {

std::string WorkerExit::Describe(double timeout_s) const {
  if (!started) return "could not start worker: " + err;
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

  // posix_spawn, not fork: glibc spawns with CLONE_VM | CLONE_VFORK, so the
  // worker never starts as a copy of this process. A forked child's memory
  // counters begin at the parent's RSS, and ru_maxrss keeps that across
  // exec; the worker reads VmHWM, but no figure should depend on the CLI.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  const auto start = std::chrono::steady_clock::now();
  pid_t pid = -1;
  const int rc =
      posix_spawn(&pid, args[0], &actions, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    result.err = std::string(args[0]) + ": " + std::strerror(rc);
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]})
      close(fd);
    return result;
  }
  result.started = true;
  setpgid(pid, pid);
  close(out_pipe[1]);
  close(err_pipe[1]);

  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  const auto deadline = start + std::chrono::duration<double>(timeout_s);
  while (open_fds > 0) {
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
    if (std::chrono::steady_clock::now() > deadline && !result.timed_out) {
      result.timed_out = true;
      kill(-pid, SIGKILL);
    }
    usleep(1000);
  }
  kill(-pid, SIGKILL);  // stragglers in the group
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
