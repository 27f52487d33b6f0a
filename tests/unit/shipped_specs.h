// The shipped workload specs (bench/workloads/*.json), sorted, for the tests
// that check every one of them. Needs ALLOCMARK_WORKLOAD_DIR.
#pragma once

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

namespace allocmark::testing {

inline std::vector<std::string> ShippedSpecs() {
  std::vector<std::string> paths;
  for (const auto& e :
       std::filesystem::directory_iterator(ALLOCMARK_WORKLOAD_DIR)) {
    if (e.path().extension() == ".json") paths.push_back(e.path().string());
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

}  // namespace allocmark::testing
