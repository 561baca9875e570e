// A file opened read-only by descriptor (closed on scope exit), with reads that fill a buffer or reach the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace tcpp {

/// Open for reading; InputError("<path>: cannot open: <reason>") when it cannot be. `sequential` advises the kernel
/// that the file will be read front to back (read-ahead), as a streaming parser does.
class ReadOnlyFile {
 public:
  explicit ReadOnlyFile(const std::string& path, bool sequential = false);
  ~ReadOnlyFile();
  ReadOnlyFile(const ReadOnlyFile&) = delete;
  ReadOnlyFile& operator=(const ReadOnlyFile&) = delete;

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  /// Size from fstat; InputError naming the path when fstat fails.
  int64_t size() const;
  /// Read until `n` bytes are in `dst` or the file ends (retrying interrupted reads); returns the bytes read, fewer
  /// than n only at the end of the file. InputError("<path>: read failed: <reason>") on an error.
  size_t read_full(char* dst, size_t n);
  /// Top up a buffer of `capacity` bytes that holds `have`: reads until it is full or the file ends, adding to
  /// `have`; returns whether the file has ended.
  bool fill(char* buf, size_t capacity, size_t& have);

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace tcpp
