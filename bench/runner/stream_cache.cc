// Files live in a private directory under $TMPDIR for the run's lifetime.
#include "bench/runner/stream_cache.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "bench/probes/clock.h"

namespace allocmark {

StreamCache::StreamCache(bool enabled) : enabled_(enabled) {}

StreamCache::~StreamCache() {
  if (dir_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string StreamCache::Path(const WorkloadSpec& spec, std::uint32_t threads,
                              std::uint64_t ops_per_thread,
                              std::uint64_t seed) {
  if (!enabled_) return "";
  const std::string key = spec.path + "\n" + std::to_string(threads) + "\n" +
                          std::to_string(ops_per_thread) + "\n" +
                          std::to_string(seed);
  if (const auto it = paths_.find(key); it != paths_.end()) return it->second;
  std::string& path = paths_[key];
  // Sends, receives and teardown frees ride on top of the budget; 2x is a
  // generous bound for every shipped shape.
  if (std::uint64_t{threads} * ops_per_thread * sizeof(Op) * 2 >
      kMaxStreamBytes) {
    ++uncached_;
    return path;
  }
  try {
    if (dir_.empty()) {
      const char* tmp = std::getenv("TMPDIR");
      std::string pattern =
          std::string(tmp && *tmp ? tmp : "/tmp") + "/allocmark-streams-XXXXXX";
      if (mkdtemp(pattern.data()) == nullptr)
        throw SpecError(pattern + ": cannot create the stream cache directory");
      dir_ = pattern;
    }
    const std::string file = dir_ + "/" + std::to_string(paths_.size()) + "-" +
                             spec.name + "-t" + std::to_string(threads) +
                             ".stream";
    const StreamKey k{HashSpecFile(spec.path), threads, ops_per_thread, seed};
    const std::uint64_t t0 = MonotonicClock::Now();
    WriteStreamFile(spec, k, file);
    generate_ns_ += MonotonicClock::Now() - t0;
    ++generated_;
    struct stat st;
    if (stat(file.c_str(), &st) == 0) bytes_ += st.st_size;
    path = file;
  } catch (const std::exception& e) {
    if (failure_.empty()) {
      failure_ = e.what();
      std::fprintf(stderr,
                   "allocmark: stream cache: %s; workers generate their own "
                   "streams\n",
                   e.what());
    }
    ++uncached_;
  }
  return path;
}

std::string StreamCache::Summary() const {
  if (!enabled_) return "off";
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                "%llu streams generated once (%.1f MiB, %.2f s), %llu "
                "generated per worker",
                static_cast<unsigned long long>(generated_),
                static_cast<double>(bytes_) / (1 << 20),
                static_cast<double>(generate_ns_) / 1e9,
                static_cast<unsigned long long>(uncached_));
  std::string s = buf;
  if (!failure_.empty()) s += " (" + failure_ + ")";
  return s;
}

}  // namespace allocmark
