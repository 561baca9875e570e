// Fingerprints over xxh64 (as datasets.fingerprint: Hasher, generate_random_fingerprint).
#include "tcpp/datasets/fingerprint.h"

#include <sys/stat.h>
#include <xxhash.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>

#include "tcpp/core/error.h"

namespace tcpp::datasets {

Hasher::Hasher() : state_(XXH64_createState()) { XXH64_reset(static_cast<XXH64_state_t*>(state_), 0); }

Hasher::~Hasher() { XXH64_freeState(static_cast<XXH64_state_t*>(state_)); }

Hasher& Hasher::update(std::string_view bytes) {
  uint64_t n = bytes.size();
  XXH64_update(static_cast<XXH64_state_t*>(state_), &n, sizeof n);
  XXH64_update(static_cast<XXH64_state_t*>(state_), bytes.data(), bytes.size());
  return *this;
}

Hasher& Hasher::update(int64_t value) { return update(std::to_string(value)); }

std::string Hasher::hexdigest() const {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx",
                static_cast<unsigned long long>(XXH64_digest(static_cast<const XXH64_state_t*>(state_))));
  return buf;
}

std::string random_fingerprint() {
  std::random_device rd;
  uint64_t v = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

void hash_file_identity(Hasher& hasher, const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw InputError(path, std::string("cannot read: ") + std::strerror(errno));
  std::error_code ec;
  auto abs = std::filesystem::absolute(path, ec);
  hasher.update(ec ? path : abs.lexically_normal().string());
  hasher.update(static_cast<int64_t>(st.st_size));
  hasher.update(static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec);
}

}  // namespace tcpp::datasets
