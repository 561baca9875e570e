// Helpers shared by the libFuzzer targets: a per-process scratch directory for parsers that take a path, and
// the rule every target follows (a tcpp::Error is the expected answer to bad bytes; anything else is a finding).
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace tcpp::fuzz {

/// A scratch directory for this fuzzing process (on /dev/shm when it exists), removed at exit.
inline const std::string& scratch_dir() {
  struct Dir {
    std::string path;
    // tmpfs when there is one: the builders fsync every file they write.
    Dir() : path(((std::filesystem::exists("/dev/shm") ? std::filesystem::path("/dev/shm")
                                                        : std::filesystem::temp_directory_path()) /
                  "tcpp-fuzz-XXXXXX")
                     .string()) {
      if (!mkdtemp(path.data())) std::abort();
    }
    ~Dir() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  };
  static const Dir dir;
  return dir.path;
}

/// Write bytes to scratch_dir()/name (replacing it) and return the path.
inline std::string write_scratch(const std::string& name, const uint8_t* data, size_t size) {
  std::string path = scratch_dir() + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  if (!out) std::abort();  // the fuzzer's own I/O failed: not a finding of the parser
  return path;
}

/// Split the input at each occurrence of sep (for targets that need several inputs, e.g. argv or two files).
inline std::vector<std::string> split_input(const uint8_t* data, size_t size, const std::string& sep) {
  std::string s(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t pos; (pos = s.find(sep, start)) != std::string::npos; start = pos + sep.size())
    parts.push_back(s.substr(start, pos - start));
  parts.push_back(s.substr(start));
  return parts;
}

}  // namespace tcpp::fuzz
