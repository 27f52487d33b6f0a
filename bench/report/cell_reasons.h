// Cells that were not measured, listed once per reason: an adapter missing
// on this machine is one line, not a row per workload and thread count.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "bench/report/cell_summary.h"

namespace allocmark {

/// "skipped" and "FAILED" sections, each reason once with the cells it
/// covers (whole allocators, whole workload rows, then single cells);
/// empty when every repetition ran ok. Lines fit `width`.
std::string NotMeasuredReasons(const std::vector<CellSummary>& cells,
                               std::size_t width);

}  // namespace allocmark
