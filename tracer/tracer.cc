// liballocmark-tracer.so: LD_PRELOAD'ed by `allocmark record`, it records
// every malloc-family call of the process into per-thread buffers and writes
// them to the trace file (bench/trace/trace_format.h) in whole chunks.
//
// It never allocates through the functions it traces: buffers are mmap'ed,
// and a thread-local guard passes through (unrecorded) every call made while
// the tracer or the real allocator is running, so only the program's own
// outermost calls are recorded. C++ operator new/delete reach it through
// libstdc++, which calls malloc/free.
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "bench/trace/trace_format.h"

namespace {

using allocmark::trace::CallKind;
using allocmark::trace::ChunkHeader;
using allocmark::trace::TraceEvent;
using allocmark::trace::TraceHeader;

// 1024 events (32 KiB) per thread between writes: small enough that a
// process with many threads stays small, large enough that writes are rare.
constexpr std::uint32_t kBufferEvents = 1024;
constexpr std::uint32_t kMaxThreadBuffers = 1 << 16;

struct ThreadBuffer {
  std::uint32_t thread;
  std::uint32_t flushed;  // events already written (under g_write_lock)
  std::atomic<std::uint32_t> count;  // events recorded, published in order
  TraceEvent events[kBufferEvents];
};

using MallocFn = void* (*)(std::size_t);
using CallocFn = void* (*)(std::size_t, std::size_t);
using ReallocFn = void* (*)(void*, std::size_t);
using FreeFn = void (*)(void*);
using PosixMemalignFn = int (*)(void**, std::size_t, std::size_t);
using AlignedFn = void* (*)(std::size_t, std::size_t);
using ReallocarrayFn = void* (*)(void*, std::size_t, std::size_t);
using ExecveFn = int (*)(const char*, char* const[], char* const[]);
using ExecvFn = int (*)(const char*, char* const[]);
using ExecvpeFn = int (*)(const char*, char* const[], char* const[]);

struct RealFunctions {
  MallocFn malloc;
  CallocFn calloc;
  ReallocFn realloc;
  FreeFn free;
  PosixMemalignFn posix_memalign;
  AlignedFn aligned_alloc;
  AlignedFn memalign;
  MallocFn valloc;
  MallocFn pvalloc;
  ReallocarrayFn reallocarray;
  ExecveFn execve;
  ExecvFn execv;
  ExecvFn execvp;
  ExecvpeFn execvpe;
};

RealFunctions g_real;
std::atomic<int> g_state{0};  // 0 not started, 1 resolving, 2 tracing, 3 off
int g_fd = -1;
std::uint64_t g_start_ns = 0;
TraceHeader g_header;
std::atomic<bool> g_write_lock{false};
std::atomic<std::uint32_t> g_next_thread{0};
std::atomic<ThreadBuffer*>* g_buffers = nullptr;  // mmap'ed registry
pthread_key_t g_exit_key;

thread_local ThreadBuffer* t_buffer [[gnu::tls_model("initial-exec")]] =
    nullptr;
thread_local int t_busy [[gnu::tls_model("initial-exec")]] = 0;

// dlsym allocates before the real functions are known: a static arena
// serves those calls, and its blocks are never handed to the real free.
alignas(64) char g_arena[64 * 1024];
std::atomic<std::size_t> g_arena_used{0};

bool InArena(const void* p) {
  return p >= g_arena && p < g_arena + sizeof(g_arena);
}

void* ArenaAlloc(std::size_t size, std::size_t align = 16) {
  std::size_t used = g_arena_used.load();
  std::size_t start;
  do {
    start = (used + align - 1) & ~(align - 1);
    if (start + size > sizeof(g_arena)) return nullptr;
  } while (!g_arena_used.compare_exchange_weak(used, start + size));
  return g_arena + start;
}

std::uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ULL +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

void LockWrites() {
  while (g_write_lock.exchange(true, std::memory_order_acquire)) sched_yield();
}
// A signal handler may find the lock held by the thread it interrupted.
bool TryLockWrites() {
  for (int i = 0; i < 1000; ++i) {
    if (!g_write_lock.exchange(true, std::memory_order_acquire)) return true;
    sched_yield();
  }
  return false;
}
void UnlockWrites() { g_write_lock.store(false, std::memory_order_release); }

void WriteAll(const iovec* iov, int n) {
  iovec v[2] = {iov[0], iov[1]};
  while (n > 0) {
    const ssize_t w = writev(g_fd, v, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return;  // nothing sensible to do inside someone else's malloc
    }
    std::size_t left = static_cast<std::size_t>(w);
    while (n > 0 && left >= v[0].iov_len) {
      left -= v[0].iov_len;
      v[0] = v[1];
      --n;
    }
    if (n > 0) {
      v[0].iov_base = static_cast<char*>(v[0].iov_base) + left;
      v[0].iov_len -= left;
    }
  }
}

// Writes the buffer's published, unwritten events as one chunk; the caller
// holds the write lock.
void FlushLocked(ThreadBuffer* b) {
  const std::uint32_t count = b->count.load(std::memory_order_acquire);
  if (g_fd < 0 || count == b->flushed) return;
  ChunkHeader h{allocmark::trace::kChunkMagic, b->thread, count - b->flushed,
                0};
  const iovec iov[2] = {
      {&h, sizeof(h)},
      {&b->events[b->flushed], (count - b->flushed) * sizeof(TraceEvent)}};
  WriteAll(iov, 2);
  b->flushed = count;
}

void WriteHeader() {
  if (g_fd < 0) return;
  g_header.threads = g_next_thread.load();
  g_header.end_ns = NowNs() - g_start_ns;
  (void)!pwrite(g_fd, &g_header, sizeof(g_header), 0);
}

// Every registered buffer; with `try_lock` (signal handlers) it gives up
// rather than deadlock on a lock the interrupted thread holds.
void FlushAll(bool try_lock) {
  if (try_lock ? !TryLockWrites() : (LockWrites(), false)) return;
  const std::uint32_t n = g_next_thread.load();
  for (std::uint32_t i = 0; i < n && i < kMaxThreadBuffers; ++i) {
    if (ThreadBuffer* b = g_buffers[i].load()) FlushLocked(b);
  }
  WriteHeader();
  UnlockWrites();
}

// <ALLOCMARK_TRACE>.<pid>.<image>: the first free image number, so an
// exec'd image never overwrites the one before it.
void OpenTraceFile(std::uint32_t flags) {
  const char* prefix = getenv("ALLOCMARK_TRACE");
  if (prefix == nullptr || *prefix == '\0') return;
  char path[4096];
  for (std::uint32_t image = 0; image < 1000; ++image) {
    snprintf(path, sizeof(path), "%s.%d.%u", prefix, static_cast<int>(getpid()),
             image);
    g_fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (g_fd >= 0) {
      g_header = {};
      std::memcpy(g_header.magic, allocmark::trace::kMagic,
                  sizeof(g_header.magic));
      g_header.version = allocmark::trace::kVersion;
      g_header.header_bytes = sizeof(TraceHeader);
      g_header.event_bytes = sizeof(TraceEvent);
      g_header.flags = flags;
      g_header.pid = static_cast<std::uint32_t>(getpid());
      g_header.ppid = static_cast<std::uint32_t>(getppid());
      timespec rt;
      clock_gettime(CLOCK_REALTIME, &rt);
      g_header.start_unix_ns =
          static_cast<std::uint64_t>(rt.tv_sec) * 1000000000ULL +
          static_cast<std::uint64_t>(rt.tv_nsec);
      g_header.image = image;
      const iovec iov[2] = {{&g_header, sizeof(g_header)}, {nullptr, 0}};
      WriteAll(iov, 1);
      return;
    }
    if (errno != EEXIST) return;
  }
}

ThreadBuffer* NewThreadBuffer() {
  const std::uint32_t index = g_next_thread.fetch_add(1);
  if (index >= kMaxThreadBuffers) return nullptr;
  void* m = mmap(nullptr, sizeof(ThreadBuffer), PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return nullptr;
  auto* b = static_cast<ThreadBuffer*>(m);
  b->thread = index;
  b->flushed = 0;
  b->count.store(0);
  g_buffers[index].store(b);
  pthread_setspecific(g_exit_key, b);  // its destructor flushes at exit
  return b;
}

// pthread key destructor: the thread is exiting. Its buffer stays
// registered (glibc frees thread resources after this, and those frees are
// recorded too); what it holds is written now and at process exit.
void OnThreadExit(void* p) {
  ++t_busy;
  LockWrites();
  FlushLocked(static_cast<ThreadBuffer*>(p));
  UnlockWrites();
  --t_busy;
}

void Record(CallKind kind, const void* ptr, std::uint64_t size,
            std::uint8_t align_log2, std::uint64_t now) {
  ThreadBuffer* b = t_buffer;
  if (b == nullptr) {
    b = t_buffer = NewThreadBuffer();
    if (b == nullptr) return;
  }
  std::uint32_t n = b->count.load(std::memory_order_relaxed);
  if (n == kBufferEvents) {
    LockWrites();
    FlushLocked(b);
    b->flushed = 0;
    b->count.store(0, std::memory_order_release);
    UnlockWrites();
    n = 0;
  }
  TraceEvent& e = b->events[n];
  e.time_ns = now - g_start_ns;
  e.ptr = reinterpret_cast<std::uintptr_t>(ptr);
  e.size = size;
  e.kind = static_cast<std::uint8_t>(kind);
  e.align_log2 = align_log2;
  std::memset(e.reserved, 0, sizeof(e.reserved));
  b->count.store(n + 1, std::memory_order_release);
}

std::uint8_t Log2(std::size_t align) {
  std::uint8_t l = 0;
  while (l < 63 && (std::size_t{1} << (l + 1)) <= align) ++l;
  return l;
}

void OnCrash(int sig) {
  ++t_busy;
  FlushAll(true);  // the header stays without kFlagComplete
  signal(sig, SIG_DFL);
  raise(sig);
}

void AtForkPrepare() {
  ++t_busy;
  LockWrites();
}
void AtForkParent() {
  UnlockWrites();
  --t_busy;
}
// The child starts its own trace (<prefix>.<child pid>.0, kFlagForked); the
// parent's unwritten events copied into it are the parent's to write, and
// the parent's other threads do not exist here.
void AtForkChild() {
  g_fd = -1;
  for (std::uint32_t i = 0; i < kMaxThreadBuffers; ++i)
    g_buffers[i].store(nullptr);
  g_next_thread.store(0);
  if (t_buffer != nullptr) {
    t_buffer->thread = g_next_thread.fetch_add(1);
    t_buffer->flushed = 0;
    t_buffer->count.store(0);
    g_buffers[t_buffer->thread].store(t_buffer);
  }
  g_start_ns = NowNs();
  OpenTraceFile(allocmark::trace::kFlagForked);
  UnlockWrites();
  --t_busy;
}

void Start() {
  int expected = 0;
  if (!g_state.compare_exchange_strong(expected, 1)) return;
  ++t_busy;
  g_real.malloc = reinterpret_cast<MallocFn>(dlsym(RTLD_NEXT, "malloc"));
  g_real.calloc = reinterpret_cast<CallocFn>(dlsym(RTLD_NEXT, "calloc"));
  g_real.realloc = reinterpret_cast<ReallocFn>(dlsym(RTLD_NEXT, "realloc"));
  g_real.free = reinterpret_cast<FreeFn>(dlsym(RTLD_NEXT, "free"));
  g_real.posix_memalign =
      reinterpret_cast<PosixMemalignFn>(dlsym(RTLD_NEXT, "posix_memalign"));
  g_real.aligned_alloc =
      reinterpret_cast<AlignedFn>(dlsym(RTLD_NEXT, "aligned_alloc"));
  g_real.memalign = reinterpret_cast<AlignedFn>(dlsym(RTLD_NEXT, "memalign"));
  g_real.valloc = reinterpret_cast<MallocFn>(dlsym(RTLD_NEXT, "valloc"));
  g_real.pvalloc = reinterpret_cast<MallocFn>(dlsym(RTLD_NEXT, "pvalloc"));
  g_real.reallocarray =
      reinterpret_cast<ReallocarrayFn>(dlsym(RTLD_NEXT, "reallocarray"));
  g_real.execve = reinterpret_cast<ExecveFn>(dlsym(RTLD_NEXT, "execve"));
  g_real.execv = reinterpret_cast<ExecvFn>(dlsym(RTLD_NEXT, "execv"));
  g_real.execvp = reinterpret_cast<ExecvFn>(dlsym(RTLD_NEXT, "execvp"));
  g_real.execvpe = reinterpret_cast<ExecvpeFn>(dlsym(RTLD_NEXT, "execvpe"));
  void* m =
      mmap(nullptr, sizeof(std::atomic<ThreadBuffer*>) * kMaxThreadBuffers,
           PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  const bool ok = m != MAP_FAILED && g_real.malloc && g_real.free &&
                  g_real.calloc && g_real.realloc;
  if (ok) {
    g_buffers = static_cast<std::atomic<ThreadBuffer*>*>(m);
    g_start_ns = NowNs();
    pthread_key_create(&g_exit_key, OnThreadExit);
    pthread_atfork(AtForkPrepare, AtForkParent, AtForkChild);
    OpenTraceFile(0);
    for (int sig :
         {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTERM, SIGINT, SIGHUP}) {
      struct sigaction old;
      // A program's own handler stays; then it decides how the process ends.
      if (sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_DFL)
        signal(sig, OnCrash);
    }
  }
  --t_busy;
  g_state.store(ok && g_fd >= 0 ? 2 : 3);
}

// Tracing is on, and this call is the program's own (not one made by the
// tracer or from inside the real allocator).
bool Tracing() {
  if (g_state.load(std::memory_order_acquire) != 2) {
    if (g_state.load() == 0) Start();
    if (g_state.load(std::memory_order_acquire) != 2) return false;
  }
  return t_busy == 0;
}

bool Resolving() { return g_state.load(std::memory_order_acquire) <= 1; }

[[gnu::destructor]] void Finish() {
  if (g_state.load() != 2) return;
  ++t_busy;
  g_header.flags |= allocmark::trace::kFlagComplete;
  FlushAll(false);
  g_state.store(3);  // later calls (other libraries' destructors) pass through
}

// Before an exec replaces the image: write everything, mark it ended.
void BeforeExec() {
  if (g_state.load() == 0) Start();
  if (g_state.load() != 2) return;
  ++t_busy;
  g_header.flags |=
      allocmark::trace::kFlagComplete | allocmark::trace::kFlagExeced;
  FlushAll(false);
  --t_busy;
}
// The exec failed: this image goes on, and its trace is open again.
void AfterFailedExec() {
  if (g_state.load() != 2) return;
  g_header.flags &=
      ~(allocmark::trace::kFlagComplete | allocmark::trace::kFlagExeced);
}

struct Busy {
  Busy() { ++t_busy; }
  ~Busy() { --t_busy; }
};

}  // namespace

extern "C" {

void* malloc(std::size_t size) {
  if (Resolving()) {
    if (g_state.load() == 0) Start();
    if (Resolving()) return ArenaAlloc(size);
  }
  if (!Tracing()) return g_real.malloc(size);
  void* p;
  {
    Busy busy;
    p = g_real.malloc(size);
  }
  Record(CallKind::kMalloc, p, size, 0, NowNs());
  return p;
}

void* calloc(std::size_t n, std::size_t size) {
  if (Resolving()) {
    if (g_state.load() == 0) Start();
    if (Resolving()) return ArenaAlloc(n * size);  // the arena is zeroed
  }
  if (!Tracing()) return g_real.calloc(n, size);
  void* p;
  {
    Busy busy;
    p = g_real.calloc(n, size);
  }
  std::size_t bytes = 0;
  if (__builtin_mul_overflow(n, size, &bytes)) bytes = SIZE_MAX;
  Record(CallKind::kCalloc, p, bytes, 0, NowNs());
  return p;
}

void free(void* p) {
  if (InArena(p)) return;
  if (Resolving()) {
    if (g_state.load() == 0) Start();
    if (Resolving()) return;
  }
  if (!Tracing()) return g_real.free(p);
  Record(CallKind::kFree, p, 0, 0, NowNs());
  Busy busy;
  g_real.free(p);
}

static void* TracedRealloc(CallKind kind, void* p, std::size_t bytes,
                           void* (*call)(void*, std::size_t, std::size_t),
                           std::size_t n, std::size_t size) {
  Record(kind, p, bytes, 0, NowNs());
  void* q;
  {
    Busy busy;
    q = call(p, n, size);
  }
  Record(CallKind::kReallocResult, q, bytes, 0, NowNs());
  return q;
}

void* realloc(void* p, std::size_t size) {
  if (InArena(p)) {  // a dlsym-time block moves to the real allocator
    void* q = malloc(size);
    if (q != nullptr)
      std::memcpy(q, p,
                  std::min<std::size_t>(
                      size, static_cast<std::size_t>(g_arena + sizeof(g_arena) -
                                                     static_cast<char*>(p))));
    return q;
  }
  if (Resolving()) {
    if (g_state.load() == 0) Start();
    if (Resolving()) return nullptr;
  }
  if (!Tracing()) return g_real.realloc(p, size);
  return TracedRealloc(
      CallKind::kRealloc, p, size,
      [](void* b, std::size_t, std::size_t s) { return g_real.realloc(b, s); },
      0, size);
}

void* reallocarray(void* p, std::size_t n, std::size_t size) {
  if (Resolving() || !Tracing() || g_real.reallocarray == nullptr) {
    std::size_t bytes;
    if (__builtin_mul_overflow(n, size, &bytes)) {
      errno = ENOMEM;
      return nullptr;
    }
    if (g_real.reallocarray != nullptr && !Resolving())
      return g_real.reallocarray(p, n, size);
    return realloc(p, bytes);
  }
  std::size_t bytes = 0;
  if (__builtin_mul_overflow(n, size, &bytes)) bytes = SIZE_MAX;
  return TracedRealloc(
      CallKind::kReallocarray, p, bytes,
      [](void* b, std::size_t c, std::size_t s) {
        return g_real.reallocarray(b, c, s);
      },
      n, size);
}

int posix_memalign(void** out, std::size_t align, std::size_t size) {
  if (Resolving()) {
    if (g_state.load() == 0) Start();
    if (Resolving()) {
      *out = ArenaAlloc(size, align);
      return *out ? 0 : ENOMEM;
    }
  }
  if (!Tracing()) return g_real.posix_memalign(out, align, size);
  int r;
  {
    Busy busy;
    r = g_real.posix_memalign(out, align, size);
  }
  Record(CallKind::kPosixMemalign, r == 0 ? *out : nullptr, size, Log2(align),
         NowNs());
  return r;
}

#define ALLOCMARK_TRACED_ALIGNED(name, Kind)               \
  void* name(std::size_t align, std::size_t size) {        \
    if (Resolving()) {                                     \
      if (g_state.load() == 0) Start();                    \
      if (Resolving()) return ArenaAlloc(size, align);     \
    }                                                      \
    if (!Tracing()) return g_real.name(align, size);       \
    void* p;                                               \
    {                                                      \
      Busy busy;                                           \
      p = g_real.name(align, size);                        \
    }                                                      \
    Record(CallKind::Kind, p, size, Log2(align), NowNs()); \
    return p;                                              \
  }
ALLOCMARK_TRACED_ALIGNED(aligned_alloc, kAlignedAlloc)
ALLOCMARK_TRACED_ALIGNED(memalign, kMemalign)
#undef ALLOCMARK_TRACED_ALIGNED

#define ALLOCMARK_TRACED_PAGE(name, Kind)             \
  void* name(std::size_t size) {                      \
    if (Resolving()) {                                \
      if (g_state.load() == 0) Start();               \
      if (Resolving()) return ArenaAlloc(size, 4096); \
    }                                                 \
    if (!Tracing()) return g_real.name(size);         \
    void* p;                                          \
    {                                                 \
      Busy busy;                                      \
      p = g_real.name(size);                          \
    }                                                 \
    Record(CallKind::Kind, p, size, 12, NowNs());     \
    return p;                                         \
  }
ALLOCMARK_TRACED_PAGE(valloc, kValloc)
ALLOCMARK_TRACED_PAGE(pvalloc, kPvalloc)
#undef ALLOCMARK_TRACED_PAGE

// The exec family glibc exports with an environment or a PATH search; each
// writes the trace first (an exec discards the buffers). execl* and
// posix_spawn reach execve inside glibc, past this interposition: an image
// ended that way keeps only what it had written (marked incomplete).
int execve(const char* path, char* const argv[], char* const envp[]) {
  BeforeExec();
  const int r = g_real.execve(path, argv, envp);
  AfterFailedExec();
  return r;
}
int execv(const char* path, char* const argv[]) {
  BeforeExec();
  const int r = g_real.execv(path, argv);
  AfterFailedExec();
  return r;
}
int execvp(const char* file, char* const argv[]) {
  BeforeExec();
  const int r = g_real.execvp(file, argv);
  AfterFailedExec();
  return r;
}
int execvpe(const char* file, char* const argv[], char* const envp[]) {
  BeforeExec();
  const int r = g_real.execvpe(file, argv, envp);
  AfterFailedExec();
  return r;
}

}  // extern "C"
