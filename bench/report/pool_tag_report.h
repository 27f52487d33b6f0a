// The poolmon view of a results document: one block per cell (allocator x
// workload x threads x repetition) with a row per pool tag, from the typed
// cell record.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace allocmark {

/// Printed by `allocmark run --tags`; cells without tag figures (skipped,
/// or run without the timed pass) are listed with the reason.
std::string PoolTagTable(const nlohmann::json& results);

}  // namespace allocmark
