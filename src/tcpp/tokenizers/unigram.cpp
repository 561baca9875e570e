// Unigram model: best-path segmentation, unknown chars scored min_score - 10 and fused (as tokenizers).
#include "tcpp/tokenizers/unigram.h"

#include <cmath>
#include <cstdio>
#include <limits>

#include "tcpp/core/error.h"
#include "tcpp/tokenizers/json_internal.h"
#include "tcpp/tokenizers/unicode.h"

namespace tcpp::tokenizers {

namespace {
constexpr double kUnkPenalty = 10.0;
}

std::unique_ptr<Unigram> Unigram::create(std::vector<std::pair<std::string, double>> pieces, std::optional<uint32_t> unk_id,
                                         bool byte_fallback, const std::string& where) {
  if (unk_id && pieces.empty()) throw InputError(where, "\"unk_id\" is set but the vocabulary is empty");
  if (unk_id && *unk_id >= pieces.size())
    throw InputError(where, "\"unk_id\" " + std::to_string(*unk_id) + " is out of range (vocabulary has " +
                                std::to_string(pieces.size()) + " entries)");
  auto u = std::unique_ptr<Unigram>(new Unigram());
  u->min_score_ = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < pieces.size(); ++i) {
    u->token_to_id_[pieces[i].first] = static_cast<uint32_t>(i);
    u->min_score_ = std::min(u->min_score_, pieces[i].second);
    u->max_piece_bytes_ = std::max(u->max_piece_bytes_, pieces[i].first.size());
  }
  u->pieces_ = std::move(pieces);
  u->unk_id_ = unk_id;
  u->byte_fallback_ = byte_fallback;
  return u;
}

std::unique_ptr<Unigram> Unigram::from_json(const Json& j, const detail::JsonPath& at) {
  using namespace detail;
  const Json& vj = require(j, "vocab", at);
  if (!vj.is_array()) throw_type(at.key("vocab"), "an array of [token, score]", vj);
  std::vector<std::pair<std::string, double>> pieces;
  pieces.reserve(vj.size());
  for (size_t i = 0; i < vj.size(); ++i) {
    auto pat = at.key("vocab").index(i);
    const Json& e = vj[i];
    if (!e.is_array() || e.size() != 2 || !e[1].is_number()) throw_type(pat, "[token, score]", e);
    pieces.emplace_back(as_string(e[0], pat.index(0)), e[1].get<double>());
  }
  std::optional<uint32_t> unk_id;
  if (j.contains("unk_id") && !j["unk_id"].is_null()) unk_id = as_id(j["unk_id"], at.key("unk_id"));
  return create(std::move(pieces), unk_id, get_bool(j, "byte_fallback", at, false), at.key("unk_id").str());
}

std::vector<std::string> Unigram::encode(const std::string& s) const {
  struct Node {
    uint32_t id = 0;
    double score = 0;
    int64_t starts_at = -1;
  };
  size_t size = s.size();
  double unk_score = min_score_ - kUnkPenalty;
  std::vector<Node> best(size + 1);
  std::string key;
  for (size_t start = 0; start < size;) {
    double here = best[start].score;
    bool has_single = false;
    size_t mblen = unicode::utf8_len(static_cast<unsigned char>(s[start]));
    size_t max_len = std::min(max_piece_bytes_, size - start);
    for (size_t len = 1; len <= max_len; ++len) {
      key.assign(s, start, len);
      auto it = token_to_id_.find(key);
      if (it == token_to_id_.end()) continue;
      Node& target = best[start + len];
      double cand = pieces_[it->second].second + here;
      if (target.starts_at < 0 || cand > target.score) {
        target.score = cand;
        target.starts_at = static_cast<int64_t>(start);
        target.id = it->second;
      }
      if (len == mblen) has_single = true;
    }
    if (!has_single) {
      Node& target = best[start + mblen];
      double cand = unk_score + here;
      if (target.starts_at < 0 || cand > target.score) {
        if (!unk_id_) throw Error("Unigram: a character is not in the vocabulary and the model has no unk_id");
        target.score = cand;
        target.starts_at = static_cast<int64_t>(start);
        target.id = *unk_id_;
      }
    }
    start += mblen;
  }
  std::vector<std::string> results;
  std::string fused;  // consecutive unknowns, collected backwards
  std::vector<std::string> pending;
  for (size_t end = size; end > 0;) {
    const Node& node = best[end];
    size_t start = static_cast<size_t>(node.starts_at);
    if (unk_id_ && node.id == *unk_id_) {
      pending.push_back(s.substr(start, end - start));
    } else {
      if (!pending.empty()) {
        std::string t;
        for (auto it = pending.rbegin(); it != pending.rend(); ++it) t += *it;
        results.push_back(std::move(t));
        pending.clear();
      }
      results.push_back(s.substr(start, end - start));
    }
    end = start;
  }
  if (!pending.empty()) {
    std::string t;
    for (auto it = pending.rbegin(); it != pending.rend(); ++it) t += *it;
    results.push_back(std::move(t));
  }
  std::reverse(results.begin(), results.end());
  return results;
}

std::vector<Token> Unigram::tokenize(const std::string& word) const {
  std::vector<Token> tokens;
  size_t offset = 0;
  for (auto& piece : encode(word)) {
    size_t len = piece.size();
    Offsets o{offset, offset + len};
    auto it = token_to_id_.find(piece);
    if (it != token_to_id_.end()) {
      tokens.push_back(Token{it->second, std::move(piece), o});
    } else {
      bool done = false;
      if (byte_fallback_) {
        std::vector<Token> bytes;
        for (unsigned char b : piece) {
          char code[8];
          std::snprintf(code, sizeof code, "<0x%02X>", b);
          auto bt = token_to_id_.find(code);
          if (bt == token_to_id_.end()) break;
          bytes.push_back(Token{bt->second, code, o});
        }
        if (bytes.size() == piece.size()) {
          for (auto& t : bytes) tokens.push_back(std::move(t));
          done = true;
        }
      }
      if (!done) {
        if (!unk_id_) throw Error("Unigram: a piece is not in the vocabulary and the model has no unk_id");
        tokens.push_back(Token{*unk_id_, std::move(piece), o});
      }
    }
    offset += len;
  }
  return tokens;
}

std::optional<uint32_t> Unigram::token_to_id(const std::string& token) const {
  auto it = token_to_id_.find(token);
  if (it == token_to_id_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> Unigram::id_to_token(uint32_t id) const {
  if (id >= pieces_.size()) return std::nullopt;
  return pieces_[id].first;
}

Json Unigram::to_json() const {
  Json j;
  j["type"] = "Unigram";
  j["unk_id"] = unk_id_ ? Json(*unk_id_) : Json(nullptr);
  Json v = Json::array();
  for (const auto& [t, s] : pieces_) v.push_back(Json::array({t, s}));
  j["vocab"] = std::move(v);
  j["byte_fallback"] = byte_fallback_;
  return j;
}

}  // namespace tcpp::tokenizers
