// Where an integration test finds the build and the sources, the CLI, and
// temporary files of its own. Needs ALLOCMARK_BIN_DIR, ALLOCMARK_SOURCE_DIR.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

namespace allocmark::testing {

inline const std::string kBin = ALLOCMARK_BIN_DIR;
inline const std::string kSrc = ALLOCMARK_SOURCE_DIR;
inline const std::string kCli = kBin + "/allocmark";

/// `name` in the test's temporary directory, unique to this process.
inline std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "/allocmark_" + std::to_string(getpid()) + "_" +
         name;
}

}  // namespace allocmark::testing
