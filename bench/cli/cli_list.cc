// `allocmark list`: every adapter (available or not, why, version) and every
// workload with its op counts per profile.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "bench/cli/cli_commands.h"
#include "bench/runner/catalog.h"
#include "bench/spec/program_spec.h"

namespace allocmark {
namespace {

int List() {
  const std::string bin = BinDir();
  std::printf("allocators:\n");
  for (const AdapterInfo& a : AdapterCatalog(bin)) {
    std::printf("  %-10s %-9s %-28s %s\n", a.name.c_str(),
                a.available ? "available" : "missing",
                a.available ? a.version.substr(0, 28).c_str() : "-",
                a.description.c_str());
    if (!a.available)
      std::printf("  %-10s           why: %s\n", "", a.reason.c_str());
  }
  std::printf("  %-10s %-9s %-28s %s\n", "preload:<lib.so>", "", "",
              "any malloc replacement, run through LD_PRELOAD");
  std::printf("\nworkloads (ops per thread: quick / default / full):\n");
  try {
    for (const auto& [name, spec] : LoadWorkloads(WorkloadDir())) {
      if (spec.test_only) continue;
      std::printf("  %-14s %9llu / %10llu / %11llu  %s\n", name.c_str(),
                  static_cast<unsigned long long>(spec.ops_per_thread[0]),
                  static_cast<unsigned long long>(spec.ops_per_thread[1]),
                  static_cast<unsigned long long>(spec.ops_per_thread[2]),
                  spec.description.c_str());
    }
  } catch (const SpecError& e) {
    BadInput(e.what());
  }
  // Real programs: each is a program cell (program:NAME) and the source of
  // a shipped trace (trace:NAME, recorded on first use and cached).
  std::printf(
      "\nprograms (program:NAME runs it; trace:NAME replays its trace):\n");
  std::vector<std::filesystem::path> specs;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(ProgramDir(), ec)) {
    if (e.path().extension() == ".json") specs.push_back(e.path());
  }
  std::sort(specs.begin(), specs.end());
  for (const std::filesystem::path& path : specs) {
    try {
      const ProgramSpec p = LoadProgramSpec(path.string());
      std::printf("  %-14s %s\n", p.name.c_str(), p.description.c_str());
    } catch (const SpecError& err) {
      std::printf("  %-14s unavailable: %s\n", path.stem().c_str(), err.what());
    }
  }
  std::printf("  trace:FILE     any trace made with allocmark record\n");
  return 0;
}

}  // namespace

Command AddListCommand(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("list", "show adapters and workloads");
  return {cmd, [] { return List(); }};
}

}  // namespace allocmark
