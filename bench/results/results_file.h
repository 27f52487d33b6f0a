// Writes result files atomically: a temporary file in the target directory,
// fsync, rename. A reader never sees half a file, and a failed run leaves none.
#pragma once

#include <string>

namespace allocmark {

/// "" when `path` may be (re)written: it does not exist, or it is a regular
/// file (or a symlink to one). Anything else (device, FIFO, socket,
/// directory) is refused with the reason, so `--out /dev/full` never
/// replaces the device.
std::string CheckOutputTarget(const std::string& path);

/// Checks up front that `path` can be written (its target kind, its name's
/// length, and a temporary file created and removed beside it). Returns an
/// error message, or "" when fine.
std::string CheckWritable(const std::string& path);

/// Writes `content` to `path` atomically; returns an error message or "".
std::string WriteFileAtomically(const std::string& path,
                                const std::string& content);

/// A short temporary name in `path`'s directory (".allocmark-<pid>-<tag>.tmp")
/// for helpers that write there before the final rename.
std::string TempPathBeside(const std::string& path, const std::string& tag);

}  // namespace allocmark
