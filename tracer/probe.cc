// liballocmark-probe.so: preloaded after the allocator into a program cell's
// processes. It reports, from inside each process, which library `malloc`
// resolves to and whether that library is in the process's maps (start),
// and the process's own peak RSS, VmHWM (exit). It never allocates.
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

void Append(const char* line) {
  const char* out = getenv("ALLOCMARK_PROBE_OUT");
  if (out == nullptr) return;
  const int fd = open(out, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return;
  (void)!write(fd, line, strlen(line));
  close(fd);
}

// Whether `path` appears in /proc/self/maps, read in blocks with an overlap
// so a path split across two reads is still found.
bool Mapped(const char* path) {
  const int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  static char buf[65536];
  const std::size_t keep = strlen(path);
  if (keep == 0 || keep >= sizeof(buf) / 2) {
    close(fd);
    return false;
  }
  std::size_t have = 0;
  bool found = false;
  while (!found) {
    const ssize_t n = read(fd, buf + have, sizeof(buf) - 1 - have);
    if (n <= 0) break;
    have += static_cast<std::size_t>(n);
    buf[have] = '\0';
    found = strstr(buf, path) != nullptr;
    if (have > keep) {
      memmove(buf, buf + have - keep, keep);
      have = keep;
    }
  }
  close(fd);
  return found;
}

// The first shared object, in lookup order, that defines malloc itself.
int FirstDefiner(dl_phdr_info* info, std::size_t, void* out) {
  if (info->dlpi_name == nullptr || info->dlpi_name[0] == '\0') return 0;
  void* h = dlopen(info->dlpi_name, RTLD_NOLOAD | RTLD_LAZY);
  if (h == nullptr) return 0;
  Dl_info di{};
  void* m = dlsym(h, "malloc");
  const bool here = m != nullptr && dladdr(m, &di) != 0 &&
                    di.dli_fname != nullptr &&
                    strcmp(di.dli_fname, info->dlpi_name) == 0;
  dlclose(h);
  if (here) *static_cast<const char**>(out) = info->dlpi_name;
  return here ? 1 : 0;
}

[[gnu::constructor]] void Start() {
  Dl_info info{};
  void* m = dlsym(RTLD_DEFAULT, "malloc");
  const char* lib = m != nullptr && dladdr(m, &info) != 0 && info.dli_fname
                        ? info.dli_fname
                        : "?";
  // A non-PIE executable that takes malloc's address exports a PLT stub
  // under that name (Debian's python3 does): the stub jumps to the first
  // library that defines it, which is the one that took over.
  char exe[4096];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n > 0) {
    exe[n] = '\0';
    char real[4096];
    if (realpath(lib, real) != nullptr && strcmp(real, exe) == 0)
      dl_iterate_phdr(FirstDefiner, &lib);
  }
  char line[4200];
  snprintf(line, sizeof(line), "start %d malloc %s mapped %d\n",
           static_cast<int>(getpid()), lib, Mapped(lib) ? 1 : 0);
  Append(line);
}

[[gnu::destructor]] void Finish() {
  const int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  static char buf[8192];
  const ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0) return;
  buf[n] = '\0';
  const char* hwm = strstr(buf, "VmHWM:");
  if (hwm == nullptr) return;
  char line[128];
  snprintf(line, sizeof(line), "exit %d hwm_kb %lld\n",
           static_cast<int>(getpid()), atoll(hwm + 6));
  Append(line);
}

}  // namespace
