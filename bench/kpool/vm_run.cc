// `allocmark run --vm`: stages the static binaries and workload specs, boots
// driver/vm/run, and turns the guest's results.json into the host's report.
#include "bench/kpool/vm_run.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "allocmark_build_info.h"
#include "bench/results/results_file.h"
#include "bench/runner/worker_process.h"

namespace allocmark {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Why an adapter has no static worker in the guest (Debian 12 packages).
const std::map<std::string, std::string> kNoStaticBuild = {
    {"mimalloc", "Debian 12's libmimalloc-dev ships no static libmimalloc.a"},
    {"tbb", "Debian 12's libtbb-dev ships no static libtbbmalloc.a"},
    {"tbb-proxy", "Debian 12's libtbb-dev ships no static libtbbmalloc_proxy"},
    {"jemalloc", "no libjemalloc_pic.a/libjemalloc.a found at configure time"},
    {"tcmalloc", "no libtcmalloc_minimal.a found at configure time"},
};

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// "boot-and-run: 16.4 s (tcg, 2 vCPU, 512 MiB)" from driver/vm/run.
bool ParseBootLine(const std::string& console, double* seconds,
                   std::string* accel) {
  const std::size_t at = console.rfind("boot-and-run: ");
  if (at == std::string::npos) return false;
  char mode[16] = {};
  if (std::sscanf(console.c_str() + at, "boot-and-run: %lf s (%15[a-z]",
                  seconds, mode) != 2)
    return false;
  *accel = mode;
  return true;
}

std::string Tail(const std::string& s, std::size_t lines) {
  std::size_t pos = s.size();
  while (lines-- > 0 && pos > 0) {
    pos = s.rfind('\n', pos - 1);
    if (pos == std::string::npos) return s;
  }
  return s.substr(pos + 1);
}

// The guest's catalogue says "worker /bin/allocmark-worker-X not built";
// say instead why X cannot run in the guest.
void ExplainMissingWorkers(json& doc) {
  auto explain = [](json& reason, const std::string& name) {
    if (!reason.is_string()) return;
    const std::string r = reason.get<std::string>();
    if (r.rfind("worker /bin/allocmark-worker-", 0) != 0) return;
    const auto it = kNoStaticBuild.find(name);
    reason =
        "cannot run in the VM guest: no static worker (" +
        (it != kNoStaticBuild.end() ? it->second : std::string("not built")) +
        ")";
  };
  for (json& a : doc["adapters"]) explain(a["reason"], a["name"]);
  for (json& c : doc["cells"]) explain(c["reason"], c["allocator"]);
}

std::string KernelRelease(const fs::path& vm_build) {
  std::ifstream in(vm_build / "kernel.env");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("KERNEL_RELEASE=", 0) == 0) return line.substr(15);
  }
  return "";
}

}  // namespace

int RunInVm(const VmRunRequest& req) {
  const fs::path guest_dir = fs::path(req.bin_dir) / "guest";
  const fs::path build_dir = fs::path(req.bin_dir).parent_path();
  if (!fs::exists(guest_dir / "allocmark")) {
    std::fprintf(stderr,
                 "allocmark: --vm: no static guest binaries in %s; build them "
                 "with `cmake --build %s --target allocmark-guest`\n",
                 guest_dir.c_str(), build_dir.c_str());
    return 1;
  }
  const fs::path vm_build =
      req.vm_build.empty() ? build_dir / "vm" : fs::path(req.vm_build);
  std::error_code ec;
  fs::create_directories(vm_build, ec);
  char tmpl[4096];
  std::snprintf(tmpl, sizeof(tmpl), "%s/share.XXXXXX",
                fs::absolute(vm_build).c_str());
  if (mkdtemp(tmpl) == nullptr) {
    std::perror("allocmark: --vm: cannot create the 9p share directory");
    return 1;
  }
  const fs::path share = tmpl;
  fs::create_directories(share / "workloads");
  for (const std::string& f : req.workload_files)
    fs::copy_file(f, share / "workloads" / fs::path(f).filename(),
                  fs::copy_options::overwrite_existing, ec);

  // The guest's command: PID 1 reports success by the marker, so the run's
  // own exit code travels back in a file and a failed cell is not a failed
  // boot.
  std::string cmd =
      "cd /tmp && ALLOCMARK_WORKLOADS=/out/workloads /bin/allocmark";
  for (const std::string& a : req.guest_args) cmd += " " + ShellQuote(a);
  cmd +=
      " --quiet --out /out/results.json >/out/console.txt 2>/out/stderr.txt; "
      "echo $? >/out/rc";

  std::vector<std::string> argv = {
      std::string(ALLOCMARK_SOURCE_DIR) + "/driver/vm/run",
      "--build",
      vm_build.string(),
      "--timeout",
      std::to_string(static_cast<int>(req.timeout_s)),
      "--mem",
      std::to_string(req.mem_mb),
      "--out",
      share.string(),
      "--cmd",
      cmd};
  for (const auto& entry : fs::directory_iterator(guest_dir)) {
    if (entry.is_regular_file())
      argv.insert(argv.end(), {"--add", entry.path().string()});
  }
  if (!req.quiet)
    std::fprintf(stderr,
                 "allocmark: booting the VM (driver/vm/run); the whole matrix "
                 "runs in the guest...\n");
  // Preparing the kernel the first time downloads ~85 MB: allow for it.
  const WorkerExit vm = RunWorker(argv, {}, req.timeout_s + 600);
  const std::string console = vm.out + vm.err;
  std::ofstream(vm_build / "run-vm.log") << console;
  double boot_s = 0;
  std::string accel;
  const bool booted = ParseBootLine(console, &boot_s, &accel);
  if (vm.exit_code == 77) {
    std::fprintf(stderr, "allocmark: --vm: this host cannot run the VM: %s",
                 Tail(console, 2).c_str());
    fs::remove_all(share, ec);
    return 1;
  }
  const fs::path results = share / "results.json";
  if (!fs::exists(results)) {
    std::fprintf(stderr,
                 "allocmark: --vm: the guest produced no results (%s); last "
                 "console lines (all in %s):\n%s%s",
                 vm.Describe(req.timeout_s + 600).c_str(),
                 (vm_build / "run-vm.log").c_str(), Tail(console, 15).c_str(),
                 ReadFile(share / "stderr.txt").c_str());
    fs::remove_all(share, ec);
    return 1;
  }
  json doc;
  try {
    doc = json::parse(ReadFile(results));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "allocmark: --vm: unreadable guest results: %s\n",
                 e.what());
    fs::remove_all(share, ec);
    return 1;
  }
  const std::string rc_text = ReadFile(share / "rc");
  const int guest_rc = rc_text.empty() ? 1 : std::atoi(rc_text.c_str());
  const std::string guest_err = ReadFile(share / "stderr.txt");
  fs::remove_all(share, ec);

  ExplainMissingWorkers(doc);
  if (booted) doc["context"]["virtualization"] = accel;
  doc["context"]["vm"] = {
      {"accel", booted ? json(accel) : json(nullptr)},
      {"boot_and_run_s", booted ? json(boot_s) : json(nullptr)},
      {"guest_kernel", KernelRelease(vm_build)},
      {"mem_mb", req.mem_mb},
      {"marker_passed", vm.exit_code == 0},
      {"timings_emulated", accel == "tcg"}};

  const bool emulated = accel == "tcg";
  const char* banner =
      "!! TCG: every timing below was emulated by QEMU (no KVM) and says "
      "nothing about the allocators; use it to check the plumbing only !!\n";
  if (emulated) std::fputs(banner, stdout);
  if (req.console_table) std::fputs(req.console_table(doc).c_str(), stdout);
  if (emulated) std::fputs(banner, stdout);
  if (!guest_err.empty()) std::fputs(guest_err.c_str(), stderr);
  if (vm.exit_code != 0)
    std::fprintf(stderr, "allocmark: --vm: the guest reported: %s",
                 Tail(console, 1).c_str());
  const std::string err = WriteFileAtomically(req.out, doc.dump(1) + "\n");
  if (!err.empty()) {
    std::fprintf(stderr, "allocmark: could not write results: %s\n",
                 err.c_str());
    return 1;
  }
  int ok = 0, failed = 0, skipped = 0;
  for (const json& c : doc["cells"]) {
    const std::string s = c["status"];
    (s == "ok" ? ok : s == "failed" ? failed : skipped)++;
  }
  std::printf(
      "%d ok, %d failed, %d skipped in the VM (%s, boot-and-run %.1f s); "
      "results in %s\n",
      ok, failed, skipped, booted ? accel.c_str() : "?", boot_s,
      req.out.c_str());
  return guest_rc != 0 || vm.exit_code != 0 ? 1 : 0;
}

}  // namespace allocmark
