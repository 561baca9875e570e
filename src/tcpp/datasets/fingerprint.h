// Fingerprints: xxh64 hashes that name cache files (as datasets.fingerprint.Hasher), 16 hex characters.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tcpp::datasets {

/// Incremental hasher. Each update is framed with its length, so ("ab","c") and ("a","bc") differ.
class Hasher {
 public:
  Hasher();
  ~Hasher();
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  Hasher& update(std::string_view bytes);
  Hasher& update(int64_t value);
  /// The digest as 16 lower-case hex characters.
  std::string hexdigest() const;

 private:
  void* state_;  // XXH64_state_t
};

/// A random 16-hex-character fingerprint, for transforms that declare no cache key (never reused).
std::string random_fingerprint();

/// Fingerprint of one input file: absolute path, size and modification time (touching the file changes it).
/// Throws InputError naming the path when it cannot be stat'ed.
void hash_file_identity(Hasher& hasher, const std::string& path);

}  // namespace tcpp::datasets
