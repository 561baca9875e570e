// BPE training: count pairs, repeatedly merge the most frequent (ties: smallest pair ids), as tokenizers' BpeTrainer.
#include "tcpp/tokenizers/bpe_trainer.h"

#include <algorithm>
#include <queue>
#include <set>

#include "tcpp/core/error.h"
#include "tcpp/tokenizers/trainers.h"
#include "tcpp/tokenizers/unicode.h"

namespace tcpp::tokenizers {

void BpeTrainer::feed(const std::vector<std::string>& words) {
  for (const auto& w : words) ++word_counts_[w];
}

namespace {

using Pair = std::pair<uint32_t, uint32_t>;
struct PairHash {
  size_t operator()(const Pair& p) const { return std::hash<uint64_t>()((static_cast<uint64_t>(p.first) << 32) | p.second); }
};

struct Symbol {
  uint32_t c;
  size_t len;  // in chars
};

// Merge every non-overlapping (c1, c2) in a word; report pair count changes (as tokenizers' Word::merge).
void merge_word(std::vector<Symbol>& s, uint32_t c1, uint32_t c2, uint32_t replacement, size_t max_length,
                std::vector<std::pair<Pair, int>>& changes) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i].c != c1 || i + 1 >= s.size() || s[i + 1].c != c2) continue;
    Symbol first = s[i], second = s[i + 1];
    Symbol merged{replacement, first.len + second.len};
    if (i > 0) {
      changes.push_back({{s[i - 1].c, first.c}, -1});
      if (s[i - 1].len + merged.len < max_length) changes.push_back({{s[i - 1].c, replacement}, 1});
    }
    s[i] = merged;
    s.erase(s.begin() + i + 1);
    if (i + 1 < s.size()) {
      changes.push_back({{second.c, s[i + 1].c}, -1});
      if (s[i + 1].len + merged.len < max_length) changes.push_back({{replacement, s[i + 1].c}, 1});
    }
  }
}

struct Merge {
  Pair pair;
  uint64_t count;
  std::shared_ptr<std::set<size_t>> pos;
  bool operator<(const Merge& o) const { return count != o.count ? count < o.count : pair > o.pair; }
};

}  // namespace

std::unique_ptr<Bpe> BpeTrainer::train() const {
  const auto& o = options_;
  size_t max_length = o.max_token_length.value_or(SIZE_MAX);
  Vocab w2id;
  std::vector<std::string> id2w;
  auto add_token = [&](const std::string& s) {
    if (w2id.count(s)) return;
    id2w.push_back(s);
    w2id[s] = static_cast<uint32_t>(id2w.size() - 1);
  };
  for (const auto& t : o.special_tokens) add_token(t);

  // Alphabet: chars seen (by frequency) plus the initial alphabet, trimmed to limit_alphabet, sorted by code point.
  std::unordered_map<char32_t, uint64_t> alphabet;
  for (const auto& [word, count] : word_counts_)
    for (char32_t c : unicode::to_code_points(word)) alphabet[c] += count;
  for (char32_t c : o.initial_alphabet) alphabet[c] = UINT64_MAX;
  std::vector<std::pair<char32_t, uint64_t>> kept(alphabet.begin(), alphabet.end());
  if (o.limit_alphabet && alphabet.size() > *o.limit_alphabet) {
    size_t to_remove = alphabet.size() - *o.limit_alphabet;
    std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) { return a.second != b.second ? a.second < b.second : a.first < b.first; });
    kept.erase(kept.begin(), kept.begin() + to_remove);
  }
  std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [c, n] : kept) {
    std::string s;
    unicode::append_utf8(s, c);
    add_token(s);
  }

  // Words as symbol sequences (chars outside the alphabet are dropped); sorted for a deterministic order.
  std::vector<std::pair<std::string, uint64_t>> sorted_words(word_counts_.begin(), word_counts_.end());
  std::sort(sorted_words.begin(), sorted_words.end());
  std::vector<std::vector<Symbol>> words;
  std::vector<uint64_t> counts;
  words.reserve(sorted_words.size());
  for (const auto& [word, count] : sorted_words) {
    std::vector<Symbol> w;
    auto cps = unicode::to_code_points(word);
    for (size_t i = 0; i < cps.size(); ++i) {
      std::string s;
      unicode::append_utf8(s, cps[i]);
      if (!w2id.count(s)) continue;
      if (i > 0 && o.continuing_subword_prefix) s = *o.continuing_subword_prefix + s;
      if (i + 1 == cps.size() && o.end_of_word_suffix) s += *o.end_of_word_suffix;
      add_token(s);
      w.push_back({w2id[s], 1});
    }
    words.push_back(std::move(w));
    counts.push_back(count);
  }

  std::unordered_map<Pair, int64_t, PairHash> pair_counts;
  std::unordered_map<Pair, std::set<size_t>, PairHash> where;
  for (size_t i = 0; i < words.size(); ++i) {
    for (size_t k = 0; k + 1 < words[i].size(); ++k) {
      Pair p{words[i][k].c, words[i][k + 1].c};
      pair_counts[p] += static_cast<int64_t>(counts[i]);
      where[p].insert(i);
    }
  }
  std::priority_queue<Merge> queue;
  auto flush_where = [&] {
    for (auto& [p, pos] : where) {
      int64_t c = pair_counts[p];
      if (c > 0) queue.push(Merge{p, static_cast<uint64_t>(c), std::make_shared<std::set<size_t>>(std::move(pos))});
    }
    where.clear();
  };
  flush_where();

  std::vector<std::pair<Pair, uint32_t>> merges;
  std::vector<std::pair<Pair, int>> changes;
  while (w2id.size() < o.vocab_size && !queue.empty()) {
    Merge top = queue.top();
    queue.pop();
    int64_t current = pair_counts[top.pair];
    if (static_cast<int64_t>(top.count) != current) {
      top.count = static_cast<uint64_t>(std::max<int64_t>(current, 0));
      queue.push(top);
      continue;
    }
    if (top.count < 1 || o.min_frequency > top.count) break;
    std::string b = id2w[top.pair.second];
    if (o.continuing_subword_prefix && b.compare(0, o.continuing_subword_prefix->size(), *o.continuing_subword_prefix) == 0)
      b = b.substr(o.continuing_subword_prefix->size());
    std::string token = id2w[top.pair.first] + b;
    add_token(token);
    uint32_t new_id = w2id[token];
    merges.push_back({top.pair, new_id});
    for (size_t i : *top.pos) {
      changes.clear();
      merge_word(words[i], top.pair.first, top.pair.second, new_id, max_length, changes);
      for (const auto& [p, change] : changes) {
        pair_counts[p] += change * static_cast<int64_t>(counts[i]);
        if (change > 0) where[p].insert(i);
      }
    }
    flush_where();
  }

  std::vector<std::pair<std::string, std::string>> merge_strings;
  merge_strings.reserve(merges.size());
  for (const auto& [p, id] : merges) merge_strings.emplace_back(id2w[p.first], id2w[p.second]);
  BpeOptions bo;
  bo.continuing_subword_prefix = o.continuing_subword_prefix;
  bo.end_of_word_suffix = o.end_of_word_suffix;
  return Bpe::create(std::move(w2id), merge_strings, bo, "BpeTrainer");
}

Json train_byte_level_bpe(const std::vector<std::string>& files, BpeTrainerOptions options) {
  TokenizerTrainingOptions o;
  o.model = TrainerModel::kBpe;
  o.vocab_size = options.vocab_size;
  o.min_frequency = options.min_frequency;
  o.special_tokens = options.special_tokens;
  o.limit_alphabet = options.limit_alphabet;
  o.initial_alphabet = options.initial_alphabet;
  return train_tokenizer_from_files(files, o);
}

}  // namespace tcpp::tokenizers
