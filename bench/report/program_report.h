// The console table of program cells: a real program run whole under each
// allocator (wall and CPU time, peak RSS, faults, a server's own figure).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace allocmark {

/// Empty when the results hold no program cells.
std::string ProgramTable(const nlohmann::json& results);

}  // namespace allocmark
