// The kpool device: open, version check and the ioctl wrappers. Each ioctl
// struct carries its own size first, as the driver's ABI requires.
#include "bench/kpool/kpool.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

static_assert(sizeof(allocmark::Op) == sizeof(allocmark_op),
              "bench/op.h and the driver's op record must stay identical");
static_assert(ALLOCMARK_HIST_BUCKETS == 3776,
              "the driver's histogram layout is bench/latency_histogram.h's");

namespace allocmark {

namespace {

constexpr const char* kBackendNames[] = {"kmalloc", "kmem_cache", "vmalloc",
                                         "pages"};

int Ioctl(int fd, unsigned long request, void* arg) {
  int rc;
  do {
    rc = ioctl(fd, request, arg);
  } while (rc < 0 && errno == EINTR);
  return rc < 0 ? -errno : rc;
}

}  // namespace

const char* KpoolBackendName(KpoolBackend backend) {
  return kBackendNames[static_cast<std::uint32_t>(backend)];
}

bool ParseKpoolBackend(std::string_view name, KpoolBackend* out) {
  for (std::uint32_t i = 0; i < ALLOCMARK_NR_BACKENDS; ++i) {
    if (name == kBackendNames[i]) {
      *out = static_cast<KpoolBackend>(i);
      return true;
    }
  }
  return false;
}

KpoolRefusal CheckKpoolOps(const allocmark_begin& stream,
                           std::uint64_t max_size, std::span<const Op> ops) {
  KpoolRefusal r;
  for (; r.index < ops.size(); ++r.index) {
    allocmark_op op;
    std::memcpy(&op, &ops[r.index], sizeof(op));
    r.fault =
        allocmark_op_check(&op, stream.nr_slots, stream.nr_tags, max_size);
    if (r.fault != ALLOCMARK_FAULT_NONE) break;
  }
  return r;
}

KpoolDevice::~KpoolDevice() {
  if (fd_ >= 0) close(fd_);
}

IdentityReport KpoolDevice::Open() {
  IdentityReport r;
  r.library = ALLOCMARK_DEVICE;
  fd_ = open(ALLOCMARK_DEVICE, O_RDWR | O_CLOEXEC);
  if (fd_ < 0) {
    r.detail = std::string("cannot open " ALLOCMARK_DEVICE ": ") +
               std::strerror(errno) + "; " + kKpoolLoadHint;
    return r;
  }
  version_ = {};
  version_.size = sizeof(version_);
  version_.max_size = reinterpret_cast<std::uintptr_t>(max_size_);
  version_.max_size_len = ALLOCMARK_NR_BACKENDS;
  if (const int rc = Ioctl(fd_, ALLOCMARK_IOC_VERSION, &version_); rc < 0) {
    // A driver of ABI 2 or older reads this struct's new fields as an
    // unknown non-zero tail.
    r.detail =
        std::string("VERSION ioctl failed: ") + std::strerror(-rc) +
        (rc == -E2BIG ? " (a driver older than ABI 3)"
                      : " (is " ALLOCMARK_DEVICE " the allocmark driver?)") +
        "; reload the driver built from this tree";
    return r;
  }
  if (version_.abi_version != ALLOCMARK_ABI_VERSION ||
      version_.op_size != sizeof(Op) ||
      version_.hist_buckets != ALLOCMARK_HIST_BUCKETS) {
    r.detail = "driver ABI " + std::to_string(version_.abi_version) +
               ", this build needs " + std::to_string(ALLOCMARK_ABI_VERSION) +
               ": reload the driver built from this tree (`sudo scripts/driver "
               "unload && sudo scripts/driver load`) or use `allocmark run "
               "--vm`";
    return r;
  }
  r.ok = true;
  r.detail = "driver ABI " + std::to_string(version_.abi_version) +
             " matches; TSC at " + std::to_string(version_.tick_khz) + " kHz" +
             ((version_.status & ALLOCMARK_STATUS_INIT_ON_ALLOC) != 0
                  ? "; init_on_alloc is on: allocation times include zeroing"
                  : "");
  return r;
}

int KpoolDevice::Begin(const allocmark_begin& request) {
  allocmark_begin b = request;
  b.size = sizeof(b);
  return Ioctl(fd_, ALLOCMARK_IOC_BEGIN, &b);
}

int KpoolDevice::Replay(int stream, const Op* ops, std::uint64_t n,
                        std::uint64_t* done, std::uint32_t* fault) {
  allocmark_replay r{};
  r.size = sizeof(r);
  r.stream = static_cast<std::uint32_t>(stream);
  r.ops = reinterpret_cast<std::uintptr_t>(ops);
  r.nr_ops = n;
  r.op_size = sizeof(Op);
  const int rc = Ioctl(fd_, ALLOCMARK_IOC_REPLAY, &r);
  *done = r.done;
  if (fault != nullptr) *fault = r.fault;
  return rc < 0 ? rc : 0;
}

int KpoolDevice::End(int stream, allocmark_end* out, KpoolHistograms* hist) {
  *out = {};
  out->size = sizeof(*out);
  out->stream = static_cast<std::uint32_t>(stream);
  out->hist = reinterpret_cast<std::uintptr_t>(hist);
  out->hist_bytes = hist != nullptr ? sizeof(*hist) : 0;
  const int rc = Ioctl(fd_, ALLOCMARK_IOC_END, out);
  if (rc < 0) return rc;
  // hist_bytes is a capacity: a driver with another layout fills less.
  return out->hist_filled == out->hist_bytes ? 0 : -EPROTO;
}

int KpoolDevice::TagStats(const char (&tag)[4], allocmark_tag_stats* out) {
  *out = {};
  out->size = sizeof(*out);
  std::memcpy(out->tag, tag, 4);
  const int rc = Ioctl(fd_, ALLOCMARK_IOC_TAG_STATS, out);
  return rc < 0 ? rc : 0;
}

}  // namespace allocmark
