// AddedVocabulary: leftmost-longest matching of added tokens with single_word/lstrip/rstrip rules.
#include "tcpp/tokenizers/added_vocabulary.h"

#include <algorithm>

#include "tcpp/tokenizers/unicode.h"

namespace tcpp::tokenizers {

size_t AddedVocabulary::add_tokens(const std::vector<AddedToken>& tokens, const Model& model, const Normalizer* normalizer) {
  for (const auto& t : tokens) {
    if (t.special && !t.content.empty() && !special_set_.count(t.content)) {
      special_tokens_.push_back(t);
      special_set_.insert(t.content);
    }
  }
  size_t ignored = 0;
  uint32_t next_id = static_cast<uint32_t>(model.vocab_size());
  if (!map_r_.empty()) {
    uint32_t max = 0;
    for (const auto& [id, t] : map_r_) max = std::max(max, id);
    if (max >= model.vocab_size() || model.vocab_size() == 0) next_id = max + 1;
  }
  for (const auto& t : tokens) {
    bool exists = false;
    for (const auto& [id, e] : map_r_) exists |= e.content == t.content && e.single_word == t.single_word && e.lstrip == t.lstrip &&
                                                 e.rstrip == t.rstrip && e.normalized == t.normalized && e.special == t.special;
    if (t.content.empty() || exists) {
      ++ignored;
      continue;
    }
    uint32_t id;
    if (auto existing = token_to_id(t.content, model)) {
      id = *existing;
    } else {
      id = next_id++;
    }
    map_[t.content] = id;
    map_r_[id] = t;
    if (!special_set_.count(t.content)) added_tokens_.push_back(t);
  }
  refresh(model, normalizer);
  return tokens.size() - ignored;
}

std::optional<uint32_t> AddedVocabulary::token_to_id(const std::string& token, const Model& model) const {
  auto it = map_.find(token);
  if (it != map_.end()) return it->second;
  return model.token_to_id(token);
}

const AddedToken* AddedVocabulary::find(uint32_t id) const {
  auto it = map_r_.find(id);
  return it == map_r_.end() ? nullptr : &it->second;
}

void AddedVocabulary::refresh(const Model& model, const Normalizer* normalizer) {
  split_trie_ = Trie();
  normalized_trie_ = Trie();
  auto add = [](Trie& trie, std::string pattern, uint32_t id) {
    if (pattern.empty()) return;
    trie.patterns.push_back(std::move(pattern));
    trie.ids.push_back(id);
  };
  std::vector<const AddedToken*> all;
  for (const auto& t : special_tokens_) all.push_back(&t);
  for (const auto& t : added_tokens_) all.push_back(&t);
  for (const auto* t : all) {
    uint32_t id = *token_to_id(t->content, model);
    if (t->normalized) {
      NormalizedString n(t->content);
      if (normalizer) normalizer->normalize(n);
      add(normalized_trie_, n.get(), id);
    } else {
      add(split_trie_, t->content, id);
    }
  }
  for (Trie* trie : {&split_trie_, &normalized_trie_}) {
    for (size_t i = 0; i < trie->patterns.size(); ++i)
      trie->by_first_byte[static_cast<unsigned char>(trie->patterns[i][0])].push_back(i);
    for (auto& list : trie->by_first_byte)  // longest first; among equal lengths, the first added wins
      std::stable_sort(list.begin(), list.end(), [&](size_t a, size_t b) { return trie->patterns[a].size() > trie->patterns[b].size(); });
  }
}

namespace {

bool ends_with_word(const std::string& s, size_t end) {
  if (end == 0) return false;
  size_t b = end - 1;
  while (b > 0 && (static_cast<unsigned char>(s[b]) & 0xC0) == 0x80) --b;
  size_t n = 0;
  return unicode::is_word_char(unicode::decode(s, b, &n));
}

bool starts_with_word(const std::string& s, size_t start) {
  if (start >= s.size()) return false;
  size_t n = 0;
  return unicode::is_word_char(unicode::decode(s, start, &n));
}

}  // namespace

std::vector<Split> AddedVocabulary::split_with(NormalizedString s, const Trie& trie) const {
  const std::string& text = s.get();
  std::vector<std::pair<std::optional<uint32_t>, Offsets>> pieces;
  if (text.empty() || trie.patterns.empty()) {
    std::vector<Split> out;
    out.push_back(Split{std::move(s), std::nullopt});
    return out;
  }
  size_t start_offset = 0;
  size_t i = 0;
  while (i < text.size()) {
    const auto& cands = trie.by_first_byte[static_cast<unsigned char>(text[i])];
    size_t found = SIZE_MAX;
    for (size_t c : cands) {
      const std::string& p = trie.patterns[c];
      if (text.compare(i, p.size(), p) == 0) {
        found = c;
        break;
      }
    }
    if (found == SIZE_MAX) {
      ++i;
      continue;
    }
    size_t start = i, stop = i + trie.patterns[found].size();
    i = stop;
    uint32_t id = trie.ids[found];
    const AddedToken& tok = map_r_.at(id);
    if (tok.single_word) {
      bool start_space = start == 0 || !ends_with_word(text, start);
      bool stop_space = stop == text.size() || !starts_with_word(text, stop);
      if (!start_space || !stop_space) continue;
    }
    if (tok.lstrip) {
      size_t b = start;
      while (b > 0) {
        size_t p = b - 1;
        while (p > 0 && (static_cast<unsigned char>(text[p]) & 0xC0) == 0x80) --p;
        size_t n = 0;
        if (!unicode::is_whitespace(unicode::decode(text, p, &n))) break;
        b = p;
      }
      start = std::max(b, start_offset);
    }
    if (tok.rstrip) {
      while (stop < text.size()) {
        size_t n = 0;
        if (!unicode::is_whitespace(unicode::decode(text, stop, &n))) break;
        stop += n;
      }
      i = stop;
    }
    if (start_offset < start) pieces.push_back({std::nullopt, {start_offset, start}});
    pieces.push_back({id, {start, stop}});
    start_offset = stop;
  }
  if (start_offset != text.size()) pieces.push_back({std::nullopt, {start_offset, text.size()}});
  std::vector<Split> out;
  out.reserve(pieces.size());
  for (const auto& [id, o] : pieces) {
    auto slice = s.slice(o);
    if (!slice) continue;
    if (id) {
      std::string value = slice->get();
      size_t len = value.size();
      std::vector<Token> toks{Token{*id, std::move(value), {0, len}}};
      out.push_back(Split{std::move(*slice), std::move(toks)});
    } else {
      out.push_back(Split{std::move(*slice), std::nullopt});
    }
  }
  return out;
}

PreTokenizedString AddedVocabulary::extract_and_normalize(const Normalizer* normalizer, const std::string& sequence) const {
  PreTokenizedString pre{NormalizedString(sequence)};
  pre.split([&](size_t, NormalizedString s) { return split_with(std::move(s), split_trie_); });
  pre.split([&](size_t, NormalizedString s) {
    if (normalizer) normalizer->normalize(s);
    return split_with(std::move(s), normalized_trie_);
  });
  return pre;
}

}  // namespace tcpp::tokenizers
