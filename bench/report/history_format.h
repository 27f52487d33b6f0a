// Text output of `allocmark history`: the stored runs and a metric's trend.
#pragma once

#include <string>
#include <vector>

#include "bench/report/history.h"

namespace allocmark {

/// Text table: one block per thread count, a row per run, a column per
/// allocator.
std::string FormatTrend(const std::vector<TrendPoint>& points,
                        const std::string& metric, const std::string& workload);
std::string FormatRuns(const std::vector<HistoryRun>& runs);

}  // namespace allocmark
