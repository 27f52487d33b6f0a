// What the native reference programs share: a monotonic clock, a small
// xorshift generator, argument parsing that rejects bad input with exit 2.
#pragma once

#include <sys/resource.h>
#include <time.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace allocmark::native {

inline std::uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

/// CPU time of the whole process (all threads, exited ones too): on a loaded
/// machine the wall time also counts time spent queued for a core.
inline std::uint64_t ProcessCpuNs() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  auto ns = [](const timeval& tv) {
    return static_cast<std::uint64_t>(tv.tv_sec) * 1'000'000'000u +
           static_cast<std::uint64_t>(tv.tv_usec) * 1000u;
  };
  return ns(ru.ru_utime) + ns(ru.ru_stime);
}

/// xorshift64*: cheap enough not to dominate a malloc/free pair.
class Random {
 public:
  explicit Random(std::uint64_t seed) : x_(seed * 0x9e3779b97f4a7c15ULL | 1) {}
  std::uint64_t Next() {
    x_ ^= x_ >> 12;
    x_ ^= x_ << 25;
    x_ ^= x_ >> 27;
    return x_ * 0x2545f4914f6cdd1dULL;
  }
  std::uint64_t Below(std::uint64_t n) { return Next() % n; }
  double Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

 private:
  std::uint64_t x_;
};

/// argv[i] as a positive integer, or the default; anything else exits 2.
inline long PositiveArg(int argc, char** argv, int i, long fallback,
                        const char* name) {
  if (argc <= i) return fallback;
  char* end = nullptr;
  const long v = std::strtol(argv[i], &end, 10);
  if (end == argv[i] || *end != '\0' || v <= 0) {
    std::fprintf(stderr, "%s: %s must be a positive integer (got '%s')\n",
                 argv[0], name, argv[i]);
    std::exit(2);
  }
  return v;
}

/// The one line every native program prints: wall and CPU time of the
/// threaded part, and its malloc+free count.
inline void Report(const char* program, std::uint64_t wall_ns,
                   std::uint64_t cpu_ns, std::uint64_t ops) {
  std::printf("%s wall_ns %llu cpu_ns %llu ops %llu\n", program,
              static_cast<unsigned long long>(wall_ns),
              static_cast<unsigned long long>(cpu_ns),
              static_cast<unsigned long long>(ops));
}

}  // namespace allocmark::native
