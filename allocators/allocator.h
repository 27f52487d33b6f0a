// The adapter concept every allocator satisfies, built from small named
// concepts (after snmalloc's pal_concept.h). The replay engine is a template
// over it, so the hot loop has no virtual call.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace allocmark {

/// One allocator-reported figure (e.g. jemalloc's stats.resident).
struct AllocatorStat {
  std::string name;
  double value;
};

/// Where the worker's memory really comes from, checked before any run.
struct IdentityReport {
  bool ok = false;
  std::string library;  ///< shared object that `malloc` resolved to
  std::string detail;   ///< what was checked, or why it failed
};

/// allocate / deallocate (sized) / reallocate; the three timed operations.
template <class A>
concept AllocatesMemory = requires(A& a, void* p, std::size_t n) {
  { a.Allocate(n, n) } -> std::same_as<void*>;       // (size, alignment)
  { a.Deallocate(p, n, n) } -> std::same_as<void>;   // (ptr, size, alignment)
  { a.Reallocate(p, n, n) } -> std::same_as<void*>;  // (ptr, old, new)
};

/// Bytes the allocator actually reserved for a block (internal fragmentation).
template <class A>
concept ReportsUsableSize = requires(A& a, void* p) {
  { a.UsableSize(p) } -> std::same_as<std::size_t>;
};

/// Name, version and the start-up identity check.
template <class A>
concept Identifies = requires(A& a) {
  { A::kName } -> std::convertible_to<std::string_view>;
  { a.Version() } -> std::same_as<std::string>;
  { a.CheckIdentity() } -> std::same_as<IdentityReport>;
};

template <class A>
concept Allocator = AllocatesMemory<A> && ReportsUsableSize<A> && Identifies<A>;

/// Optional: allocator-reported statistics (called outside timed regions).
template <class A>
concept HasStats = requires(A& a) {
  { a.Stats() } -> std::same_as<std::vector<AllocatorStat>>;
};

/// Optional: give cached memory back to the OS (malloc_trim, mi_collect, ...).
template <class A>
concept HasPurge = requires(A& a) {
  { a.Purge() } -> std::same_as<void>;
};

/// Optional: per-thread set-up run by each replay thread before timing starts
/// (e.g. pre-faulting a thread-private arena).
template <class A>
concept HasThreadInit = requires(A& a) {
  { a.ThreadInit() } -> std::same_as<bool>;
};

}  // namespace allocmark

/// Ends every adapter header: proves at compile time that the type is an
/// adapter. CMake then builds a worker for it by name (bench/CMakeLists.txt)
/// and the CLI's catalogue (bench/adapter_catalog.cc) lists it by name.
#define ALLOCMARK_REGISTER_ADAPTER(Type)      \
  static_assert(::allocmark::Allocator<Type>, \
                #Type " is not an allocmark::Allocator");
