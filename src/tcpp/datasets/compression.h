// Compressed data files (as datasets' extract step): gzip, bzip2, xz, zstd and lz4 files are read as the file
// they hold, whatever the builder; archives (zip, tar, 7z, rar) are refused with a clear error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace tcpp::datasets {

enum class Compression { kNone, kGzip, kBzip2, kXz, kZstd, kLz4 };

/// "gzip", "bzip2", "xz", "zstd", "lz4" ("none" for kNone).
const char* compression_name(Compression c);

/// The compression of path's content, told by its first bytes as datasets' extractors tell it (by magic number,
/// whatever the file is called). Throws InputError naming the file when it cannot be read, or when it is an
/// archive (zip, tar, 7z, rar), which datasets extracts into a folder of files and this library does not.
Compression detect_compression(const std::string& path);

/// True when head (a file's first bytes) is a tar archive's first header (POSIX "ustar" magic at offset 257).
bool looks_like_tar(std::string_view head);

/// A compressed file read as a stream of its decompressed bytes. Concatenated members / streams / frames are read
/// one after the other as Python's gzip, bz2, lzma and zstandard modules read them.
class DecompressingReader {
 public:
  /// Opens path (whose compression is c, not kNone); throws InputError naming the file when it cannot be read.
  static std::unique_ptr<DecompressingReader> open(const std::string& path, Compression c);
  virtual ~DecompressingReader() = default;
  /// Up to n decompressed bytes into out (n > 0); 0 only at the end of the data. Corrupt or truncated input throws
  /// InputError naming the file, the format and how many decompressed bytes came before the fault.
  virtual size_t read(char* out, size_t n) = 0;
  /// read() until n bytes are there or the data ends: fewer than n only at the end. Errors as read()'s.
  size_t read_full(char* out, size_t n);
  /// Decompressed bytes handed out so far.
  int64_t produced() const { return produced_; }

 protected:
  int64_t produced_ = 0;
};

/// Decompress path (compressed with c) into out_path, created or truncated. Throws InputError naming path when its
/// data is corrupt or truncated, or when it holds a tar archive, and naming out_path when it cannot be written (a
/// full disk); out_path may then be left partly written, for the caller to remove.
void decompress_file(const std::string& path, Compression c, const std::string& out_path);

}  // namespace tcpp::datasets
