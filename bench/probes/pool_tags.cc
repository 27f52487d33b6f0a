// Per-tag merging, the declared-leak tally of the generated streams, and the
// leak verdict. Runs outside the replay: after each chunk and after the cell.
#include "bench/probes/pool_tags.h"

#include <algorithm>
#include <cstdio>

namespace allocmark {

StreamTagTally::StreamTagTally(std::uint32_t threads,
                               std::uint32_t slots_per_thread)
    : slot_size_(threads, std::vector<std::uint64_t>(slots_per_thread, 0)),
      blocks_(kMaxPoolTags, 0),
      bytes_(kMaxPoolTags, 0) {}

void StreamTagTally::Add(std::uint32_t thread, std::span<const Op> ops) {
  std::vector<std::uint64_t>& sizes = slot_size_[thread];
  for (const Op& op : ops) {
    switch (op.kind) {
      case OpKind::kAlloc:
        ++blocks_[op.tag];
        bytes_[op.tag] += static_cast<std::int64_t>(op.arg);
        sizes[op.slot] = op.arg;
        break;
      case OpKind::kFree:  // carries the block's current size and its tag
        --blocks_[op.tag];
        bytes_[op.tag] -= static_cast<std::int64_t>(op.arg);
        break;
      case OpKind::kRealloc:
        bytes_[op.tag] += static_cast<std::int64_t>(op.arg) -
                          static_cast<std::int64_t>(sizes[op.slot]);
        sizes[op.slot] = op.arg;
        break;
      default:  // transfers move a block between threads, not between tags
        break;
    }
  }
}

std::vector<PoolTagRow> MergePoolTags(
    std::span<const PoolTagCounts* const> per_thread, const SharedLive* shared,
    const StreamTagTally* declared, std::span<const std::string> tag_names) {
  std::vector<PoolTagRow> rows;
  for (std::size_t tag = 0; tag < kMaxPoolTags; ++tag) {
    PoolTagRow row;
    row.index = static_cast<std::uint8_t>(tag);
    for (const PoolTagCounts* counts : per_thread) {
      const PoolTagCounts& c = counts[tag];
      row.allocs += c.allocs;
      row.frees += c.frees;
      row.live_blocks += c.live_blocks;
      row.live_bytes += c.live_bytes;
    }
    if (declared != nullptr) {
      row.declared_leak_blocks = declared->live_blocks(tag);
      row.declared_leak_bytes = declared->live_bytes(tag);
    }
    if (row.allocs == 0 && row.frees == 0 && row.live_blocks == 0 &&
        row.declared_leak_blocks == 0)
      continue;
    if (shared != nullptr) row.peak_bytes = shared->tags[tag].Peak();
    if (tag < tag_names.size()) {
      row.tag = tag_names[tag];
    } else {  // snprintf: GCC 12 warns falsely on "#" + std::to_string
      char name[8];
      std::snprintf(name, sizeof(name), "#%zu", tag);
      row.tag = name;
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

LeakVerdict CheckLeaks(const std::vector<PoolTagRow>& rows) {
  LeakVerdict v;
  const PoolTagRow* worst = nullptr;
  std::int64_t worst_blocks = 0, worst_bytes = 0;
  int leaking_tags = 0;
  for (const PoolTagRow& r : rows) {
    const std::int64_t blocks = r.live_blocks - r.declared_leak_blocks;
    const std::int64_t bytes = r.live_bytes - r.declared_leak_bytes;
    if (blocks <= 0 && bytes <= 0) continue;
    ++leaking_tags;
    v.blocks += std::max<std::int64_t>(blocks, 0);
    v.bytes += std::max<std::int64_t>(bytes, 0);
    if (worst == nullptr || blocks > worst_blocks) {
      worst = &r;
      worst_blocks = blocks;
      worst_bytes = bytes;
    }
  }
  if (worst == nullptr) return v;
  v.message = "leak: " + std::to_string(worst_blocks) + " blocks, " +
              std::to_string(worst_bytes) + " bytes under tag " + worst->tag;
  if (leaking_tags > 1)
    v.message += " (+ " + std::to_string(leaking_tags - 1) + " more tags, " +
                 std::to_string(v.blocks) + " blocks in all)";
  return v;
}

}  // namespace allocmark
