// ALLOCMARK_CHECK: the one invariant check; aborts with file, line and message.
// Used for harness invariants, never for user input (that gets exit code 2).
#pragma once

#include <cstdio>
#include <cstdlib>

#define ALLOCMARK_CHECK(cond, msg)                                    \
  do {                                                                \
    if (__builtin_expect(!(cond), 0)) {                               \
      std::fprintf(stderr, "%s:%d: check failed: %s: %s\n", __FILE__, \
                   __LINE__, #cond, msg);                             \
      std::abort();                                                   \
    }                                                                 \
  } while (0)
