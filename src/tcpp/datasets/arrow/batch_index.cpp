// The sidecar batch index of Arrow stream files: format, writing and validation.
#include "tcpp/datasets/arrow/batch_index.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>

namespace tcpp::datasets::arrow {
namespace {

// Layout, little-endian: magic, then the key, the entries and an XXH64 checksum of everything before it.
constexpr char kMagic[8] = {'T', 'C', 'P', 'P', 'I', 'D', 'X', '1'};
struct Key {
  uint64_t file_size, mtime_sec, mtime_nsec, head_hash, tail_hash, count;
};
constexpr size_t kHashed = 4096;  // bytes hashed at each end of the file

bool pread_all(int fd, void* dst, size_t n, int64_t pos) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::pread(fd, static_cast<char*>(dst) + got, n - got, static_cast<off_t>(pos + static_cast<int64_t>(got)));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    got += static_cast<size_t>(r);
  }
  return true;
}

// The key of the open file fd: size, modification time, hashes of its first and last kHashed bytes.
bool file_key(int fd, Key& key) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return false;
  key.file_size = static_cast<uint64_t>(st.st_size);
  key.mtime_sec = static_cast<uint64_t>(st.st_mtim.tv_sec);
  key.mtime_nsec = static_cast<uint64_t>(st.st_mtim.tv_nsec);
  char buf[kHashed];
  const size_t n = static_cast<size_t>(std::min<uint64_t>(kHashed, key.file_size));
  if (!pread_all(fd, buf, n, 0)) return false;
  key.head_hash = XXH64(buf, n, 0);
  if (!pread_all(fd, buf, n, static_cast<int64_t>(key.file_size - n))) return false;
  key.tail_hash = XXH64(buf, n, 1);
  return true;
}

}  // namespace

std::string batch_index_path(const std::string& arrow_path) { return arrow_path + ".tcpp-index"; }

void write_batch_index(const std::string& arrow_path, const BatchEntries& batches, int fd) noexcept {
  try {
    if (batches.size() < kMinBatchesForIndex) return;
    Key key{};
    if (fd >= 0) {
      if (!file_key(fd, key)) return;
    } else {
      const int own = ::open(arrow_path.c_str(), O_RDONLY | O_CLOEXEC);
      if (own < 0) return;
      const bool ok = file_key(own, key);
      ::close(own);
      if (!ok) return;
    }
    key.count = batches.size();
    std::string bytes(kMagic, sizeof kMagic);
    bytes.append(reinterpret_cast<const char*>(&key), sizeof key);
    for (const auto& [offset, rows] : batches) {
      bytes.append(reinterpret_cast<const char*>(&offset), 8);
      bytes.append(reinterpret_cast<const char*>(&rows), 8);
    }
    const uint64_t sum = XXH64(bytes.data(), bytes.size(), 0);
    bytes.append(reinterpret_cast<const char*>(&sum), 8);
    const std::string path = batch_index_path(arrow_path);
    const std::string tmp = path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device()());
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) return;
    bool written = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    written = std::fclose(f) == 0 && written;
    if (!written || std::rename(tmp.c_str(), path.c_str()) != 0) std::remove(tmp.c_str());
  } catch (...) {  // bad_alloc: no index, nothing else changes
  }
}

bool read_batch_index(const std::string& arrow_path, int fd, BatchEntries& out, bool* stale) {
  out.clear();
  if (stale) *stale = false;
  const std::string path = batch_index_path(arrow_path);
  int ifd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (ifd < 0) return false;
  if (stale) *stale = true;  // until it is found to match
  struct stat st {};
  std::string bytes;
  bool ok = ::fstat(ifd, &st) == 0 && st.st_size >= static_cast<off_t>(sizeof kMagic + sizeof(Key) + 8) &&
            st.st_size < (off_t{1} << 30);
  if (ok) {
    bytes.resize(static_cast<size_t>(st.st_size));
    ok = pread_all(ifd, bytes.data(), bytes.size(), 0);
  }
  ::close(ifd);
  if (!ok || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) return false;
  uint64_t sum;
  std::memcpy(&sum, bytes.data() + bytes.size() - 8, 8);
  if (XXH64(bytes.data(), bytes.size() - 8, 0) != sum) return false;
  Key stored{}, actual{};
  std::memcpy(&stored, bytes.data() + sizeof kMagic, sizeof stored);
  if (bytes.size() != sizeof kMagic + sizeof(Key) + 16 * stored.count + 8) return false;
  if (!file_key(fd, actual) || std::memcmp(&stored, &actual, sizeof(Key) - sizeof(uint64_t)) != 0) return false;
  out.resize(static_cast<size_t>(stored.count));
  const char* p = bytes.data() + sizeof kMagic + sizeof(Key);
  int64_t previous = -1;
  for (auto& [offset, rows] : out) {
    std::memcpy(&offset, p, 8);
    std::memcpy(&rows, p + 8, 8);
    p += 16;
    if (offset <= previous || offset >= static_cast<int64_t>(actual.file_size) || rows < 0) {
      out.clear();
      return false;
    }
    previous = offset;
  }
  if (stale) *stale = false;
  return true;
}

}  // namespace tcpp::datasets::arrow
