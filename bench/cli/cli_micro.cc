// `allocmark micro`: runs the Google Benchmark micro suite of each chosen
// adapter in its own process (allocmark-micro-<name>) and merges their JSON.
#include <fcntl.h>
#include <regex.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "bench/cli/cli_commands.h"
#include "bench/results/results_file.h"

namespace allocmark {
namespace {

using nlohmann::json;

struct MicroArgs {
  std::string allocators = "all";
  std::string filter;
  int repetitions = 0;
  std::string out = "results/micro.json";
};

std::vector<std::string> MicroAdapters(const std::string& bin) {
  std::vector<std::string> names;
  const std::string prefix = "allocmark-micro-";
  for (const auto& e : std::filesystem::directory_iterator(bin)) {
    const std::string f = e.path().filename().string();
    if (f.rfind(prefix, 0) == 0) names.push_back(f.substr(prefix.size()));
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Runs one micro executable; returns its exit status, stderr to ours.
int RunMicro(const std::string& exe, const std::vector<std::string>& flags) {
  std::vector<std::string> argv = {exe};
  argv.insert(argv.end(), flags.begin(), flags.end());
  std::vector<char*> cargv;
  for (std::string& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    const int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0) dup2(devnull, STDOUT_FILENO);
    execv(exe.c_str(), cargv.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int Micro(const MicroArgs& args) {
  if (args.repetitions < 0) BadInput("--repetitions: must be >= 0");
  // Google Benchmark compiles --benchmark_filter as a POSIX extended regex
  // and exits 1 on a bad one; refuse it here as the bad input it is.
  if (!args.filter.empty()) {
    regex_t re;
    const int rc = regcomp(&re, args.filter.c_str(), REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
      char msg[128];
      regerror(rc, &re, msg, sizeof(msg));
      BadInput("--filter: '" + args.filter +
               "' is not a valid regular expression (" + msg + ")");
    }
    regfree(&re);
  }
  if (const std::string err = CheckWritable(args.out); !err.empty())
    BadInput("--out: cannot write " + args.out + ": " + err);

  const std::string bin = BinDir();
  const std::vector<std::string> available = MicroAdapters(bin);
  std::vector<std::string> chosen;
  if (args.allocators == "all") {
    chosen = available;
  } else {
    std::stringstream s(args.allocators);
    for (std::string a; std::getline(s, a, ',');) {
      if (std::find(available.begin(), available.end(), a) == available.end())
        BadInput("--allocators: no micro suite for '" + a + "' (built: " + [&] {
          std::string l;
          for (const std::string& n : available)
            l += (l.empty() ? "" : ", ") + n;
          return l;
        }() + ")");
      chosen.push_back(a);
    }
  }
  if (chosen.empty())
    BadInput("micro: no allocmark-micro-* executables in " + bin);
  json merged = {{"context", json::object()}, {"benchmarks", json::array()}};
  json per_adapter = json::object();
  int failed = 0;
  for (const std::string& name : chosen) {
    const std::string tmp = TempPathBeside(args.out, "micro-" + name);
    std::vector<std::string> flags = {"--benchmark_out=" + tmp,
                                      "--benchmark_out_format=json"};
    if (!args.filter.empty())
      flags.push_back("--benchmark_filter=" + args.filter);
    if (args.repetitions > 0)
      flags.push_back("--benchmark_repetitions=" +
                      std::to_string(args.repetitions));
    std::fprintf(stderr, "micro: %s\n", name.c_str());
    const int rc = RunMicro(bin + "/allocmark-micro-" + name, flags);
    json doc;
    std::ifstream in(tmp);
    if (rc == 0 && in) doc = json::parse(in, nullptr, false);
    std::remove(tmp.c_str());
    if (rc != 0 || doc.is_discarded() || !doc.contains("benchmarks")) {
      ++failed;
      per_adapter[name] = {{"status", "failed"},
                           {"reason", "exit status " + std::to_string(rc)}};
      continue;
    }
    per_adapter[name] = {{"status", "ok"}, {"context", doc["context"]}};
    if (merged["context"].empty()) merged["context"] = doc["context"];
    // Adapter first in the name, so compare.py matches like with like.
    for (json b : doc["benchmarks"]) {
      b["name"] = name + "/" + b["name"].get<std::string>();
      if (b.contains("run_name"))
        b["run_name"] = name + "/" + b["run_name"].get<std::string>();
      merged["benchmarks"].push_back(b);
    }
  }
  merged["context"].erase("allocator");
  merged["context"].erase("allocator_version");
  merged["context"].erase("allocator_library");
  merged["context"]["executable"] = "allocmark micro";
  merged["allocators"] = per_adapter;
  if (const std::string err =
          WriteFileAtomically(args.out, merged.dump(1) + "\n");
      !err.empty()) {
    std::fprintf(stderr, "allocmark: could not write %s: %s\n",
                 args.out.c_str(), err.c_str());
    return 1;
  }
  for (const json& b : merged["benchmarks"]) {
    if (b.value("run_type", "") == "aggregate" &&
        b.value("aggregate_name", "") != "median")
      continue;
    std::printf("%-52s %10.1f ns\n", b["name"].get<std::string>().c_str(),
                b["real_time"].get<double>());
  }
  std::printf("%zu benchmarks from %zu adapter(s), %d failed; results in %s\n",
              merged["benchmarks"].size(), chosen.size(), failed,
              args.out.c_str());
  return failed ? 1 : 0;
}

}  // namespace

Command AddMicroCommand(CLI::App& app) {
  auto args = std::make_shared<MicroArgs>();
  CLI::App* cmd = app.add_subcommand(
      "micro",
      "Google Benchmark micro suite of each adapter's fast paths, one process "
      "per adapter, merged Google Benchmark JSON");
  cmd->add_option("--allocators", args->allocators, "a,b,... | all");
  cmd->add_option("--filter", args->filter, "benchmark name regex");
  cmd->add_option("--repetitions", args->repetitions,
                  "Google Benchmark repetitions (for compare.py's U test)");
  cmd->add_option("--out", args->out,
                  "merged JSON (default results/micro.json)");
  return {cmd, [args] { return Micro(*args); }};
}

}  // namespace allocmark
