// Parsing of program specs; every rejection names the file and the key.
#include "bench/spec/program_spec.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace allocmark {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::vector<std::string> Argv(const json& j, const std::string& path,
                              const char* key) {
  if (!j.is_array() || j.empty())
    throw SpecError(path + ": " + key +
                    ": must be a non-empty array of strings");
  std::vector<std::string> out;
  for (const json& a : j) {
    if (!a.is_string())
      throw SpecError(path + ": " + key +
                      ": must be a non-empty array of strings");
    out.push_back(a.get<std::string>());
  }
  return out;
}

void RequireBinary(const std::string& binary, const ProgramSpec& spec,
                   const char* key) {
  if (binary.empty() || binary[0] != '/')
    throw SpecError(spec.path + ": " + key + ": '" + binary +
                    "' must be an absolute path");
  if (access(binary.c_str(), X_OK) != 0)
    throw SpecError(spec.path + ": " + key + ": " + binary +
                    " is not installed (apt-get install " + spec.debian + ")");
}

}  // namespace

ProgramSpec LoadProgramSpec(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw SpecError(path + ": cannot read the program spec");
  std::stringstream text;
  text << in.rdbuf();
  ProgramSpec spec;
  spec.path = path;
  json j;
  try {
    j = json::parse(text.str());
    if (!j.is_object()) throw SpecError(path + ": must be a JSON object");
    for (auto it = j.begin(); it != j.end(); ++it) {
      static const char* kKeys[] = {
          "name",  "description",   "debian",      "command",
          "stdin", "expect_output", "min_seconds", "server"};
      if (std::find(std::begin(kKeys), std::end(kKeys), it.key()) ==
          std::end(kKeys))
        throw SpecError(path + ": " + it.key() +
                        ": unknown key (accepted: name, description, debian, "
                        "command, stdin, expect_output, min_seconds, server)");
    }
    spec.name = j.at("name").get<std::string>();
    spec.description = j.value("description", "");
    spec.debian = j.at("debian").get<std::string>();
    spec.command = Argv(j.at("command"), path, "command");
    if (j.contains("stdin")) {
      spec.stdin_file =
          (fs::path(path).parent_path() / j["stdin"].get<std::string>())
              .string();
      if (!fs::is_regular_file(spec.stdin_file))
        throw SpecError(path + ": stdin: " + spec.stdin_file + " not found");
    }
    spec.expect_output = j.value("expect_output", "");
    spec.min_seconds = j.value("min_seconds", 0.0);
    if (!(spec.min_seconds >= 0 && spec.min_seconds < 3600))
      throw SpecError(path + ": min_seconds: expected seconds in [0, 3600)");
    if (j.contains("server")) {
      const json& s = j["server"];
      spec.has_server = true;
      spec.server.client = Argv(s.at("client"), path, "server.client");
      spec.server.stop = Argv(s.at("stop"), path, "server.stop");
      spec.server.client_expect = s.value("client_expect", "");
      spec.server.figure_name = s.value("figure_name", "");
      spec.server.figure_suffix = s.value("figure_suffix", "");
    }
  } catch (const json::exception& e) {
    throw SpecError(path + ": " + e.what());
  }
  if (spec.name.empty()) throw SpecError(path + ": name: must not be empty");
  RequireBinary(spec.command[0], spec, "command");
  if (spec.has_server) {
    RequireBinary(spec.server.client[0], spec, "server.client");
    RequireBinary(spec.server.stop[0], spec, "server.stop");
  }
  return spec;
}

std::string ProgramDir() {
  if (const char* env = std::getenv("ALLOCMARK_PROGRAMS")) return env;
  return ALLOCMARK_PROGRAM_DIR;
}

std::vector<ProgramSpec> ShippedPrograms() {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(ProgramDir(), ec)) {
    if (e.path().extension() == ".json") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  std::vector<ProgramSpec> out;
  for (const std::string& f : files) out.push_back(LoadProgramSpec(f));
  return out;
}

ProgramSpec FindProgramSpec(const std::string& name) {
  if (name.size() > 5 && name.substr(name.size() - 5) == ".json")
    return LoadProgramSpec(name);
  const fs::path file = fs::path(ProgramDir()) / (name + ".json");
  if (fs::exists(file)) return LoadProgramSpec(file.string());
  std::string names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(ProgramDir(), ec)) {
    if (e.path().extension() == ".json")
      names += (names.empty() ? "" : ", ") + e.path().stem().string();
  }
  throw SpecError("--workloads: unknown program '" + name + "' (accepted: " +
                  names + ", or a path to a program spec .json)");
}

}  // namespace allocmark
