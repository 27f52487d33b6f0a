// Writes result files atomically: a temporary file in the target directory,
// fsync, rename. A reader never sees half a file, and a failed run leaves none.
#pragma once

#include <string>

namespace allocmark {

/// Checks up front that `path` can be written (creates and removes a
/// temporary file beside it). Returns an error message, or "" when fine.
std::string CheckWritable(const std::string& path);

/// Writes `content` to `path` atomically; returns an error message or "".
std::string WriteFileAtomically(const std::string& path,
                                const std::string& content);

}  // namespace allocmark
