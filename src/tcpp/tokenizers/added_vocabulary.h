// AddedVocabulary: tokens added on top of the model (special or not), matched in the raw or normalized text
// before pre-tokenization (as tokenizers' tokenizer/added_vocabulary.rs).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "tcpp/core/json.h"
#include "tcpp/tokenizers/models.h"
#include "tcpp/tokenizers/normalizers.h"
#include "tcpp/tokenizers/pre_tokenizers.h"

namespace tcpp::tokenizers {

struct AddedToken {
  std::string content;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = true;
  bool special = false;

  /// As tokenizers' AddedToken::from: special tokens are not normalized by default.
  static AddedToken make(std::string content, bool special) {
    AddedToken t;
    t.content = std::move(content);
    t.special = special;
    t.normalized = !special;
    return t;
  }
};

class AddedVocabulary {
 public:
  /// Add tokens (ids continue after the model's vocabulary); returns how many were new.
  size_t add_tokens(const std::vector<AddedToken>& tokens, const Model& model, const Normalizer* normalizer);

  std::optional<uint32_t> token_to_id(const std::string& token, const Model& model) const;
  /// The added token with this id, if any.
  const AddedToken* find(uint32_t id) const;
  bool is_special_token(const std::string& content) const { return special_set_.count(content) > 0; }
  size_t size() const { return map_.size(); }
  const std::unordered_map<std::string, uint32_t>& get_vocab() const { return map_; }
  const std::unordered_map<uint32_t, AddedToken>& tokens_by_id() const { return map_r_; }

  /// Split the input around added tokens, normalizing the rest (extract_and_normalize).
  PreTokenizedString extract_and_normalize(const Normalizer* normalizer, const std::string& sequence) const;

 private:
  struct Trie {
    std::vector<std::string> patterns;
    std::vector<uint32_t> ids;
    std::vector<std::vector<size_t>> by_first_byte = std::vector<std::vector<size_t>>(256);  // longest first
  };
  void refresh(const Model& model, const Normalizer* normalizer);
  std::vector<Split> split_with(NormalizedString s, const Trie& trie) const;

  std::unordered_map<std::string, uint32_t> map_;
  std::unordered_map<uint32_t, AddedToken> map_r_;
  std::vector<AddedToken> added_tokens_;
  std::vector<AddedToken> special_tokens_;
  std::unordered_set<std::string> special_set_;
  Trie split_trie_, normalized_trie_;
};

}  // namespace tcpp::tokenizers
