// `kpool-<backend>`: the kernel pools of the companion driver (driver/). The
// kernel replays the op streams itself, so this is a device, not an Allocator.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "allocators/allocator.h"
#include "bench/spec/op.h"
#include "driver/allocmark_opcheck.h"
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

/// The first op of `ops` the driver would refuse for a reason it can tell
/// from the op alone (driver/allocmark_opcheck.h, the driver's own check),
/// or fault == ALLOCMARK_FAULT_NONE when there is none.
struct KpoolRefusal {
  std::uint64_t index = 0;
  std::uint32_t fault = ALLOCMARK_FAULT_NONE;
};
KpoolRefusal CheckKpoolOps(const allocmark_begin& stream,
                           std::uint64_t max_size, std::span<const Op> ops);

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

  /// Opens the device and negotiates the ABI: VERSION (sized by this build,
  /// accepted by any driver of ABI 3 on) must say ABI 3, this op record
  /// and histogram layout. The report says what was found (ABI, tick rate,
  /// whether allocations are zeroed) or why the device cannot be used.
  IdentityReport Open();

  const allocmark_version& version() const { return version_; }
  std::uint64_t MaxSize(KpoolBackend b) const {
    return max_size_[static_cast<std::uint32_t>(b)];
  }

  /// Returns the stream id (> 0) or -errno.
  int Begin(const allocmark_begin& request);
  /// Replays n ops in the calling thread; *done = ops that took effect,
  /// *fault (if given) the driver's reason for refusing the next one.
  int Replay(int stream, const Op* ops, std::uint64_t n, std::uint64_t* done,
             std::uint32_t* fault = nullptr);
  /// Frees what the stream left (leaks), fills *out and hist, drops it.
  int End(int stream, allocmark_end* out, KpoolHistograms* hist);
  /// The poolmon view of one tag since the module was loaded.
  int TagStats(const char (&tag)[4], allocmark_tag_stats* out);

 private:
  int fd_ = -1;
  allocmark_version version_{};
  std::uint64_t max_size_[ALLOCMARK_NR_BACKENDS] = {};
};

}  // namespace allocmark
