// Model interface: turns one pre-tokenized word into tokens (as tokenizers' Model trait), and the model factory.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "tcpp/core/json.h"
#include "tcpp/tokenizers/normalized_string.h"

namespace tcpp::tokenizers {

namespace detail {
struct JsonPath;
}

/// One token produced by a model: id, its string, and byte offsets within the word.
struct Token {
  uint32_t id = 0;
  std::string value;
  Offsets offsets;
};

using Vocab = std::unordered_map<std::string, uint32_t>;

class Model {
 public:
  virtual ~Model() = default;
  /// Tokenize one word (valid UTF-8, not empty). Throws tcpp::Error when a char cannot be represented.
  virtual std::vector<Token> tokenize(const std::string& word) const = 0;
  virtual std::optional<uint32_t> token_to_id(const std::string& token) const = 0;
  virtual std::optional<std::string> id_to_token(uint32_t id) const = 0;
  /// Number of entries in the model's vocabulary (tokenizers' get_vocab_size, without added tokens).
  virtual size_t vocab_size() const = 0;
  virtual Vocab get_vocab() const = 0;
  /// The "model" object of tokenizer.json.
  virtual Json to_json() const = 0;
};

/// Build a model from tokenizer.json's "model" object; errors name the field (e.g. "model.merges[17]").
std::unique_ptr<Model> model_from_json(const Json& j, const detail::JsonPath& at);

/// Parse a {"token": id} object into a vocabulary; ids must be below 2^31.
Vocab vocab_from_json(const Json& j, const detail::JsonPath& at);
/// Inverse of a vocabulary (id -> token).
std::unordered_map<uint32_t, std::string> invert_vocab(const Vocab& vocab);

}  // namespace tcpp::tokenizers
