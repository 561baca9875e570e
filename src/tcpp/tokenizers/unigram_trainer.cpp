// Unigram training as tokenizers' UnigramTrainer: suffix-array seeds, EM with digamma (Bayesian) updates, pruning
// by likelihood loss. Words are processed in sorted order (HF: hash order), so results are deterministic.
#include "tcpp/tokenizers/unigram_trainer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <set>
#include <string_view>

#include "tcpp/core/error.h"
#include "tcpp/tokenizers/unicode.h"

namespace tcpp::tokenizers {

void UnigramTrainer::feed(const std::vector<std::string>& words) {
  for (const auto& w : words) ++words_[w];
}

namespace {

using Piece = std::pair<std::string, double>;
using Sentence = std::pair<std::string, uint32_t>;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kUnkPenalty = 10.0;

// As tokenizers' unigram trainer: asymptotic series after shifting x above 7.
double digamma(double x) {
  double result = 0.0;
  while (x < 7.0) {
    result -= 1.0 / x;
    x += 1.0;
  }
  x -= 1.0 / 2.0;
  double xx = 1.0 / x;
  double xx2 = xx * xx;
  double xx4 = xx2 * xx2;
  result += std::log(x) + (1.0 / 24.0) * xx2 - 7.0 / 960.0 * xx4 + (31.0 / 8064.0) * xx4 * xx2 - (127.0 / 30720.0) * xx4 * xx4;
  return result;
}

void to_log_prob(std::vector<Piece>& pieces) {
  double sum = 0;
  for (const auto& p : pieces) sum += p.second;
  double logsum = std::log(sum);
  for (auto& p : pieces) p.second = std::log(p.second) - logsum;
}

// Suffix array by prefix doubling with a counting sort per round: O(n log n).
std::vector<int32_t> suffix_array(const std::vector<char32_t>& s) {
  const int32_t n = static_cast<int32_t>(s.size());
  std::vector<int32_t> sa(n), rank(n), tmp(n), sa2(n);
  if (n == 0) return sa;
  std::iota(sa.begin(), sa.end(), 0);
  std::sort(sa.begin(), sa.end(), [&](int32_t a, int32_t b) { return s[a] < s[b]; });
  rank[sa[0]] = 0;
  for (int32_t i = 1; i < n; ++i) rank[sa[i]] = rank[sa[i - 1]] + (s[sa[i]] != s[sa[i - 1]]);
  std::vector<int32_t> count;
  for (int32_t k = 1; rank[sa[n - 1]] < n - 1; k <<= 1) {
    // Order by the second half (suffixes shorter than k first), then stably by the first half.
    int32_t m = 0;
    for (int32_t i = n - k; i < n; ++i) sa2[m++] = i;
    for (int32_t j = 0; j < n; ++j)
      if (sa[j] >= k) sa2[m++] = sa[j] - k;
    count.assign(static_cast<size_t>(rank[sa[n - 1]]) + 1, 0);
    for (int32_t i = 0; i < n; ++i) ++count[rank[i]];
    for (size_t r = 1; r < count.size(); ++r) count[r] += count[r - 1];
    for (int32_t j = n - 1; j >= 0; --j) sa[--count[rank[sa2[j]]]] = sa2[j];
    auto second = [&](int32_t i) { return i + k < n ? rank[i + k] : -1; };
    tmp[sa[0]] = 0;
    for (int32_t i = 1; i < n; ++i) {
      int32_t a = sa[i - 1], b = sa[i];
      tmp[b] = tmp[a] + (rank[a] != rank[b] || second(a) != second(b));
    }
    rank.swap(tmp);
  }
  return sa;
}

// One lattice over a word: nodes by byte position (as tokenizers' unigram/lattice.rs). Node 0 is BOS, 1 is EOS.
struct Lattice {
  struct Node {
    uint32_t id;  // vocabulary id (BOS/EOS: past the vocabulary)
    uint32_t pos, len;
    double score;
    double backtrace = 0;
    int32_t prev = -1;
  };
  std::string_view sentence;
  std::vector<Node> nodes;
  std::vector<std::vector<uint32_t>> begin, end;

  Lattice(std::string_view s, uint32_t bos_id, uint32_t eos_id) : sentence(s), begin(s.size() + 1), end(s.size() + 1) {
    nodes.push_back({bos_id, 0, 0, 0.0});
    nodes.push_back({eos_id, static_cast<uint32_t>(s.size()), 0, 0.0});
    begin[s.size()].push_back(1);
    end[0].push_back(0);
  }
  void insert(size_t pos, size_t len, double score, uint32_t id) {
    auto node_id = static_cast<uint32_t>(nodes.size());
    nodes.push_back({id, static_cast<uint32_t>(pos), static_cast<uint32_t>(len), score});
    begin[pos].push_back(node_id);
    end[pos + len].push_back(node_id);
  }
  size_t next_pos(size_t pos) const { return pos + unicode::utf8_len(static_cast<unsigned char>(sentence[pos])); }

  // Best path (first of equal scores wins), as vocabulary ids of its nodes.
  std::vector<uint32_t> viterbi() {
    const size_t len = sentence.size();
    for (size_t pos = 0; pos <= len;) {
      if (begin[pos].empty()) return {};
      for (uint32_t r : begin[pos]) {
        nodes[r].prev = -1;
        double best = 0;
        int32_t best_node = -1;
        for (uint32_t l : end[pos]) {
          double score = nodes[l].backtrace + nodes[r].score;
          if (best_node < 0 || score > best) {
            best_node = static_cast<int32_t>(l);
            best = score;
          }
        }
        if (best_node < 0) return {};
        nodes[r].prev = best_node;
        nodes[r].backtrace = best;
      }
      if (pos == len) break;
      pos = next_pos(pos);
    }
    std::vector<uint32_t> out;
    for (int32_t n = nodes[1].prev; n > 0; n = nodes[n].prev) out.push_back(nodes[n].id);  // back to BOS (node 0)
    std::reverse(out.begin(), out.end());
    return out;
  }

  // The two best paths (fewer when fewer exist), by exact score; HF finds them by A* (Lattice::nbest(2)).
  std::vector<std::vector<uint32_t>> two_best() const {
    struct Entry {
      double score;
      int32_t node, entry;  // where this partial path came from
    };
    std::vector<std::vector<Entry>> best(nodes.size());
    best[0].push_back({0.0, -1, -1});
    const size_t len = sentence.size();
    for (size_t pos = 0; pos <= len;) {
      for (uint32_t r : begin[pos]) {
        auto& mine = best[r];
        for (uint32_t l : end[pos]) {
          for (size_t e = 0; e < best[l].size(); ++e) {
            Entry cand{best[l][e].score + nodes[r].score, static_cast<int32_t>(l), static_cast<int32_t>(e)};
            if (mine.size() < 2) {
              mine.push_back(cand);
              if (mine.size() == 2 && mine[1].score > mine[0].score) std::swap(mine[0], mine[1]);
            } else if (cand.score > mine[0].score) {
              mine[1] = mine[0];
              mine[0] = cand;
            } else if (cand.score > mine[1].score) {
              mine[1] = cand;
            }
          }
        }
      }
      if (pos == len) break;
      pos = next_pos(pos);
    }
    std::vector<std::vector<uint32_t>> out;
    for (size_t e = 0; e < best[1].size(); ++e) {
      std::vector<uint32_t> path;
      int32_t n = best[1][e].node, k = best[1][e].entry;
      while (n > 0) {
        path.push_back(nodes[n].id);
        const Entry& prev = best[n][k];
        n = prev.node;
        k = prev.entry;
      }
      std::reverse(path.begin(), path.end());
      out.push_back(std::move(path));
    }
    return out;
  }

  // Forward-backward: add freq * P(node) to expected[id]; returns freq * log Z.
  double populate_marginal(double freq, std::vector<double>& expected) const {
    const size_t len = sentence.size();
    auto log_sum_exp = [](double x, double y, bool init) {
      if (init) return y;
      double vmin = x > y ? y : x, vmax = x > y ? x : y;
      if (vmax > vmin + 50.0) return vmax;
      return vmax + std::log(std::exp(vmin - vmax) + 1.0);
    };
    std::vector<double> alpha(nodes.size(), 0.0), beta(nodes.size(), 0.0);
    for (size_t pos = 0; pos <= len; ++pos) {
      for (uint32_t r : begin[pos])
        for (uint32_t l : end[pos])  // HF compares nodes by vocabulary id here
          alpha[r] = log_sum_exp(alpha[r], nodes[l].score + alpha[l], nodes[l].id == nodes[end[pos][0]].id);
    }
    for (size_t p = len + 1; p-- > 0;) {
      for (uint32_t l : end[p])
        for (uint32_t r : begin[p]) beta[l] = log_sum_exp(beta[l], nodes[r].score + beta[r], nodes[r].id == nodes[begin[p][0]].id);
    }
    double z = alpha[begin[len][0]];
    for (size_t pos = 0; pos < len; ++pos)
      for (uint32_t n : begin[pos]) expected[nodes[n].id] += freq * std::exp(alpha[n] + nodes[n].score + beta[n] - z);
    return freq * z;
  }
};

// The model during training: pieces by id, with lookup by string (as tokenizers' Unigram::from + populate_nodes).
class TrainingModel {
 public:
  TrainingModel(const std::vector<Piece>& pieces) : pieces_(pieces) {  // NOLINT: pieces outlive the model
    index_.reserve(pieces.size());
    min_score_ = std::numeric_limits<double>::infinity();
    for (size_t i = 0; i < pieces.size(); ++i) {
      index_[pieces[i].first] = static_cast<uint32_t>(i);
      if (pieces[i].second < min_score_) min_score_ = pieces[i].second;  // NaN never compares less
      max_chars_ = std::max(max_chars_, unicode::to_code_points(pieces[i].first).size());
    }
  }
  size_t size() const { return pieces_.size(); }
  double min_score() const { return min_score_; }
  uint32_t bos_id() const { return static_cast<uint32_t>(pieces_.size() + 1); }
  uint32_t eos_id() const { return static_cast<uint32_t>(pieces_.size() + 2); }

  Lattice lattice(std::string_view s) const {
    Lattice lat(s, bos_id(), eos_id());
    const double unk_score = min_score_ - kUnkPenalty;
    for (size_t pos = 0; pos < s.size();) {
      size_t mblen = unicode::utf8_len(static_cast<unsigned char>(s[pos]));
      bool has_single = false;
      size_t end = pos;
      for (size_t chars = 0; chars < max_chars_ && end < s.size(); ++chars) {  // prefixes, shortest first
        end += unicode::utf8_len(static_cast<unsigned char>(s[end]));
        auto it = index_.find(s.substr(pos, end - pos));
        if (it == index_.end()) continue;
        lat.insert(pos, end - pos, pieces_[it->second].second, it->second);
        if (end - pos == mblen) has_single = true;
      }
      if (!has_single) lat.insert(pos, mblen, unk_score, 0);  // unk_id is 0 during training
      pos += mblen;
    }
    return lat;
  }

 private:
  const std::vector<Piece>& pieces_;
  std::unordered_map<std::string_view, uint32_t> index_;
  double min_score_;
  size_t max_chars_ = 0;
};

std::vector<Piece> make_seed_pieces(const std::vector<Sentence>& sentences, const UnigramTrainerOptions& o) {
  // All words in one string, each followed by U+0000; characters counted with their word counts.
  std::vector<char32_t> flat;
  std::unordered_map<char32_t, uint64_t> all_chars;
  for (const auto& [s, n] : sentences) {
    if (s.empty()) continue;
    for (char32_t c : unicode::to_code_points(s)) {
      flat.push_back(c);
      if (c != 0) all_chars[c] += n;
    }
    flat.push_back(0);
  }
  std::vector<int32_t> sa = suffix_array(flat);
  const auto n = static_cast<int32_t>(flat.size());
  // Kasai: lcp[i] = common prefix of suffixes sa[i-1] and sa[i].
  std::vector<int32_t> rank(n), lcp(n + 1, 0);
  for (int32_t i = 0; i < n; ++i) rank[sa[i]] = i;
  for (int32_t i = 0, h = 0; i < n; ++i) {
    if (rank[i] == 0) {
      h = 0;
      continue;
    }
    int32_t j = sa[rank[i] - 1];
    while (i + h < n && j + h < n && flat[i + h] == flat[j + h]) ++h;
    lcp[rank[i]] = h;
    if (h > 0) --h;
  }
  // Every internal node of the suffix tree (lcp-interval [lb, rb) of depth d): a substring occurring rb - lb times
  // with different continuations, as esaxx enumerates them.
  struct Candidate {
    uint64_t score;
    int32_t start, len;
  };
  std::vector<Candidate> substrings;
  std::vector<std::pair<int32_t, int32_t>> stack = {{0, 0}};  // (depth, lb)
  for (int32_t i = 1; i <= n; ++i) {
    int32_t cur = i < n ? lcp[i] : 0;
    int32_t lb = i - 1;
    while (cur < stack.back().first) {
      auto [depth, left] = stack.back();
      stack.pop_back();
      lb = left;
      int32_t freq = i - left;
      if (depth > 1 && static_cast<size_t>(depth) <= o.max_piece_length) {
        int32_t start = sa[left];
        bool boundary = std::find(flat.begin() + start, flat.begin() + start + depth, char32_t{0}) != flat.begin() + start + depth;
        if (!boundary) substrings.push_back({static_cast<uint64_t>(freq) * static_cast<uint64_t>(depth), start, depth});
      }
    }
    if (cur > stack.back().first) stack.push_back({cur, lb});
  }
  // Characters by count, then substrings by count * length (ties: the larger string first), as HF.
  std::vector<std::pair<uint64_t, char32_t>> chars;
  for (const auto& [c, count] : all_chars) chars.push_back({count, c});
  std::sort(chars.begin(), chars.end(), [](const auto& a, const auto& b) { return a > b; });
  std::sort(substrings.begin(), substrings.end(), [&](const Candidate& a, const Candidate& b) {
    if (a.score != b.score) return a.score > b.score;
    return std::lexicographical_compare(flat.begin() + b.start, flat.begin() + b.start + b.len, flat.begin() + a.start,
                                        flat.begin() + a.start + a.len);
  });
  std::vector<Piece> seeds;
  for (const auto& [count, c] : chars) {
    std::string s;
    unicode::append_utf8(s, c);
    seeds.emplace_back(std::move(s), static_cast<double>(count));
  }
  for (const auto& cand : substrings) {
    if (seeds.size() >= o.seed_size) break;
    std::string s;
    for (int32_t k = 0; k < cand.len; ++k) unicode::append_utf8(s, flat[cand.start + k]);
    seeds.emplace_back(std::move(s), static_cast<double>(cand.score));
  }
  to_log_prob(seeds);
  return seeds;
}

// E step: expected count of every piece over all words.
std::vector<double> run_e_step(const TrainingModel& model, const std::vector<Sentence>& sentences) {
  std::vector<double> expected(model.size(), 0.0);
  for (const auto& [s, freq] : sentences) {
    Lattice lat = model.lattice(s);
    double z = lat.populate_marginal(static_cast<double>(freq), expected);
    if (std::isnan(z)) throw Error("Unigram training: likelihood is NaN (a word may be too long)");
  }
  return expected;
}

// M step: drop pieces expected fewer than 0.5 times; Bayesian (digamma) log probabilities for the rest.
std::vector<Piece> run_m_step(const std::vector<Piece>& pieces, const std::vector<double>& expected) {
  std::vector<Piece> out;
  out.reserve(pieces.size());
  double sum = 0;
  for (size_t i = 0; i < pieces.size(); ++i) {
    if (i == 0) {
      out.emplace_back(pieces[i].first, kNaN);
      continue;
    }
    if (expected[i] < 0.5) continue;
    out.emplace_back(pieces[i].first, expected[i]);
    sum += expected[i];
  }
  double logsum = digamma(sum);
  for (auto& p : out) p.second = digamma(p.second) - logsum;
  return out;
}

// Keep pieces whose removal would cost the most likelihood (SentencePiece's pruning).
std::vector<Piece> prune_pieces(const TrainingModel& model, const std::vector<Piece>& pieces, const std::vector<Sentence>& sentences,
                                const UnigramTrainerOptions& o) {
  const size_t n = pieces.size();
  std::vector<bool> always_keep(n, true);
  std::vector<std::vector<uint32_t>> alternatives(n);
  for (size_t id = 1; id < n; ++id) {
    Lattice lat = model.lattice(pieces[id].first);
    auto nbests = lat.two_best();
    if (nbests.size() <= 1) {
      always_keep[id] = true;
    } else if (nbests[0].size() >= 2) {
      always_keep[id] = false;  // a segmentation beats the piece itself
    } else if (nbests[0].size() == 1) {
      always_keep[id] = true;
      alternatives[id] = nbests[1];
    }
  }
  always_keep[0] = false;
  double vsum = 0;
  std::vector<double> freq(n, 0.0);
  std::vector<std::vector<uint32_t>> inverted(n);
  for (size_t i = 0; i < sentences.size(); ++i) {
    const auto& [s, count] = sentences[i];
    Lattice lat = model.lattice(s);
    vsum += count;
    for (uint32_t id : lat.viterbi()) {
      freq[id] += count;
      inverted[id].push_back(static_cast<uint32_t>(i));
    }
  }
  double sum = std::accumulate(freq.begin(), freq.end(), 0.0);
  double logsum = std::log(sum);
  std::vector<std::pair<size_t, double>> candidates;
  std::vector<Piece> kept;
  kept.reserve(n);
  kept.push_back(pieces[0]);
  for (size_t id = 1; id < n; ++id) {
    if (freq[id] == 0.0 && !always_keep[id]) continue;
    if (alternatives[id].empty()) {
      kept.push_back(pieces[id]);
      continue;
    }
    double f = 0;
    for (uint32_t s : inverted[id]) f += sentences[s].second;
    if (f == 0.0 || std::isnan(f)) continue;
    f /= vsum;
    double logprob_sp = std::log(freq[id]) - logsum;
    // As HF: the normaliser uses the number of pieces - 1 (SentencePiece: the number of alternatives - 1).
    double logsum_alt = std::log(sum + freq[id] * static_cast<double>(n - 1));
    double logprob_alt = 0;
    for (uint32_t a : alternatives[id]) logprob_alt += std::log(freq[a] + freq[id]) - logsum_alt;
    candidates.push_back({id, f * (logprob_sp - logprob_alt)});
  }
  size_t desired = o.vocab_size * 11 / 10;
  size_t pruned_size = std::max(desired, static_cast<size_t>(static_cast<double>(n) * o.shrinking_factor));
  std::stable_sort(candidates.begin(), candidates.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  for (const auto& [id, loss] : candidates) {
    if (kept.size() == pruned_size) break;
    kept.push_back(pieces[id]);
  }
  return kept;
}

}  // namespace

std::vector<std::pair<std::string, double>> detail::unigram_seed_pieces(std::vector<std::pair<std::string, uint32_t>> words,
                                                                        const UnigramTrainerOptions& options) {
  std::sort(words.begin(), words.end());
  return make_seed_pieces(words, options);
}

std::unique_ptr<Unigram> UnigramTrainer::train() const {
  const auto& o = options_;
  std::vector<Sentence> sentences(words_.begin(), words_.end());
  std::sort(sentences.begin(), sentences.end());

  std::vector<Piece> pieces = {{"<UNK>", kNaN}};
  for (auto& p : make_seed_pieces(sentences, o)) pieces.push_back(std::move(p));

  std::set<char32_t> required;  // every character seen, plus the initial alphabet (HF: a hash set)
  for (const auto& [s, n] : sentences)
    for (char32_t c : unicode::to_code_points(s)) required.insert(c);
  required.insert(o.initial_alphabet.begin(), o.initial_alphabet.end());
  if (required.size() > o.vocab_size)
    throw InputError("vocab_size", std::to_string(o.vocab_size) + " is too small for the " + std::to_string(required.size()) +
                                       " distinct characters of the training text");

  const size_t desired = o.vocab_size * 11 / 10;
  while (true) {
    for (uint32_t iter = 0; iter < o.n_sub_iterations; ++iter) {
      TrainingModel model(pieces);
      std::vector<double> expected = run_e_step(model, sentences);
      pieces = run_m_step(pieces, expected);
    }
    if (pieces.size() <= desired) break;
    TrainingModel model(pieces);
    pieces = prune_pieces(model, pieces, sentences, o);
  }

  // Finalize: every required character (missing ones just below the lowest score), then the best pieces.
  TrainingModel model(pieces);
  std::unordered_map<std::string, double> existing(pieces.begin(), pieces.end());
  std::set<std::string> inserted = {"<UNK>"};
  std::vector<Piece> out;
  double penalty = 0;
  for (char32_t c : required) {
    std::string s;
    unicode::append_utf8(s, c);
    inserted.insert(s);
    if (auto it = existing.find(s); it != existing.end()) {
      out.emplace_back(s, it->second);
    } else {
      out.emplace_back(s, model.min_score() + penalty);
      penalty += 0.0001;
    }
  }
  std::optional<uint32_t> unk_id;
  bool add_unk = false;
  if (o.unk_token) {
    auto it = std::find(o.special_tokens.begin(), o.special_tokens.end(), *o.unk_token);
    if (it != o.special_tokens.end()) {
      unk_id = static_cast<uint32_t>(it - o.special_tokens.begin());
    } else {
      unk_id = 0;
      add_unk = true;
    }
  }
  size_t reserved = o.special_tokens.size() + (add_unk ? 1 : 0);
  size_t target = o.vocab_size > reserved ? o.vocab_size - reserved : 0;
  for (const auto& [token, score] : pieces) {
    if (!inserted.insert(token).second) continue;
    out.emplace_back(token, std::isnan(score) ? 0.0 : score);
    if (out.size() == target) break;
  }
  std::stable_sort(out.begin(), out.end(), [](const Piece& a, const Piece& b) { return a.second > b.second; });
  std::vector<Piece> vocab;
  if (add_unk) vocab.emplace_back(*o.unk_token, 0.0);
  for (const auto& t : o.special_tokens) vocab.emplace_back(t, 0.0);
  for (auto& p : out) vocab.push_back(std::move(p));
  return Unigram::create(std::move(vocab), unk_id, /*byte_fallback=*/false, "UnigramTrainer");
}

}  // namespace tcpp::tokenizers
