// UnigramTrainer: seed pieces from repeated substrings (suffix array), EM over the lattice of each word, pruning
// by the loss of removing a piece, until vocab_size (as tokenizers' models/unigram/trainer.rs, after SentencePiece).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "tcpp/tokenizers/unigram.h"

namespace tcpp::tokenizers {

struct UnigramTrainerOptions {
  /// Final vocabulary size, special tokens included (HF may end a little below it: pruning overshoots).
  size_t vocab_size = 8000;
  /// EM iterations between two prunings.
  uint32_t n_sub_iterations = 2;
  /// Each pruning keeps this fraction of the pieces (but never fewer than 1.1 * vocab_size).
  double shrinking_factor = 0.75;
  std::vector<std::string> special_tokens;
  /// Characters always in the vocabulary, seen or not.
  std::vector<char32_t> initial_alphabet;
  /// The unknown piece; inserted at id 0 unless it is one of special_tokens. None: no unk_id.
  std::optional<std::string> unk_token;
  /// Longest seed piece, in characters.
  size_t max_piece_length = 16;
  /// Most seed pieces (characters first, then substrings by frequency * length).
  size_t seed_size = 1000000;
};

class UnigramTrainer {
 public:
  explicit UnigramTrainer(UnigramTrainerOptions options) : options_(std::move(options)) {}
  /// Count pre-tokenized words (call as often as needed).
  void feed(const std::vector<std::string>& words);
  /// Train the model. Throws InputError when vocab_size cannot hold every character seen.
  std::unique_ptr<Unigram> train() const;
  const std::unordered_map<std::string, uint32_t>& word_counts() const { return words_; }

 private:
  UnigramTrainerOptions options_;
  std::unordered_map<std::string, uint32_t> words_;
};

namespace detail {
/// The seed pieces with their log probabilities, characters first (as UnigramTrainer::make_seed_sentence_pieces);
/// words are (word, count) in any order. For tests.
std::vector<std::pair<std::string, double>> unigram_seed_pieces(std::vector<std::pair<std::string, uint32_t>> words,
                                                                const UnigramTrainerOptions& options);
}  // namespace detail

}  // namespace tcpp::tokenizers
