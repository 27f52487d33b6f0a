// Runs a shell command for the integration tests and captures exit code,
// stdout and stderr.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace allocmark::testing {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline CommandResult RunCommand(const std::string& cmd) {
  static int counter = 0;
  const std::string base = ::testing::TempDir() + "/cmd" +
                           std::to_string(getpid()) + "_" +
                           std::to_string(counter++);
  const std::string full =
      "(" + cmd + ") >" + base + ".out 2>" + base + ".err </dev/null";
  const int status = std::system(full.c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = ReadAll(base + ".out");
  r.err = ReadAll(base + ".err");
  std::remove((base + ".out").c_str());
  std::remove((base + ".err").c_str());
  return r;
}

inline bool FileExists(const std::string& path) {
  return std::ifstream(path).good();
}

}  // namespace allocmark::testing
