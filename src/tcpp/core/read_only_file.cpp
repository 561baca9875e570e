// A file opened read-only by descriptor (closed on scope exit), with reads that fill a buffer or reach the end.
#include "tcpp/core/read_only_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "tcpp/core/error.h"

namespace tcpp {

ReadOnlyFile::ReadOnlyFile(const std::string& path, bool sequential) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw InputError(path, std::string("cannot open: ") + std::strerror(errno));
  if (sequential) (void)::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
}

ReadOnlyFile::~ReadOnlyFile() {
  if (fd_ >= 0) ::close(fd_);
}

int64_t ReadOnlyFile::size() const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) throw InputError(path_, std::string("cannot stat: ") + std::strerror(errno));
  return static_cast<int64_t>(st.st_size);
}

size_t ReadOnlyFile::read_full(char* dst, size_t n) {
  size_t have = 0;
  while (have < n) {
    const ssize_t got = ::read(fd_, dst + have, n - have);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw InputError(path_, std::string("read failed: ") + std::strerror(errno));
    if (got == 0) break;
    have += static_cast<size_t>(got);
  }
  return have;
}

bool ReadOnlyFile::fill(char* buf, size_t capacity, size_t& have) {
  const size_t want = capacity - have;
  const size_t got = read_full(buf + have, want);
  have += got;
  return got < want;
}

}  // namespace tcpp
