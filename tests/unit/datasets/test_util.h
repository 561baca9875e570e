// Helpers shared by the datasets tests: a temp directory that cleans itself up; whether AddressSanitizer is on.
#pragma once

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

namespace tcpp::datasets::testing {

// Under AddressSanitizer freed blocks wait in its quarantine (memory bounds do not hold) and ArrayBuilder's big
// buffers stay on its checked heap instead of mappings of their own.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif
#else
constexpr bool kAddressSanitizer = false;
#endif

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("tcpp-datasets-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// Write content to path, creating its folders.
inline void write_file(const std::filesystem::path& path, const std::string& content) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << content;
}

}  // namespace tcpp::datasets::testing
