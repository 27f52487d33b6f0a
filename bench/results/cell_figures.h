// Named figures of a typed cell (ns_per_op, alloc_p99, ...): the one place
// that says where in the record each figure a reporter compares lives.
#pragma once

#include <string>

#include "bench/results/cell_record.h"

namespace allocmark {

/// ns_per_op, mops_per_s, alloc_p99, free_p99 (ns), peak_rss (bytes, the
/// allocator's part) or instructions_per_op (cache.events, hw or sim). NaN
/// when the cell lacks the figure, it is null, or `key` names none.
double CellFigure(const CellRecord& cell, const std::string& key);

}  // namespace allocmark
