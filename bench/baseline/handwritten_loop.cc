// The yardstick for the harness's cost: fixed-64 written by hand as a plain
// malloc/free loop (batches of 1000 blocks of 64 bytes, first byte touched,
// freed in allocation order), timed the same way allocmark's untimed pass is,
// with the RSS growth it causes (VmHWM after, VmRSS before).
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

std::uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + ts.tv_nsec;
}

// A `key:` line of /proc/self/status in bytes (read(2): malloc stays idle).
long long StatusBytes(const char* key) {
  char buf[4096];
  const int fd = open("/proc/self/status", O_RDONLY);
  const ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
  if (fd >= 0) close(fd);
  if (n <= 0) return -1;
  buf[n] = '\0';
  const char* line = std::strstr(buf, key);
  return line ? std::atoll(line + std::strlen(key)) * 1024 : -1;
}

}  // namespace

int main(int argc, char** argv) {
  const long ops = argc > 1 ? std::atol(argv[1]) : 2'000'000;
  if (ops < 2000) {
    std::fprintf(stderr, "allocmark-baseline: ops must be >= 2000\n");
    return 2;
  }
  constexpr int kBatch = 1000;
  static void* blocks[kBatch];
  const long rounds = ops / (2 * kBatch);
  // Restart VmHWM so the growth is this loop's alone.
  const int clear = open("/proc/self/clear_refs", O_WRONLY);
  const bool reset = clear >= 0 && write(clear, "5", 1) == 1;
  if (clear >= 0) close(clear);
  const long long rss_before = StatusBytes("\nVmRSS:");
  const std::uint64_t t0 = NowNs();
  for (long r = 0; r < rounds; ++r) {
    for (int i = 0; i < kBatch; ++i) {
      auto* p = static_cast<volatile char*>(std::malloc(64));
      p[0] = static_cast<char>(i);
      blocks[i] = const_cast<char*>(p);
    }
    for (int i = 0; i < kBatch; ++i) std::free(blocks[i]);
  }
  const std::uint64_t t1 = NowNs();
  const long long hwm = StatusBytes("\nVmHWM:");
  std::printf(
      "{\"ops\": %ld, \"ns_per_op\": %.3f, \"rss_growth_bytes\": %lld}\n",
      rounds * 2 * kBatch,
      static_cast<double>(t1 - t0) / static_cast<double>(rounds * 2 * kBatch),
      reset && rss_before >= 0 && hwm >= 0 ? hwm - rss_before : -1LL);
  return 0;
}
