// Helpers shared by the datasets tests: a temp directory that cleans itself up; whether AddressSanitizer is on.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <stdexcept>
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

/// What /usr/bin/python3 printed (stdout and stderr) when run with args (a shell command line's rest), and its exit
/// status; nullopt when there is no /usr/bin/python3 (the tests that compare against it then skip).
struct PythonRun {
  std::string output;
  int status = 0;  // as pclose() returns it
};
inline std::optional<PythonRun> run_python(const std::string& args) {
  const char* python = "/usr/bin/python3";
  if (::access(python, X_OK) != 0) return std::nullopt;
  std::FILE* pipe = ::popen((std::string(python) + " " + args + " 2>&1").c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("popen failed");
  PythonRun run;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) run.output.append(buf, n);
  run.status = ::pclose(pipe);
  return run;
}

}  // namespace tcpp::datasets::testing
