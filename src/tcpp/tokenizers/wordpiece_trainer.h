// WordPieceTrainer: BPE training with a "##" continuing-subword prefix whose vocabulary becomes a WordPiece model
// (as tokenizers' models/wordpiece/trainer.rs).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tcpp/tokenizers/bpe_trainer.h"
#include "tcpp/tokenizers/wordpiece.h"

namespace tcpp::tokenizers {

struct WordPieceTrainerOptions {
  size_t vocab_size = 30000;
  uint64_t min_frequency = 0;
  std::vector<std::string> special_tokens;
  std::optional<size_t> limit_alphabet;
  std::vector<char32_t> initial_alphabet;
  std::string continuing_subword_prefix = "##";
  std::optional<std::string> end_of_word_suffix;
  /// The model's unknown token (WordPiece(unk_token=...)); it should be one of special_tokens.
  std::string unk_token = "[UNK]";
};

class WordPieceTrainer {
 public:
  explicit WordPieceTrainer(WordPieceTrainerOptions options);
  /// Count pre-tokenized words (call as often as needed).
  void feed(const std::vector<std::string>& words) { bpe_.feed(words); }
  /// Learn the vocabulary: the BPE trainer's tokens with their ids (special tokens first, then the alphabet,
  /// "##"-prefixed chars, merged tokens), as tokenizers' WordPiece::from_bpe.
  std::unique_ptr<WordPiece> train() const;

 private:
  WordPieceTrainerOptions options_;
  BpeTrainer bpe_;
};

}  // namespace tcpp::tokenizers
