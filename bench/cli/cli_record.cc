// `allocmark record -o FILE -- CMD [ARGS...]`: runs CMD with the tracer
// preloaded, gathers the trace of each process image it became, and prints
// the tracer's overhead (traced against untraced wall time).
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <vector>

#include "bench/cli/cli_commands.h"
#include "bench/trace/trace_file.h"

extern char** environ;

namespace allocmark {
namespace {

namespace fs = std::filesystem;

struct RecordArgs {
  std::string out;
  std::vector<std::string> command;
  std::string rounds_text = "0";
};

struct Outcome {
  double wall_s = 0;
  int status = 0;
};

double NowS() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Runs the command to its end; extra environment entries are prepended.
Outcome Spawn(const std::vector<std::string>& command,
              const std::vector<std::string>& extra_env) {
  std::vector<std::string> env = extra_env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const std::string key = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (std::string& x : env) {
      if (x.substr(0, x.find('=')) != key) continue;
      if (key == "LD_PRELOAD") x += ":" + entry.substr(key.size() + 1);
      replaced = true;
    }
    if (!replaced) env.push_back(entry);
  }
  std::vector<char*> argv, envp;
  for (const std::string& a : command)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const std::string& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  Outcome o;
  pid_t pid;
  const double t0 = NowS();
  const int err =
      posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), envp.data());
  if (err != 0)
    BadInput(command[0] + ": cannot run the command: " + std::strerror(err));
  while (waitpid(pid, &o.status, 0) < 0 && errno == EINTR) {
  }
  o.wall_s = NowS() - t0;
  return o;
}

std::string Describe(int status) {
  if (WIFEXITED(status))
    return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return std::string("killed by ") + strsignal(WTERMSIG(status));
  return "status " + std::to_string(status);
}

int Record(const RecordArgs& args) {
  const std::uint64_t rounds =
      ParseCount("--overhead", args.rounds_text, 0, 100);
  if (args.command.empty())
    BadInput("record: no command given (allocmark record -o FILE -- CMD ARGS)");
  const std::string lib =
      (fs::path(BinDir()).parent_path() / "lib" / "liballocmark-tracer.so")
          .string();
  if (!fs::exists(lib)) BadInput("record: the tracer " + lib + " is not built");
  std::error_code ec;
  if (fs::exists(args.out, ec) && !fs::is_regular_file(args.out, ec))
    BadInput("-o: " + args.out + " exists and is not a regular file");
  const fs::path out = fs::absolute(args.out);
  std::string dir_template =
      (out.parent_path() / ".allocmark-record-XXXXXX").string();
  if (mkdtemp(dir_template.data()) == nullptr)
    BadInput("-o: cannot create a directory beside " + args.out + ": " +
             std::strerror(errno));
  const fs::path dir = dir_template;
  const std::vector<std::string> traced_env = {
      "LD_PRELOAD=" + lib, "ALLOCMARK_TRACE=" + (dir / "trace").string()};

  // Untraced and traced runs alternate, so drift of a shared machine falls
  // on both; the trace kept is the last traced run's.
  std::vector<double> untraced, traced;
  Outcome o;
  for (std::uint64_t r = 0; r < rounds; ++r) {
    untraced.push_back(Spawn(args.command, {}).wall_s);
    fs::remove_all(dir, ec);
    fs::create_directory(dir, ec);
    traced.push_back(Spawn(args.command, traced_env).wall_s);
  }
  if (rounds == 0) {
    o = Spawn(args.command, traced_env);
    traced.push_back(o.wall_s);
  } else {
    fs::remove_all(dir, ec);
    fs::create_directory(dir, ec);
    o = Spawn(args.command, traced_env);
  }

  // One trace per process image: the one with the most bytes becomes FILE
  // (for `sh -c prog`, prog's), the others FILE.<pid>.<image>.
  std::vector<fs::path> parts;
  for (const auto& e : fs::directory_iterator(dir, ec))
    parts.push_back(e.path());
  if (parts.empty()) {
    fs::remove_all(dir, ec);
    std::fprintf(stderr,
                 "allocmark: record: %s wrote no trace (a static binary, or "
                 "one that clears LD_PRELOAD?)\n",
                 args.command[0].c_str());
    return 1;
  }
  std::sort(parts.begin(), parts.end(),
            [](const fs::path& a, const fs::path& b) {
              return fs::file_size(a) > fs::file_size(b);
            });
  fs::rename(parts[0], out, ec);
  if (ec) BadInput("-o: cannot write " + out.string() + ": " + ec.message());
  std::vector<std::string> others;
  for (std::size_t i = 1; i < parts.size(); ++i) {
    const std::string name =
        parts[i].filename().string();  // trace.<pid>.<image>
    const fs::path to = out.string() + name.substr(name.find('.'));
    fs::rename(parts[i], to, ec);
    others.push_back(to.filename().string());
  }
  fs::remove_all(dir, ec);

  try {
    const Trace t = ReadTrace(out.string());
    std::printf("recorded %s: %llu calls in %zu thread(s), %s, %s (%s)\n",
                args.command[0].c_str(),
                static_cast<unsigned long long>(t.calls), t.threads.size(),
                t.complete ? "complete" : "incomplete", out.string().c_str(),
                Describe(o.status).c_str());
  } catch (const TraceError& e) {
    std::printf("recorded %s: %s (%s)\n", args.command[0].c_str(), e.what(),
                Describe(o.status).c_str());
  }
  if (!others.empty()) {
    std::printf("  %zu more process image(s):", others.size());
    for (const std::string& n : others) std::printf(" %s", n.c_str());
    std::printf("\n");
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  double load = 0;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &load) != 1) load = 0;
    std::fclose(f);
  }
  if (rounds == 0) {
    std::printf(
        "traced wall time %.3f s (--overhead N also times N untraced runs)\n",
        traced[0]);
  } else {
    std::printf(
        "tracer overhead: traced %.3f s / untraced %.3f s = %.2fx "
        "(medians of %llu interleaved runs, load %.2f)\n",
        median(traced), median(untraced), median(traced) / median(untraced),
        static_cast<unsigned long long>(rounds), load);
  }
  if (!(WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0)) {
    std::fprintf(
        stderr,
        "allocmark: record: %s ended with %s; the trace holds what it did\n",
        args.command[0].c_str(), Describe(o.status).c_str());
    return 1;
  }
  return 0;
}

}  // namespace

Command AddRecordCommand(CLI::App& app) {
  CLI::App* cmd =
      app.add_subcommand("record", "record a program's allocation calls");
  auto args = std::make_shared<RecordArgs>();
  cmd->add_option("-o,--out", args->out, "trace file to write")->required();
  cmd->add_option(
      "--overhead", args->rounds_text,
      "also time N untraced runs against N traced ones (default 0)");
  cmd->add_option("command", args->command, "-- CMD [ARGS...]")->required();
  return {cmd, [args] { return Record(*args); }};
}

}  // namespace allocmark
