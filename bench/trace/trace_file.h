// Reads and validates an allocation trace (bench/trace/trace_format.h) into
// per-thread call lists; every malformed file is a TraceError naming it.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/trace/trace_format.h"

namespace allocmark {

/// A trace that cannot be used; the message names the file (exit 2).
class TraceError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// One call as the program made it. realloc and reallocarray are one call
/// made from their two events.
struct TraceCall {
  trace::CallKind kind;
  std::uint8_t align_log2 = 0;
  std::uint64_t ptr_in = 0;   ///< freed, or passed to realloc
  std::uint64_t ptr_out = 0;  ///< returned (0: failed, or a free)
  std::uint64_t size = 0;
  std::uint64_t release_ns = 0;  ///< when ptr_in was given back (entry)
  std::uint64_t acquire_ns = 0;  ///< when ptr_out was handed out (return)
};

struct Trace {
  std::string path;
  trace::TraceHeader header{};
  bool complete = false;
  std::vector<std::vector<TraceCall>> threads;  ///< by thread index
  std::uint64_t calls = 0;
};

/// Reads a whole trace. Refuses a short or foreign file, a newer format, a
/// corrupt or cut chunk, an unknown call kind; a trace without
/// kFlagComplete (the program crashed or was killed) is read as far as its
/// whole chunks go, and its last realloc may lack its result.
Trace ReadTrace(const std::string& path);

/// The name a call kind has in the C library ("malloc", ...).
const char* CallKindName(trace::CallKind kind);

}  // namespace allocmark
