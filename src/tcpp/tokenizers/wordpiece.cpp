// WordPiece and WordLevel models (as tokenizers' models/wordpiece and models/wordlevel).
#include "tcpp/tokenizers/wordpiece.h"

#include "tcpp/core/error.h"
#include "tcpp/core/file.h"
#include "tcpp/core/strings.h"
#include "tcpp/tokenizers/json_internal.h"
#include "tcpp/tokenizers/unicode.h"

namespace tcpp::tokenizers {

std::unique_ptr<WordPiece> WordPiece::create(Vocab vocab, std::string unk_token, std::string prefix, size_t max_chars) {
  auto wp = std::unique_ptr<WordPiece>(new WordPiece());
  wp->vocab_r_ = invert_vocab(vocab);
  wp->vocab_ = std::move(vocab);
  wp->unk_token_ = std::move(unk_token);
  wp->prefix_ = std::move(prefix);
  wp->max_input_chars_per_word_ = max_chars;
  return wp;
}

std::unique_ptr<WordPiece> WordPiece::from_vocab_txt(const std::string& path, std::string unk_token) {
  std::string text = read_file(path);
  Vocab vocab;
  size_t pos = 0;
  uint32_t id = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (unicode::find_invalid_utf8(line) != std::string::npos)
      throw InputError(path, id + 1, "token is not valid UTF-8");
    vocab[line] = id++;  // as tokenizers' WordPiece::read_file: a repeated token keeps its last line
  }
  return create(std::move(vocab), std::move(unk_token));
}

std::unique_ptr<WordPiece> WordPiece::from_json(const Json& j, const detail::JsonPath& at) {
  using namespace detail;
  return create(vocab_from_json(require(j, "vocab", at), at.key("vocab")), get_string(j, "unk_token", at, "[UNK]"),
                get_string(j, "continuing_subword_prefix", at, "##"), get_uint(j, "max_input_chars_per_word", at, 100));
}

Token WordPiece::unk(size_t len) const {
  auto it = vocab_.find(unk_token_);
  if (it == vocab_.end()) throw Error("WordPiece: unk_token " + quote(unk_token_) + " is not in the vocabulary");
  return Token{it->second, unk_token_, {0, len}};
}

std::vector<Token> WordPiece::tokenize(const std::string& word) const {
  if (unicode::char_count(word) > max_input_chars_per_word_) return {unk(word.size())};
  std::vector<Token> out;
  size_t start = 0;
  std::string sub;
  while (start < word.size()) {
    size_t end = word.size();
    bool found = false;
    while (start < end) {
      sub.clear();
      if (start > 0) sub = prefix_;
      sub.append(word, start, end - start);
      auto it = vocab_.find(sub);
      if (it != vocab_.end()) {
        out.push_back(Token{it->second, sub, {start, end}});
        found = true;
        break;
      }
      // Drop the last char of the candidate.
      size_t e = end - 1;
      while (e > start && (static_cast<unsigned char>(word[e]) & 0xC0) == 0x80) --e;
      end = e;
    }
    if (!found) return {unk(word.size())};
    start = end;
  }
  return out;
}

std::optional<uint32_t> WordPiece::token_to_id(const std::string& token) const {
  auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> WordPiece::id_to_token(uint32_t id) const {
  auto it = vocab_r_.find(id);
  if (it == vocab_r_.end()) return std::nullopt;
  return it->second;
}

Json WordPiece::to_json() const {
  Json j;
  j["type"] = "WordPiece";
  j["unk_token"] = unk_token_;
  j["continuing_subword_prefix"] = prefix_;
  j["max_input_chars_per_word"] = max_input_chars_per_word_;
  j["vocab"] = vocab_;
  return j;
}

std::unique_ptr<WordLevel> WordLevel::create(Vocab vocab, std::string unk_token) {
  auto wl = std::unique_ptr<WordLevel>(new WordLevel());
  wl->vocab_r_ = invert_vocab(vocab);
  wl->vocab_ = std::move(vocab);
  wl->unk_token_ = std::move(unk_token);
  return wl;
}

std::unique_ptr<WordLevel> WordLevel::from_json(const Json& j, const detail::JsonPath& at) {
  using namespace detail;
  return create(vocab_from_json(require(j, "vocab", at), at.key("vocab")), get_string(j, "unk_token", at, "<unk>"));
}

std::vector<Token> WordLevel::tokenize(const std::string& word) const {
  auto it = vocab_.find(word);
  if (it != vocab_.end()) return {Token{it->second, word, {0, word.size()}}};
  auto unk = vocab_.find(unk_token_);
  if (unk == vocab_.end()) throw Error("WordLevel: unk_token " + quote(unk_token_) + " is not in the vocabulary");
  return {Token{unk->second, unk_token_, {0, word.size()}}};
}

std::optional<uint32_t> WordLevel::token_to_id(const std::string& token) const {
  auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> WordLevel::id_to_token(uint32_t id) const {
  auto it = vocab_r_.find(id);
  if (it == vocab_r_.end()) return std::nullopt;
  return it->second;
}

Json WordLevel::to_json() const {
  Json j;
  j["type"] = "WordLevel";
  j["vocab"] = vocab_;
  j["unk_token"] = unk_token_;
  return j;
}

}  // namespace tcpp::tokenizers
