// dladdr-based identity checks shared by every adapter.
#include "allocators/identity.h"

#include <dlfcn.h>
#include <gnu/libc-version.h>
#include <sys/auxv.h>

namespace allocmark {

std::string LibraryDefining(const char* symbol) {
  void* address = dlsym(RTLD_DEFAULT, symbol);
  Dl_info info{};
  if (address == nullptr || dladdr(address, &info) == 0 ||
      info.dli_fname == nullptr)
    return "";
  return info.dli_fname;
}

namespace {

// No program interpreter: a static executable (the VM guest's workers).
bool StaticallyLinked() { return getauxval(AT_BASE) == 0; }

}  // namespace

IdentityReport ExpectMallocFrom(std::string_view expected, bool ownership_ok,
                                std::string_view ownership_detail) {
  IdentityReport report;
  if (StaticallyLinked()) {
    // No shared object to name: the link chose malloc once and for all, and
    // nothing can be preloaded, so the ownership check decides alone.
    report.library = "static (" + std::string(expected) + " linked in)";
    report.ok = ownership_ok;
    report.detail = "statically linked; " + std::string(ownership_detail);
    return report;
  }
  report.library = LibraryDefining("malloc");
  const std::string name = report.library.substr(report.library.rfind('/') + 1);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // Sanitizer builds test the harness, not allocators: the sanitizer
  // runtime's malloc stands in for glibc's, and the result says so.
  if (expected == "libc.so" && (name.find("libasan") != std::string::npos ||
                                name.find("libtsan") != std::string::npos)) {
    report.ok = true;
    report.detail = "sanitizer build: malloc is " + name + "'s, not glibc's";
    return report;
  }
#endif
  if (name.find(expected) == std::string::npos) {
    report.detail =
        "malloc resolves to " +
        (report.library.empty() ? std::string("nothing") : report.library) +
        ", expected " + std::string(expected) +
        " (is another allocator in LD_PRELOAD?)";
    return report;
  }
  if (!ownership_ok) {
    report.detail =
        "malloc resolves to " + report.library +
        " but the ownership check failed: " + std::string(ownership_detail);
    return report;
  }
  report.ok = true;
  report.detail = std::string(ownership_detail);
  return report;
}

std::string GlibcVersion() { return gnu_get_libc_version(); }

}  // namespace allocmark
