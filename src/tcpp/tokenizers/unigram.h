// Unigram model: Viterbi segmentation over scored pieces (as tokenizers' models/unigram, encode_optimized).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tcpp/tokenizers/models.h"

namespace tcpp::tokenizers {

class Unigram : public Model {
 public:
  /// pieces: (token, log-probability score) by id. Throws InputError when unk_id is out of range.
  static std::unique_ptr<Unigram> create(std::vector<std::pair<std::string, double>> pieces, std::optional<uint32_t> unk_id,
                                         bool byte_fallback, const std::string& where = "Unigram");
  static std::unique_ptr<Unigram> from_json(const Json& j, const detail::JsonPath& at);

  std::vector<Token> tokenize(const std::string& word) const override;
  std::optional<uint32_t> token_to_id(const std::string& token) const override;
  std::optional<std::string> id_to_token(uint32_t id) const override;
  size_t vocab_size() const override { return pieces_.size(); }
  Vocab get_vocab() const override { return token_to_id_; }
  Json to_json() const override;

 private:
  std::vector<std::string> encode(const std::string& s) const;

  std::vector<std::pair<std::string, double>> pieces_;
  Vocab token_to_id_;
  std::optional<uint32_t> unk_id_;
  bool byte_fallback_ = false;
  double min_score_ = 0;
  size_t max_piece_bytes_ = 0;
};

}  // namespace tcpp::tokenizers
