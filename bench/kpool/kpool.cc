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
  if (const int rc = Ioctl(fd_, ALLOCMARK_IOC_VERSION, &version_); rc < 0) {
    r.detail = std::string("VERSION ioctl failed: ") + std::strerror(-rc) +
               " (is " ALLOCMARK_DEVICE " the allocmark driver?)";
    return r;
  }
  if (version_.abi_version != ALLOCMARK_ABI_VERSION) {
    r.detail = "driver ABI " + std::to_string(version_.abi_version) +
               ", this build needs " + std::to_string(ALLOCMARK_ABI_VERSION) +
               ": reload the driver built from this tree (`sudo scripts/driver "
               "unload && sudo scripts/driver load`) or use `allocmark run "
               "--vm`";
    return r;
  }
  r.ok = true;
  r.detail = "driver ABI " + std::to_string(version_.abi_version) +
             " matches; get_cycles() at " + std::to_string(version_.tick_khz) +
             " kHz";
  return r;
}

int KpoolDevice::Begin(const allocmark_begin& request) {
  allocmark_begin b = request;
  b.size = sizeof(b);
  return Ioctl(fd_, ALLOCMARK_IOC_BEGIN, &b);
}

int KpoolDevice::Replay(int stream, const Op* ops, std::uint64_t n,
                        std::uint64_t* done) {
  allocmark_replay r{};
  r.size = sizeof(r);
  r.stream = static_cast<std::uint32_t>(stream);
  r.ops = reinterpret_cast<std::uintptr_t>(ops);
  r.nr_ops = n;
  const int rc = Ioctl(fd_, ALLOCMARK_IOC_REPLAY, &r);
  *done = r.done;
  return rc < 0 ? rc : 0;
}

int KpoolDevice::End(int stream, allocmark_end* out, KpoolHistograms* hist) {
  *out = {};
  out->size = sizeof(*out);
  out->stream = static_cast<std::uint32_t>(stream);
  out->hist = reinterpret_cast<std::uintptr_t>(hist);
  out->hist_bytes = hist != nullptr ? sizeof(*hist) : 0;
  const int rc = Ioctl(fd_, ALLOCMARK_IOC_END, out);
  return rc < 0 ? rc : 0;
}

int KpoolDevice::TagStats(const char (&tag)[4], allocmark_tag_stats* out) {
  *out = {};
  out->size = sizeof(*out);
  std::memcpy(out->tag, tag, 4);
  const int rc = Ioctl(fd_, ALLOCMARK_IOC_TAG_STATS, out);
  return rc < 0 ? rc : 0;
}

}  // namespace allocmark
