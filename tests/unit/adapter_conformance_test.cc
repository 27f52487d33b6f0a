// Conformance of one allocator adapter to the allocmark::Allocator contract.
// Compiled once per adapter (tests/unit/CMakeLists.txt) with
// ALLOCMARK_ADAPTER_HEADER / ALLOCMARK_ADAPTER_TYPE / ALLOCMARK_ADAPTER_NAME,
// because several allocators replace malloc for the whole process.
#include ALLOCMARK_ADAPTER_HEADER

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "allocators/allocator.h"
#include "bench/spec/rng.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define ALLOCMARK_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define ALLOCMARK_TEST_SANITIZED 1
#endif
#endif

namespace allocmark {
namespace {

using Adapter = ALLOCMARK_ADAPTER_TYPE;
static_assert(Allocator<Adapter>);

constexpr bool kIsNull = std::string_view(ALLOCMARK_ADAPTER_NAME) == "null";
// `null` never frees and bumps through per-thread rings that wrap around, so
// a block keeps its contents only until the ring comes round again: the
// tests that keep many blocks live check contents on every adapter but null.
constexpr bool kKeepsContents = !kIsNull;

// One adapter instance per process, as in a worker (the lookaside adapter is
// not copyable, and its lists must outlive blocks freed on other threads).
Adapter& TheAdapter() {
  static Adapter* adapter = new Adapter();
  return *adapter;
}

std::uintptr_t Addr(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p);
}

void Fill(void* p, std::size_t n, std::uint8_t byte) {
  std::memset(p, byte, n);
}

// Index of the first byte that is not `byte`, or n when all are.
std::size_t FirstMismatch(const void* p, std::size_t n, std::uint8_t byte) {
  const auto* b = static_cast<const std::uint8_t*>(p);
  for (std::size_t i = 0; i < n; ++i) {
    if (b[i] != byte) return i;
  }
  return n;
}

TEST(AdapterConformance, NameMatchesTheBuild) {
  EXPECT_EQ(std::string_view(Adapter::kName),
            std::string_view(ALLOCMARK_ADAPTER_NAME));
}

TEST(AdapterConformance, VersionIsNotEmpty) {
  const std::string v = TheAdapter().Version();
  EXPECT_FALSE(v.empty());
  EXPECT_NE(v, "unknown");
}

TEST(AdapterConformance, IdentityCheckPasses) {
  // Sanitizer builds make only adapters whose malloc may be the runtime's
  // (ALLOCMARK_SANITIZE_ADAPTERS), so their check passes there too.
  const IdentityReport r = TheAdapter().CheckIdentity();
  EXPECT_TRUE(r.ok) << r.detail << " (library: " << r.library << ")";
  EXPECT_FALSE(r.library.empty());
  EXPECT_FALSE(r.detail.empty());
}

// Explicit alignments >= 16 (what the generator emits) must be honoured.
TEST(AdapterConformance, ExplicitAlignmentsAreHonoured) {
  Adapter& a = TheAdapter();
  for (std::size_t align = 16; align <= 4096; align *= 2) {
    for (std::size_t size : {1, 7, 64, 1000, 5000}) {
      void* p = a.Allocate(size, align);
      ASSERT_NE(p, nullptr) << "size " << size << " align " << align;
      EXPECT_EQ(Addr(p) % align, 0u) << "size " << size << " align " << align;
      EXPECT_GE(a.UsableSize(p), size);
      Fill(p, size, 0xa5);
      a.Deallocate(p, size);
    }
  }
}

// Alignments below 16 and 0 ("the default") must still give a usable block
// aligned to at least max(align, 16) — the default op.h documents.
TEST(AdapterConformance, SmallAndDefaultAlignmentsGiveAtLeast16) {
  Adapter& a = TheAdapter();
  for (std::size_t align : {0, 1, 2, 4, 8}) {
    for (std::size_t size : {16, 64, 1000, 5000}) {
      void* p = a.Allocate(size, align);
      ASSERT_NE(p, nullptr) << "size " << size << " align " << align;
      EXPECT_EQ(Addr(p) % 16, 0u) << "size " << size << " align " << align;
      Fill(p, size, 0x5a);
      a.Deallocate(p, size);
    }
  }
}

// Requests smaller than 16 bytes need only the alignment such an object can
// have (C's fundamental alignment rule): min(16, bit_ceil(size)) or `align`.
TEST(AdapterConformance, TinyRequestsAreAlignedForTheirSize) {
  Adapter& a = TheAdapter();
  for (std::size_t align : {0, 1, 2, 4, 8}) {
    for (std::size_t size : {1, 7}) {
      void* p = a.Allocate(size, align);
      ASSERT_NE(p, nullptr) << "size " << size << " align " << align;
      const std::size_t need =
          std::max<std::size_t>(align, std::bit_ceil(size));
      EXPECT_EQ(Addr(p) % need, 0u) << "size " << size << " align " << align;
      Fill(p, size, 0x5a);
      a.Deallocate(p, size);
    }
  }
}

TEST(AdapterConformance, UsableSizeCoversTheRequest) {
  Adapter& a = TheAdapter();
  std::vector<std::pair<void*, std::size_t>> blocks;
  for (std::size_t size = 1; size <= (1u << 20); size = size * 3 / 2 + 1) {
    void* p = a.Allocate(size, 0);
    ASSERT_NE(p, nullptr) << size;
    const std::size_t usable = a.UsableSize(p);
    EXPECT_GE(usable, size);
    // The whole usable size is writable (it is what fragmentation reports).
    Fill(p, usable, 0x3c);
    blocks.emplace_back(p, size);
  }
  for (auto [p, size] : blocks) a.Deallocate(p, size);
}

TEST(AdapterConformance, ReallocateKeepsContentsWhenGrowing) {
  Adapter& a = TheAdapter();
  std::size_t size = 3;
  void* p = a.Allocate(size, 0);
  ASSERT_NE(p, nullptr);
  Fill(p, size, 0x11);
  // Through small classes, the lookaside limit (4 KiB) and into mmap sizes.
  for (std::size_t next :
       {5, 17, 100, 1000, 4096, 4097, 70000, 300000, 2000000}) {
    void* q = a.Reallocate(p, size, next);
    ASSERT_NE(q, nullptr) << size << " -> " << next;
    ASSERT_EQ(FirstMismatch(q, size, 0x11), size) << size << " -> " << next;
    EXPECT_GE(a.UsableSize(q), next);
    Fill(q, next, 0x11);
    p = q;
    size = next;
  }
  a.Deallocate(p, size);
}

TEST(AdapterConformance, ReallocateKeepsContentsWhenShrinking) {
  Adapter& a = TheAdapter();
  std::size_t size = 2000000;
  void* p = a.Allocate(size, 0);
  ASSERT_NE(p, nullptr);
  auto* bytes = static_cast<std::uint8_t*>(p);
  for (std::size_t i = 0; i < size; ++i)
    bytes[i] = static_cast<std::uint8_t>(i * 7 + 1);
  for (std::size_t next : {300000, 70000, 4097, 4096, 1000, 100, 17, 5, 1}) {
    void* q = a.Reallocate(p, size, next);
    ASSERT_NE(q, nullptr) << size << " -> " << next;
    const auto* b = static_cast<const std::uint8_t*>(q);
    for (std::size_t i = 0; i < next; ++i) {
      ASSERT_EQ(b[i], static_cast<std::uint8_t>(i * 7 + 1))
          << "byte " << i << " after " << size << " -> " << next;
    }
    EXPECT_GE(a.UsableSize(q), next);
    p = q;
    size = next;
  }
  a.Deallocate(p, size);
}

// Sized free with the requested size, for sizes across every class boundary.
// Blocks are freed interleaved with live neighbours; a sized free that filed
// a block under the wrong size class would hand it out again for a larger
// request, and the fill of that request would overwrite a live neighbour.
TEST(AdapterConformance, SizedFreeKeepsNeighboursIntact) {
  Adapter& a = TheAdapter();
  std::vector<std::size_t> sizes;
  for (std::size_t s = 1; s <= 8192; s += (s < 256 ? 1 : s / 16))
    sizes.push_back(s);
  for (std::size_t s :
       {12000, 16384, 16385, 40000, 65536, 131072, 262145, 1 << 20})
    sizes.push_back(s);

  struct Block {
    void* p;
    std::size_t size;
    std::uint8_t byte;
  };
  std::vector<Block> keep;
  for (int round = 0; round < 3; ++round) {
    std::vector<Block> drop;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      const std::size_t size = sizes[i];
      const auto byte = static_cast<std::uint8_t>(i * 13 + round + 1);
      void* p = a.Allocate(size, 0);
      ASSERT_NE(p, nullptr) << size;
      Fill(p, size, byte);
      ((i + round) % 2 == 0 ? keep : drop).push_back({p, size, byte});
    }
    for (const Block& b : drop) {
      if (kKeepsContents) {
        ASSERT_EQ(FirstMismatch(b.p, b.size, b.byte), b.size)
            << "size " << b.size;
      }
      a.Deallocate(b.p, b.size);
    }
    // Reuse what was just freed, with the largest size of each neighbourhood.
    const std::size_t reused = drop.size();  // drop[reused..]: the new blocks
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      const std::size_t size = sizes[std::min(i + 1, sizes.size() - 1)];
      void* p = a.Allocate(size, 0);
      ASSERT_NE(p, nullptr) << size;
      Fill(p, size, 0xee);
      drop.push_back({p, size, 0xee});
    }
    for (const Block& b : keep) {
      if (!kKeepsContents) break;
      ASSERT_EQ(FirstMismatch(b.p, b.size, b.byte), b.size)
          << "live block of " << b.size << " bytes was overwritten";
    }
    for (std::size_t i = reused; i < drop.size(); ++i)
      a.Deallocate(drop[i].p, drop[i].size);
  }
  for (const Block& b : keep) a.Deallocate(b.p, b.size);
}

// Blocks allocated on one thread, filled, then checked and freed on another;
// the allocating thread keeps allocating while the other frees.
TEST(AdapterConformance, CrossThreadFree) {
  Adapter& a = TheAdapter();
  constexpr int kBlocks = 4000;
  std::vector<void*> blocks(kBlocks);
  std::vector<std::size_t> sizes(kBlocks);
  // Freed with size and alignment, as the replay frees them.
  auto align_of = [](int i) -> std::size_t { return i % 7 == 0 ? 64 : 0; };
  std::thread producer([&] {
    for (int i = 0; i < kBlocks; ++i) {
      sizes[i] = 1 + static_cast<std::size_t>(i * 37) % 9000;
      blocks[i] = a.Allocate(sizes[i], align_of(i));
      if (blocks[i] != nullptr)
        Fill(blocks[i], sizes[i], static_cast<std::uint8_t>(i));
    }
  });
  producer.join();
  for (int i = 0; i < kBlocks; ++i) ASSERT_NE(blocks[i], nullptr) << i;

  std::size_t bad = 0;
  std::thread consumer([&] {
    for (int i = 0; i < kBlocks; ++i) {
      if (kKeepsContents &&
          FirstMismatch(blocks[i], sizes[i], static_cast<std::uint8_t>(i)) !=
              sizes[i])
        ++bad;
      a.Deallocate(blocks[i], sizes[i], align_of(i));
    }
  });
  // Meanwhile this thread allocates and frees on its own.
  for (int i = 0; i < kBlocks; ++i) {
    void* p = a.Allocate(48, 0);
    ASSERT_NE(p, nullptr);
    Fill(p, 48, 0x77);
    a.Deallocate(p, 48);
  }
  consumer.join();
  EXPECT_EQ(bad, 0u);

  // The freeing thread's caches must hand the memory back out sanely.
  std::thread again([&] {
    for (int i = 0; i < kBlocks; ++i) {
      void* p = a.Allocate(sizes[i], 0);
      if (p == nullptr) {
        ++bad;
        continue;
      }
      Fill(p, sizes[i], 0x42);
      a.Deallocate(p, sizes[i]);
    }
  });
  again.join();
  EXPECT_EQ(bad, 0u);
}

// 10^5 random alloc / free / realloc ops over 1000 slots, sizes log-uniform in
// 1..64 KiB (with `aligned`, one alloc in eight asks for 16..512-byte
// alignment); every block carries its own byte, checked before free and after
// realloc, and no two live blocks may overlap.
void RandomOps(bool aligned) {
  Adapter& a = TheAdapter();
  struct Live {
    void* p = nullptr;
    std::size_t size = 0;
    std::size_t align = 0;
    std::uint8_t byte = 0;
  };
  constexpr int kSlots = 1000;
  constexpr int kOps = 100000;
  std::vector<Live> slots(kSlots);
  std::map<std::uintptr_t, std::uintptr_t>
      spans;  // start -> end of live blocks
  // "" when [p, p + size) overlaps no live block, else the one it overlaps.
  auto overlaps = [&](const void* p, std::size_t size) -> std::string {
    const std::uintptr_t s = Addr(p), e = s + size;
    auto it = spans.upper_bound(s);
    if (it == spans.end() || it->first >= e) {
      if (it == spans.begin() || std::prev(it)->second <= s) return "";
      --it;
    }
    char buf[96];
    std::snprintf(buf, sizeof buf, "[%#lx, %#lx) overlaps live [%#lx, %#lx)", s,
                  e, it->first, it->second);
    return buf;
  };
  Rng rng(20240611);
  auto draw_size = [&] {
    return static_cast<std::size_t>(std::exp(rng.Unit() * std::log(65536.0)));
  };
  std::uint8_t next_byte = 1;
  std::uint64_t allocs = 0, frees = 0, reallocs = 0;
  for (int op = 0; op < kOps; ++op) {
    Live& s = slots[rng.Below(kSlots)];
    if (s.p == nullptr) {
      s.size = draw_size();
      s.align =
          aligned && rng.Below(8) == 0 ? std::size_t{16} << rng.Below(6) : 0;
      s.p = a.Allocate(s.size, s.align);
      ASSERT_NE(s.p, nullptr) << "op " << op << " size " << s.size;
      if (s.align != 0) {
        ASSERT_EQ(Addr(s.p) % s.align, 0u)
            << "op " << op << ": " << s.p << " for " << s.size
            << " bytes aligned " << s.align;
      }
      ASSERT_EQ(overlaps(s.p, s.size), "")
          << "op " << op << ": alloc of " << s.size;
      s.byte = next_byte++;
      if (next_byte == 0) next_byte = 1;
      Fill(s.p, s.size, s.byte);
      spans[Addr(s.p)] = Addr(s.p) + s.size;
      ++allocs;
      continue;
    }
    ASSERT_EQ(FirstMismatch(s.p, s.size, s.byte), s.size)
        << "op " << op << ": live block of " << s.size << " bytes changed";
    spans.erase(Addr(s.p));
    if (s.align == 0 && rng.Below(3) == 0) {
      const std::size_t size = draw_size();
      void* q = a.Reallocate(s.p, s.size, size);
      ASSERT_NE(q, nullptr) << "op " << op;
      const std::size_t kept = std::min(size, s.size);
      ASSERT_EQ(FirstMismatch(q, kept, s.byte), kept)
          << "op " << op << ": realloc " << s.size << " -> " << size
          << " lost contents";
      ASSERT_EQ(overlaps(q, size), "")
          << "op " << op << ": realloc to " << size;
      if (size > s.size)
        Fill(static_cast<char*>(q) + s.size, size - s.size, s.byte);
      s.p = q;
      s.size = size;
      spans[Addr(q)] = Addr(q) + size;
      ++reallocs;
    } else {
      a.Deallocate(s.p, s.size, s.align);
      s.p = nullptr;
      ++frees;
    }
  }
  for (Live& s : slots) {
    if (s.p == nullptr) continue;
    ASSERT_EQ(FirstMismatch(s.p, s.size, s.byte), s.size);
    a.Deallocate(s.p, s.size, s.align);
  }
  // The mix must really have exercised all three operations.
  EXPECT_GT(allocs, 30000u);
  EXPECT_GT(frees, 20000u);
  EXPECT_GT(reallocs, 10000u);
}

TEST(AdapterConformance, RandomOpsKeepContents) {
  if (kIsNull) {
    GTEST_SKIP()
        << "null never frees and does not keep contents meaningful over "
           "many ops; it is a harness-cost baseline, not an allocator";
  }
  RandomOps(false);
}

// Over-aligned blocks are freed with their size and alignment, as the replay
// does. An adapter whose sized free derives the size class from the size
// alone files an over-aligned block (which lives in a larger class) under the
// wrong class, and later allocations overlap or lose their alignment.
TEST(AdapterConformance, RandomOpsWithAlignedBlocksKeepContents) {
  if (kIsNull) {
    GTEST_SKIP()
        << "null never frees and does not keep contents meaningful over "
           "many ops; it is a harness-cost baseline, not an allocator";
  }
  RandomOps(true);
}

// The smallest form of the above: aligned blocks of small sizes, sized-freed,
// then the same small sizes allocated again without alignment and with it.
TEST(AdapterConformance, SizedFreeOfAlignedBlocks) {
  Adapter& a = TheAdapter();
  for (std::size_t align : {32, 64, 256, 4096}) {
    for (std::size_t size : {1, 8, 24, 100, 700}) {
      std::vector<void*> blocks;
      for (int i = 0; i < 64; ++i) {
        void* p = a.Allocate(size, align);
        ASSERT_NE(p, nullptr);
        ASSERT_EQ(Addr(p) % align, 0u) << "size " << size << " align " << align;
        blocks.push_back(p);
      }
      for (void* p : blocks) a.Deallocate(p, size, align);
      // Plain blocks of that size and a neighbour class, all live at once,
      // must not overlap each other.
      std::vector<std::pair<void*, std::size_t>> live;
      for (int i = 0; i < 256; ++i) {
        const std::size_t n = size * (1 + i % 2) + 8;
        void* p = a.Allocate(n, 0);
        ASSERT_NE(p, nullptr);
        Fill(p, n, static_cast<std::uint8_t>(i + 1));
        live.emplace_back(p, n);
      }
      for (int i = 0; i < 64; ++i) {
        void* p = a.Allocate(size, align);
        ASSERT_NE(p, nullptr);
        EXPECT_EQ(Addr(p) % align, 0u)
            << "size " << size << " align " << align
            << " after sized frees of aligned blocks";
        blocks[i] = p;
      }
      for (std::size_t i = 0; i < live.size(); ++i) {
        if (kKeepsContents) {
          EXPECT_EQ(FirstMismatch(live[i].first, live[i].second,
                                  static_cast<std::uint8_t>(i + 1)),
                    live[i].second)
              << "block " << i << " of " << live[i].second
              << " bytes overlaps another"
              << " (size " << size << " align " << align << ")";
        }
        a.Deallocate(live[i].first, live[i].second);
      }
      for (void* p : blocks) a.Deallocate(p, size, align);
      if (HasFailure()) return;
    }
  }
}

// Templates, so the branch for an adapter without the hook is discarded.
template <class A>
void CheckStats(A& a) {
  if constexpr (!HasStats<A>) {
    GTEST_SKIP() << ALLOCMARK_ADAPTER_NAME << " has no Stats()";
  } else {
    auto check = [](const std::vector<AllocatorStat>& stats) {
      ASSERT_FALSE(stats.empty());
      std::set<std::string> names;
      for (const AllocatorStat& s : stats) {
        EXPECT_FALSE(s.name.empty());
        EXPECT_TRUE(names.insert(s.name).second) << "duplicate stat " << s.name;
        EXPECT_TRUE(std::isfinite(s.value)) << s.name;
        EXPECT_GE(s.value, 0.0) << s.name;
      }
    };
    const std::vector<AllocatorStat> before = a.Stats();
    check(before);
    std::vector<void*> live;
    for (int i = 0; i < 1000; ++i) {
      live.push_back(a.Allocate(4000, 0));
      ASSERT_NE(live.back(), nullptr);
      Fill(live.back(), 4000, 1);
    }
    const std::vector<AllocatorStat> after = a.Stats();
    for (void* p : live) a.Deallocate(p, 4000);
    check(after);
    ASSERT_EQ(after.size(), before.size()) << "the set of stats changed";
#ifdef ALLOCMARK_TEST_SANITIZED
    if (std::string_view(ALLOCMARK_ADAPTER_NAME) == "system") {
      GTEST_SKIP() << "sanitizer build: mallinfo2 describes glibc's arenas, "
                      "which the sanitizer's malloc bypasses, so every "
                      "figure stays 0";
    }
#endif
    // 1000 live blocks of 4000 bytes must move some figure by at least 1000
    // (a byte count by about 4 MB, an event count by 1000 allocations).
    double largest_change = 0;
    for (std::size_t i = 0; i < after.size(); ++i) {
      EXPECT_EQ(after[i].name, before[i].name);
      largest_change =
          std::max(largest_change, std::fabs(after[i].value - before[i].value));
    }
    EXPECT_GE(largest_change, 1000.0)
        << "no stat reflects 1000 allocations of 4000 bytes";
  }
}

TEST(AdapterConformance, StatsAreSane) { CheckStats(TheAdapter()); }

// Purge may return cached memory, never live memory.
template <class A>
void CheckPurge(A& a) {
  if constexpr (!HasPurge<A>) {
    GTEST_SKIP() << ALLOCMARK_ADAPTER_NAME << " has no Purge()";
  } else {
    std::vector<std::pair<void*, std::size_t>> live, dead;
    for (int i = 0; i < 2000; ++i) {
      const std::size_t size = 16 + static_cast<std::size_t>(i * 61) % 200000;
      void* p = a.Allocate(size, 0);
      ASSERT_NE(p, nullptr);
      Fill(p, size, static_cast<std::uint8_t>(i | 1));
      (i % 2 ? live : dead).emplace_back(p, size);
    }
    for (auto [p, size] : dead) a.Deallocate(p, size);
    a.Purge();
    for (std::size_t i = 0; i < live.size(); ++i) {
      auto [p, size] = live[i];
      const auto byte = static_cast<std::uint8_t>((2 * i + 1) | 1);
      ASSERT_EQ(FirstMismatch(p, size, byte), size)
          << "purge changed a live block";
      a.Deallocate(p, size);
    }
    // And the allocator still works afterwards.
    void* p = a.Allocate(100, 0);
    ASSERT_NE(p, nullptr);
    Fill(p, 100, 9);
    a.Deallocate(p, 100);
  }
}

TEST(AdapterConformance, PurgeKeepsLiveBlocks) { CheckPurge(TheAdapter()); }

}  // namespace
}  // namespace allocmark
