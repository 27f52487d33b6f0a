// Tests for LookasideList (LIFO, depth bound, batches, adaptation, scan,
// concurrency) and the two lookaside adapters built on it (and their front).

// Before any include: lets the concurrency tests yield inside a pop, between
// reading the head and the CAS, where an ABA or stale-link bug would bite;
// and checks every free's size, as builds without NDEBUG do.
#define ALLOCMARK_LOOKASIDE_RACE_POINT() ::allocmark::test::RacePoint()
#define ALLOCMARK_LOOKASIDE_CHECK_FREES 1
namespace allocmark::test {
void RacePoint();
}  // namespace allocmark::test

#include "allocators/lookaside_list.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <deque>
#include <mutex>
#include <random>
#include <set>
#include <string_view>
#include <thread>
#include <tuple>
#include <type_traits>
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
  std::deque<std::size_t> sizes;  // adapter tests: blocks[i]'s size
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
  EXPECT_EQ(n.cached, n.frees_to_list - n.hits - n.released);
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

// ---- batches and the periodic scan -------------------------------------

TEST(LookasideListTest, FreeBatchKeepsWhatFitsAndFreesTheRest) {
  LookasideList list(FixedDepth(6));
  std::vector<void*> blocks;
  for (int i = 0; i < 10; ++i) blocks.push_back(list.Allocate());
  EXPECT_EQ(list.FreeBatch(blocks.data(), 10), 6u);
  LookasideCounters n = list.Counters();
  EXPECT_EQ(n.frees_to_list, 6u);
  EXPECT_EQ(n.frees_to_backing, 4u);
  EXPECT_EQ(n.cached, 6u);
  EXPECT_EQ(list.spare(), 0u);
  // The first six were kept; a batch pop hands back exactly those.
  void* out[8];
  EXPECT_EQ(list.AllocateBatch(out, 4), 4u);
  EXPECT_EQ(list.AllocateBatch(out + 4, 8), 2u);
  EXPECT_EQ(std::set<void*>(out, out + 6),
            std::set<void*>(blocks.begin(), blocks.begin() + 6));
  n = list.Counters();
  EXPECT_EQ(n.hits, 6u);
  EXPECT_EQ(n.cached, 0u);
  EXPECT_EQ(list.spare(), 6u);
  // Empty: one block from the backing allocator, counted as one miss.
  void* fresh;
  EXPECT_EQ(list.AllocateBatch(&fresh, 8), 1u);
  EXPECT_EQ(list.Counters().misses, 10u + 1);
  list.FreeBatch(out, 6);
  list.Free(fresh);
}

TEST(LookasideListTest, FreeBatchStopsAtTheDepthNotTheSlots) {
  LookasideOptions o = FixedDepth(4);
  o.max_depth = 16;  // spare slots beyond the depth must stay unused
  LookasideList list(o);
  std::vector<void*> blocks;
  for (int i = 0; i < 7; ++i) blocks.push_back(list.Allocate());
  list.Free(blocks[0]);
  EXPECT_EQ(list.FreeBatch(blocks.data() + 1, 6), 3u);
  EXPECT_EQ(list.cached(), 4u);
  EXPECT_EQ(list.spare(), 12u);
  EXPECT_EQ(list.FreeBatch(blocks.data(), 0), 0u);
}

TEST(LookasideTuningTest, ScanRuleHalvesIdleLists) {
  EXPECT_EQ(LookasideTuning::ScanDepth(256, 4, 256, 0, 0), 128u);
  EXPECT_EQ(LookasideTuning::ScanDepth(7, 4, 256, 0, 0), 4u);
  EXPECT_EQ(LookasideTuning::ScanDepth(4, 4, 256, 0, 0), 4u);
  // With allocations in the window it is the allocation rule.
  EXPECT_EQ(LookasideTuning::ScanDepth(4, 4, 256, 100, 100), 4 + 126 + 5);
  EXPECT_EQ(LookasideTuning::ScanDepth(100, 4, 256, 1000, 10), 100u);
}

TEST(LookasideListTest, ScanShrinksAnIdleListAndFreesTheSurplus) {
  LookasideOptions o = FixedDepth(0);
  o.min_depth = 4;
  o.max_depth = 256;
  o.initial_depth = 256;
  LookasideList list(o);
  std::vector<void*> blocks;
  for (int i = 0; i < 256; ++i) blocks.push_back(list.Allocate());
  for (void* p : blocks) list.Free(p);
  ASSERT_EQ(list.cached(), 256u);
  // The first window holds the 256 allocations, all misses: depth stays at
  // the maximum and nothing is freed.
  EXPECT_EQ(list.Scan(), 0u);
  EXPECT_EQ(list.depth(), 256u);
  // From now on nothing allocates: every scan halves depth and cache.
  const std::uint32_t expected[] = {128, 64, 32, 16, 8, 4, 4};
  for (std::uint32_t depth : expected) {
    list.Scan();
    EXPECT_EQ(list.depth(), depth);
    EXPECT_EQ(list.cached(), depth);
  }
  const LookasideCounters n = list.Counters();
  EXPECT_EQ(n.released, 256u - 4);
  EXPECT_EQ(n.scans, 8u);
  EXPECT_EQ(n.cached, n.frees_to_list - n.hits - n.released);
  EXPECT_EQ(list.spare(), 256u - 4);
}

TEST(LookasideListTest, ScanGrowsABusyListThatMisses) {
  LookasideOptions o = FixedDepth(0);
  o.min_depth = 4;
  o.max_depth = 256;
  o.initial_depth = 4;
  LookasideList list(o);
  std::vector<void*> held;
  for (int i = 0; i < 100; ++i) held.push_back(list.Allocate());
  list.Scan();
  EXPECT_EQ(list.depth(), 4u + 126 + 5);
  for (void* p : held) list.Free(p);
  EXPECT_EQ(list.cached(), 100u);
}

// Batch pops and pushes racing with single ones, across threads, with the
// widened race window: no block handed out twice, none lost.
TEST(LookasideListConcurrencyTest, BatchesRacingSinglesConserveBlocks) {
  LookasideList list(FixedDepth(24, 32));
  test::widen_races = true;
  std::atomic<std::uint64_t> allocations{0}, frees{0}, bad{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      std::mt19937 rng(100 + t);
      std::vector<std::pair<void*, Stamp>> held;
      std::uint32_t sequence = 0;
      std::uint64_t my_allocs = 0, my_frees = 0, my_bad = 0;
      for (int round = 0; round < kRounds / 4; ++round) {
        void* got[16];
        std::uint32_t n = 1;
        if (rng() % 2) {
          n = list.AllocateBatch(got, 1 + rng() % 16);
        } else {
          got[0] = list.Allocate();
        }
        for (std::uint32_t i = 0; i < n; ++i) {
          const Stamp s{static_cast<std::uint32_t>(t), ++sequence};
          StampBlock(got[i], 32, s);
          held.emplace_back(got[i], s);
        }
        my_allocs += n;
        // Give back all but a few, as a batch or one by one.
        void* back[64];
        std::uint32_t m = 0;
        while (held.size() > 4 && m < 64) {
          auto [p, s] = held.back();
          held.pop_back();
          if (!BlockHas(p, 32, s)) ++my_bad;
          back[m++] = p;
        }
        if (rng() % 2) {
          list.FreeBatch(back, m);
        } else {
          for (std::uint32_t i = 0; i < m; ++i) list.Free(back[i]);
        }
        my_frees += m;
      }
      for (auto [p, s] : held) {
        if (!BlockHas(p, 32, s)) ++my_bad;
        list.Free(p);
        ++my_frees;
      }
      allocations += my_allocs;
      frees += my_frees;
      bad += my_bad;
    });
  }
  for (auto& w : workers) w.join();
  test::widen_races = false;
  EXPECT_EQ(bad.load(), 0u);
  ExpectConserved(list, allocations, frees);
}

// ---- the lookaside adapters ----------------------------------------------

// Unit tests run the scan by hand, so depths change only where a test says.
LookasideAdapterOptions NoScanner() {
  LookasideAdapterOptions o;
  o.scan_period_ms = 0;
  return o;
}

template <class A>
double Stat(A& a, std::string_view name) {
  for (const AllocatorStat& s : a.Stats()) {
    if (s.name == name) return s.value;
  }
  ADD_FAILURE() << "no stat " << name;
  return -1.0;
}

// Blocks taken from glibc and not given back are live or cached: once every
// block is freed, misses == frees to glibc + released + cached.
template <class A>
void ExpectAdapterConserves(A& a) {
  const double cached =
      Stat(a, "CachedBlocks") +
      (std::is_same_v<A, LookasideAllocator> ? Stat(a, "PCachedBlocks") : 0.0);
  EXPECT_EQ(Stat(a, "AllocateMisses"),
            Stat(a, "FreeMisses") + Stat(a, "released_blocks") + cached);
  EXPECT_EQ(Stat(a, "TotalAllocates"), Stat(a, "TotalFrees"));
}

template <class A>
class LookasideAdapterTest : public ::testing::Test {};
using LookasideAdapters =
    ::testing::Types<LookasideAllocator, LookasideSharedAllocator>;
TYPED_TEST_SUITE(LookasideAdapterTest, LookasideAdapters);

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
  EXPECT_EQ(internal::kLookasideClassBytes, 26368u);
}

TEST(LookasideAllocatorTest, NamesOfTheTwoAdapters) {
  EXPECT_EQ(LookasideAllocator::kName, "lookaside");
  EXPECT_EQ(LookasideSharedAllocator::kName, "lookaside-shared");
}

TYPED_TEST(LookasideAdapterTest, AlignmentOfEachClass) {
  TypeParam a(NoScanner());
  for (std::size_t c = 0; c < TypeParam::kNumClasses; ++c) {
    const std::size_t size = TypeParam::ClassSize(c);
    for (std::size_t align : {std::size_t{1}, std::size_t{8}, std::size_t{16},
                              std::size_t{64}, std::size_t{4096}}) {
      for (int round = 0; round < 2; ++round) {  // a miss, then a hit
        void* p = a.Allocate(size, align);
        ASSERT_NE(p, nullptr);
        EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % align, 0u)
            << "size " << size << " align " << align;
        EXPECT_GE(a.UsableSize(p), size);
        std::memset(p, 0x5A, size);
        a.Deallocate(p, size, align);
      }
    }
  }
}

// Issue 20, defect 1: the aligned round-up wrapped, and a request for
// nearly 2^64 bytes came back as a 24-byte block.
TYPED_TEST(LookasideAdapterTest, HugeSizesReturnNull) {
  TypeParam a(NoScanner());
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // The sanitizers' malloc aborts on such sizes (allocation-size-too-big)
  // unless allocator_may_return_null=1; the aligned sizes that wrapped are
  // refused before any allocator is called, so those are still checked.
  constexpr bool kMallocChecked = false;
#else
  constexpr bool kMallocChecked = true;
#endif
  for (std::size_t align : {0, 16, 32, 64, 4096}) {
    if (!kMallocChecked && align <= 16) continue;
    for (std::size_t size :
         {SIZE_MAX, SIZE_MAX - 8, SIZE_MAX - align, SIZE_MAX / 2 + 1}) {
      if (!kMallocChecked && size <= SIZE_MAX - (align - 1)) continue;
      void* p = a.Allocate(size, align);
      EXPECT_EQ(p, nullptr) << "size " << size << " align " << align
                            << " gave a block of " << a.UsableSize(p);
    }
  }
  if (!kMallocChecked) return;
  void* p = a.Allocate(100, 0);
  ASSERT_NE(p, nullptr);
  std::memset(p, 0x3C, 100);
  EXPECT_EQ(a.Reallocate(p, 100, SIZE_MAX - 8), nullptr);
  EXPECT_EQ(static_cast<unsigned char*>(p)[99], 0x3C);  // still ours
  a.Deallocate(p, 100);
}

// Issue 20, defect 2: an over-aligned block was filed under its size's
// class, so a 4 KiB-aligned block sat in the 16-byte list.
TYPED_TEST(LookasideAdapterTest, OverAlignedBlocksGoBackToGlibc) {
  TypeParam a(NoScanner());
  for (std::size_t align : {32, 64, 4096}) {
    void* p = a.Allocate(16, align);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % align, 0u);
    a.Deallocate(p, 16, align);
  }
  EXPECT_EQ(a.list(TypeParam::ClassOf(16)).cached(), 0u);
  EXPECT_EQ(Stat(a, "class_16.TotalFrees"), 0.0);
  EXPECT_EQ(Stat(a, "bypass_allocations"), 3.0);
  EXPECT_EQ(Stat(a, "bypass_frees"), 3.0);
  EXPECT_EQ(Stat(a, "cached_bytes"), 0.0);
  // A plain 16-byte request is then a fresh class block, not one of them.
  void* q = a.Allocate(16, 0);
  EXPECT_EQ(Stat(a, "class_16.AllocateMisses"), 1.0);
  a.Deallocate(q, 16);
}

// Issue 20, defect 4: with hits, misses and bypasses counted apart, no
// figure moved by the number of allocations once a list had warmed up.
TYPED_TEST(LookasideAdapterTest, StatsCountEveryAllocation) {
  TypeParam a(NoScanner());
  std::vector<void*> live;
  for (int i = 0; i < 300; ++i) live.push_back(a.Allocate(4000, 0));
  for (void* p : live) a.Deallocate(p, 4000);
  live.clear();
  a.Scan();  // a busy, all-miss window: the 4 KiB list deepens and keeps
  for (int i = 0; i < 300; ++i) live.push_back(a.Allocate(4000, 0));
  for (void* p : live) a.Deallocate(p, 4000);
  live.clear();
  const double allocations = Stat(a, "allocations");
  const double total = Stat(a, "TotalAllocates");
  const double in_class = Stat(a, "class_4096.TotalAllocates");
  const double misses = Stat(a, "AllocateMisses");
  for (int i = 0; i < 1000; ++i) live.push_back(a.Allocate(4000, 0));
  live.push_back(a.Allocate(8000, 0));  // one bypass
  EXPECT_EQ(Stat(a, "allocations") - allocations, 1001.0);
  EXPECT_EQ(Stat(a, "TotalAllocates") - total, 1000.0);
  EXPECT_EQ(Stat(a, "class_4096.TotalAllocates") - in_class, 1000.0);
  EXPECT_LT(Stat(a, "AllocateMisses") - misses, 1000.0) << "some hit";
  a.Deallocate(live.back(), 8000);
  live.pop_back();
  for (void* p : live) a.Deallocate(p, 4000);
  ExpectAdapterConserves(a);
}

// Issue 20, defect 6: nothing checked that a block is freed with the size
// it was allocated with; a larger size files it under a class it cannot
// hold, and the next request of that class overruns it.
TYPED_TEST(LookasideAdapterTest, FreeWithALargerSizeIsCaught) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        TypeParam a(NoScanner());
        void* p = a.Allocate(16, 0);
        a.Deallocate(p, 4096);
      },
      "the free size must be the requested size");
  EXPECT_DEATH(
      {
        TypeParam a(NoScanner());
        void* p = a.Allocate(40, 0);
        a.Reallocate(p, 200, 8);
      },
      "freed with size 200");
}

TYPED_TEST(LookasideAdapterTest, SmallRequestsReuseTheirClassBlocks) {
  TypeParam a(NoScanner());
  void* p = a.Allocate(40, 8);
  a.Deallocate(p, 40);
  EXPECT_EQ(a.Allocate(33, 16), p);  // same 48-byte class: the cached block
  a.Deallocate(p, 33);
  EXPECT_EQ(Stat(a, "class_48.TotalAllocates"), 2.0);
  EXPECT_EQ(Stat(a, "class_48.AllocateMisses"), 1.0);
  EXPECT_EQ(Stat(a, "class_48.TotalFrees"), 2.0);
  EXPECT_EQ(Stat(a, "class_48.FreeMisses"), 0.0);
}

TYPED_TEST(LookasideAdapterTest, ReallocInPlaceWithinAClass) {
  TypeParam a(NoScanner());
  auto* p = static_cast<char*>(a.Allocate(20, 16));
  std::memcpy(p, "lookaside", 10);
  EXPECT_EQ(a.Reallocate(p, 20, 32), p);
  EXPECT_EQ(a.Reallocate(p, 32, 17), p);
  EXPECT_STREQ(p, "lookaside");
  a.Deallocate(p, 17);
}

TYPED_TEST(LookasideAdapterTest, ReallocCopiesAcrossClasses) {
  TypeParam a(NoScanner());
  std::vector<std::size_t> sizes = {24, 100, 3000, 10000, 50000, 700, 8};
  auto* p = static_cast<unsigned char*>(a.Allocate(sizes[0], 16));
  for (std::size_t i = 0; i < sizes[0]; ++i) {
    p[i] = static_cast<unsigned char>(i);
  }
  for (std::size_t k = 1; k < sizes.size(); ++k) {
    const std::size_t old_size = sizes[k - 1], new_size = sizes[k];
    auto* q = static_cast<unsigned char*>(a.Reallocate(p, old_size, new_size));
    ASSERT_NE(q, nullptr);
    if (old_size <= TypeParam::kMaxClassSize ||
        new_size <= TypeParam::kMaxClassSize) {
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

TYPED_TEST(LookasideAdapterTest, LargeRequestsBypassTheLists) {
  TypeParam a(NoScanner());
  void* p = a.Allocate(TypeParam::kMaxClassSize + 1, 16);
  ASSERT_NE(p, nullptr);
  a.Deallocate(p, TypeParam::kMaxClassSize + 1);
  EXPECT_EQ(Stat(a, "bypass_allocations"), 1.0);
  EXPECT_EQ(Stat(a, "bypass_frees"), 1.0);
  EXPECT_EQ(Stat(a, "allocations"), 1.0);
  EXPECT_EQ(Stat(a, "TotalAllocates"), 0.0);
  EXPECT_EQ(Stat(a, "cached_bytes"), 0.0);
}

TYPED_TEST(LookasideAdapterTest, StatsAndPurgeEmptiesAllLists) {
  TypeParam a(NoScanner());
  std::vector<std::pair<void*, std::size_t>> blocks;
  for (std::size_t size : {8, 64, 64, 200, 1000, 4096}) {
    blocks.emplace_back(a.Allocate(size, 16), size);
  }
  for (auto [p, size] : blocks) a.Deallocate(p, size);
  void* again = a.Allocate(64, 16);  // one hit
  a.Deallocate(again, 64);
  EXPECT_EQ(Stat(a, "allocations"), 7.0);
  EXPECT_EQ(Stat(a, "TotalAllocates"), 7.0);
  EXPECT_EQ(Stat(a, "AllocateMisses"), 6.0);
  EXPECT_DOUBLE_EQ(Stat(a, "hit_rate"), 1.0 / 7);
  EXPECT_EQ(Stat(a, "TotalFrees"), 7.0);
  EXPECT_EQ(Stat(a, "FreeMisses"), 0.0);
  EXPECT_EQ(Stat(a, "cached_bytes"), 16.0 + 64 + 64 + 224 + 1024 + 4096);
  EXPECT_EQ(Stat(a, "Depth"), 4.0 * TypeParam::kNumClasses);
  EXPECT_EQ(Stat(a, "MaximumDepth"), 256.0 * TypeParam::kNumClasses);
  EXPECT_EQ(Stat(a, "class_64.Depth"), 4.0);
  EXPECT_EQ(Stat(a, "class_64.MaximumDepth"), 256.0);
  ExpectAdapterConserves(a);
  a.Purge();
  EXPECT_EQ(Stat(a, "cached_bytes"), 0.0);
  EXPECT_EQ(Stat(a, "released_blocks"), 6.0);
  for (std::size_t c = 0; c < TypeParam::kNumClasses; ++c) {
    EXPECT_EQ(a.list(c).cached(), 0u);
  }
  ExpectAdapterConserves(a);
}

// The periodic scan reaches every class: one class busy, one idle since it
// filled up. The idle one gives its blocks back, the busy one keeps its.
TYPED_TEST(LookasideAdapterTest, ScanShrinksIdleClassesOnly) {
  TypeParam a(NoScanner());
  auto fill = [&](std::size_t size, int n) {
    std::vector<void*> blocks;
    for (int i = 0; i < n; ++i) blocks.push_back(a.Allocate(size, 0));
    for (void* p : blocks) a.Deallocate(p, size);
  };
  // Thread lists: run the fills on a thread that exits, so every block ends
  // up in the shared lists, as replay threads leave them.
  std::thread([&] { fill(1024, 100), fill(64, 100); }).join();
  a.Scan();  // all misses: both lists deepen
  std::thread([&] { fill(1024, 200), fill(64, 200); }).join();
  const std::size_t idle = TypeParam::ClassOf(1024);
  const std::size_t busy = TypeParam::ClassOf(64);
  const std::uint32_t idle_cached = a.list(idle).cached();
  ASSERT_GT(idle_cached, 64u);
  ASSERT_GT(a.list(busy).cached(), 64u);
  for (int scan = 0; scan < 8; ++scan) {
    // The busy class allocates and frees between scans and always hits.
    std::thread([&] { fill(64, 30); }).join();
    a.Scan();
  }
  EXPECT_EQ(a.list(idle).depth(), 4u);
  EXPECT_EQ(a.list(idle).cached(), 4u);
  EXPECT_GT(a.list(busy).cached(), 4u);
  EXPECT_GT(Stat(a, "released_blocks"), idle_cached - 4 - 1.0);
  EXPECT_EQ(Stat(a, "scans"), 9.0);
  ExpectAdapterConserves(a);
}

// With a scanner thread and nothing allocating at all (a worker after its
// cell), the lists still shrink to the minimum. No timing is asserted: the
// test waits as long as it takes (ctest's timeout is the bound).
TYPED_TEST(LookasideAdapterTest, ScannerThreadShrinksAnIdleAdapter) {
  LookasideAdapterOptions o;
  o.scan_period_ms = 2;
  // Only the scan lowers a depth (2000 misses only raise it), so a list
  // that starts at 256 and ends at 4 has been scanned.
  o.shared.initial_depth = 256;
  TypeParam a(o);
  std::thread([&] {
    std::vector<void*> blocks;
    for (int i = 0; i < 2000; ++i) blocks.push_back(a.Allocate(256, 0));
    for (void* p : blocks) a.Deallocate(p, 256);
  }).join();
  const std::size_t c = TypeParam::ClassOf(256);
  while (a.list(c).cached() > 4 || a.list(c).depth() > 4) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_GE(Stat(a, "scans"), 1.0);
  EXPECT_EQ(Stat(a, "cached_bytes"), 4.0 * 256);
  ExpectAdapterConserves(a);
}

TYPED_TEST(LookasideAdapterTest, CrossThreadFreesThroughTheAdapter) {
  TypeParam a(NoScanner());
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
  const LookasideList& list = a.list(TypeParam::ClassOf(64));
  EXPECT_EQ(Stat(a, "class_64.TotalFrees"), double{kBlocks});
  EXPECT_EQ(list.cached(), list.depth());  // the shared list filled up
  ExpectAdapterConserves(a);
}

TYPED_TEST(LookasideAdapterTest, IdentityIsGlibcUnlessInterposed) {
  TypeParam a(NoScanner());
  const IdentityReport r = a.CheckIdentity();
  EXPECT_FALSE(r.library.empty());
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // The sanitizer runtime's malloc stands in for glibc's, and the check says
  // so (ExpectMallocFrom).
  EXPECT_TRUE(r.ok) << r.detail;
  EXPECT_NE(r.detail.find("sanitizer build"), std::string::npos) << r.detail;
#else
  EXPECT_TRUE(r.ok) << r.detail;
  EXPECT_NE(r.library.find("libc.so"), std::string::npos);
#endif
  EXPECT_NE(a.Version().find("glibc 2."), std::string::npos) << a.Version();
  EXPECT_NE(a.Version().find(TypeParam::kName), std::string::npos);
}

// ---- the per-thread front ------------------------------------------------

TEST(LookasideFrontTest, FreesStayOnTheThreadUpToItsDepth) {
  LookasideAllocator a(NoScanner());
  const std::uint32_t depth = a.front_initial_depth();
  std::vector<void*> blocks;
  for (std::uint32_t i = 0; i < depth; ++i) blocks.push_back(a.Allocate(64, 0));
  for (void* p : blocks) a.Deallocate(p, 64);
  EXPECT_EQ(Stat(a, "class_64.PCachedBlocks"), double(depth));
  EXPECT_EQ(Stat(a, "class_64.PFreeMisses"), 0.0);
  EXPECT_EQ(a.list(LookasideAllocator::ClassOf(64)).cached(), 0u);
  // LIFO on the thread: the last freed comes back first.
  EXPECT_EQ(a.Allocate(64, 0), blocks.back());
  // One more free than the depth moves the older half to the shared list
  // (which takes 4 at its initial depth; the rest go to glibc).
  a.Deallocate(blocks.back(), 64);
  void* extra = a.Allocate(100, 0);  // another class: no effect on 64
  void* one_more = a.Allocate(64, 0);
  a.Deallocate(one_more, 64);
  void* over = nullptr;
  {
    // Allocate a block that is not in the front, then free it into the full
    // front.
    std::vector<void*> take;
    for (std::uint32_t i = 0; i <= depth; ++i)
      take.push_back(a.Allocate(64, 0));
    over = take.back();
    take.pop_back();
    for (void* p : take) a.Deallocate(p, 64);
  }
  EXPECT_EQ(Stat(a, "class_64.PCachedBlocks"), double(depth));
  a.Deallocate(over, 64);
  EXPECT_EQ(Stat(a, "class_64.PFreeMisses"), 1.0);
  EXPECT_EQ(Stat(a, "class_64.PCachedBlocks"), double(depth / 2 + 1));
  EXPECT_EQ(a.list(LookasideAllocator::ClassOf(64)).cached(), 4u);
  EXPECT_EQ(Stat(a, "class_64.FreeMisses"), double(depth - depth / 2 - 4));
  a.Deallocate(extra, 100);
  ExpectAdapterConserves(a);
}

// A thread whose list keeps missing deepens it by the kernel's rule, up to
// the bound and no further; the shared list is untouched by it.
TEST(LookasideFrontTest, ThreadListDepthGrowsWithinItsBounds) {
  LookasideAdapterOptions o = NoScanner();
  o.front_min_depth = 8;
  o.front_initial_depth = 8;
  o.front_max_depth = 40;
  o.front_adjust_interval = 64;
  LookasideAllocator a(o);
  std::vector<void*> held;
  EXPECT_EQ(Stat(a, "class_32.PDepth"), 0.0) << "no thread has lists yet";
  held.push_back(a.Allocate(32, 0));
  double last = Stat(a, "class_32.PDepth");
  ASSERT_EQ(last, 8.0);
  // Allocating without freeing: every allocation misses the thread list.
  for (int window = 0; window < 6; ++window) {
    for (int i = 0; i < 64; ++i) held.push_back(a.Allocate(32, 0));
    const double depth = Stat(a, "class_32.PDepth");
    EXPECT_GE(depth, last);
    EXPECT_LE(depth, 40.0);
    last = depth;
  }
  EXPECT_EQ(last, 40.0);
  for (void* p : held) a.Deallocate(p, 32);
  // 40 frees fill the list; each later free that finds it full moves the
  // older 20 on and keeps its own block (21), 19 more fill it again:
  // 385 = 40 + 17 * 20 + 5 leaves 21 + 4.
  EXPECT_EQ(Stat(a, "class_32.PCachedBlocks"), 25.0);
  EXPECT_EQ(Stat(a, "class_32.PFreeMisses"), 18.0);
  EXPECT_EQ(Stat(a, "class_32.Depth"), 4.0);
  ExpectAdapterConserves(a);
}

TEST(LookasideFrontTest, EmptyThreadListRefillsInOneBatch) {
  LookasideAllocator a(NoScanner());
  // Fill the shared list from a thread that exits (its list is flushed).
  std::thread([&] {
    std::vector<void*> blocks;
    for (int i = 0; i < 4; ++i) blocks.push_back(a.Allocate(128, 0));
    for (void* p : blocks) a.Deallocate(p, 128);
  }).join();
  const std::size_t c = LookasideAllocator::ClassOf(128);
  ASSERT_EQ(a.list(c).cached(), 4u);
  EXPECT_EQ(Stat(a, "class_128.PCachedBlocks"), 0.0);
  // The exited thread's four misses are still counted.
  EXPECT_EQ(Stat(a, "class_128.PAllocateMisses"), 4.0);
  void* p = a.Allocate(128, 0);  // one thread-list miss takes all four
  EXPECT_EQ(a.list(c).cached(), 0u);
  EXPECT_EQ(Stat(a, "class_128.PAllocateMisses"), 5.0);
  EXPECT_EQ(Stat(a, "class_128.PCachedBlocks"), 3.0);
  EXPECT_EQ(Stat(a, "class_128.AllocateMisses"), 4.0);  // the first thread's
  std::vector<void*> more;
  for (int i = 0; i < 3; ++i) more.push_back(a.Allocate(128, 0));
  EXPECT_EQ(Stat(a, "class_128.PAllocateMisses"), 5.0);
  more.push_back(a.Allocate(128, 0));  // empty everywhere: glibc
  EXPECT_EQ(Stat(a, "class_128.PAllocateMisses"), 6.0);
  EXPECT_EQ(Stat(a, "class_128.AllocateMisses"), 5.0);
  a.Deallocate(p, 128);
  for (void* q : more) a.Deallocate(q, 128);
  ExpectAdapterConserves(a);
}

TEST(LookasideFrontTest, AnExitingThreadLeavesItsBlocksAndCounts) {
  LookasideAllocator a(NoScanner());
  std::thread([&] {
    for (int i = 0; i < 10; ++i) a.Deallocate(a.Allocate(512, 0), 512);
    void* p = a.Allocate(512, 0);
    void* q = a.Allocate(512, 0);
    a.Deallocate(p, 512);
    a.Deallocate(q, 512);
  }).join();
  EXPECT_EQ(Stat(a, "class_512.TotalAllocates"), 12.0);
  EXPECT_EQ(Stat(a, "class_512.TotalFrees"), 12.0);
  EXPECT_EQ(Stat(a, "class_512.PCachedBlocks"), 0.0);
  EXPECT_EQ(a.list(LookasideAllocator::ClassOf(512)).cached(), 2u);
  ExpectAdapterConserves(a);
}

TEST(LookasideFrontTest, TwoAdaptersOnOneThreadKeepTheirOwnLists) {
  auto a = std::make_unique<LookasideAllocator>(NoScanner());
  LookasideAllocator b(NoScanner());
  void* p = a->Allocate(64, 0);
  void* q = b.Allocate(64, 0);
  a->Deallocate(p, 64);
  b.Deallocate(q, 64);
  EXPECT_EQ(a->Allocate(64, 0), p);
  EXPECT_EQ(b.Allocate(64, 0), q);
  a->Deallocate(p, 64);
  b.Deallocate(q, 64);
  // Destroying an adapter while this thread still holds lists for it: they
  // are detached, and the next adapter at the same address starts afresh.
  a.reset();
  a = std::make_unique<LookasideAllocator>(NoScanner());
  EXPECT_EQ(Stat(*a, "TotalAllocates"), 0.0);
  void* r = a->Allocate(64, 0);
  EXPECT_EQ(Stat(*a, "class_64.AllocateMisses"), 1.0);
  a->Deallocate(r, 64);
  EXPECT_EQ(b.Allocate(64, 0), q);
  b.Deallocate(q, 64);
}

// Replay threads that hand blocks to each other, exit and are replaced,
// while another thread scans all the time (by hand, so that the counters
// are still once the workers are done). Every block carries its
// owner's stamp, so a block handed out twice shows up as a mismatch; at the
// end every block taken from glibc is accounted for.
template <class A>
void StressAdapter() {
  LookasideAdapterOptions o = NoScanner();
  o.shared.min_depth = 2;
  o.shared.max_depth = 64;
  A a(o);
  constexpr int kWorkers = 4;
  constexpr int kGenerations = 8;
  constexpr int kRoundsPerGeneration = 5000;
  std::vector<Mailbox> mailboxes(kWorkers);
  std::atomic<std::uint64_t> bad{0}, allocations{0};
  std::atomic<bool> done{false};
  std::atomic<std::uint32_t> depth_out_of_bounds{0};
  // Scans and samples every class's depth while the workers run.
  std::thread watcher([&] {
    while (!done.load()) {
      a.Scan();
      for (std::size_t c = 0; c < A::kNumClasses; ++c) {
        const std::uint32_t d = a.list(c).depth();
        if (d < 2 || d > 64) ++depth_out_of_bounds;
        if (a.list(c).cached() > 64) ++depth_out_of_bounds;
      }
      std::this_thread::yield();
    }
  });
  auto worker = [&](int t, int generation) {
    std::mt19937 rng(1000 * generation + t);
    std::vector<std::tuple<void*, std::size_t, Stamp>> held;
    std::uint32_t sequence = 0;
    std::uint64_t my_bad = 0, my_allocs = 0;
    const auto owner = static_cast<std::uint32_t>(generation * kWorkers + t);
    auto release = [&](void* p, std::size_t size, Stamp s) {
      if (!BlockHas(p, size, s)) ++my_bad;
      a.Deallocate(p, size);
    };
    for (int round = 0; round < kRoundsPerGeneration; ++round) {
      const int batch = 1 + rng() % 16;
      for (int i = 0; i < batch; ++i) {
        const std::size_t size = 8 << (rng() % 6);  // 8 .. 256 bytes
        void* p = a.Allocate(size, 0);
        ++my_allocs;
        const Stamp s{owner, ++sequence};
        StampBlock(p, size, s);
        held.emplace_back(p, size, s);
      }
      Mailbox& out = mailboxes[(t + 1) % kWorkers];
      while (held.size() > 8) {
        auto [p, size, s] = held.back();
        held.pop_back();
        if (rng() % 2) {
          std::lock_guard<std::mutex> lock(out.mutex);
          out.blocks.emplace_back(p, Stamp{s.owner, s.sequence});
          out.sizes.push_back(size);
        } else {
          release(p, size, s);
        }
      }
      std::deque<std::pair<void*, Stamp>> inbox;
      std::deque<std::size_t> sizes;
      {
        std::lock_guard<std::mutex> lock(mailboxes[t].mutex);
        inbox.swap(mailboxes[t].blocks);
        sizes.swap(mailboxes[t].sizes);
      }
      for (std::size_t i = 0; i < inbox.size(); ++i) {
        release(inbox[i].first, sizes[i], inbox[i].second);
      }
    }
    // A replaced thread leaves some blocks to its successor (inheritance):
    // through the mailbox, freed by whoever reads it next.
    for (auto [p, size, s] : held) {
      std::lock_guard<std::mutex> lock(mailboxes[t].mutex);
      mailboxes[t].blocks.emplace_back(p, s);
      mailboxes[t].sizes.push_back(size);
    }
    bad += my_bad;
    allocations += my_allocs;
  };
  for (int generation = 0; generation < kGenerations; ++generation) {
    std::vector<std::thread> threads;
    for (int t = 0; t < kWorkers; ++t)
      threads.emplace_back(worker, t, generation);
    for (auto& th : threads) th.join();
  }
  done = true;
  watcher.join();
  for (Mailbox& m : mailboxes) {
    for (std::size_t i = 0; i < m.blocks.size(); ++i) {
      if (!BlockHas(m.blocks[i].first, m.sizes[i], m.blocks[i].second)) ++bad;
      a.Deallocate(m.blocks[i].first, m.sizes[i]);
    }
  }
  EXPECT_EQ(bad.load(), 0u);
  EXPECT_EQ(depth_out_of_bounds.load(), 0u);
  EXPECT_EQ(Stat(a, "TotalAllocates"), double(allocations.load()));
  ExpectAdapterConserves(a);
  // Whatever the lists hold now is distinct and usable: drain and refill.
  std::set<void*> seen;
  std::vector<std::pair<void*, std::size_t>> drained;
  for (std::size_t size : {8, 16, 32, 64, 128, 256}) {
    const std::size_t c = A::ClassOf(size);
    for (std::uint32_t n = a.list(c).cached() + 64; n > 0; --n) {
      void* p = a.Allocate(size, 0);
      EXPECT_TRUE(seen.insert(p).second)
          << "block " << p << " handed out twice";
      std::memset(p, 0x11, size);
      drained.emplace_back(p, size);
    }
  }
  for (auto [p, size] : drained) a.Deallocate(p, size);
  ExpectAdapterConserves(a);
}

TEST(LookasideFrontConcurrencyTest, ReplacedThreadsLoseNoBlock) {
  test::widen_races = true;
  StressAdapter<LookasideAllocator>();
  test::widen_races = false;
}

TEST(LookasideSharedConcurrencyTest, ReplacedThreadsLoseNoBlock) {
  test::widen_races = true;
  StressAdapter<LookasideSharedAllocator>();
  test::widen_races = false;
}

}  // namespace
}  // namespace allocmark
