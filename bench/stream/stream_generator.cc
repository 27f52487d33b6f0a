// The generator's simulation: threads take turns, one budgeted op per turn;
// a block sent at turn k is received at the receiver's turn k + lag, always
// after its send in that global order, which is what makes every wait in the
// replay resolve (see bench/README.md).
#include "bench/stream/stream_generator.h"

#include <algorithm>
#include <bit>

#include "bench/base/check.h"

namespace allocmark {

void StreamCounts::Add(const StreamCounts& o) {
  ops += o.ops;
  allocs += o.allocs;
  frees += o.frees;
  reallocs += o.reallocs;
  sends += o.sends;
  receives += o.receives;
  cross_thread_frees += o.cross_thread_frees;
  bytes_allocated += o.bytes_allocated;
  leaked_blocks += o.leaked_blocks;
  max_live += o.max_live;
  teardown_frees += o.teardown_frees;
  adopted += o.adopted;
  respawns += o.respawns;
}

namespace {

struct LiveObject {
  std::uint32_t slot;
  std::uint8_t tag;
  std::uint8_t align_log2;
  std::uint32_t owner;  // the thread that allocated it
  std::uint64_t size;
  bool adopted = false;  // arrived through a hand-off
};

struct PendingHandOff {
  std::uint64_t due;  // the receiver's turn at which it is received
  std::uint32_t sender;
  std::uint32_t mailbox;
  std::uint32_t use;
  std::uint64_t size;
  std::uint8_t tag;
  std::uint8_t align_log2;
  bool adopt;
  std::uint32_t owner;
};

// A mailbox's use number is 32 bits of the op's arg; rings are made deep
// enough that no box is used that often, so 10^12-op streams stay
// unambiguous.
constexpr std::uint64_t kMaxMailboxUses = UINT32_MAX;

std::uint64_t MailboxArg(std::uint32_t mailbox, std::uint32_t use) {
  return static_cast<std::uint64_t>(use) << 32 | mailbox;
}

Touch TouchOf(const PhaseSpec& phase) {
  return WithTouchRepeatsLog2(
      phase.touch, static_cast<unsigned>(std::countr_zero(phase.touch_repeat)));
}

}  // namespace

struct StreamGenerator::ThreadState {
  explicit ThreadState(std::uint64_t seed) : rng(seed) {}
  Rng rng;
  std::deque<LiveObject> live;
  std::vector<std::uint32_t> free_slots;
  std::deque<PendingHandOff> inbox;  // ordered by due turn
  std::uint64_t turn = 0;            // turns taken so far
  std::uint64_t sent = 0;            // hand-offs sent through this ring
  std::uint64_t in_flight = 0;       // sent by this thread, not yet received
  std::uint64_t budget_done = 0;
  std::size_t phase = 0;
  std::uint64_t phase_end = 0;
  bool started = false;
  bool filling = true;  // batch/reverse lifetimes: allocating up to W
  bool finished = false;
  StreamDigest digest;
  StreamCounts counts;

  std::vector<std::uint64_t>* turn_log = nullptr;

  void Emit(const Op& op, std::span<Op> buffer, std::size_t& filled) {
    ALLOCMARK_CHECK(filled < buffer.size(), "chunk overflow");
    buffer[filled++] = op;
    digest.Add(std::span<const Op>(&op, 1));
    ++counts.ops;
    if (turn_log != nullptr) turn_log->push_back(turn);
  }

  std::size_t DueCount() const {
    std::size_t n = 0;
    while (n < inbox.size() && inbox[n].due <= turn) ++n;
    return n;
  }
};

StreamGenerator::StreamGenerator(const WorkloadSpec& spec,
                                 std::uint32_t threads,
                                 std::uint64_t ops_per_thread,
                                 std::uint64_t seed)
    : spec_(spec) {
  plan_.threads = threads;
  plan_.ops_per_thread = ops_per_thread;
  std::uint32_t max_ws = 1;
  for (const PhaseSpec& p : spec.phases) {
    max_ws = std::max(max_ws, p.working_set);
    samplers_.emplace_back(p.sizes);
  }
  // +1: a received block passes through one slot before it is freed.
  plan_.slots_per_thread = max_ws + 1;
  hand_offs_ = threads > 1 && HasHandOffs(spec);
  if (hand_offs_) {
    // One ring per sender. A thread sends at most one block per turn and
    // each is received `lag` turns later, so at most lag + 1 of its blocks
    // are in flight in the simulation; twice that lets the replay's sender
    // run up to `lag` turns ahead of its slowest receiver before its next
    // box is still occupied. Deep enough too that a box's 32-bit use
    // counter never wraps within the op budget.
    plan_.lag = EffectiveLag(spec, threads, ops_per_thread);
    const std::uint64_t depth = std::max<std::uint64_t>(
        2 * std::uint64_t{plan_.lag} + 2, ops_per_thread / kMaxMailboxUses + 1);
    ALLOCMARK_CHECK(depth * threads < UINT32_MAX, "hand-off rings too large");
    plan_.ring_depth = static_cast<std::uint32_t>(depth);
    plan_.mailboxes = plan_.ring_depth * threads;
  }
  std::uint64_t seed_state = seed ^ 0x616c6c6f636d6b21ULL;  // "allocmk!"
  for (std::uint32_t t = 0; t < threads; ++t) {
    auto ts = std::make_unique<ThreadState>(SplitMix64(seed_state));
    for (std::uint32_t s = plan_.slots_per_thread; s-- > 0;)
      ts->free_slots.push_back(s);
    threads_.push_back(std::move(ts));
  }
}

StreamGenerator::~StreamGenerator() = default;

std::uint64_t StreamGenerator::Digest() const {
  std::vector<std::uint64_t> per_thread;
  for (const auto& ts : threads_) per_thread.push_back(ts->digest.value());
  // The lag decides when each block is received: two runs that differ in it
  // did not do the same work, even where the ops happen to coincide.
  if (hand_offs_) per_thread.push_back(StreamDigest::LagElement(plan_.lag));
  return StreamDigest::Combine(per_thread);
}

const StreamCounts& StreamGenerator::counts(std::uint32_t thread) const {
  return threads_[thread]->counts;
}

StreamCounts StreamGenerator::TotalCounts() const {
  StreamCounts total;
  for (const auto& ts : threads_) total.Add(ts->counts);
  return total;
}

bool StreamGenerator::NextChunk(std::span<const std::span<Op>> buffers,
                                std::span<std::size_t> filled) {
  ALLOCMARK_CHECK(buffers.size() == plan_.threads, "one buffer per thread");
  std::fill(filled.begin(), filled.end(), 0);
  if (turn_log_ != nullptr) {
    turn_log_->resize(plan_.threads);
    for (std::uint32_t t = 0; t < plan_.threads; ++t)
      threads_[t]->turn_log = &(*turn_log_)[t];
  }
  while (!done_) {
    const std::uint32_t t = next_thread_;
    if (!Step(t, buffers[t], filled[t])) return true;  // t's buffer is full
    next_thread_ = (t + 1) % plan_.threads;
    if (next_thread_ == 0) {
      bool budgets = true, finished = true;
      for (const auto& ts : threads_) {
        budgets &= ts->budget_done == plan_.ops_per_thread;
        finished &= ts->finished;
      }
      all_budgets_done_ = budgets;
      done_ = finished;
    }
  }
  return false;
}

// One turn of thread t: receive and free whatever is due to it (sent `lag`
// turns ago), then one budgeted op (or one tear-down free). Returns false,
// emitting nothing, when the turn might not fit in the buffer.
bool StreamGenerator::Step(std::uint32_t t, std::span<Op> buffer,
                           std::size_t& filled) {
  ThreadState& ts = *threads_[t];
  const std::size_t due = ts.DueCount();
  if (buffer.size() - filled < 2 * due + 3) return false;

  for (std::size_t k = 0; k < due; ++k) {
    const PendingHandOff h = ts.inbox.front();
    ts.inbox.pop_front();
    const std::uint32_t slot = ts.free_slots.back();
    ts.Emit({OpKind::kReceive, 0, Touch::kNone, h.tag, slot,
             MailboxArg(h.mailbox, h.use)},
            buffer, filled);
    ++ts.counts.receives;
    --threads_[h.sender]->in_flight;
    // An adopted block joins the live set only while it has room, so the
    // working-set bound holds for received blocks too.
    if (h.adopt && ts.live.size() < spec_.phases[ts.phase].working_set &&
        ts.free_slots.size() > 1) {
      ts.free_slots.pop_back();
      ts.live.push_back({slot, h.tag, h.align_log2, h.owner, h.size, true});
      ++ts.counts.adopted;
      continue;
    }
    ts.Emit({OpKind::kFree, 0, Touch::kNone, h.tag, slot, h.size}, buffer,
            filled);
    ++ts.counts.frees;
    if (h.owner != t) ++ts.counts.cross_thread_frees;
  }

  if (ts.budget_done < plan_.ops_per_thread) {
    if (!ts.started || ts.budget_done == ts.phase_end) {
      if (ts.started) ++ts.phase;
      // Skip empty phases; the last phase ends exactly at the budget.
      while (true) {
        const bool last = ts.phase + 1 == spec_.phases.size();
        std::uint64_t len = static_cast<std::uint64_t>(
            spec_.phases[ts.phase].share *
            static_cast<double>(plan_.ops_per_thread));
        ts.phase_end =
            last ? plan_.ops_per_thread
                 : std::min(plan_.ops_per_thread, ts.budget_done + len);
        if (ts.phase_end > ts.budget_done || last) break;
        ++ts.phase;
      }
      ts.started = true;
      const bool respawn = spec_.phases[ts.phase].respawn;
      ts.Emit(
          {OpKind::kPhase, 0, Touch::kNone, static_cast<std::uint8_t>(ts.phase),
           0, respawn ? kPhaseRespawn : 0},
          buffer, filled);
      ts.counts.respawns += respawn;
    }
    const PhaseSpec& phase = spec_.phases[ts.phase];
    const bool consumer = phase.hand_off == HandOff::kProducerConsumer &&
                          phase.cross_thread_share > 0 && plan_.threads > 1 &&
                          t % 2 == 1;
    if (!consumer) EmitOwnOp(t, ts, phase, buffer, filled);
    ++ts.budget_done;
    ts.counts.max_live =
        std::max<std::uint64_t>(ts.counts.max_live, ts.live.size());
    ++ts.turn;
    return true;
  }
  ++ts.turn;

  // Tear-down, once nobody can send to us any more: free what is live in
  // allocation order, except the blocks the spec leaks on purpose.
  if (!all_budgets_done_) return true;
  const PhaseSpec& phase = spec_.phases[ts.phase];
  if (ts.live.size() > spec_.leak_blocks) {
    EmitFree(t, ts, phase, 0, false, buffer, filled);
    ++ts.counts.teardown_frees;
  } else if (ts.live.size() < spec_.leak_blocks && ts.free_slots.size() > 1) {
    EmitAlloc(t, ts, phase, buffer,
              filled);  // top up: exactly leak_blocks stay live
  } else if (ts.inbox.empty()) {
    ts.counts.leaked_blocks = ts.live.size();
    ts.finished = true;
  }
  return true;
}

void StreamGenerator::EmitOwnOp(std::uint32_t t, ThreadState& ts,
                                const PhaseSpec& phase, std::span<Op> buffer,
                                std::size_t& filled) {
  enum { kAlloc, kFree, kRealloc } choice;
  const std::size_t n = ts.live.size();
  const bool full = n >= phase.working_set || ts.free_slots.size() <= 1;
  const bool batch = phase.lifetime == Lifetime::kBatch ||
                     phase.lifetime == Lifetime::kReverse;
  const double r = ts.rng.Unit();
  if (batch || phase.drain > 0) {
    // Fill to W, drain to `keep`, refill: batch and reverse lifetimes drain
    // everything and fill with allocations only; other lifetimes fill with
    // their mix, so short-lived blocks die between the survivors.
    const double drain = phase.drain > 0 ? phase.drain : 1.0;
    const std::uint64_t w = phase.working_set;
    const std::uint64_t drained = std::min<std::uint64_t>(
        w, std::max<std::uint64_t>(
               1, static_cast<std::uint64_t>(drain * static_cast<double>(w))));
    const std::uint64_t keep = w - drained;
    if (ts.filling && full) ts.filling = false;
    if (!ts.filling && n <= keep) ts.filling = true;
    if (n > 0 && r < phase.realloc_share) {
      choice = kRealloc;
    } else if (!ts.filling) {
      choice = kFree;
    } else if (batch || n == 0 || r < phase.alloc_share) {
      choice = kAlloc;
    } else {
      choice = kFree;
    }
  } else if (n == 0) {
    choice = kAlloc;
  } else if (full) {
    const double rest = phase.free_share + phase.realloc_share;
    choice = (rest == 0 || r * rest < phase.free_share) ? kFree : kRealloc;
  } else {
    choice = r < phase.alloc_share                      ? kAlloc
             : r < phase.alloc_share + phase.free_share ? kFree
                                                        : kRealloc;
  }

  if (choice == kRealloc) {
    // Aligned blocks cannot be resized (realloc drops the alignment); the
    // spec parser forbids the combination, so this only guards edge cases.
    const std::size_t i = ts.rng.Below(n);
    LiveObject& obj = ts.live[i];
    // Adopted blocks are not resized: the per-tag tally of the streams
    // (bench/pool_tags.cc) knows a slot's size only from its own thread's ops.
    if (obj.align_log2 == 0 && !obj.adopted) {
      std::uint64_t size = obj.size;
      switch (phase.realloc.policy) {
        case ReallocPolicy::kStep:
          size = obj.size + phase.realloc.step;
          break;
        case ReallocPolicy::kDouble:
          size = obj.size * 2;
          break;
        case ReallocPolicy::kShrink:
          size = std::max<std::uint64_t>(1, obj.size / 2);
          break;
        case ReallocPolicy::kRandom:
          size = samplers_[ts.phase].Sample(ts.rng);
          break;
      }
      size = std::min(size, phase.realloc.max);
      obj.size = size;
      ts.Emit({OpKind::kRealloc, 0, TouchOf(phase), obj.tag, obj.slot, size},
              buffer, filled);
      ++ts.counts.reallocs;
      return;
    }
    choice = full ? kFree : kAlloc;
  }

  if (choice == kAlloc) {
    EmitAlloc(t, ts, phase, buffer, filled);
    return;
  }

  std::size_t victim = 0;
  switch (phase.lifetime) {
    case Lifetime::kLifo:
    case Lifetime::kReverse:
      victim = n - 1;
      break;
    case Lifetime::kFifo:
    case Lifetime::kBatch:
      victim = 0;
      break;
    case Lifetime::kRandom:
      victim = ts.rng.Below(n);
      break;
  }
  EmitFree(t, ts, phase, victim, true, buffer, filled);
}

void StreamGenerator::EmitAlloc(std::uint32_t t, ThreadState& ts,
                                const PhaseSpec& phase, std::span<Op> buffer,
                                std::size_t& filled) {
  const std::uint64_t size = samplers_[ts.phase].Sample(ts.rng);
  const std::uint64_t align = phase.sizes.align;
  const std::uint8_t align_log2 =
      align > 16 ? static_cast<std::uint8_t>(std::countr_zero(align)) : 0;
  const std::uint32_t slot = ts.free_slots.back();
  ts.free_slots.pop_back();
  const auto tag = static_cast<std::uint8_t>(ts.phase);
  ts.live.push_back({slot, tag, align_log2, t, size});
  ts.Emit({OpKind::kAlloc, align_log2, TouchOf(phase), tag, slot, size}, buffer,
          filled);
  ++ts.counts.allocs;
  ts.counts.bytes_allocated += size;
}

void StreamGenerator::EmitFree(std::uint32_t t, ThreadState& ts,
                               const PhaseSpec& phase, std::size_t victim_index,
                               bool allow_cross, std::span<Op> buffer,
                               std::size_t& filled) {
  const LiveObject obj = ts.live[victim_index];
  if (victim_index == 0) {
    ts.live.pop_front();
  } else if (victim_index + 1 == ts.live.size()) {
    ts.live.pop_back();
  } else {  // random lifetime: order within the live set does not matter
    ts.live[victim_index] = ts.live.back();
    ts.live.pop_back();
  }
  ts.free_slots.push_back(obj.slot);

  const bool cross = allow_cross && plan_.threads > 1 &&
                     phase.cross_thread_share > 0 &&
                     (phase.cross_thread_share >= 1 ||
                      ts.rng.Unit() < phase.cross_thread_share);
  if (!cross) {
    ts.Emit({OpKind::kFree, 0, Touch::kNone, obj.tag, obj.slot, obj.size},
            buffer, filled);
    ++ts.counts.frees;
    if (obj.owner != t) ++ts.counts.cross_thread_frees;  // an adopted block
    return;
  }
  const std::uint32_t peer = PickPeer(t, ts, phase);
  // The ring's next box; its previous use was received in this simulation
  // (checked), so at replay a sender waits only for a receive that comes
  // earlier in the global order.
  ALLOCMARK_CHECK(ts.in_flight < plan_.ring_depth, "hand-off ring overflow");
  const auto mailbox = static_cast<std::uint32_t>(
      t * std::uint64_t{plan_.ring_depth} + ts.sent % plan_.ring_depth);
  const auto use = static_cast<std::uint32_t>(ts.sent / plan_.ring_depth);
  ++ts.sent;
  ++ts.in_flight;
  ts.Emit({OpKind::kSend, 0, Touch::kNone, obj.tag, obj.slot,
           MailboxArg(mailbox, use)},
          buffer, filled);
  ++ts.counts.sends;
  threads_[peer]->inbox.push_back(
      {ts.turn + plan_.lag, t, mailbox, use, obj.size, obj.tag, obj.align_log2,
       phase.receiver == Receiver::kAdopt, obj.owner});
}

std::uint32_t StreamGenerator::PickPeer(std::uint32_t t, ThreadState& ts,
                                        const PhaseSpec& phase) {
  const std::uint32_t n = plan_.threads;
  switch (phase.hand_off) {
    case HandOff::kRing:
      return (t + 1) % n;
    case HandOff::kRandomPeer: {
      const auto k = static_cast<std::uint32_t>(ts.rng.Below(n - 1));
      return k >= t ? k + 1 : k;
    }
    case HandOff::kProducerConsumer:
      // Producers are the even threads; each feeds the odd thread after it.
      return t + 1 < n ? t + 1 : (t % 2 == 0 ? 1 : 0);
  }
  return 0;
}

}  // namespace allocmark
