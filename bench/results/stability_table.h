// The results document's `stability` array: per (workload, threads,
// allocator), how ns/op spread over the repetitions. Written by `run` and
// recomputed by `merge` from the same cells, so by one function.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "bench/results/cell_record.h"

namespace allocmark {

/// One entry per cell key with an ok ns/op, in the order keys first appear.
nlohmann::json StabilityTable(const std::vector<CellRecord>& cells);

}  // namespace allocmark
