// A program with known allocation calls, recorded by trace_test. Its own
// calls use marker sizes (7000 and up) so the test can tell them from the C
// and C++ runtimes' start-up allocations.
//   trace_program calls   every traced function, a realloc chain, two
//                         threads handing blocks to each other
//   trace_program crash   a few calls, then abort(): an incomplete trace
//   trace_program fork    the child allocates and frees its own blocks
#include <malloc.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace {

// Keeps the compiler from eliding a malloc/free pair.
void* volatile g_sink;

void* Keep(void* p) {
  g_sink = p;
  if (p != nullptr) static_cast<char*>(p)[0] = 1;
  return p;
}

int Calls() {
  free(Keep(malloc(7001)));
  free(Keep(calloc(7, 1001)));  // 7007 bytes
  void* p = nullptr;
  if (posix_memalign(&p, 64, 7064) != 0) return 1;
  free(Keep(p));
  free(Keep(aligned_alloc(128, 7168)));
  free(Keep(memalign(256, 7256)));
  free(Keep(valloc(7100)));
  free(Keep(pvalloc(7200)));
  void* a = Keep(reallocarray(nullptr, 7, 1003));  // 7021 bytes
  free(Keep(reallocarray(a, 7, 1004)));            // 7028 bytes
  // A realloc chain: one block grows through eight sizes, then is freed.
  void* chain = Keep(malloc(7300));
  for (int i = 1; i <= 8; ++i) chain = Keep(realloc(chain, 7300 + i * 4096));
  free(chain);

  // 50 blocks made on the main thread, freed by another; 20 the other way.
  std::vector<void*> to_worker, to_main;
  for (int i = 0; i < 50; ++i) to_worker.push_back(Keep(malloc(8000 + i)));
  std::thread worker([&] {
    for (void* b : to_worker) free(b);
    for (int i = 0; i < 20; ++i) to_main.push_back(Keep(malloc(9000 + i)));
  });
  worker.join();
  for (void* b : to_main) free(b);
  return 0;
}

int Crash() {
  for (int i = 0; i < 10; ++i) Keep(malloc(7500 + i));
  std::abort();
}

int Fork() {
  void* inherited = Keep(malloc(7600));
  const pid_t pid = fork();
  if (pid == 0) {
    free(inherited);  // the parent's block: not in the child's trace
    for (int i = 0; i < 5; ++i) free(Keep(malloc(7700 + i)));
    std::exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  free(inherited);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "calls";
  if (std::strcmp(mode, "calls") == 0) return Calls();
  if (std::strcmp(mode, "crash") == 0) return Crash();
  if (std::strcmp(mode, "fork") == 0) return Fork();
  std::fprintf(stderr, "trace_program: unknown mode %s\n", mode);
  return 2;
}
