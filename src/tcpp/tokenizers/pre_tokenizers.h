// Pre-tokenizers and PreTokenizedString: split normalized text into words before the model runs
// (as tokenizers' tokenizer/pre_tokenizer.rs and pre_tokenizers/).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tcpp/core/json.h"
#include "tcpp/tokenizers/models.h"
#include "tcpp/tokenizers/normalized_string.h"

namespace tcpp::tokenizers {

namespace detail {
struct JsonPath;
}

/// One piece of the input: its normalized text and, once known (added tokens, or after the model ran), its tokens.
struct Split {
  NormalizedString normalized;
  std::optional<std::vector<Token>> tokens;
};

class PreTokenizedString {
 public:
  explicit PreTokenizedString(NormalizedString s);
  /// Replace each not-yet-tokenized split by f(index, split); empty results are dropped.
  template <typename F>
  void split(F f);
  /// Normalize each not-yet-tokenized split in place.
  template <typename F>
  void normalize(F f);
  /// Run the model on every split that has no tokens yet.
  void tokenize(const Model& model);

  const std::string& original() const { return original_; }
  std::vector<Split>& splits() { return splits_; }
  const std::vector<Split>& splits() const { return splits_; }

 private:
  std::string original_;
  std::vector<Split> splits_;
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  virtual void pre_tokenize(PreTokenizedString& s) const = 0;
};

/// Build from tokenizer.json's "pre_tokenizer" object; throws InputError naming the field.
std::unique_ptr<PreTokenizer> pre_tokenizer_from_json(const Json& j, const detail::JsonPath& at);

/// GPT-2's ByteLevel pre-tokenizer (regex split, then bytes mapped to printable chars).
std::unique_ptr<PreTokenizer> make_byte_level_pre_tokenizer(bool add_prefix_space, bool use_regex = true);
/// When p is a ByteLevel pre-tokenizer that splits with GPT-2's pattern (use_regex), its add_prefix_space; else
/// nullopt. Lets the tokenizer pick its byte-level BPE fast path from the loaded pipeline.
std::optional<bool> byte_level_regex_prefix_space(const PreTokenizer& p);
/// BERT's pre-tokenizer (split on white space, isolate punctuation).
std::unique_ptr<PreTokenizer> make_bert_pre_tokenizer();

/// GPT-2's byte -> printable char table (tokenizers' bytes_char) and its inverse (-1 when not a byte char).
const std::vector<char32_t>& byte_to_char_table();
int char_to_byte(char32_t c);

template <typename F>
void PreTokenizedString::split(F f) {
  std::vector<Split> out;
  out.reserve(splits_.size());
  for (size_t i = 0; i < splits_.size(); ++i) {
    if (splits_[i].tokens) {
      out.push_back(std::move(splits_[i]));
      continue;
    }
    for (auto& piece : f(i, std::move(splits_[i].normalized))) {
      if (!piece.normalized.empty()) out.push_back(std::move(piece));
    }
  }
  splits_ = std::move(out);
}

template <typename F>
void PreTokenizedString::normalize(F f) {
  for (auto& s : splits_)
    if (!s.tokens) f(s.normalized);
}

}  // namespace tcpp::tokenizers
