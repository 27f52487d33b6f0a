// Trace -> op streams. The threads' calls are merged into one global order
// by their timestamps (a block given back is always stamped before it is
// handed out again, bench/trace/trace_format.h); walking that order maps
// addresses to slots and turns foreign frees into lagged hand-offs.
#include "bench/stream/trace_streams.h"

#include <algorithm>
#include <filesystem>
#include <queue>
#include <unordered_map>

#include "bench/stream/stream_digest.h"

namespace allocmark {

namespace {

using trace::CallKind;

struct Block {
  std::uint32_t owner;  // thread whose slot holds it
  std::uint32_t slot;
  std::uint64_t size;
  std::uint64_t last_key;    // global order of the op that last used it
  std::size_t last_pos;      // index after that op in the owner's stream
  std::uint64_t last_point;  // merged call index of that use (for the lag)
  std::uint64_t id;          // allocation order, for a deterministic tear-down
};

// A send inserted into a stream after the fact, right after the sender's
// last use of the block: the block left then, not when the receiver freed it.
struct Insert {
  std::size_t pos;
  std::uint64_t key;
  Op op;
};

struct ThreadBuild {
  std::vector<Op> ops;
  std::vector<std::uint64_t> keys;
  std::vector<Insert> inserts;
  std::vector<std::uint32_t> free_slots;
  std::uint32_t slots = 0;
  std::uint64_t live = 0;
  StreamCounts counts;

  std::uint32_t TakeSlot() {
    if (free_slots.empty()) return slots++;
    const std::uint32_t s = free_slots.back();
    free_slots.pop_back();
    return s;
  }
  void Emit(const Op& op, std::uint64_t key) {
    ops.push_back(op);
    keys.push_back(key);
    ++counts.ops;
  }
};

std::uint8_t AlignOf(const TraceCall& c) {
  // Up to 16 bytes is every allocator's default alignment.
  return c.align_log2 > 4 ? c.align_log2 : 0;
}

bool IsAllocation(CallKind k) {
  return k != CallKind::kFree && k != CallKind::kRealloc &&
         k != CallKind::kReallocarray;
}

std::string Hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

class Converter {
 public:
  explicit Converter(const Trace& trace)
      : trace_(trace), threads_(trace.threads.size()) {
    for (ThreadBuild& t : threads_)
      t.Emit({OpKind::kPhase, 0, Touch::kNone, 0, 0, 0}, 0);
  }

  std::shared_ptr<const TraceReplay> Run() {
    Merge();
    TearDown();
    return Finish();
  }

 private:
  // A point of the merged order: the release (entry) or acquire (return) of
  // a thread's call. At equal times a release goes first: a block given
  // back in the same nanosecond it is handed out again was given back first.
  struct Point {
    std::uint64_t time;
    int acquire;
    std::uint32_t thread;
    bool operator>(const Point& o) const {
      if (time != o.time) return time > o.time;
      if (acquire != o.acquire) return acquire > o.acquire;
      return thread > o.thread;
    }
  };

  static bool HasRelease(const TraceCall& c) { return !IsAllocation(c.kind); }
  static bool HasAcquire(const TraceCall& c) {
    return c.kind != CallKind::kFree;
  }

  void Merge() {
    const std::size_t n = threads_.size();
    std::vector<std::size_t> next(n, 0);
    std::vector<int> phase(n, 0);  // 0: release pending, 1: acquire pending
    std::priority_queue<Point, std::vector<Point>, std::greater<Point>> heap;
    auto push = [&](std::uint32_t t) {
      const std::vector<TraceCall>& calls = trace_.threads[t];
      while (next[t] < calls.size()) {
        const TraceCall& c = calls[next[t]];
        if (phase[t] == 0 && !HasRelease(c)) phase[t] = 1;
        if (phase[t] == 1 && !HasAcquire(c)) {
          phase[t] = 0;
          ++next[t];
          continue;
        }
        heap.push({phase[t] == 0 ? c.release_ns : c.acquire_ns, phase[t], t});
        return;
      }
    };
    for (std::uint32_t t = 0; t < n; ++t) push(t);
    while (!heap.empty()) {
      const Point p = heap.top();
      heap.pop();
      const TraceCall& c = trace_.threads[p.thread][next[p.thread]];
      ++point_;
      if (p.acquire == 0) {
        Release(p.thread, c);
        phase[p.thread] = 1;
        if (!HasAcquire(c)) {
          phase[p.thread] = 0;
          ++next[p.thread];
        }
      } else {
        Acquire(p.thread, c);
        phase[p.thread] = 0;
        ++next[p.thread];
      }
      push(p.thread);
    }
  }

  std::uint64_t Key() const { return point_ * 2; }

  // Moves a block to thread t: a send after its last use on the owner, a
  // receive now on t.
  void HandOff(std::uint32_t t, Block& b) {
    ThreadBuild& from = threads_[b.owner];
    ThreadBuild& to = threads_[t];
    const std::uint64_t mailbox = stats_.hand_offs++;
    from.inserts.push_back(
        {b.last_pos,
         b.last_key + 1,
         {OpKind::kSend, 0, Touch::kNone, 0, b.slot, mailbox}});
    ++from.counts.sends;
    ++from.counts.ops;
    from.free_slots.push_back(b.slot);
    from.live -= 1;
    stats_.lags.push_back(point_ - b.last_point);
    b.owner = t;
    b.slot = to.TakeSlot();
    to.live += 1;
    Use(t, b, {OpKind::kReceive, 0, Touch::kNone, 0, b.slot, mailbox});
    ++to.counts.receives;
  }

  void Use(std::uint32_t t, Block& b, const Op& op) {
    ThreadBuild& tb = threads_[t];
    tb.Emit(op, Key());
    b.last_key = Key();
    b.last_pos = tb.ops.size();
    b.last_point = point_;
  }

  // Looks the block up for a free or realloc; nullptr when the call is to
  // be skipped (an inherited block of a fork child).
  Block* Find(std::uint32_t t, const TraceCall& c) {
    auto it = live_.find(c.ptr_in);
    if (it != live_.end()) return &it->second;
    if (trace_.header.flags & trace::kFlagForked) {
      ++stats_.inherited_frees;
      return nullptr;
    }
    throw TraceError(trace_.path + ": " + CallKindName(c.kind) +
                     " of an unknown block " + Hex(c.ptr_in) + " (thread " +
                     std::to_string(t) +
                     "): the trace never handed it out; is it a whole trace?");
  }

  void Release(std::uint32_t t, const TraceCall& c) {
    if (c.ptr_in == 0) {
      if (c.kind == CallKind::kFree || c.size == 0) ++stats_.free_null;
      return;  // realloc(NULL, n) is an allocation, at its acquire point
    }
    Block* b = Find(t, c);
    if (b == nullptr) return;
    const bool foreign = b->owner != t;
    if (foreign) HandOff(t, *b);
    ThreadBuild& tb = threads_[t];
    const bool is_free =
        c.kind == CallKind::kFree || (c.ptr_out == 0 && c.size == 0);
    if (is_free) {
      if (foreign) ++stats_.cross_thread_frees;
      if (foreign) ++tb.counts.cross_thread_frees;
      tb.Emit({OpKind::kFree, 0, Touch::kNone, 0, b->slot, b->size}, Key());
      ++tb.counts.frees;
      Forget(t, c.ptr_in);
      return;
    }
    if (c.ptr_out == 0) {  // failed realloc: the block stays as it was
      ++stats_.failed_calls;
      return;
    }
    if (foreign) ++stats_.cross_thread_reallocs;
    const std::uint64_t size = std::max<std::uint64_t>(c.size, 1);
    live_bytes_ += size;
    live_bytes_ -= b->size;
    peak_bytes_ = std::max(peak_bytes_, live_bytes_);
    b->size = size;
    Use(t, *b, {OpKind::kRealloc, 0, Touch::kFirstByte, 0, b->slot, size});
    ++tb.counts.reallocs;
    pending_realloc_ = *b;
    live_.erase(c.ptr_in);  // its new address is known at the acquire point
  }

  void Acquire(std::uint32_t t, const TraceCall& c) {
    ThreadBuild& tb = threads_[t];
    if (c.ptr_out == 0) {
      if (IsAllocation(c.kind) || c.ptr_in == 0) ++stats_.failed_calls;
      return;
    }
    if (auto it = live_.find(c.ptr_out); it != live_.end()) {
      // Only a trace missing a free can hand one address out twice: the old
      // block is freed on its owner, where it was last used.
      ++stats_.reused_while_live;
      Block old = it->second;
      ThreadBuild& owner = threads_[old.owner];
      owner.Emit({OpKind::kFree, 0, Touch::kNone, 0, old.slot, old.size},
                 Key());
      ++owner.counts.frees;
      Forget(old.owner, c.ptr_out);
    }
    if (c.ptr_in != 0 && !IsAllocation(c.kind)) {  // a realloc's new address
      live_.emplace(c.ptr_out, pending_realloc_);
      return;
    }
    if (c.size == 0) ++stats_.zero_sizes;
    const std::uint64_t size = std::max<std::uint64_t>(c.size, 1);
    Block b{t, tb.TakeSlot(), size, 0, 0, 0, next_id_++};
    tb.live += 1;
    Use(t, b, {OpKind::kAlloc, AlignOf(c), Touch::kFirstByte, 0, b.slot, size});
    ++tb.counts.allocs;
    tb.counts.bytes_allocated += size;
    tb.counts.max_live = std::max(tb.counts.max_live, tb.live);
    live_bytes_ += size;
    peak_bytes_ = std::max(peak_bytes_, live_bytes_);
    live_.emplace(c.ptr_out, b);
    peak_blocks_ = std::max<std::uint64_t>(peak_blocks_, live_.size());
  }

  void Forget(std::uint32_t t, std::uint64_t addr) {
    auto it = live_.find(addr);
    ThreadBuild& tb = threads_[t];
    tb.free_slots.push_back(it->second.slot);
    tb.live -= 1;
    live_bytes_ -= it->second.size;
    live_.erase(it);
  }

  // What the program left live at its end is freed by its owner, in
  // allocation order, so the cell ends with nothing live (no leak).
  void TearDown() {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> order;
    for (const auto& [addr, b] : live_) order.emplace_back(b.id, addr);
    std::sort(order.begin(), order.end());
    for (const auto& [id, addr] : order) {
      ++point_;
      const Block& b = live_.at(addr);
      ThreadBuild& tb = threads_[b.owner];
      tb.Emit({OpKind::kFree, 0, Touch::kNone, 0, b.slot, b.size}, Key());
      ++tb.counts.frees;
      ++tb.counts.teardown_frees;
      ++stats_.live_at_end;
    }
  }

  std::shared_ptr<const TraceReplay> Finish() {
    auto r = std::make_shared<TraceReplay>();
    r->path = trace_.path;
    std::uint32_t slots = 1;
    std::vector<std::uint64_t> digests;
    for (ThreadBuild& tb : threads_) {
      // Splice the sends in after the ops they follow.
      std::vector<Op> ops;
      std::vector<std::uint64_t> keys;
      std::stable_sort(
          tb.inserts.begin(), tb.inserts.end(),
          [](const Insert& a, const Insert& b) { return a.pos < b.pos; });
      std::size_t k = 0;
      for (std::size_t i = 0; i <= tb.ops.size(); ++i) {
        while (k < tb.inserts.size() && tb.inserts[k].pos == i) {
          ops.push_back(tb.inserts[k].op);
          keys.push_back(tb.inserts[k].key);
          ++k;
        }
        if (i < tb.ops.size()) {
          ops.push_back(tb.ops[i]);
          keys.push_back(tb.keys[i]);
        }
      }
      StreamDigest d;
      d.Add(ops);
      digests.push_back(d.value());
      slots = std::max(slots, tb.slots);
      r->ops.push_back(std::move(ops));
      r->keys.push_back(std::move(keys));
      r->counts.push_back(tb.counts);
    }
    r->digest = StreamDigest::Combine(digests);
    r->plan.threads = static_cast<std::uint32_t>(threads_.size());
    r->plan.slots_per_thread = slots + 1;
    r->plan.mailboxes = static_cast<std::uint32_t>(stats_.hand_offs);
    r->plan.ring_depth = 0;
    r->plan.lag = 0;
    std::uint64_t most = 0;
    for (const auto& ops : r->ops)
      most = std::max<std::uint64_t>(most, ops.size());
    r->plan.ops_per_thread = most;
    stats_.peak_live_bytes = peak_bytes_;
    stats_.peak_live_blocks = peak_blocks_;
    r->stats = std::move(stats_);
    return r;
  }

  const Trace& trace_;
  std::vector<ThreadBuild> threads_;
  std::unordered_map<std::uint64_t, Block> live_;
  Block pending_realloc_{};
  std::uint64_t point_ = 0;
  std::uint64_t next_id_ = 0;
  std::uint64_t live_bytes_ = 0, peak_bytes_ = 0, peak_blocks_ = 0;
  TraceReplayStats stats_;
};

}  // namespace

std::shared_ptr<const TraceReplay> ConvertTrace(const Trace& trace) {
  if (trace.threads.empty() || trace.calls == 0)
    throw TraceError(trace.path + ": the trace holds no calls");
  return Converter(trace).Run();
}

std::shared_ptr<const TraceReplay> LoadTraceReplay(const std::string& path) {
  return ConvertTrace(ReadTrace(path));
}

TraceSource::TraceSource(std::shared_ptr<const TraceReplay> replay)
    : replay_(std::move(replay)), pos_(replay_->ops.size(), 0) {}

bool TraceSource::NextChunk(std::span<const std::span<Op>> buffers,
                            std::span<std::size_t> filled) {
  const std::size_t n = replay_->ops.size();
  // Cut before the first op (in the global order) that some thread has no
  // room for; keys rise strictly within a thread, so that thread's buffer
  // is filled and every thread makes progress together.
  std::uint64_t cut = UINT64_MAX;
  for (std::size_t t = 0; t < n; ++t) {
    const std::size_t end = pos_[t] + buffers[t].size();
    if (end < replay_->keys[t].size())
      cut = std::min(cut, replay_->keys[t][end]);
  }
  bool more = false;
  for (std::size_t t = 0; t < n; ++t) {
    const std::vector<std::uint64_t>& keys = replay_->keys[t];
    std::size_t end = pos_[t];
    while (end < keys.size() && keys[end] < cut) ++end;
    std::copy(replay_->ops[t].begin() + static_cast<std::ptrdiff_t>(pos_[t]),
              replay_->ops[t].begin() + static_cast<std::ptrdiff_t>(end),
              buffers[t].begin());
    filled[t] = end - pos_[t];
    pos_[t] = end;
    more |= end < keys.size();
  }
  return more;
}

StreamCounts TraceSource::TotalCounts() const {
  StreamCounts total;
  for (const StreamCounts& c : replay_->counts) total.Add(c);
  return total;
}

bool IsTraceWorkload(const std::string& item) {
  return item.rfind(kTracePrefix, 0) == 0;
}

WorkloadSpec TraceWorkloadSpec(const std::string& path) {
  return TraceWorkloadSpec(path, *LoadTraceReplay(path));
}

WorkloadSpec TraceWorkloadSpec(const std::string& path,
                               const TraceReplay& replay) {
  const TraceReplay* r = &replay;
  WorkloadSpec spec;
  spec.name = std::string(kTracePrefix) +
              std::filesystem::path(path).filename().string();
  spec.description = "replay of the recorded trace " + path;
  // Workers may run elsewhere: they get the absolute path.
  spec.path =
      std::string(kTracePrefix) + std::filesystem::absolute(path).string();
  spec.trace_path = path;
  spec.threads = r->plan.threads;
  spec.ops_per_thread.fill(r->plan.ops_per_thread);
  PhaseSpec phase;
  phase.name = "trace";
  phase.tag = {'T', 'R', 'A', 'C'};
  // The batch probe's sizes: the trace's median allocation.
  std::vector<std::uint64_t> sizes;
  for (const auto& ops : r->ops) {
    for (const Op& op : ops) {
      if (op.kind == OpKind::kAlloc) sizes.push_back(op.arg);
    }
  }
  std::nth_element(
      sizes.begin(),
      sizes.begin() + static_cast<std::ptrdiff_t>(sizes.size() / 2),
      sizes.end());
  phase.sizes.min = phase.sizes.max =
      sizes.empty() ? 16 : sizes[sizes.size() / 2];
  phase.working_set = r->plan.slots_per_thread;
  if (r->stats.hand_offs > 0) phase.cross_thread_share = 1e-9;
  spec.phases.push_back(phase);
  return spec;
}

}  // namespace allocmark
