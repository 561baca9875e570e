// Normalizers: Unicode forms, Nmt, Lowercase, StripAccents, BertNormalizer, Replace, Prepend, Strip, Sequence
// (as tokenizers' normalizers/).
#pragma once

#include <memory>

#include "tcpp/core/json.h"
#include "tcpp/tokenizers/normalized_string.h"

namespace tcpp::tokenizers {

namespace detail {
struct JsonPath;
}

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(NormalizedString& s) const = 0;
};

/// Build from tokenizer.json's "normalizer" object; throws InputError naming the field for bad input.
std::unique_ptr<Normalizer> normalizer_from_json(const Json& j, const detail::JsonPath& at);

/// BERT's normalizer with its usual settings (clean text, Chinese chars spaced, accents stripped when lowercasing).
std::unique_ptr<Normalizer> make_bert_normalizer(bool lowercase);

}  // namespace tcpp::tokenizers
