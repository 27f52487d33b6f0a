// Reading a results document for a reporter: parse, check every field a
// reader indexes, and name the file, cell and field on any problem.
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace allocmark {

/// Bad input to a reporter (unreadable file, not a results document, ...).
/// The message names the input; the CLI prints it and exits 2.
class ResultsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Reads and checks a results document (schema_version 1, cells[] present).
/// Throws ResultsError naming `path` on any problem.
nlohmann::json ReadResultsFile(const std::string& path);
/// Parses and checks the text of a results document (ReadResultsFile without
/// the file); `name` is used in messages.
nlohmann::json ParseResultsText(const std::string& text,
                                const std::string& name);
/// The same checks on an already parsed document; `name` is used in messages.
/// Everything a reader (compare, history, export, console) reads is checked
/// for type and range here, so readers may index it without re-checking.
void CheckResultsDocument(const nlohmann::json& doc, const std::string& name);

}  // namespace allocmark
