// A read-only memory-mapped file (as arrow::io::MemoryMappedFile), unmapped when the last view goes away.
#include "tcpp/datasets/arrow/memory_map.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "tcpp/core/error.h"

namespace tcpp::datasets::arrow {

std::shared_ptr<const MappedFile> MappedFile::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw InputError(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw InputError(path, "not a regular file");
  }
  std::shared_ptr<MappedFile> file(new MappedFile());
  file->path_ = path;
  file->size_ = static_cast<int64_t>(st.st_size);
  if (file->size_ > 0) {
    void* p = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      throw InputError(path, std::string("cannot memory-map: ") + std::strerror(err));
    }
    file->data_ = static_cast<const uint8_t*>(p);
  }
  ::close(fd);  // the mapping stays valid without the descriptor
  return file;
}

void MappedFile::prefault(int64_t offset, int64_t n) const {
#ifdef MADV_POPULATE_READ
  if (!data_ || offset < 0 || n <= 0 || offset >= size_) return;
  const uintptr_t page = 4096;
  const auto p = reinterpret_cast<uintptr_t>(data_ + offset);
  const auto end = reinterpret_cast<uintptr_t>(data_ + std::min(size_, offset + n));
  (void)::madvise(reinterpret_cast<void*>(p & ~(page - 1)), end - (p & ~(page - 1)), MADV_POPULATE_READ);
#else
  (void)offset;
  (void)n;
#endif
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), static_cast<size_t>(size_));
}

}  // namespace tcpp::datasets::arrow
