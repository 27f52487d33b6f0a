// Temp-file-and-rename writer for results. Only regular files are ever
// replaced: a device, FIFO or socket at the target is refused, never swapped.
#include "bench/results/results_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace allocmark {
namespace {

// The temp file lives beside the target (rename must not cross file systems)
// under a short name of its own, so a legal 255-byte target name never turns
// into an illegal temp name.
std::string TempPathFor(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  const std::string dir =
      slash == std::string::npos ? "" : path.substr(0, slash + 1);
  return dir + ".allocmark-" + std::to_string(getpid()) + ".tmp";
}

}  // namespace

std::string CheckOutputTarget(const std::string& path) {
  if (path.empty()) return "empty path";
  if (path.back() == '/') return "names a directory";
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return "";
    return std::strerror(errno);
  }
  if (S_ISDIR(st.st_mode)) return "is a directory";
  if (S_ISLNK(st.st_mode)) {
    // A symlink is replaced by the rename, not followed: only allow it when
    // it points at a regular file (or nothing), as a plain file would be.
    struct stat target {};
    if (stat(path.c_str(), &target) == 0 && !S_ISREG(target.st_mode))
      return "is a symbolic link to something that is not a regular file; "
             "refusing to replace it";
    return "";
  }
  if (!S_ISREG(st.st_mode)) {
    const char* kind = S_ISCHR(st.st_mode)    ? "a character device"
                       : S_ISBLK(st.st_mode)  ? "a block device"
                       : S_ISFIFO(st.st_mode) ? "a FIFO"
                       : S_ISSOCK(st.st_mode) ? "a socket"
                                              : "not a regular file";
    return std::string("exists and is ") + kind +
           ", not a regular file; refusing to replace it";
  }
  return "";
}

std::string CheckWritable(const std::string& path) {
  if (std::string err = CheckOutputTarget(path); !err.empty()) return err;
  const std::size_t slash = path.rfind('/');
  const std::string name =
      slash == std::string::npos ? path : path.substr(slash + 1);
  if (name.size() > 255)
    return "file name is " + std::to_string(name.size()) +
           " bytes long (the limit is 255)";
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
  // Checked again here: the target may have changed since CheckWritable.
  if (std::string err = CheckOutputTarget(path); !err.empty())
    return path + ": " + err;
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

std::string TempPathBeside(const std::string& path, const std::string& tag) {
  const std::size_t slash = path.rfind('/');
  const std::string dir =
      slash == std::string::npos ? "" : path.substr(0, slash + 1);
  return dir + ".allocmark-" + std::to_string(getpid()) + "-" + tag + ".tmp";
}

}  // namespace allocmark
