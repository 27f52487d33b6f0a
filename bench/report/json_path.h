// Reporters' read access to a checked results document: a path of object
// keys that may be absent, and a number that may be null.
#pragma once

#include <initializer_list>
#include <limits>
#include <nlohmann/json.hpp>

namespace allocmark {

/// The value at `path` under `j`, or nullptr when a key is missing.
inline const nlohmann::json* Find(const nlohmann::json& j,
                                  std::initializer_list<const char*> path) {
  const nlohmann::json* at = &j;
  for (const char* k : path) {
    if (!at->is_object()) return nullptr;
    auto it = at->find(k);
    if (it == at->end()) return nullptr;
    at = &*it;
  }
  return at;
}

/// The number `j` points to, NaN when absent or not a number.
inline double Number(const nlohmann::json* j) {
  return j && j->is_number() ? j->get<double>()
                             : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace allocmark
