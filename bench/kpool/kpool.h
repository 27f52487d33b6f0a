// `kpool-<backend>`: the kernel pools of the companion driver (driver/). The
// kernel replays the op streams itself, so this is a device, not an Allocator.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "allocators/allocator.h"
#include "bench/spec/op.h"
#include "driver/allocmark_uapi.h"

namespace allocmark {

/// The driver's backends (enum allocmark_backend); names as in the catalogue.
enum class KpoolBackend : std::uint32_t {
  kKmalloc = ALLOCMARK_BACKEND_KMALLOC,
  kKmemCache = ALLOCMARK_BACKEND_KMEM_CACHE,
  kVmalloc = ALLOCMARK_BACKEND_VMALLOC,
  kPages = ALLOCMARK_BACKEND_PAGES,
};

/// "kmalloc", "kmem_cache", "vmalloc", "pages".
const char* KpoolBackendName(KpoolBackend backend);
/// False for an unknown name.
bool ParseKpoolBackend(std::string_view name, KpoolBackend* out);

/// What a user runs to get /dev/allocmark, for skip reasons and refusals.
inline constexpr const char* kKpoolLoadHint =
    "load the driver with `sudo scripts/driver load` (needs this kernel's "
    "headers), or run inside the VM with `allocmark run --vm`";

/// Histogram buffer END fills: [ALLOCMARK_NR_TIMED][ALLOCMARK_HIST_BUCKETS].
struct KpoolHistograms {
  std::uint64_t counts[ALLOCMARK_NR_TIMED][ALLOCMARK_HIST_BUCKETS];
};

/// An open /dev/allocmark whose ABI version matches this build's header.
/// Every call returns 0 or -errno; threads may share one device (each
/// replays its own stream, and a file's streams share its mailboxes).
class KpoolDevice {
 public:
  KpoolDevice() = default;
  KpoolDevice(const KpoolDevice&) = delete;
  KpoolDevice& operator=(const KpoolDevice&) = delete;
  ~KpoolDevice();

  /// Opens the device and queries its version. The report says what was
  /// found (ABI, tick rate) or why the device cannot be used and what
  /// loads it; ok only when the ABI version is this build's.
  IdentityReport Open();

  const allocmark_version& version() const { return version_; }
  std::uint64_t MaxSize(KpoolBackend b) const {
    return version_.max_size[static_cast<std::uint32_t>(b)];
  }

  /// Returns the stream id (> 0) or -errno.
  int Begin(const allocmark_begin& request);
  /// Replays n ops in the calling thread; *done = ops that took effect.
  int Replay(int stream, const Op* ops, std::uint64_t n, std::uint64_t* done);
  /// Frees what the stream left (leaks), fills *out and hist, drops it.
  int End(int stream, allocmark_end* out, KpoolHistograms* hist);
  /// The poolmon view of one tag since the module was loaded.
  int TagStats(const char (&tag)[4], allocmark_tag_stats* out);

 private:
  int fd_ = -1;
  allocmark_version version_{};
};

}  // namespace allocmark
