// Parsing of the worker command line (strict: unknown flags are errors).
#include "bench/worker/worker_options.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace allocmark {
namespace {

[[noreturn]] void Usage(const std::string& msg) {
  std::fprintf(stderr, "allocmark-worker: %s\n", msg.c_str());
  std::exit(2);
}

std::uint64_t ParseU64(const std::string& flag, const char* text,
                       std::uint64_t lo, std::uint64_t hi) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || v < lo ||
      v > hi)
    Usage(flag + ": expected an integer in [" + std::to_string(lo) + ", " +
          std::to_string(hi) + "], got '" + text + "'");
  return v;
}

}  // namespace

WorkerOptions ParseWorkerOptions(int argc, char** argv) {
  WorkerOptions o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) Usage(flag + ": missing value");
      return argv[++i];
    };
    if (flag == "--identity") {
      o.identity_only = true;
    } else if (flag == "--workload") {
      o.workload_path = value();
    } else if (flag == "--threads") {
      o.threads =
          static_cast<std::uint32_t>(ParseU64(flag, value(), 1, kMaxThreads));
    } else if (flag == "--scale") {
      const std::string s = value();
      if (!ParseScale(s, &o.scale))
        Usage("--scale: expected quick, default or full, got '" + s + "'");
    } else if (flag == "--ops") {
      o.ops_per_thread = ParseU64(flag, value(), 1, kMaxOpsPerThread);
    } else if (flag == "--seed") {
      o.seed = ParseU64(flag, value(), 0, UINT64_MAX);
    } else if (flag == "--timing") {
      const std::string s = value();
      if (s != "on" && s != "off" && s != "clock")
        Usage("--timing: expected on, clock or off, got '" + s + "'");
      o.timed = s != "off";
      o.account = s != "clock";
    } else if (flag == "--batch") {
      const std::string s = value();
      o.batch =
          s == "auto"
              ? 0
              : static_cast<std::uint32_t>(ParseU64(flag, s.c_str(), 1, 4096));
    } else if (flag == "--check") {
      o.check_contents = true;
    } else if (flag == "--pin") {
      o.pin = true;
    } else if (flag == "--chunk") {
      o.chunk_ops = ParseU64(flag, value(), 1024, 1ULL << 28);
    } else if (flag == "--ticks-per-ns") {
      const char* text = value();
      char* end = nullptr;
      const double v = std::strtod(text, &end);
      if (end == text || *end != '\0' || !(v > 0.01 && v < 100))
        Usage("--ticks-per-ns: expected a number in (0.01, 100), got '" +
              std::string(text) + "'");
      o.ticks_per_ns = v;
    } else if (flag == "--expect-malloc-from") {
      o.expect_malloc_from = value();
    } else if (flag == "--sample-ms") {
      o.sample_ms =
          static_cast<std::uint32_t>(ParseU64(flag, value(), 0, 60000));
    } else if (flag == "--cache") {
      o.cache = value();
      if (o.cache != "hw" && o.cache != "sim" && o.cache != "off")
        Usage("--cache: expected hw, sim or off, got '" + o.cache + "'");
    } else if (flag == "--stream-file") {
      o.stream_file = value();
    } else if (flag == "--repetition") {
      o.repetition =
          static_cast<std::uint32_t>(ParseU64(flag, value(), 0, 1u << 30));
    } else {
      Usage("unknown option '" + flag + "'");
    }
  }
  if (!o.identity_only && o.workload_path.empty())
    Usage("--workload FILE is required");
  if (o.chunk_ops < 2 * std::size_t{o.threads} + 3)
    Usage("--chunk: must be at least 2 * threads + 3 op records");
  return o;
}

}  // namespace allocmark
