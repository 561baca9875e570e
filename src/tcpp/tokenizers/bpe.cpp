// BPE model (as tokenizers' models/bpe/model.rs and word.rs): chars -> vocab ids, then merges by lowest rank.
#include "tcpp/tokenizers/bpe.h"

#include <algorithm>
#include <cstring>
#include <cstdio>
#include <mutex>
#include <queue>

#include "tcpp/core/error.h"
#include "tcpp/core/file.h"
#include "tcpp/core/strings.h"
#include "tcpp/tokenizers/json_internal.h"
#include "tcpp/tokenizers/pre_tokenizers.h"
#include "tcpp/tokenizers/unicode.h"

namespace tcpp::tokenizers {

namespace detail {

void MergeMap::reserve(size_t n) {
  size_t cap = 16;
  int bits = 4;
  while (cap < 2 * n) {
    cap *= 2;
    ++bits;
  }
  slots_.assign(cap, Slot{kEmpty, {0, 0}});
  mask_ = cap - 1;
  shift_ = 64 - bits;
}

void MergeMap::insert(uint64_t key, Value value) {
  for (size_t i = slot(key);; i = (i + 1) & mask_) {
    if (slots_[i].key == key || slots_[i].key == kEmpty) {
      slots_[i] = Slot{key, value};
      return;
    }
  }
}

// An entry: header, then n symbols, then the key bytes; immutable once published.
struct WordCache::Entry {
  uint64_t hash;
  uint32_t key_len;
  uint32_t n;
  uint8_t kind;
  BpeSymbol* symbols() { return reinterpret_cast<BpeSymbol*>(this + 1); }
  const BpeSymbol* symbols() const { return reinterpret_cast<const BpeSymbol*>(this + 1); }
  const char* key() const { return reinterpret_cast<const char*>(symbols() + n); }
  bool is(uint8_t k, std::string_view key_view, uint64_t h) const {
    return hash == h && kind == k && key_len == key_view.size() && std::memcmp(key(), key_view.data(), key_len) == 0;
  }
};

WordCache::~WordCache() {
  std::atomic<Entry*>* slots = slots_.load();
  if (!slots) return;
  for (size_t i = 0; i <= mask_; ++i) ::operator delete(slots[i].load());
  delete[] slots;
}

uint64_t WordCache::hash(std::string_view key) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (key.size() * 0xFF51AFD7ED558CCDull);
  const char* p = key.data();
  size_t n = key.size();
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    h = (h ^ v) * 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
  }
  if (n) {
    uint64_t v = 0;
    std::memcpy(&v, p, n);
    h = (h ^ v) * 0x94D049BB133111EBull;
  }
  h ^= h >> 32;
  h *= 0xD6E8FEB86659FD93ull;
  return h ^ (h >> 32);
}

bool WordCache::find(uint8_t kind, std::string_view key, uint64_t h, std::vector<BpeSymbol>& out) const {
  const std::atomic<Entry*>* slots = slots_.load(std::memory_order_acquire);
  if (!slots) return false;
  for (size_t i = h & mask_, probes = 0; probes <= mask_; i = (i + 1) & mask_, ++probes) {
    const Entry* e = slots[i].load(std::memory_order_acquire);
    if (!e) return false;
    if (e->is(kind, key, h)) {
      out.insert(out.end(), e->symbols(), e->symbols() + e->n);
      return true;
    }
  }
  return false;
}

void WordCache::prefetch(uint64_t h, bool entry) const {
  const std::atomic<Entry*>* slots = slots_.load(std::memory_order_acquire);
  if (!slots) return;
  const std::atomic<Entry*>* slot = &slots[h & mask_];
  if (!entry) {
    __builtin_prefetch(slot);
  } else if (const Entry* e = slot->load(std::memory_order_acquire)) {
    __builtin_prefetch(e);
  }
}

void WordCache::insert(uint8_t kind, std::string_view key, uint64_t h, const BpeSymbol* symbols, size_t n) {
  if (capacity_ == 0 || size_.load(std::memory_order_relaxed) >= capacity_) return;
  std::call_once(init_, [&] {
    size_t cap = 64;
    while (cap < 2 * capacity_ + 64) cap *= 2;
    mask_ = cap - 1;
    auto* slots = new std::atomic<Entry*>[cap];
    for (size_t i = 0; i < cap; ++i) slots[i].store(nullptr, std::memory_order_relaxed);
    slots_.store(slots, std::memory_order_release);
  });
  std::atomic<Entry*>* slots = slots_.load(std::memory_order_acquire);
  auto* e = static_cast<Entry*>(::operator new(sizeof(Entry) + n * sizeof(BpeSymbol) + key.size()));
  e->hash = h;
  e->key_len = static_cast<uint32_t>(key.size());
  e->n = static_cast<uint32_t>(n);
  e->kind = kind;
  if (n > 0) std::memcpy(e->symbols(), symbols, n * sizeof(BpeSymbol));  // a word may have no symbols (all unknown)
  if (!key.empty()) std::memcpy(const_cast<char*>(e->key()), key.data(), key.size());
  for (size_t i = h & mask_, probes = 0; probes <= mask_; i = (i + 1) & mask_, ++probes) {
    Entry* cur = nullptr;
    if (slots[i].compare_exchange_strong(cur, e, std::memory_order_acq_rel, std::memory_order_acquire)) {
      size_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (cur->is(kind, key, h)) break;  // another thread cached the same word
  }
  ::operator delete(e);
}

}  // namespace detail

namespace {
constexpr size_t kMaxCachedWordBytes = 256;  // tokenizers' MAX_LENGTH for cached words
constexpr size_t kLinearMergeMax = 64;      // words up to this many symbols merge by linear scans, longer ones by a heap
constexpr uint8_t kCacheMapped = 0, kCacheBytes = 1;  // cache key kinds: byte-level mapped words, raw bytes
uint64_t pair_key(uint32_t a, uint32_t b) { return (static_cast<uint64_t>(a) << 32) | b; }
}  // namespace

std::unique_ptr<Bpe> Bpe::create(Vocab vocab, const std::vector<std::pair<std::string, std::string>>& merges,
                                 BpeOptions options, const std::string& where) {
  auto bpe = std::unique_ptr<Bpe>(new Bpe());
  bpe->vocab_r_ = invert_vocab(vocab);
  bpe->vocab_ = std::move(vocab);
  size_t prefix_len = options.continuing_subword_prefix ? options.continuing_subword_prefix->size() : 0;
  bpe->merges_.reserve(merges.size());
  uint32_t max_id = 0;
  for (const auto& [tok, id] : bpe->vocab_) max_id = std::max(max_id, id);
  if (!bpe->vocab_.empty() && max_id < 2 * bpe->vocab_.size() + 1024) {
    bpe->dense_r_.assign(static_cast<size_t>(max_id) + 1, nullptr);
    for (const auto& [id, tok] : bpe->vocab_r_) bpe->dense_r_[id] = &tok;
  }
  bpe->char_ids_.assign(0x800, -1);
  for (const auto& [tok, id] : bpe->vocab_) {
    size_t n = 0;
    if (!tok.empty() && unicode::utf8_len(static_cast<unsigned char>(tok[0])) == tok.size()) {
      char32_t c = unicode::decode(tok, 0, &n);
      if (c < 0x800) bpe->char_ids_[c] = id;
    }
  }
  bpe->merge_list_.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [a, b] = merges[rank];
    auto ia = bpe->vocab_.find(a);
    auto ib = bpe->vocab_.find(b);
    std::string merged = a + (b.size() >= prefix_len ? b.substr(prefix_len) : b);
    auto in = bpe->vocab_.find(merged);
    const std::string* missing = ia == bpe->vocab_.end() ? &a : ib == bpe->vocab_.end() ? &b : in == bpe->vocab_.end() ? &merged : nullptr;
    if (missing)
      throw InputError(where + "[" + std::to_string(rank) + "]", "merge token " + quote(*missing) + " is not in the vocabulary");
    bpe->merges_.insert(pair_key(ia->second, ib->second), {static_cast<uint32_t>(rank), in->second});
    bpe->merge_list_.emplace_back(ia->second, ib->second);
  }
  // An empty prefix or suffix (as tokenizers serialises "none") changes nothing.
  auto unset = [](const std::optional<std::string>& o) { return !o || o->empty(); };
  bpe->byte_level_ready_ = unset(options.continuing_subword_prefix) && unset(options.end_of_word_suffix) && !options.ignore_merges;
  const auto& byte_chars = byte_to_char_table();
  for (size_t b = 0; b < 256 && bpe->byte_level_ready_; ++b) {
    std::string c;
    unicode::append_utf8(c, byte_chars[b]);
    auto it = bpe->vocab_.find(c);
    if (it == bpe->vocab_.end()) bpe->byte_level_ready_ = false;
    else bpe->byte_ids_[b] = it->second;
  }
  bpe->options_ = std::move(options);
  bpe->cache_.set_capacity(bpe->options_.cache_capacity);
  return bpe;
}

std::unique_ptr<Bpe> Bpe::from_files(const std::string& vocab_json, const std::string& merges_txt, BpeOptions options) {
  Json vj = read_json_file(vocab_json);
  Vocab vocab = vocab_from_json(vj, detail::JsonPath{vocab_json, ""});
  std::string text = read_file(merges_txt);
  std::vector<std::pair<std::string, std::string>> merges;
  size_t line_no = 0, pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (starts_with(line, "#version") || line.empty()) continue;
    auto parts = split(line, ' ');
    if (parts.size() != 2)
      throw InputError(merges_txt, static_cast<int64_t>(line_no), "expected two space-separated tokens, got " + quote(line));
    merges.emplace_back(parts[0], parts[1]);
  }
  return create(std::move(vocab), merges, std::move(options), merges_txt + ": merge");
}

std::unique_ptr<Bpe> Bpe::from_json(const Json& j, const detail::JsonPath& at) {
  using namespace detail;
  BpeOptions o;
  if (j.contains("dropout") && !j["dropout"].is_null()) {
    const Json& d = j["dropout"];
    if (!d.is_number()) throw_type(at.key("dropout"), "a number or null", d);
    if (d.get<double>() != 0.0) throw InputError(at.key("dropout").str(), "BPE dropout is not supported (training-time only); set it to null");
  }
  o.unk_token = get_optional_string(j, "unk_token", at);
  o.continuing_subword_prefix = get_optional_string(j, "continuing_subword_prefix", at);
  o.end_of_word_suffix = get_optional_string(j, "end_of_word_suffix", at);
  o.fuse_unk = get_bool(j, "fuse_unk", at, false);
  o.byte_fallback = get_bool(j, "byte_fallback", at, false);
  o.ignore_merges = get_bool(j, "ignore_merges", at, false);
  Vocab vocab = vocab_from_json(require(j, "vocab", at), at.key("vocab"));
  const Json& mj = require(j, "merges", at);
  if (!mj.is_array()) throw_type(at.key("merges"), "an array", mj);
  std::vector<std::pair<std::string, std::string>> merges;
  merges.reserve(mj.size());
  for (size_t i = 0; i < mj.size(); ++i) {
    const Json& m = mj[i];
    auto mat = at.key("merges").index(i);
    if (m.is_string()) {
      auto parts = split(m.get_ref<const std::string&>(), ' ');
      if (parts.size() != 2) throw InputError(mat.str(), "expected two space-separated tokens, got " + quote(m.get_ref<const std::string&>()));
      merges.emplace_back(parts[0], parts[1]);
    } else if (m.is_array() && m.size() == 2) {
      merges.emplace_back(as_string(m[0], mat.index(0)), as_string(m[1], mat.index(1)));
    } else {
      throw_type(mat, "\"a b\" or [\"a\", \"b\"]", m);
    }
  }
  return create(std::move(vocab), merges, std::move(o), at.key("merges").str());
}

std::vector<Bpe::Symbol> Bpe::merge_word(const std::string& w) const {
  // Initial symbols: one per char (with prefix/suffix decorations), unknowns fused or byte-fallback'd.
  struct Sym {
    uint32_t id;
    uint32_t len;
    int prev, next;
  };
  std::vector<Sym> syms;
  syms.reserve(w.size());
  auto add = [&](uint32_t id, size_t len) {
    int n = static_cast<int>(syms.size());
    if (!syms.empty()) syms.back().next = n;
    syms.push_back({id, static_cast<uint32_t>(len), n - 1, -1});
  };
  bool has_unk = false;  // a pending unknown symbol (id, byte length), fused with the next one when fuse_unk
  uint32_t unk_id = 0;
  size_t unk_len = 0;
  std::string s;
  const bool plain = !options_.continuing_subword_prefix && !options_.end_of_word_suffix;
  for (size_t i = 0, n = 0; i < w.size(); i += n) {
    n = unicode::utf8_len(static_cast<unsigned char>(w[i]));
    if (plain && n <= 2) {  // fast path: a one- or two-byte char that is itself a token
      size_t len = 0;
      char32_t c = unicode::decode(w, i, &len);
      if (c < char_ids_.size() && char_ids_[c] >= 0) {
        if (has_unk) {
          add(unk_id, unk_len);
          has_unk = false;
        }
        add(static_cast<uint32_t>(char_ids_[c]), n);
        continue;
      }
    }
    bool is_first = i == 0, is_last = i + n >= w.size();
    s.assign(w, i, n);
    if (!is_first && options_.continuing_subword_prefix) s = *options_.continuing_subword_prefix + s;
    if (is_last && options_.end_of_word_suffix) s += *options_.end_of_word_suffix;
    auto it = vocab_.find(s);
    if (it != vocab_.end()) {
      if (has_unk) {
        add(unk_id, unk_len);
        has_unk = false;
      }
      add(it->second, n);
      continue;
    }
    if (options_.byte_fallback) {
      std::vector<uint32_t> ids;
      for (unsigned char b : s) {
        char code[8];
        std::snprintf(code, sizeof code, "<0x%02X>", b);
        auto bt = vocab_.find(code);
        if (bt == vocab_.end()) break;
        ids.push_back(bt->second);
      }
      if (ids.size() == s.size()) {
        for (uint32_t id : ids) add(id, 1);
        continue;
      }
    }
    if (options_.unk_token) {
      auto ut = vocab_.find(*options_.unk_token);
      if (ut == vocab_.end()) throw Error("BPE: unk_token " + quote(*options_.unk_token) + " is not in the vocabulary");
      if (has_unk && options_.fuse_unk) {
        unk_len += n;
      } else {
        if (has_unk) add(unk_id, unk_len);
        has_unk = true;
        unk_id = ut->second;
        unk_len = n;
      }
    }
  }
  if (has_unk) add(unk_id, unk_len);

  std::vector<Symbol> out(syms.size());
  for (size_t i = 0; i < syms.size(); ++i) out[i] = {syms[i].id, syms[i].len};
  out.resize(merge_symbols(out.data(), out.size()));
  return out;
}

size_t Bpe::merge_symbols(Symbol* syms, size_t n) const {
  if (n < 2) return n;
  constexpr uint32_t kNone = ~uint32_t{0};
  if (n <= kLinearMergeMax) {
    // Short words: rank of each adjacent pair in an array; merge the lowest (leftmost on ties) until none is left.
    // This is the order of tokenizers' heap (rank, then position), so the result is the same.
    detail::MergeMap::Value pairs[kLinearMergeMax];
    auto lookup = [&](size_t i) {
      const detail::MergeMap::Value* m = merges_.find(pair_key(syms[i].id, syms[i + 1].id));
      pairs[i] = m ? *m : detail::MergeMap::Value{kNone, 0};
    };
    for (size_t i = 0; i + 1 < n; ++i) lookup(i);
    while (n > 1) {
      size_t best = 0;
      for (size_t i = 1; i + 1 < n; ++i)
        if (pairs[i].rank < pairs[best].rank) best = i;
      if (pairs[best].rank == kNone) break;
      syms[best] = {pairs[best].new_id, syms[best].len + syms[best + 1].len};
      std::memmove(syms + best + 1, syms + best + 2, (n - best - 2) * sizeof(Symbol));
      if (n >= best + 3) std::memmove(pairs + best + 1, pairs + best + 2, (n - best - 3) * sizeof(detail::MergeMap::Value));
      --n;
      if (best > 0) lookup(best - 1);
      if (best + 1 < n) lookup(best);
    }
    return n;
  }
  // Long words: a doubly linked list of symbols and a heap of candidate merges (tokenizers' word.rs).
  struct Sym {
    uint32_t id;
    uint32_t len;
    int prev, next;
  };
  std::vector<Sym> list(n);
  for (size_t i = 0; i < n; ++i) list[i] = {syms[i].id, syms[i].len, static_cast<int>(i) - 1, i + 1 < n ? static_cast<int>(i) + 1 : -1};
  struct Merge {
    uint32_t pos, rank, new_id;
    bool operator<(const Merge& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Merge> queue;
  for (size_t i = 0; i + 1 < n; ++i) {
    if (auto m = merges_.find(pair_key(list[i].id, list[i + 1].id))) queue.push({static_cast<uint32_t>(i), m->rank, m->new_id});
  }
  while (!queue.empty()) {
    Merge top = queue.top();
    queue.pop();
    Sym& cur = list[top.pos];
    if (cur.len == 0 || cur.next == -1) continue;
    Sym right = list[cur.next];
    auto m = merges_.find(pair_key(cur.id, right.id));
    if (!m || m->new_id != top.new_id) continue;
    int right_pos = cur.next;
    cur.id = top.new_id;
    cur.len += right.len;
    cur.next = right.next;
    list[right_pos].len = 0;
    if (right.next >= 0) list[right.next].prev = static_cast<int>(top.pos);
    if (cur.prev >= 0) {
      if (auto pm = merges_.find(pair_key(list[cur.prev].id, cur.id))) queue.push({static_cast<uint32_t>(cur.prev), pm->rank, pm->new_id});
    }
    if (cur.next >= 0) {
      if (auto nm = merges_.find(pair_key(cur.id, list[cur.next].id))) queue.push({top.pos, nm->rank, nm->new_id});
    }
  }
  size_t out = 0;
  for (const auto& sy : list)
    if (sy.len) syms[out++] = {sy.id, sy.len};
  return out;
}

void Bpe::tokenize_bytes_many(std::string_view text, const std::vector<std::pair<uint32_t, uint32_t>>& words,
                              std::vector<Symbol>& out, std::vector<uint32_t>& ends, std::vector<uint64_t>& hashes) const {
  // Cache lookups miss the CPU caches more often than not; hash every word first and prefetch its slot, then its
  // entry, so the memory accesses of all words overlap instead of running one after another.
  const bool caching = options_.cache_capacity > 0;
  hashes.resize(words.size());
  if (caching) {
    for (size_t i = 0; i < words.size(); ++i) {
      auto [b, e] = words[i];
      hashes[i] = e - b < kMaxCachedWordBytes ? detail::WordCache::hash(text.substr(b, e - b)) : 0;
      cache_.prefetch(hashes[i], /*entry=*/false);
    }
    for (size_t i = 0; i < words.size(); ++i) cache_.prefetch(hashes[i], /*entry=*/true);
  }
  ends.resize(words.size());
  for (size_t i = 0; i < words.size(); ++i) {
    auto [b, e] = words[i];
    std::string_view w = text.substr(b, e - b);
    const bool cacheable = caching && w.size() < kMaxCachedWordBytes;
    if (!cacheable || !cache_.find(kCacheBytes, w, hashes[i], out)) {
      size_t base = out.size();
      out.resize(base + w.size());
      Symbol* syms = out.data() + base;
      for (size_t k = 0; k < w.size(); ++k) syms[k] = {byte_ids_[static_cast<unsigned char>(w[k])], 1};
      out.resize(base + merge_symbols(syms, w.size()));
      if (cacheable) cache_.insert(kCacheBytes, w, hashes[i], out.data() + base, out.size() - base);
    }
    ends[i] = static_cast<uint32_t>(out.size());
  }
}

std::vector<Token> Bpe::tokenize(const std::string& word) const {
  if (word.empty()) return {};
  if (options_.ignore_merges) {
    auto it = vocab_.find(word);
    if (it != vocab_.end()) return {Token{it->second, word, {0, word.size()}}};
  }
  std::vector<Symbol> symbols;
  const bool cacheable = options_.cache_capacity > 0 && word.size() < kMaxCachedWordBytes;
  uint64_t h = cacheable ? detail::WordCache::hash(word) : 0;
  if (!cacheable || !cache_.find(kCacheMapped, word, h, symbols)) {
    symbols = merge_word(word);
    if (cacheable) cache_.insert(kCacheMapped, word, h, symbols.data(), symbols.size());
  }
  std::vector<Token> tokens;
  tokens.reserve(symbols.size());
  size_t offset = 0;
  for (const auto& s : symbols) {
    tokens.push_back(Token{s.id, token_string(s.id), {offset, offset + s.len}});
    offset += s.len;
  }
  return tokens;
}

std::optional<uint32_t> Bpe::token_to_id(const std::string& token) const {
  auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> Bpe::id_to_token(uint32_t id) const {
  auto it = vocab_r_.find(id);
  if (it == vocab_r_.end()) return std::nullopt;
  return it->second;
}

Json Bpe::to_json() const {
  Json j;
  j["type"] = "BPE";
  j["dropout"] = nullptr;
  j["unk_token"] = options_.unk_token ? Json(*options_.unk_token) : Json(nullptr);
  j["continuing_subword_prefix"] = options_.continuing_subword_prefix ? Json(*options_.continuing_subword_prefix) : Json(nullptr);
  j["end_of_word_suffix"] = options_.end_of_word_suffix ? Json(*options_.end_of_word_suffix) : Json(nullptr);
  j["fuse_unk"] = options_.fuse_unk;
  j["byte_fallback"] = options_.byte_fallback;
  j["ignore_merges"] = options_.ignore_merges;
  j["vocab"] = vocab_;
  Json merges = Json::array();
  for (const auto& [a, b] : merge_list_) merges.push_back(Json::array({vocab_r_.at(a), vocab_r_.at(b)}));
  j["merges"] = std::move(merges);
  return j;
}

}  // namespace tcpp::tokenizers
