// A read-only memory-mapped file (RAII), shared by every zero-copy array view that points into it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace tcpp::datasets::arrow {

class MappedFile {
 public:
  /// Map the whole file read-only; throws InputError naming the path when it cannot be opened or mapped.
  static std::shared_ptr<const MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  int64_t size() const { return size_; }
  const std::string& path() const { return path_; }
  /// Fill the page table entries of bytes [offset, offset + n) before reading them in order: one call instead of a
  /// page fault per 16 pages (several microseconds each on this project's VMs). A hint: failures are ignored.
  void prefault(int64_t offset, int64_t n) const;

 private:
  MappedFile() = default;
  const uint8_t* data_ = nullptr;
  int64_t size_ = 0;
  std::string path_;
};

}  // namespace tcpp::datasets::arrow
