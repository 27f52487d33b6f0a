// A program spec (bench/programs/*.json): a real Debian program, its input,
// and how its success is recognised; run under each allocator as a program
// cell, or under the tracer to make its shipped trace.
#pragma once

#include <string>
#include <vector>

#include "bench/spec/workload_spec.h"

namespace allocmark {

/// A server program is driven by a client and stopped by a command. In any
/// argument `{port}` is a free TCP port on 127.0.0.1 chosen per run and
/// `{dir}` the spec's directory; programs run in a fresh temporary directory.
struct ProgramServer {
  std::vector<std::string> client;  ///< argv of the load generator
  std::string client_expect;        ///< must appear in the client's output
  std::vector<std::string> stop;    ///< argv that makes the server exit
  /// The figure the client reports: the mean of the numbers before
  /// `figure_suffix` on its output lines (redis-benchmark: "requests per
  /// second").
  std::string figure_name;
  std::string figure_suffix;
};

struct ProgramSpec {
  std::string name;
  std::string description;
  std::string path;                  ///< the spec file, for messages
  std::string debian;                ///< package that provides the binary
  std::vector<std::string> command;  ///< argv; command[0] an absolute path
  std::string stdin_file;            ///< absolute; empty: /dev/null
  std::string expect_output;         ///< must appear in the program's stdout
  /// A run faster than this did not do its work (mimalloc-bench #252).
  double min_seconds = 0;
  bool has_server = false;
  ProgramServer server;
};

/// Parses and validates a spec; a missing binary or input is a SpecError
/// naming the file and the package to install.
ProgramSpec LoadProgramSpec(const std::string& path);

/// Directory of shipped program specs: $ALLOCMARK_PROGRAMS, else the
/// source tree's bench/programs.
std::string ProgramDir();

/// "program:NAME" items name a shipped spec (or a path to one).
inline constexpr char kProgramPrefix[] = "program:";
/// Resolves NAME or a .json path; throws SpecError listing the shipped ones.
ProgramSpec FindProgramSpec(const std::string& name);
std::vector<ProgramSpec> ShippedPrograms();

}  // namespace allocmark
