// Tests for LookasideList (LIFO, depth bound, adaptation, concurrency) and
// for the LookasideAllocator adapter built on it (classes, realloc, purge).

// Before any include: lets the concurrency tests yield inside a pop, between
// reading the head and the CAS, where an ABA or stale-link bug would bite.
#define ALLOCMARK_LOOKASIDE_RACE_POINT() ::allocmark::test::RacePoint()
namespace allocmark::test {
void RacePoint();
}  // namespace allocmark::test

#include "allocators/lookaside_list.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <deque>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "allocators/lookaside.h"

namespace allocmark::test {
std::atomic<bool> widen_races{false};
void RacePoint() {
  thread_local unsigned state = 12345;
  if (widen_races.load(std::memory_order_relaxed) &&
      ((state = state * 1103515245u + 12345u) >> 16) % 4 == 0) {
    std::this_thread::yield();
  }
}
}  // namespace allocmark::test

namespace allocmark {
namespace {

LookasideOptions FixedDepth(std::uint32_t depth, std::size_t block = 64) {
  LookasideOptions o;
  o.block_size = block;
  o.min_depth = o.max_depth = o.initial_depth = depth;
  o.adjust_interval = 0;
  return o;
}

// Takes every cached block out of a quiescent list.
std::vector<void*> Drain(LookasideList& list) {
  std::vector<void*> blocks;
  for (std::uint32_t n = list.cached(); n > 0; --n) {
    blocks.push_back(list.Allocate());
  }
  return blocks;
}

TEST(LookasideListTest, LifoOnOneThread) {
  LookasideList list(FixedDepth(8));
  void* a = list.Allocate();
  void* b = list.Allocate();
  void* c = list.Allocate();
  list.Free(a);
  list.Free(b);
  list.Free(c);
  EXPECT_EQ(list.Allocate(), c);
  EXPECT_EQ(list.Allocate(), b);
  EXPECT_EQ(list.Allocate(), a);
  const LookasideCounters n = list.Counters();
  EXPECT_EQ(n.misses, 3u);
  EXPECT_EQ(n.hits, 3u);
  EXPECT_EQ(n.frees_to_list, 3u);
  EXPECT_EQ(n.cached, 0u);
  list.Free(a);
  list.Free(b);
  list.Free(c);
}

TEST(LookasideListTest, MissFallsBackAndIsCounted) {
  LookasideList list(FixedDepth(4));
  void* p = list.Allocate();
  ASSERT_NE(p, nullptr);
  std::memset(p, 0xAB, 64);  // a real 64-byte block from the backing allocator
  EXPECT_GE(malloc_usable_size(p), 64u);
  LookasideCounters n = list.Counters();
  EXPECT_EQ(n.misses, 1u);
  EXPECT_EQ(n.hits, 0u);
  list.Free(p);
  EXPECT_EQ(list.Allocate(), p);
  n = list.Counters();
  EXPECT_EQ(n.hits, 1u);
  EXPECT_EQ(n.misses, 1u);
  list.Free(p);
}

TEST(LookasideListTest, FreesBeyondDepthGoToBacking) {
  LookasideList list(FixedDepth(3));
  std::vector<void*> blocks;
  for (int i = 0; i < 5; ++i) blocks.push_back(list.Allocate());
  for (void* p : blocks) list.Free(p);
  const LookasideCounters n = list.Counters();
  EXPECT_EQ(n.frees_to_list, 3u);
  EXPECT_EQ(n.frees_to_backing, 2u);
  EXPECT_EQ(n.cached, 3u);
  EXPECT_EQ(list.spare(), 0u);
  // The first three freed are the ones kept; LIFO hands back the third first.
  EXPECT_EQ(list.Allocate(), blocks[2]);
  list.Free(blocks[2]);
}

#if defined(__SANITIZE_ADDRESS__)
TEST(LookasideListDeathTest, CachedBlocksArePoisonedUnderAsan) {
  // A cached block never reaches free(), so without poisoning ASan would miss
  // a caller writing to a block it has already freed.
  LookasideList list(FixedDepth(4));
  auto* p = static_cast<volatile char*>(list.Allocate());
  p[0] = 1;
  list.Free(const_cast<char*>(p));
  EXPECT_DEATH(p[8] = 1, "use-after-poison");
  EXPECT_EQ(list.Allocate(), p);  // unpoisoned again once handed out
  p[8] = 2;
  list.Free(const_cast<char*>(p));
}
#endif

TEST(LookasideListTest, HitsPlusMissesEqualAllocations) {
  LookasideList list(FixedDepth(16));
  std::mt19937 rng(7);
  std::vector<void*> live;
  std::uint64_t allocations = 0, frees = 0;
  for (int i = 0; i < 20000; ++i) {
    if (live.empty() || rng() % 2 == 0) {
      live.push_back(list.Allocate());
      ++allocations;
    } else {
      list.Free(live.back());
      live.pop_back();
      ++frees;
    }
  }
  const LookasideCounters n = list.Counters();
  EXPECT_EQ(n.hits + n.misses, allocations);
  EXPECT_EQ(n.frees_to_list + n.frees_to_backing, frees);
  EXPECT_EQ(n.cached, n.frees_to_list - n.hits);
  for (void* p : live) list.Free(p);
}

TEST(LookasideTuningTest, RuleMatchesItsDocumentation) {
  // All misses: half the headroom plus the step.
  EXPECT_EQ(LookasideTuning::NextDepth(4, 4, 256, 100, 100), 4 + 126 + 5);
  // 10 % misses: a twentieth of the headroom plus the step.
  EXPECT_EQ(LookasideTuning::NextDepth(56, 4, 256, 1000, 100), 56 + 10 + 5);
  // In the dead band: unchanged.
  EXPECT_EQ(LookasideTuning::NextDepth(100, 4, 256, 1000, 10), 100u);
  // No misses: down by an eighth, never below the minimum.
  EXPECT_EQ(LookasideTuning::NextDepth(100, 4, 256, 1000, 0), 100u - 12);
  EXPECT_EQ(LookasideTuning::NextDepth(5, 4, 256, 1000, 0), 4u);
  EXPECT_EQ(LookasideTuning::NextDepth(250, 4, 256, 10, 10), 256u);
}

TEST(LookasideListTest, DepthAdaptsUpThenDown) {
  LookasideOptions o;
  o.block_size = 32;
  o.min_depth = 4;
  o.max_depth = 256;
  o.initial_depth = 4;
  o.adjust_interval = 64;
  LookasideList list(o);
  std::vector<void*> held;
  // Every allocation misses: each window of 64 raises the depth.
  std::uint32_t last = list.depth();
  ASSERT_EQ(last, 4u);
  for (int window = 0; window < 5; ++window) {
    for (int i = 0; i < 64; ++i) held.push_back(list.Allocate());
    EXPECT_GT(list.depth(), last) << "window " << window;
    last = list.depth();
  }
  EXPECT_EQ(list.depth(), 256u);
  // Fill the list, then alloc/free pairs always hit: the depth decays.
  for (void* p : held) list.Free(p);
  held.clear();
  ASSERT_EQ(list.cached(), 256u);
  for (int window = 0; window < 60; ++window) {
    for (int i = 0; i < 64; ++i) list.Free(list.Allocate());
    EXPECT_LE(list.depth(), last);
    last = list.depth();
  }
  EXPECT_EQ(list.depth(), 4u);
  const LookasideCounters n = list.Counters();
  EXPECT_EQ(n.misses, 5u * 64);
  EXPECT_EQ(n.hits, 60u * 64) << "a shrinking list must keep hitting";
  // Lowering the depth freed nothing by itself; the surplus left through
  // frees that found the list over its new depth.
  EXPECT_EQ(n.cached, 4u);
  EXPECT_EQ(n.frees_to_list + n.frees_to_backing, 5u * 64 + 60u * 64);
  EXPECT_EQ(n.cached, n.frees_to_list - n.hits);
}

TEST(LookasideListTest, ManualAdjustUsesTheWindow) {
  LookasideOptions o = FixedDepth(0);
  o.min_depth = 4;
  o.max_depth = 100;
  o.initial_depth = 50;
  LookasideList list(o);
  void* p = list.Allocate();  // one allocation, one miss
  list.AdjustDepth();
  EXPECT_EQ(list.depth(), 50u + 50 * 1000 / 2000 + 5);
  list.AdjustDepth();  // empty window: unchanged
  EXPECT_EQ(list.depth(), 80u);
  list.Free(p);
}

TEST(LookasideListTest, FlushEmptiesAndSlotsAreConserved) {
  LookasideList list(FixedDepth(10));
  std::vector<void*> blocks;
  for (int i = 0; i < 10; ++i) blocks.push_back(list.Allocate());
  for (void* p : blocks) list.Free(p);
  EXPECT_EQ(list.cached(), 10u);
  EXPECT_EQ(list.Flush(), 10u);
  EXPECT_EQ(list.cached(), 0u);
  EXPECT_EQ(list.spare(), 10u);
  EXPECT_EQ(list.Counters().misses, 10u);
  void* p = list.Allocate();  // nothing cached: a miss
  EXPECT_EQ(list.Counters().misses, 11u);
  list.Free(p);
}

// Each block carries its owner's id and a sequence number across the whole
// block; a block handed to two owners at once shows up as a mismatch (and as
// a data race under TSan).
struct Stamp {
  std::uint32_t owner;
  std::uint32_t sequence;
};

void StampBlock(void* block, std::size_t size, Stamp stamp) {
  auto* words = static_cast<Stamp*>(block);
  for (std::size_t i = 0; i < size / sizeof(Stamp); ++i) words[i] = stamp;
}

bool BlockHas(const void* block, std::size_t size, Stamp stamp) {
  const auto* words = static_cast<const Stamp*>(block);
  for (std::size_t i = 0; i < size / sizeof(Stamp); ++i) {
    if (words[i].owner != stamp.owner || words[i].sequence != stamp.sequence) {
      return false;
    }
  }
  return true;
}

struct Mailbox {
  std::mutex mutex;
  std::deque<std::pair<void*, Stamp>> blocks;
};

void Hammer(LookasideList& list, int threads, int rounds,
            std::atomic<std::uint64_t>& allocations,
            std::atomic<std::uint64_t>& frees,
            std::atomic<std::uint64_t>& bad) {
  const std::size_t size = list.block_size();
  test::widen_races = true;
  std::vector<Mailbox> mailboxes(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::mt19937 rng(t + 1);
      std::uint64_t my_allocs = 0, my_frees = 0, my_bad = 0;
      std::uint32_t sequence = 0;
      std::vector<std::pair<void*, Stamp>> held;
      auto release = [&](void* p, Stamp s) {
        if (!BlockHas(p, size, s)) ++my_bad;
        list.Free(p);
        ++my_frees;
      };
      for (int round = 0; round < rounds; ++round) {
        const int batch = 1 + rng() % 8;
        for (int i = 0; i < batch; ++i) {
          void* p = list.Allocate();
          ++my_allocs;
          const Stamp s{static_cast<std::uint32_t>(t), ++sequence};
          StampBlock(p, size, s);
          held.emplace_back(p, s);
        }
        // Half goes to the next thread, to be checked and freed there.
        Mailbox& out = mailboxes[(t + 1) % threads];
        while (held.size() > 1) {
          auto [p, s] = held.back();
          held.pop_back();
          if (rng() % 2) {
            std::lock_guard<std::mutex> lock(out.mutex);
            out.blocks.emplace_back(p, s);
          } else {
            release(p, s);
          }
        }
        std::deque<std::pair<void*, Stamp>> inbox;
        {
          std::lock_guard<std::mutex> lock(mailboxes[t].mutex);
          inbox.swap(mailboxes[t].blocks);
        }
        for (auto [p, s] : inbox) release(p, s);
      }
      for (auto [p, s] : held) release(p, s);
      allocations += my_allocs;
      frees += my_frees;
      bad += my_bad;
    });
  }
  for (auto& w : workers) w.join();
  test::widen_races = false;
  // Blocks still in mailboxes after their reader quit.
  for (auto& m : mailboxes) {
    for (auto [p, s] : m.blocks) {
      if (!BlockHas(p, size, s)) ++bad;
      list.Free(p);
      ++frees;
    }
  }
}

void ExpectConserved(LookasideList& list, std::uint64_t allocations,
                     std::uint64_t frees) {
  const LookasideCounters n = list.Counters();
  EXPECT_EQ(allocations, frees);
  EXPECT_EQ(n.hits + n.misses, allocations);
  EXPECT_EQ(n.frees_to_list + n.frees_to_backing, frees);
  // Every block kept and not handed out again is still cached, once.
  EXPECT_EQ(n.cached, n.frees_to_list - n.hits);
  EXPECT_EQ(n.cached + list.spare(), list.max_depth());
  std::vector<void*> blocks = Drain(list);
  EXPECT_EQ(std::set<void*>(blocks.begin(), blocks.end()).size(),
            blocks.size());
  EXPECT_EQ(list.Counters().misses, n.misses) << "drain must only hit";
  for (void* p : blocks) list.Free(p);
}

constexpr int kThreads = 4;
constexpr int kRounds = 20000;

TEST(LookasideListConcurrencyTest, FixedDepthOwnershipAndConservation) {
  LookasideList list(FixedDepth(32, 48));
  std::atomic<std::uint64_t> allocations{0}, frees{0}, bad{0};
  Hammer(list, kThreads, kRounds, allocations, frees, bad);
  EXPECT_EQ(bad.load(), 0u);
  ExpectConserved(list, allocations, frees);
  EXPECT_GT(list.Counters().hits, 0u);
  EXPECT_GT(list.Counters().frees_to_backing, 0u);
}

TEST(LookasideListConcurrencyTest, AdaptiveDepthUnderContention) {
  LookasideOptions o;
  o.block_size = 128;
  o.min_depth = 2;
  o.max_depth = 64;
  o.initial_depth = 2;
  o.adjust_interval = 128;
  LookasideList list(o);
  std::atomic<std::uint64_t> allocations{0}, frees{0}, bad{0};
  Hammer(list, kThreads, kRounds, allocations, frees, bad);
  EXPECT_EQ(bad.load(), 0u);
  ExpectConserved(list, allocations, frees);
  EXPECT_GE(list.depth(), 2u);
  EXPECT_LE(list.depth(), 64u);
}

TEST(LookasideListConcurrencyTest, TinyListMaximisesCasRaces) {
  LookasideList list(FixedDepth(2, 16));
  std::atomic<std::uint64_t> allocations{0}, frees{0}, bad{0};
  Hammer(list, kThreads, kRounds, allocations, frees, bad);
  EXPECT_EQ(bad.load(), 0u);
  ExpectConserved(list, allocations, frees);
}

// ---- LookasideAllocator ------------------------------------------------

TEST(LookasideAllocatorTest, ClassTableIsConsistent) {
  using A = LookasideAllocator;
  EXPECT_EQ(A::ClassSize(A::ClassOf(0)), 16u);
  for (std::size_t size = 1; size <= A::kMaxClassSize; ++size) {
    const std::size_t c = A::ClassOf(size);
    ASSERT_GE(A::ClassSize(c), size) << size;
    if (c > 0) {
      ASSERT_LT(A::ClassSize(c - 1), size) << size;
    }
  }
}

TEST(LookasideAllocatorTest, AlignmentOfEachClass) {
  LookasideAllocator a;
  for (std::size_t c = 0; c < LookasideAllocator::kNumClasses; ++c) {
    const std::size_t size = LookasideAllocator::ClassSize(c);
    for (std::size_t align : {std::size_t{1}, std::size_t{8}, std::size_t{16},
                              std::size_t{64}, std::size_t{4096}}) {
      for (int round = 0; round < 2; ++round) {  // a miss, then a hit
        void* p = a.Allocate(size, align);
        ASSERT_NE(p, nullptr);
        EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % align, 0u)
            << "size " << size << " align " << align;
        EXPECT_GE(a.UsableSize(p), size);
        std::memset(p, 0x5A, size);
        a.Deallocate(p, size);
      }
    }
  }
}

TEST(LookasideAllocatorTest, SmallRequestsHitTheirClassList) {
  LookasideAllocator a;
  void* p = a.Allocate(40, 8);
  a.Deallocate(p, 40);
  EXPECT_EQ(a.Allocate(33, 16), p);  // same 48-byte class: the cached block
  a.Deallocate(p, 33);
  const LookasideCounters n =
      a.list(LookasideAllocator::ClassOf(48)).Counters();
  EXPECT_EQ(n.hits, 1u);
  EXPECT_EQ(n.misses, 1u);
}

TEST(LookasideAllocatorTest, ReallocInPlaceWithinAClass) {
  LookasideAllocator a;
  auto* p = static_cast<char*>(a.Allocate(20, 16));
  std::memcpy(p, "lookaside", 10);
  EXPECT_EQ(a.Reallocate(p, 20, 32), p);
  EXPECT_EQ(a.Reallocate(p, 32, 17), p);
  EXPECT_STREQ(p, "lookaside");
  a.Deallocate(p, 17);
}

TEST(LookasideAllocatorTest, ReallocCopiesAcrossClasses) {
  LookasideAllocator a;
  std::vector<std::size_t> sizes = {24, 100, 3000, 10000, 50000, 700, 8};
  auto* p = static_cast<unsigned char*>(a.Allocate(sizes[0], 16));
  for (std::size_t i = 0; i < sizes[0]; ++i)
    p[i] = static_cast<unsigned char>(i);
  for (std::size_t k = 1; k < sizes.size(); ++k) {
    const std::size_t old_size = sizes[k - 1], new_size = sizes[k];
    auto* q = static_cast<unsigned char*>(a.Reallocate(p, old_size, new_size));
    ASSERT_NE(q, nullptr);
    if (old_size <= LookasideAllocator::kMaxClassSize ||
        new_size <= LookasideAllocator::kMaxClassSize) {
      EXPECT_NE(q, p) << old_size << " -> " << new_size;
    }
    const std::size_t kept = std::min(old_size, new_size);
    for (std::size_t i = 0; i < kept; ++i) {
      ASSERT_EQ(q[i], static_cast<unsigned char>(i)) << i;
    }
    for (std::size_t i = kept; i < new_size; ++i) {
      q[i] = static_cast<unsigned char>(i);
    }
    p = q;
  }
  a.Deallocate(p, sizes.back());
}

TEST(LookasideAllocatorTest, LargeRequestsBypassTheLists) {
  LookasideAllocator a;
  void* p = a.Allocate(LookasideAllocator::kMaxClassSize + 1, 16);
  ASSERT_NE(p, nullptr);
  a.Deallocate(p, LookasideAllocator::kMaxClassSize + 1);
  double bypass = -1, cached = -1;
  for (const AllocatorStat& s : a.Stats()) {
    if (s.name == "bypass_allocations") bypass = s.value;
    if (s.name == "cached_blocks") cached = s.value;
  }
  EXPECT_EQ(bypass, 1.0);
  EXPECT_EQ(cached, 0.0);
}

TEST(LookasideAllocatorTest, StatsAndPurgeEmptiesAllLists) {
  LookasideAllocator a;
  std::vector<std::pair<void*, std::size_t>> blocks;
  for (std::size_t size : {8, 64, 64, 200, 1000, 4096}) {
    blocks.emplace_back(a.Allocate(size, 16), size);
  }
  for (auto [p, size] : blocks) a.Deallocate(p, size);
  void* again = a.Allocate(64, 16);  // one hit
  a.Deallocate(again, 64);
  auto stat = [&](std::string_view name) {
    for (const AllocatorStat& s : a.Stats()) {
      if (s.name == name) return s.value;
    }
    ADD_FAILURE() << "no stat " << name;
    return -1.0;
  };
  EXPECT_EQ(stat("misses"), 6.0);
  EXPECT_EQ(stat("hits"), 1.0);
  EXPECT_DOUBLE_EQ(stat("hit_rate"), 1.0 / 7);
  EXPECT_EQ(stat("frees_to_list"), 7.0);
  EXPECT_EQ(stat("cached_blocks"), 6.0);
  EXPECT_EQ(stat("depth_total"), 4.0 * LookasideAllocator::kNumClasses);
  a.Purge();
  EXPECT_EQ(stat("cached_blocks"), 0.0);
  for (std::size_t c = 0; c < LookasideAllocator::kNumClasses; ++c) {
    EXPECT_EQ(a.list(c).cached(), 0u);
  }
}

TEST(LookasideAllocatorTest, CrossThreadFreesThroughTheAdapter) {
  LookasideAllocator a;
  constexpr int kBlocks = 20000;
  std::vector<void*> blocks(kBlocks);
  std::thread producer([&] {
    for (int i = 0; i < kBlocks; ++i) {
      blocks[i] = a.Allocate(64, 16);
      std::memset(blocks[i], i & 0xFF, 64);
    }
  });
  producer.join();
  std::thread consumer([&] {
    for (int i = 0; i < kBlocks; ++i) {
      EXPECT_EQ(static_cast<unsigned char*>(blocks[i])[63], i & 0xFF);
      a.Deallocate(blocks[i], 64);
    }
  });
  consumer.join();
  const LookasideCounters n =
      a.list(LookasideAllocator::ClassOf(64)).Counters();
  EXPECT_EQ(n.frees_to_list + n.frees_to_backing, std::uint64_t{kBlocks});
  EXPECT_EQ(n.cached, n.depth);  // the list filled up to its (adapted) depth
}

TEST(LookasideAllocatorTest, IdentityIsGlibcUnlessInterposed) {
  LookasideAllocator a;
  const IdentityReport r = a.CheckIdentity();
  EXPECT_FALSE(r.library.empty());
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // The sanitizer runtime interposes malloc; the check must notice.
  EXPECT_FALSE(r.ok) << r.detail;
  EXPECT_NE(r.detail.find(r.library), std::string::npos);
#else
  EXPECT_TRUE(r.ok) << r.detail;
  EXPECT_NE(r.library.find("libc.so"), std::string::npos);
#endif
  EXPECT_NE(a.Version().find("glibc 2."), std::string::npos) << a.Version();
}

}  // namespace
}  // namespace allocmark
