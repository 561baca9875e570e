// BPE model: merges-based subword tokenization with a per-word cache (as tokenizers' models/bpe).
#pragma once

#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tcpp/tokenizers/models.h"

namespace tcpp::tokenizers {

namespace detail {
/// Open-addressing map from a merge pair (a << 32 | b) to (rank, new id): the hot lookup of BPE encoding.
class MergeMap {
 public:
  void reserve(size_t n);
  /// Insert or overwrite (a later duplicate merge wins, as in tokenizers).
  void insert(uint64_t key, std::pair<uint32_t, uint32_t> value);
  const std::pair<uint32_t, uint32_t>* find(uint64_t key) const {
    if (keys_.empty()) return nullptr;
    for (size_t i = slot(key);; i = (i + 1) & mask_) {
      if (keys_[i] == key) return &values_[i];
      if (keys_[i] == kEmpty) return nullptr;
    }
  }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  size_t slot(uint64_t key) const { return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> shift_); }
  std::vector<uint64_t> keys_;
  std::vector<std::pair<uint32_t, uint32_t>> values_;
  size_t mask_ = 0;
  int shift_ = 64;
};
}  // namespace detail

struct BpeOptions {
  std::optional<std::string> unk_token;
  std::optional<std::string> continuing_subword_prefix;
  std::optional<std::string> end_of_word_suffix;
  bool fuse_unk = false;
  bool byte_fallback = false;
  bool ignore_merges = false;
  size_t cache_capacity = 65536;  // words cached after merging (tokenizers uses 10000; results are identical)
};

class Bpe : public Model {
 public:
  /// Build from a vocabulary and merges in rank order; throws InputError("<where>: ...") for a merge whose
  /// parts or result are not in the vocabulary.
  static std::unique_ptr<Bpe> create(Vocab vocab, const std::vector<std::pair<std::string, std::string>>& merges,
                                     BpeOptions options, const std::string& where = "BPE");
  /// Load GPT-2 style vocab.json + merges.txt (errors name path:line).
  static std::unique_ptr<Bpe> from_files(const std::string& vocab_json, const std::string& merges_txt, BpeOptions options);
  static std::unique_ptr<Bpe> from_json(const Json& j, const detail::JsonPath& at);

  std::vector<Token> tokenize(const std::string& word) const override;
  std::optional<uint32_t> token_to_id(const std::string& token) const override;
  std::optional<std::string> id_to_token(uint32_t id) const override;
  size_t vocab_size() const override { return vocab_.size(); }
  Vocab get_vocab() const override { return vocab_; }
  Json to_json() const override;
  const BpeOptions& options() const { return options_; }

 private:
  struct Symbol {
    uint32_t id;
    uint32_t len;  // bytes
  };
  std::vector<Symbol> merge_word(const std::string& word) const;

  Vocab vocab_;
  std::unordered_map<uint32_t, std::string> vocab_r_;
  std::vector<const std::string*> dense_r_;  // id -> token when ids are dense (else empty; use vocab_r_)
  std::vector<int64_t> char_ids_;            // code point -> id of that one-char token (-1: none), for cp < 0x800
  detail::MergeMap merges_;                                              // (a << 32 | b) -> (rank, new id)
  std::vector<std::pair<uint32_t, uint32_t>> merge_list_;               // by rank, for serialization
  BpeOptions options_;
  mutable std::shared_mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<Symbol>> cache_;
};

}  // namespace tcpp::tokenizers
