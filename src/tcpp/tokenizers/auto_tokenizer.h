// AutoTokenizer::from_pretrained for a local model folder: tokenizer.json (or GPT-2 vocab.json + merges.txt, or
// BERT vocab.txt) plus tokenizer_config.json / special_tokens_map.json (as transformers' PreTrainedTokenizerFast).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tcpp/tokenizers/tokenizer.h"

namespace tcpp::tokenizers {

/// transformers' VERY_LARGE_INTEGER: model_max_length when the config sets none.
constexpr int64_t kVeryLargeInteger = INT64_MAX;

/// The special tokens of a pretrained tokenizer, as transformers' SpecialTokensMixin (absent = not set).
struct SpecialTokensMap {
  std::optional<std::string> bos_token, eos_token, unk_token, sep_token, pad_token, cls_token, mask_token;
  std::vector<std::string> additional_special_tokens;
};

class PreTrainedTokenizer {
 public:
  /// Load from a model folder or a tokenizer.json path. Throws InputError naming the file and field when a file
  /// is malformed, or the folder when it holds no tokenizer files.
  static PreTrainedTokenizer from_pretrained(const std::string& path);
  /// Wrap a tokenizer with explicit special tokens (e.g. one just trained).
  static PreTrainedTokenizer from_tokenizer(Tokenizer tokenizer, SpecialTokensMap special, int64_t model_max_length = kVeryLargeInteger);

  const Tokenizer& tokenizer() const { return tokenizer_; }
  Tokenizer& tokenizer() { return tokenizer_; }

  /// len(tokenizer): vocabulary size including added tokens.
  size_t size() const { return tokenizer_.get_vocab_size(/*with_added_tokens=*/true); }
  int64_t model_max_length() const { return model_max_length_; }
  /// "right" or "left".
  const std::string& padding_side() const { return padding_side_; }
  const std::string& truncation_side() const { return truncation_side_; }
  const SpecialTokensMap& special_tokens() const { return special_; }

  std::optional<uint32_t> pad_token_id() const { return id_of(special_.pad_token); }
  std::optional<uint32_t> mask_token_id() const { return id_of(special_.mask_token); }
  std::optional<uint32_t> bos_token_id() const { return id_of(special_.bos_token); }
  std::optional<uint32_t> eos_token_id() const { return id_of(special_.eos_token); }
  std::optional<uint32_t> unk_token_id() const { return id_of(special_.unk_token); }
  std::optional<uint32_t> cls_token_id() const { return id_of(special_.cls_token); }
  std::optional<uint32_t> sep_token_id() const { return id_of(special_.sep_token); }
  /// Ids of every configured special token (transformers' all_special_ids), without duplicates.
  std::vector<uint32_t> all_special_ids() const;
  /// 1 where ids[i] is a special token, else 0 (get_special_tokens_mask(..., already_has_special_tokens=True)).
  std::vector<uint32_t> get_special_tokens_mask(const std::vector<uint32_t>& ids) const;

  Encoding encode(const std::string& text, bool add_special_tokens = true) const { return tokenizer_.encode(text, add_special_tokens); }
  /// Decode; clean_up_tokenization_spaces applies transformers' clean-up (" ." -> ".", " n't" -> "n't", ...).
  std::string decode(const std::vector<uint32_t>& ids, bool skip_special_tokens = false, bool clean_up_tokenization_spaces = false) const;
  /// Whether tokenizer_config.json asks for the clean-up by default.
  bool clean_up_tokenization_spaces() const { return clean_up_; }

 private:
  explicit PreTrainedTokenizer(Tokenizer t) : tokenizer_(std::move(t)) {}
  std::optional<uint32_t> id_of(const std::optional<std::string>& token) const;

  Tokenizer tokenizer_;
  SpecialTokensMap special_;
  int64_t model_max_length_ = kVeryLargeInteger;
  std::string padding_side_ = "right";
  std::string truncation_side_ = "right";
  bool clean_up_ = false;
};

/// GPT-2 style byte-level BPE from vocab.json + merges.txt (no added tokens).
Tokenizer load_gpt2_tokenizer(const std::string& vocab_json, const std::string& merges_txt, bool add_prefix_space = false);
/// BERT style WordPiece from vocab.txt with [CLS]/[SEP] post-processing and [PAD]/[UNK]/[CLS]/[SEP]/[MASK] special.
Tokenizer load_bert_tokenizer(const std::string& vocab_txt, bool do_lower_case = true);

}  // namespace tcpp::tokenizers
