// Model factory for tokenizer.json's "model" object, and vocabulary helpers.
#include "tcpp/tokenizers/models.h"

#include "tcpp/core/error.h"
#include "tcpp/core/strings.h"
#include "tcpp/tokenizers/bpe.h"
#include "tcpp/tokenizers/json_internal.h"
#include "tcpp/tokenizers/unigram.h"
#include "tcpp/tokenizers/wordpiece.h"

namespace tcpp::tokenizers {

Vocab vocab_from_json(const Json& j, const detail::JsonPath& at) {
  if (!j.is_object()) detail::throw_type(at, "an object of token -> id", j);
  Vocab vocab;
  vocab.reserve(j.size());
  for (auto it = j.begin(); it != j.end(); ++it) vocab[it.key()] = detail::as_id(it.value(), at.key(it.key()), 1ull << 31);
  return vocab;
}

std::unordered_map<uint32_t, std::string> invert_vocab(const Vocab& vocab) {
  std::unordered_map<uint32_t, std::string> r;
  r.reserve(vocab.size());
  for (const auto& [tok, id] : vocab) r[id] = tok;
  return r;
}

std::unique_ptr<Model> model_from_json(const Json& j, const detail::JsonPath& at) {
  if (!j.is_object()) detail::throw_type(at, "an object", j);
  std::string type;
  if (j.contains("type")) {
    type = detail::as_string(j["type"], at.key("type"));
  } else if (j.contains("merges")) {  // untagged (older files): guess from the fields, as serde does
    type = "BPE";
  } else if (j.contains("vocab") && j["vocab"].is_array()) {
    type = "Unigram";
  } else if (j.contains("max_input_chars_per_word")) {
    type = "WordPiece";
  } else {
    type = "WordLevel";
  }
  if (type == "BPE") return Bpe::from_json(j, at);
  if (type == "WordPiece") return WordPiece::from_json(j, at);
  if (type == "WordLevel") return WordLevel::from_json(j, at);
  if (type == "Unigram") return Unigram::from_json(j, at);
  throw InputError(at.key("type").str(), "unknown model type " + quote(type) + " (expected BPE, WordPiece, WordLevel or Unigram)");
}

}  // namespace tcpp::tokenizers
