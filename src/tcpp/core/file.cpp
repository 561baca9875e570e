// File helpers: whole-file reads and crash-safe atomic writes.
#include "tcpp/core/file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "tcpp/core/error.h"
#include "tcpp/core/strings.h"

namespace tcpp {
namespace fs = std::filesystem;

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw InputError(path, "expected a file, found a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, std::string("cannot open file (") + std::strerror(errno) + ")");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw InputError(path, "read failed");
  return ss.str();
}

void fsync_directory(const std::string& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;  // Best effort: some file systems do not allow opening directories.
  ::fsync(fd);
  ::close(fd);
}

void write_file_atomic(const std::string& path, std::string_view content) {
  fs::path target(path);
  fs::path dir = target.parent_path();
  std::random_device rd;
  std::string tmp = (dir / ("." + target.filename().string() + ".tmp." + std::to_string(::getpid()) + "." +
                            std::to_string(rd())))
                        .string();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw InputError(path, std::string("cannot create file (") + std::strerror(errno) + ")");
  const char* p = content.data();
  size_t left = content.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw InputError(path, std::string("write failed (") + std::strerror(err) + ")");
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw InputError(path, std::string("write failed (") + std::strerror(err) + ")");
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw InputError(path, std::string("rename failed (") + std::strerror(err) + ")");
  }
  fsync_directory(dir.string());
}

std::string without_compression_extension(const std::string& path) {
  const std::string lower = to_lower(path);
  for (std::string_view ext : {".gz", ".bz2", ".xz", ".zst", ".lz4"})
    if (ends_with(lower, ext) && lower.size() > ext.size()) return path.substr(0, path.size() - ext.size());
  return path;
}

}  // namespace tcpp
