// Adapter and workload catalogues. Availability is probed, never assumed: an
// adapter whose worker is missing or refuses its identity check is listed
// with the reason and its cells are skipped.
#include "bench/runner/catalog.h"

#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "allocmark_build_info.h"
#include "allocmark_registry.h"
#include "bench/runner/program_run.h"
#include "bench/runner/worker_process.h"
#include "bench/stream/trace_streams.h"

namespace allocmark {

namespace fs = std::filesystem;

std::vector<std::string> SplitList(const std::string& list) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t comma = list.find(',', start);
    const std::string item = list.substr(
        start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!item.empty()) out.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

namespace {

// Directory of the running allocmark executable (and its workers).
std::string SelfDir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : exe.parent_path().string();
}

void Probe(AdapterInfo& info, const std::vector<std::string>& args,
           const std::vector<std::string>& env) {
  if (access(info.worker.c_str(), X_OK) != 0) {
    info.reason = "worker " + info.worker + " not built";
    return;
  }
  const WorkerExit exit = RunWorker(args, env, 20);
  try {
    const auto j = nlohmann::json::parse(exit.out);
    info.version = j.value("version", "");
    info.library = j.value("library", "");
    info.available = j.value("ok", false);
    if (!info.available) {
      info.reason = j.value("detail", "identity check failed");
      info.refused = true;
    }
  } catch (const std::exception&) {
    info.reason = "identity probe failed: " + exit.Describe(20);
    info.refused = true;
  }
}

}  // namespace

std::vector<AdapterInfo> AdapterCatalog(const std::string& bin_dir) {
  std::vector<AdapterInfo> out;
  for (const RegisteredAdapter& k : kRegisteredAdapters) {
    AdapterInfo info;
    info.name = k.name;
    info.description = k.description;
    info.worker = bin_dir + "/allocmark-worker-" + k.name;
    if (*k.missing != '\0')
      info.reason = k.missing;
    else
      Probe(info, {info.worker, "--identity"}, {});
    out.push_back(std::move(info));
  }
  // Kernel pools: one adapter per driver backend. Listed either way; without
  // the device they are skipped with the command that provides it.
  for (const char* backend : kKpoolBackends) {
    AdapterInfo kpool;
    kpool.name = std::string("kpool-") + backend;
    kpool.description = std::string("kernel ") + backend +
                        " pool through the allocmark driver (/dev/allocmark)";
    kpool.worker = bin_dir + "/allocmark-worker-" + kpool.name;
    if (access("/dev/allocmark", F_OK) != 0) {
      kpool.reason =
          "/dev/allocmark not present: load the driver with `sudo "
          "scripts/driver load`, or run inside the VM with `allocmark run "
          "--vm`";
    } else {
      Probe(kpool, {kpool.worker, "--identity"}, {});  // checks the ABI
    }
    out.push_back(std::move(kpool));
  }
  return out;
}

std::vector<AdapterInfo> SelectAdapters(const std::vector<AdapterInfo>& catalog,
                                        const std::string& list,
                                        const std::string& bin_dir) {
  std::vector<AdapterInfo> out;
  std::string names;
  for (const auto& a : catalog) names += (names.empty() ? "" : ", ") + a.name;
  const std::vector<std::string> items = SplitList(list);
  if (items.empty())
    throw SpecError("--allocators: empty list (accepted: all, " + names +
                    ", preload:<lib.so>)");
  for (const std::string& item : items) {
    if (item == "all") {
      for (const auto& a : catalog) out.push_back(a);
      continue;
    }
    if (item == "kpool") {  // every kernel backend
      for (const auto& a : catalog) {
        if (a.name.rfind("kpool-", 0) == 0) out.push_back(a);
      }
      continue;
    }
    if (item.rfind("preload:", 0) == 0) {
      const std::string lib = item.substr(8);
      if (lib.empty() || access(lib.c_str(), R_OK) != 0)
        throw SpecError("--allocators: " + item + ": cannot read '" + lib +
                        "' (give the path of a malloc replacement .so)");
      AdapterInfo info;
      info.name = item;
      info.description = "system worker with " + lib + " in LD_PRELOAD";
      info.worker = bin_dir + "/allocmark-worker-system";
      info.preload = fs::absolute(lib).string();
      Probe(info,
            {info.worker, "--identity", "--expect-malloc-from", info.preload},
            {"LD_PRELOAD=" + info.preload});
      out.push_back(std::move(info));
      continue;
    }
    bool found = false;
    for (const auto& a : catalog) {
      if (a.name == item) {
        out.push_back(a);
        found = true;
      }
    }
    if (!found)
      throw SpecError("--allocators: unknown allocator '" + item +
                      "' (accepted: all, kpool, " + names +
                      ", preload:<lib.so>)");
  }
  return out;
}

std::string WorkloadDir() {
  if (const char* env = std::getenv("ALLOCMARK_WORKLOADS")) return env;
  return std::string(ALLOCMARK_SOURCE_DIR) + "/bench/workloads";
}

std::map<std::string, WorkloadSpec> LoadWorkloads(const std::string& dir) {
  std::map<std::string, WorkloadSpec> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".json") continue;
    WorkloadSpec spec = LoadWorkloadSpec(entry.path().string());
    const std::string name = spec.name;
    out.emplace(name, std::move(spec));
  }
  if (ec)
    throw SpecError(dir + ": cannot list workload directory: " + ec.message());
  return out;
}

std::vector<WorkloadSpec> SelectWorkloads(
    const std::map<std::string, WorkloadSpec>& all, const std::string& list) {
  std::vector<WorkloadSpec> out;
  std::string names;
  for (const auto& [name, spec] : all) {
    if (!spec.test_only) names += (names.empty() ? "" : ", ") + name;
  }
  const std::vector<std::string> items = SplitList(list);
  if (items.empty())
    throw SpecError("--workloads: empty list (accepted: all, " + names + ")");
  for (const std::string& item : items) {
    if (item == "all") {
      for (const auto& [name, spec] : all) {
        if (!spec.test_only) out.push_back(spec);
      }
    } else if (IsTraceWorkload(item)) {
      std::string file = item.substr(sizeof(kTracePrefix) - 1);
      // trace:NAME (no path): the shipped trace of program NAME, recorded
      // on first use and cached beside the build.
      const bool shipped =
          file.find('/') == std::string::npos &&
          fs::exists(fs::path(ProgramDir()) / (file + ".json"));
      const std::string name = file;
      if (shipped) file = ShippedTrace(FindProgramSpec(file), SelfDir());
      try {
        out.push_back(TraceWorkloadSpec(file));
        if (shipped) out.back().name = std::string(kTracePrefix) + name;
      } catch (const TraceError& e) {
        throw SpecError(std::string("--workloads: ") + e.what());
      }
    } else if (item.size() > 5 && item.substr(item.size() - 5) == ".json") {
      out.push_back(LoadWorkloadSpec(item));
      // A user spec may reuse a shipped name; it is only a problem when
      // both run (the duplicate check below).
    } else if (auto it = all.find(item); it != all.end()) {
      out.push_back(it->second);
    } else {
      throw SpecError("--workloads: unknown workload '" + item +
                      "' (accepted: all, " + names +
                      ", a path to a .json spec, or trace:FILE)");
    }
  }
  // Cells are keyed by workload name (digest check, reports): two different
  // specs under one name would fail each other's digest check. The same
  // file twice is just listed twice.
  std::vector<WorkloadSpec> unique;
  for (WorkloadSpec& w : out) {
    bool again = false;
    for (const WorkloadSpec& u : unique) {
      if (u.name != w.name) continue;
      std::error_code ec;
      if (fs::equivalent(u.path, w.path, ec)) {
        again = true;
        break;
      }
      throw SpecError("--workloads: two workloads are named '" + w.name +
                      "' (" + u.path + " and " + w.path +
                      "); give one of them another \"name\"");
    }
    if (!again) unique.push_back(std::move(w));
  }
  return unique;
}

}  // namespace allocmark
