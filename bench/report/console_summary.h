// The default console output: for each thread count a matrix of ns/op
// relative to system (workloads x allocators), a memory matrix and a tails
// matrix, then what was not measured (once per reason) and a legend.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>

namespace allocmark {

/// Lines at most `width` columns wide; a matrix with more allocators than
/// fit is split into blocks that repeat the workload column.
std::string ConsoleSummary(const nlohmann::json& results,
                           std::size_t width = 100);

}  // namespace allocmark
