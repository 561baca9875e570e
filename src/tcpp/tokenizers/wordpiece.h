// WordPiece model: greedy longest-match-first subwords with a "##" continuation prefix (as tokenizers'
// models/wordpiece), plus WordLevel (whole words only, as models/wordlevel).
#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include "tcpp/tokenizers/models.h"

namespace tcpp::tokenizers {

class WordPiece : public Model {
 public:
  static std::unique_ptr<WordPiece> create(Vocab vocab, std::string unk_token = "[UNK]",
                                           std::string continuing_subword_prefix = "##",
                                           size_t max_input_chars_per_word = 100);
  /// Load a BERT vocab.txt (one token per line, id = line number - 1).
  static std::unique_ptr<WordPiece> from_vocab_txt(const std::string& path, std::string unk_token = "[UNK]");
  static std::unique_ptr<WordPiece> from_json(const Json& j, const detail::JsonPath& at);

  std::vector<Token> tokenize(const std::string& word) const override;
  std::optional<uint32_t> token_to_id(const std::string& token) const override;
  std::optional<std::string> id_to_token(uint32_t id) const override;
  size_t vocab_size() const override { return vocab_.size(); }
  Vocab get_vocab() const override { return vocab_; }
  Json to_json() const override;
  const std::string& continuing_subword_prefix() const { return prefix_; }

 private:
  Token unk(size_t len) const;
  Vocab vocab_;
  std::unordered_map<uint32_t, std::string> vocab_r_;
  std::string unk_token_;
  std::string prefix_;
  size_t max_input_chars_per_word_ = 100;
};

class WordLevel : public Model {
 public:
  static std::unique_ptr<WordLevel> create(Vocab vocab, std::string unk_token);
  static std::unique_ptr<WordLevel> from_json(const Json& j, const detail::JsonPath& at);

  std::vector<Token> tokenize(const std::string& word) const override;
  std::optional<uint32_t> token_to_id(const std::string& token) const override;
  std::optional<std::string> id_to_token(uint32_t id) const override;
  size_t vocab_size() const override { return vocab_.size(); }
  Vocab get_vocab() const override { return vocab_; }
  Json to_json() const override;

 private:
  Vocab vocab_;
  std::unordered_map<uint32_t, std::string> vocab_r_;
  std::string unk_token_;
};

}  // namespace tcpp::tokenizers
