// The per-cell console table (`--details`): one row per allocator x
// workload x threads with every figure, medians over repetitions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace allocmark {

/// Columns with nothing measured in any row are left out; cells that were
/// not measured are listed once per reason below the table.
std::string ConsoleDetails(const nlohmann::json& results);

}  // namespace allocmark
