// Program cells: spawn the program (and a server's client and stop command)
// with the allocator and the probe preloaded, wait with a timeout, and read
// what the probe wrote from inside each process.
#include "bench/runner/program_run.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

extern char** environ;

namespace allocmark {
namespace {

namespace fs = std::filesystem;

double Now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  close(fd);
  return port;
}

bool Accepts(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  close(fd);
  return ok;
}

std::vector<std::string> Expand(std::vector<std::string> argv, int port,
                                const std::string& dir) {
  for (std::string& a : argv) {
    for (const auto& [key, value] :
         {std::pair<std::string, std::string>{"{port}", std::to_string(port)},
          {"{dir}", dir}}) {
      for (std::size_t at; (at = a.find(key)) != std::string::npos;)
        a.replace(at, key.size(), value);
    }
  }
  return argv;
}

// Spawns argv in its own process group (a timeout kills the whole tree),
// stdin from `in`, stdout and stderr to `out`, cwd `cwd`.
pid_t Spawn(const std::vector<std::string>& argv,
            const std::vector<std::string>& extra_env, const std::string& in,
            const std::string& out, const std::string& cwd) {
  std::vector<std::string> env = extra_env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const std::string key = entry.substr(0, entry.find('=') + 1);
    if (std::none_of(env.begin(), env.end(), [&](const std::string& x) {
          return x.rfind(key, 0) == 0;
        }))
      env.push_back(entry);
  }
  std::vector<char*> a, e;
  for (const std::string& s : argv) a.push_back(const_cast<char*>(s.c_str()));
  a.push_back(nullptr);
  for (const std::string& s : env) e.push_back(const_cast<char*>(s.c_str()));
  e.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(
      &fa, 0, in.empty() ? "/dev/null" : in.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  pid_t pid = -1;
  if (posix_spawn(&pid, a[0], &fa, &attr, a.data(), e.data()) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  return pid;
}

// Waits until `pid` exits or `deadline` passes (then kills its group).
bool WaitFor(pid_t pid, double deadline, int* status, rusage* ru) {
  while (true) {
    const pid_t r = wait4(pid, status, WNOHANG, ru);
    if (r == pid) return true;
    if (r < 0 && errno != EINTR) return false;
    if (Now() > deadline) {
      kill(-pid, SIGKILL);
      wait4(pid, status, 0, ru);
      return false;
    }
    usleep(2000);
  }
}

std::string Describe(int status) {
  if (WIFEXITED(status))
    return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return std::string("killed by ") + strsignal(WTERMSIG(status));
  return "status " + std::to_string(status);
}

std::string Real(const std::string& path) {
  std::error_code ec;
  const fs::path p = fs::canonical(path, ec);
  return ec ? path : p.string();
}

// The probe's lines: "start PID malloc LIB mapped M", "exit PID hwm_kb K".
void ReadProbe(const std::string& text, pid_t main_pid,
               const std::string& expect, ProgramRunResult& r) {
  std::istringstream in(text);
  std::string word;
  while (in >> word) {
    if (word == "start") {
      long pid = 0;
      std::string m, lib, mapped_word;
      int mapped = 0;
      in >> pid >> m >> lib >> mapped_word >> mapped;
      ++r.processes;
      if (pid == main_pid || r.malloc_library.empty()) r.malloc_library = lib;
      const bool system = expect.empty();
      const bool right =
          system ? fs::path(lib).filename().string().rfind("libc.so", 0) == 0
                 : Real(lib) == Real(expect);
      if ((!right || mapped != 1) && r.reason.empty())
        r.reason = "process " + std::to_string(pid) + ": malloc resolves to " +
                   lib + (mapped == 1 ? "" : " (not in its maps)") +
                   ", expected " + (system ? "glibc's" : expect);
    } else if (word == "exit") {
      long pid = 0;
      std::string k;
      std::uint64_t kb = 0;
      in >> pid >> k >> kb;
      r.peak_rss_bytes =
          std::max<std::uint64_t>(r.peak_rss_bytes.value_or(0), kb * 1024);
      r.peak_rss_sum_bytes += kb * 1024;
    }
  }
}

// Mean of the numbers that end just before `suffix` on the client's lines
// (progress lines end in '\r' and are not counted).
std::optional<double> Figure(const std::string& out,
                             const std::string& suffix) {
  if (suffix.empty()) return std::nullopt;
  double sum = 0;
  int n = 0;
  std::size_t start = 0;
  while (start < out.size()) {
    std::size_t end = out.find_first_of("\r\n", start);
    if (end == std::string::npos) end = out.size();
    const std::string line = out.substr(start, end - start);
    start = end + 1;
    const std::size_t at = line.find(suffix);
    if (at == std::string::npos) continue;
    std::size_t b = line.find_last_not_of(' ', at == 0 ? 0 : at - 1);
    std::size_t a = b;
    while (a > 0 && (std::isdigit(static_cast<unsigned char>(line[a - 1])) ||
                     line[a - 1] == '.'))
      --a;
    if (b == std::string::npos || a > b) continue;
    sum += std::strtod(line.substr(a, b - a + 1).c_str(), nullptr);
    ++n;
  }
  if (n == 0) return std::nullopt;
  return sum / n;
}

}  // namespace

ProgramRunResult RunProgram(const ProgramSpec& spec,
                            const ProgramRunOptions& options) {
  ProgramRunResult r;
  std::string dir_template =
      (fs::temp_directory_path() / "allocmark-program-XXXXXX").string();
  if (mkdtemp(dir_template.data()) == nullptr) {
    r.reason = std::string("cannot create a temporary directory: ") +
               std::strerror(errno);
    return r;
  }
  const std::string dir = dir_template;
  const std::string spec_dir = fs::absolute(spec.path).parent_path().string();
  const int port = FreePort();
  std::vector<std::string> env = options.env;
  std::string preload;
  if (!options.preload.empty()) preload = options.preload;
  if (!options.probe.empty())
    preload += (preload.empty() ? "" : ":") + options.probe;
  if (!preload.empty()) env.push_back("LD_PRELOAD=" + preload);
  env.push_back("ALLOCMARK_PROBE_OUT=" + dir + "/probe");

  const double deadline = Now() + options.timeout_s;
  const double t0 = Now();
  const pid_t pid = Spawn(Expand(spec.command, port, spec_dir), env,
                          spec.stdin_file, dir + "/out", dir);
  if (pid < 0) {
    r.reason = spec.command[0] + ": cannot start";
    fs::remove_all(dir);
    return r;
  }
  int status = 0;
  rusage ru{};
  bool ended = false;
  std::string client_out;
  std::string client_failure;
  if (spec.has_server) {
    bool ready = false;
    while (!ready && Now() < deadline) {
      if (waitpid(pid, &status, WNOHANG) == pid) {
        ended = true;
        break;
      }
      ready = Accepts(port);
      if (!ready) usleep(5000);
    }
    if (ready) {
      int cs = 0;
      rusage cru{};
      const pid_t c = Spawn(Expand(spec.server.client, port, spec_dir), {}, "",
                            dir + "/client", dir);
      if (c < 0 || !WaitFor(c, deadline, &cs, &cru) ||
          !(WIFEXITED(cs) && WEXITSTATUS(cs) == 0))
        client_failure = "the client " + spec.server.client[0] + " failed (" +
                         Describe(cs) + ")";
      client_out = ReadFile(dir + "/client");
      const pid_t s = Spawn(Expand(spec.server.stop, port, spec_dir), {}, "",
                            dir + "/stop", dir);
      int ss = 0;
      rusage sru{};
      if (s >= 0) WaitFor(s, deadline, &ss, &sru);
    } else if (!ended) {
      client_failure = "the server never accepted connections on 127.0.0.1";
      kill(-pid, SIGTERM);
    }
  }
  const bool finished = ended ? (wait4(pid, &status, 0, &ru), true)
                              : WaitFor(pid, deadline, &status, &ru);
  r.wall_s = Now() - t0;
  r.user_s = static_cast<double>(ru.ru_utime.tv_sec) +
             static_cast<double>(ru.ru_utime.tv_usec) / 1e6;
  r.sys_s = static_cast<double>(ru.ru_stime.tv_sec) +
            static_cast<double>(ru.ru_stime.tv_usec) / 1e6;
  r.minor_faults = ru.ru_minflt;
  r.major_faults = ru.ru_majflt;
  const std::string out = ReadFile(dir + "/out");
  if (!options.probe.empty()) {
    ReadProbe(ReadFile(dir + "/probe"), pid, options.preload, r);
    if (r.processes == 0 && r.reason.empty())
      r.reason = "the identity probe did not load in " + spec.command[0] +
                 " (a static binary, or LD_PRELOAD cleared?)";
  }
  if (spec.has_server) r.figure = Figure(client_out, spec.server.figure_suffix);
  if (!r.reason.empty()) {
    // identity failure, kept
  } else if (!finished) {
    r.reason = "timed out after " +
               std::to_string(static_cast<int>(options.timeout_s)) + " s";
  } else if (!client_failure.empty()) {
    r.reason = client_failure;
  } else if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
    r.reason = spec.command[0] + " ended with " + Describe(status);
  } else if (!spec.expect_output.empty() &&
             out.find(spec.expect_output) == std::string::npos) {
    r.reason =
        spec.command[0] + " did not print \"" + spec.expect_output + "\"";
  } else if (spec.has_server && !spec.server.client_expect.empty() &&
             client_out.find(spec.server.client_expect) == std::string::npos) {
    r.reason = "the client did not print \"" + spec.server.client_expect + "\"";
  } else if (r.wall_s < spec.min_seconds) {
    char buf[160];
    std::snprintf(
        buf, sizeof(buf),
        "finished in %.3f s, under the %.3f s its work takes at least: "
        "it cannot have done it",
        r.wall_s, spec.min_seconds);
    r.reason = buf;
  } else {
    r.ok = true;
  }
  fs::remove_all(dir);
  return r;
}

bool ProgramPreload(const AdapterInfo& a, std::string* preload,
                    std::string* why_not) {
  preload->clear();
  if (a.name == "system") return true;
  if (!a.preload.empty()) {
    *preload = a.preload;
    return true;
  }
  // The adapters whose worker's malloc is the allocator's own library; the
  // others (tbb's API, lookaside, null, kernel pools) leave a program's
  // malloc to glibc, so a program cell would measure glibc.
  static const char* kReplacers[] = {"jemalloc", "mimalloc", "tcmalloc",
                                     "tbb-proxy"};
  if (std::find(std::begin(kReplacers), std::end(kReplacers), a.name) !=
          std::end(kReplacers) &&
      !a.library.empty()) {
    *preload = a.library;
    return true;
  }
  *why_not = a.name + " does not replace malloc for a whole program";
  return false;
}

std::string ProgramDigest(const ProgramSpec& spec) {
  const std::string text =
      ReadFile(spec.path) + '\0' +
      (spec.stdin_file.empty() ? "" : ReadFile(spec.stdin_file));
  std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx",
                static_cast<unsigned long long>(h));
  return buf;
}

nlohmann::json ProgramCellFields(const ProgramRunResult& r,
                                 const ProgramSpec& spec) {
  using nlohmann::json;
  const double wall_ns = r.wall_s * 1e9;
  json program = {
      {"command", spec.command},
      {"wall_ns", wall_ns},
      {"user_ns", r.user_s * 1e9},
      {"sys_ns", r.sys_s * 1e9},
      {"minor_faults", r.minor_faults},
      {"major_faults", r.major_faults},
      {"peak_rss_bytes",
       r.peak_rss_bytes ? json(*r.peak_rss_bytes) : json(nullptr)},
      {"peak_rss_sum_bytes", r.peak_rss_sum_bytes},
      {"peak_rss_source", "VmHWM of each process at its exit (probe)"},
      {"processes", r.processes},
      {"malloc_library", r.malloc_library},
      {"figure",
       r.figure ? json{{"name", spec.server.figure_name}, {"value", *r.figure}}
                : json(nullptr)}};
  return {{"ops", 1},
          {"wall_ns", wall_ns},
          {"ns_per_op", wall_ns},
          {"stream_digest", ProgramDigest(spec)},
          {"program", program}};
}

std::string ShippedTrace(const ProgramSpec& spec, const std::string& bin_dir) {
  const fs::path cache = fs::path(bin_dir).parent_path() / "traces";
  const fs::path file =
      cache / (spec.name + "-" + ProgramDigest(spec) + ".trace");
  if (fs::exists(file)) return file.string();
  const std::string tracer =
      (fs::path(bin_dir).parent_path() / "lib" / "liballocmark-tracer.so")
          .string();
  if (!fs::exists(tracer))
    throw SpecError("trace:" + spec.name + ": the tracer " + tracer +
                    " is not built");
  std::error_code ec;
  fs::create_directories(cache, ec);
  std::string parts = (cache / (spec.name + ".parts-XXXXXX")).string();
  if (mkdtemp(parts.data()) == nullptr)
    throw SpecError("trace:" + spec.name + ": cannot write " + cache.string());
  ProgramRunOptions o;
  o.preload = tracer;
  o.env = {"ALLOCMARK_TRACE=" + parts + "/trace"};
  o.timeout_s = 600;
  const ProgramRunResult r = RunProgram(spec, o);
  // The program's own image wrote the largest trace (a client or a shell
  // around it writes little).
  fs::path best;
  std::uintmax_t best_size = 0;
  for (const auto& e : fs::directory_iterator(parts, ec)) {
    if (e.file_size() > best_size) {
      best = e.path();
      best_size = e.file_size();
    }
  }
  if (!r.ok || best.empty()) {
    fs::remove_all(parts, ec);
    throw SpecError("trace:" + spec.name + ": recording " + spec.path +
                    " failed: " + (r.ok ? "no trace written" : r.reason));
  }
  fs::rename(best, file, ec);
  fs::remove_all(parts, ec);
  return file.string();
}

}  // namespace allocmark
