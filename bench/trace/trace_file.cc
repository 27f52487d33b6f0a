// Trace reading: the header checks, chunk walking, and the pairing of each
// realloc's two events into one call.
#include "bench/trace/trace_file.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

namespace allocmark {

const char* CallKindName(trace::CallKind kind) {
  using trace::CallKind;
  switch (kind) {
    case CallKind::kMalloc:
      return "malloc";
    case CallKind::kCalloc:
      return "calloc";
    case CallKind::kRealloc:
    case CallKind::kReallocResult:
      return "realloc";
    case CallKind::kFree:
      return "free";
    case CallKind::kPosixMemalign:
      return "posix_memalign";
    case CallKind::kAlignedAlloc:
      return "aligned_alloc";
    case CallKind::kMemalign:
      return "memalign";
    case CallKind::kValloc:
      return "valloc";
    case CallKind::kPvalloc:
      return "pvalloc";
    case CallKind::kReallocarray:
      return "reallocarray";
  }
  return "?";
}

namespace {

// Threads are numbered by the tracer from 0; a larger index than this is
// not a tracer's.
constexpr std::uint32_t kMaxTraceThreads = 1 << 16;

[[noreturn]] void Fail(const std::string& path, const std::string& what) {
  throw TraceError(path + ": " + what);
}

}  // namespace

Trace ReadTrace(const std::string& path) {
  using trace::CallKind;
  std::ifstream in(path, std::ios::binary);
  if (!in) Fail(path, "cannot open the trace");
  const std::string bytes((std::istreambuf_iterator<char>(in)),
                          std::istreambuf_iterator<char>());
  Trace t;
  t.path = path;
  if (bytes.size() < sizeof(trace::TraceHeader)) {
    if (bytes.size() >= sizeof(trace::kMagic) &&
        std::memcmp(bytes.data(), trace::kMagic, sizeof(trace::kMagic)) == 0)
      Fail(path, "truncated trace (the header is cut short)");
    Fail(path, "not an allocmark trace (no ALMKTRCE header)");
  }
  std::memcpy(&t.header, bytes.data(), sizeof(t.header));
  if (std::memcmp(t.header.magic, trace::kMagic, sizeof(trace::kMagic)) != 0)
    Fail(path, "not an allocmark trace (no ALMKTRCE header)");
  if (t.header.version > trace::kVersion)
    Fail(path, "trace format version " + std::to_string(t.header.version) +
                   " is newer than this allocmark reads (" +
                   std::to_string(trace::kVersion) +
                   "); use a newer allocmark");
  if (t.header.version == 0 ||
      t.header.header_bytes != sizeof(trace::TraceHeader) ||
      t.header.event_bytes != sizeof(trace::TraceEvent))
    Fail(path, "corrupt trace header (version, header or event size)");
  t.complete = (t.header.flags & trace::kFlagComplete) != 0;

  std::vector<std::vector<trace::TraceEvent>> events;
  std::size_t off = sizeof(trace::TraceHeader);
  while (off < bytes.size()) {
    trace::ChunkHeader c;
    if (bytes.size() - off < sizeof(c))
      Fail(path, "truncated trace (a chunk header is cut at byte " +
                     std::to_string(off) + ")");
    std::memcpy(&c, bytes.data() + off, sizeof(c));
    if (c.magic != trace::kChunkMagic || c.thread >= kMaxTraceThreads ||
        c.count == 0)
      Fail(path,
           "corrupt trace (bad chunk at byte " + std::to_string(off) + ")");
    off += sizeof(c);
    const std::size_t need = std::size_t{c.count} * sizeof(trace::TraceEvent);
    if (bytes.size() - off < need)
      Fail(path, "truncated trace (a chunk of thread " +
                     std::to_string(c.thread) + " is cut at byte " +
                     std::to_string(bytes.size()) + ")");
    if (events.size() <= c.thread) events.resize(c.thread + 1);
    std::vector<trace::TraceEvent>& list = events[c.thread];
    const std::size_t first = list.size();
    list.resize(first + c.count);
    std::memcpy(&list[first], bytes.data() + off, need);
    off += need;
  }

  t.threads.resize(events.size());
  for (std::size_t th = 0; th < events.size(); ++th) {
    const std::vector<trace::TraceEvent>& list = events[th];
    for (std::size_t i = 0; i < list.size(); ++i) {
      const trace::TraceEvent& e = list[i];
      if (e.kind == 0 || e.kind > trace::kMaxCallKind)
        Fail(path, "corrupt trace (unknown call kind " +
                       std::to_string(e.kind) + " in thread " +
                       std::to_string(th) + ")");
      const auto kind = static_cast<CallKind>(e.kind);
      if (i > 0 && e.time_ns < list[i - 1].time_ns)
        Fail(path, "corrupt trace (time goes backwards in thread " +
                       std::to_string(th) + ")");
      TraceCall call{kind, e.align_log2};
      call.size = e.size;
      switch (kind) {
        case CallKind::kFree:
          call.ptr_in = e.ptr;
          call.release_ns = call.acquire_ns = e.time_ns;
          break;
        case CallKind::kRealloc:
        case CallKind::kReallocarray:
          call.ptr_in = e.ptr;
          call.release_ns = e.time_ns;
          if (i + 1 == list.size()) {
            // The program stopped inside realloc: it never returned.
            if (t.complete)
              Fail(path, "corrupt trace (realloc without its result)");
            call.acquire_ns = e.time_ns;
            break;
          }
          if (list[i + 1].kind !=
              static_cast<std::uint8_t>(CallKind::kReallocResult))
            Fail(path, "corrupt trace (realloc without its result in thread " +
                           std::to_string(th) + ")");
          call.ptr_out = list[i + 1].ptr;
          call.acquire_ns = list[i + 1].time_ns;
          ++i;
          break;
        case CallKind::kReallocResult:
          Fail(path, "corrupt trace (a realloc result without its call)");
        default:
          call.ptr_out = e.ptr;
          call.release_ns = call.acquire_ns = e.time_ns;
          break;
      }
      t.threads[th].push_back(call);
      ++t.calls;
    }
  }
  return t;
}

}  // namespace allocmark
