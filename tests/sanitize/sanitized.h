// Which sanitizer, if any, this test binary (and so the whole build) runs
// under, for the few cases whose figures a sanitizer changes.
#pragma once

#include <string>

#if defined(__SANITIZE_ADDRESS__)
#define ALLOCMARK_ASAN 1
#elif defined(__SANITIZE_THREAD__)
#define ALLOCMARK_TSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ALLOCMARK_ASAN 1
#elif __has_feature(thread_sanitizer)
#define ALLOCMARK_TSAN 1
#endif
#endif

namespace allocmark::testing {

#ifdef ALLOCMARK_ASAN
inline constexpr bool kAddressSanitized = true;
#else
inline constexpr bool kAddressSanitized = false;
#endif
#ifdef ALLOCMARK_TSAN
inline constexpr bool kThreadSanitized = true;
#else
inline constexpr bool kThreadSanitized = false;
#endif
inline constexpr bool kSanitized = kAddressSanitized || kThreadSanitized;

// A comma-separated adapter list as a test names it, with the malloc
// replacements swapped for adapters a sanitizer build has, since it builds
// none of those (ALLOCMARK_SANITIZE_ADAPTERS): mimalloc -> null,
// jemalloc -> tbb. Unchanged in other builds.
inline std::string StandIn(const std::string& adapters) {
  if (!kSanitized) return adapters;
  std::string out;
  std::size_t start = 0;
  while (start <= adapters.size()) {
    std::size_t comma = adapters.find(',', start);
    if (comma == std::string::npos) comma = adapters.size();
    std::string name = adapters.substr(start, comma - start);
    if (name == "mimalloc") name = "null";
    if (name == "jemalloc") name = "tbb";
    out += (out.empty() ? "" : ",") + name;
    start = comma + 1;
  }
  return out;
}

}  // namespace allocmark::testing

// GTEST_SKIP()s the current test in sanitizer builds with `why` (a string
// literal): what the sanitizer changes that the test measures or needs.
#define ALLOCMARK_SKIP_IF_SANITIZED(why)            \
  do {                                              \
    if (::allocmark::testing::kSanitized) {         \
      GTEST_SKIP() << "sanitizer build: " << (why); \
    }                                               \
  } while (false)
