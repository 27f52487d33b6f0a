// Temp-file-and-rename writer for results.
#include "bench/results/results_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace allocmark {
namespace {

std::string TempPathFor(const std::string& path) {
  return path + ".tmp." + std::to_string(getpid());
}

}  // namespace

std::string CheckWritable(const std::string& path) {
  if (path.empty()) return "empty path";
  if (std::filesystem::is_directory(path)) return path + " is a directory";
  const std::string tmp = TempPathFor(path);
  const int fd =
      open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return tmp + ": " + std::strerror(errno);
  close(fd);
  unlink(tmp.c_str());
  return "";
}

std::string WriteFileAtomically(const std::string& path,
                                const std::string& content) {
  const std::string tmp = TempPathFor(path);
  const int fd =
      open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return tmp + ": " + std::strerror(errno);
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string err = tmp + ": " + std::strerror(errno);
      close(fd);
      unlink(tmp.c_str());
      return err;
    }
    done += static_cast<std::size_t>(n);
  }
  if (fsync(fd) != 0 || close(fd) != 0) {
    unlink(tmp.c_str());
    return tmp + ": " + std::strerror(errno);
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string err = path + ": " + std::strerror(errno);
    unlink(tmp.c_str());
    return err;
  }
  return "";
}

}  // namespace allocmark
