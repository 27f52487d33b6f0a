// The locality probe's part of the cell record (cache.locality). Kept out
// of locality.h so the replay loop's include graph has no JSON library.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>

#include "bench/probes/locality.h"

namespace allocmark {

/// cells[].cache.locality: merged per-thread counts and the sharing samples.
nlohmann::json LocalityJson(std::span<const LocalityCounts> per_thread,
                            const SharingSamples& sharing);

}  // namespace allocmark
