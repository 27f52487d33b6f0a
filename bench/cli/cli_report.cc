// `allocmark report RESULTS.json... -o DIR`: charts and index.html, drawn by
// scripts/report.py with Debian's python3 and matplotlib (no other dependency).
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <vector>

#include "bench/cli/cli_commands.h"

namespace allocmark {
namespace {

// Debian's interpreter: the python3-matplotlib package installs for it, and a
// python3 earlier on PATH (pyenv, venv) usually lacks matplotlib.
constexpr char kPython[] = "/usr/bin/python3";

struct ReportArgs {
  std::vector<std::string> results;
  std::string out;
};

std::string ReportScript() {
  if (const char* env = std::getenv("ALLOCMARK_REPORT_SCRIPT")) return env;
  return ALLOCMARK_REPORT_SCRIPT;
}

int Report(const ReportArgs& args) {
  const std::string script = ReportScript();
  if (!std::filesystem::exists(script))
    BadInput("report: " + script +
             " not found (set ALLOCMARK_REPORT_SCRIPT to scripts/report.py)");
  if (access(kPython, X_OK) != 0)
    BadInput(std::string("report: ") + kPython +
             " missing: apt-get install python3 python3-matplotlib");
  std::vector<std::string> argv = {kPython, script, "-o", args.out};
  argv.insert(argv.end(), args.results.begin(), args.results.end());
  std::vector<char*> cargv;
  for (std::string& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) BadInput("report: fork failed");
  if (pid == 0) {
    execv(kPython, cargv.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 1;  // killed: a failure of the report, not of the input
}

}  // namespace

Command AddReportCommand(CLI::App& app) {
  auto args = std::make_shared<ReportArgs>();
  CLI::App* cmd = app.add_subcommand(
      "report", "PNG/SVG charts and an offline index.html from results files");
  cmd->add_option("RESULTS", args->results, "results JSON files")->required();
  cmd->add_option("-o,--out", args->out, "output directory")->required();
  return {cmd, [args] { return Report(*args); }};
}

}  // namespace allocmark
