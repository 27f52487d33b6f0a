// `allocmark list`: every adapter (available or not, why, version) and every
// workload with its op counts per profile, aligned to fit 100 columns.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "bench/cli/cli_commands.h"
#include "bench/report/text_table.h"
#include "bench/runner/catalog.h"
#include "bench/spec/program_spec.h"

namespace allocmark {
namespace {

constexpr std::size_t kWidth = 100;

// Fixed columns, then a description folded under its own column.
void PrintRow(const std::vector<std::string>& cols,
              const std::vector<std::size_t>& widths, const std::string& desc) {
  std::string prefix = "  ";
  for (std::size_t i = 0; i < cols.size(); ++i) {
    std::string c = cols[i];
    c.resize(std::max(c.size(), widths[i]), ' ');
    prefix += c + "  ";
  }
  const std::string indent(prefix.size(), ' ');
  const std::string text =
      desc.empty() ? "" : Wrap(desc, kWidth, prefix, indent);
  std::fputs(text.empty() ? (prefix + "\n").c_str() : text.c_str(), stdout);
}

// 20000 -> 20k, 2000000 -> 2M: short and still exact.
std::string Ops(std::uint64_t n) {
  if (n >= 1000000 && n % 1000000 == 0)
    return std::to_string(n / 1000000) + "M";
  if (n >= 1000 && n % 1000 == 0) return std::to_string(n / 1000) + "k";
  return std::to_string(n);
}

void ListAdapters() {
  const std::vector<AdapterInfo> adapters = AdapterCatalog(BinDir());
  std::vector<std::size_t> w = {std::string("preload:<lib.so>").size(),
                                std::string("available").size()};
  for (const AdapterInfo& a : adapters) w[0] = std::max(w[0], a.name.size());
  std::printf("allocators:\n");
  PrintRow({"name", "status"}, w, "description; version (or why missing)");
  for (const AdapterInfo& a : adapters) {
    // The version after the description, never run into it.
    const std::string text = a.available ? a.description + "; " + a.version
                                         : a.description + "; why: " + a.reason;
    PrintRow({a.name, a.available ? "available" : "missing"}, w, text);
  }
  PrintRow({"preload:<lib.so>", ""}, w,
           "any malloc replacement, run through LD_PRELOAD");
}

void ListWorkloads() {
  std::map<std::string, WorkloadSpec> workloads;
  try {
    workloads = LoadWorkloads(WorkloadDir());
  } catch (const SpecError& e) {
    BadInput(e.what());
  }
  std::vector<std::size_t> w = {8, 7, 5, 7, 5};
  for (const auto& [name, spec] : workloads)
    if (!spec.test_only) w[0] = std::max(w[0], name.size());
  std::printf(
      "\nworkloads (ops per thread by profile; threads: the fewest it runs "
      "on, 2+ = hands blocks\nbetween threads, skipped at 1 thread):\n");
  PrintRow({"name", "threads", "quick", "default", "full"}, w, "description");
  for (const auto& [name, spec] : workloads) {
    if (spec.test_only) continue;
    std::vector<std::string> cols = {name, HasHandOffs(spec) ? "2+" : "1"};
    for (int s = 0; s < 3; ++s) cols.push_back(Ops(spec.ops_per_thread[s]));
    // Right-align the counts under their headers.
    for (std::size_t i = 2; i < cols.size(); ++i)
      cols[i] =
          std::string(w[i] - std::min(w[i], cols[i].size()), ' ') + cols[i];
    PrintRow(cols, w, spec.description);
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
      PrintRow({p.name}, {14}, p.description);
    } catch (const SpecError& err) {
      PrintRow({path.stem().string()}, {14},
               std::string("unavailable: ") + err.what());
    }
  }
  std::printf("  trace:FILE     any trace made with allocmark record\n");
}

}  // namespace

Command AddListCommand(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "list", "show adapters (available or why not, version) and workloads");
  return {cmd, [] {
            ListAdapters();
            ListWorkloads();
            return 0;
          }};
}

}  // namespace allocmark
