// Whether this test binary (and so the whole build) runs under a sanitizer,
// for the few cases whose figures a sanitizer changes; each skips, saying why.
#pragma once

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define ALLOCMARK_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define ALLOCMARK_SANITIZED 1
#endif
#endif

namespace allocmark::testing {

#ifdef ALLOCMARK_SANITIZED
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif

}  // namespace allocmark::testing

// GTEST_SKIP()s the current test in sanitizer builds with `why` (a string
// literal): what the sanitizer changes that the test measures.
#define ALLOCMARK_SKIP_IF_SANITIZED(why)            \
  do {                                              \
    if (::allocmark::testing::kSanitized) {         \
      GTEST_SKIP() << "sanitizer build: " << (why); \
    }                                               \
  } while (false)
