// The perf-counter probe's part of the cell record (cache.events). Kept
// out of perf_counters.h so the replay loop includes no JSON library.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>

#include "bench/probes/perf_counters.h"

namespace allocmark {

/// `events` {name: value per op | null}, `unavailable` {name: reason} and
/// `per_thread` [{thread, ops, events}] of one pass. `ops[t]`: thread t's ops.
nlohmann::json PerfEventsJson(std::span<const PerfReading> per_thread,
                              std::span<const std::uint64_t> ops);

}  // namespace allocmark
