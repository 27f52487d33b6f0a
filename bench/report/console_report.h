// The console table: one row per allocator x workload x threads, medians over
// repetitions, times relative to `system`. Reads only the results document.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace allocmark {

std::string ConsoleTable(const nlohmann::json& results);

}  // namespace allocmark
