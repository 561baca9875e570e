// BpeTrainer: learn BPE merges from word counts (as tokenizers' models/bpe/trainer.rs), and byte-level BPE
// training from text files (as Python tokenizers' ByteLevelBPETokenizer.train).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "tcpp/core/json.h"
#include "tcpp/tokenizers/bpe.h"

namespace tcpp::tokenizers {

struct BpeTrainerOptions {
  size_t vocab_size = 30000;
  uint64_t min_frequency = 0;
  std::vector<std::string> special_tokens;
  std::optional<size_t> limit_alphabet;
  std::vector<char32_t> initial_alphabet;
  std::optional<std::string> continuing_subword_prefix;
  std::optional<std::string> end_of_word_suffix;
  std::optional<size_t> max_token_length;
};

class BpeTrainer {
 public:
  explicit BpeTrainer(BpeTrainerOptions options) : options_(std::move(options)) {}
  /// Count pre-tokenized words (call as often as needed).
  void feed(const std::vector<std::string>& words);
  /// Learn the vocabulary and merges; same merges as tokenizers' BpeTrainer for the same word counts.
  std::unique_ptr<Bpe> train() const;
  const std::unordered_map<std::string, uint64_t>& word_counts() const { return word_counts_; }

 private:
  BpeTrainerOptions options_;
  std::unordered_map<std::string, uint64_t> word_counts_;
};

/// Train a GPT-2 style byte-level BPE tokenizer on text files (lines keep their newlines, as tokenizers'
/// train_from_files) and return its tokenizer.json. special_tokens get the first ids. Throws InputError for
/// unreadable files or invalid UTF-8 (path:line).
Json train_byte_level_bpe(const std::vector<std::string>& files, BpeTrainerOptions options);

}  // namespace tcpp::tokenizers
