// Helpers shared by the tokenizers unit tests: temp folders and tiny tokenizer.json builders.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "tcpp/core/json.h"

namespace tcpp::tokenizers::testing {

/// A fresh folder under the system temp dir, removed by the destructor.
class TempDir {
 public:
  explicit TempDir(const std::string& name) : path_(std::filesystem::temp_directory_path() / ("tcpp_tok_" + name + "_" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name, const std::string& content) const {
    auto p = path_ / name;
    std::ofstream(p, std::ios::binary) << content;
    return p.string();
  }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

/// A word-level tokenizer.json over the given words (ids in order), whitespace-split, with [UNK] at id 0.
inline Json word_level_json(const std::vector<std::string>& words) {
  Json vocab = Json::object();
  vocab["[UNK]"] = 0;
  for (size_t i = 0; i < words.size(); ++i) vocab[words[i]] = i + 1;
  return Json{{"version", "1.0"},
              {"model", {{"type", "WordLevel"}, {"vocab", vocab}, {"unk_token", "[UNK]"}}},
              {"pre_tokenizer", {{"type", "WhitespaceSplit"}}}};
}

}  // namespace tcpp::tokenizers::testing
