// BPE model: merges-based subword tokenization with a per-word cache (as tokenizers' models/bpe).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tcpp/tokenizers/models.h"

namespace tcpp::tokenizers {

namespace detail {
/// Open-addressing map from a merge pair (a << 32 | b) to (rank, new id): the hot lookup of BPE encoding.
class MergeMap {
 public:
  struct Value {
    uint32_t rank;
    uint32_t new_id;
  };
  void reserve(size_t n);
  /// Insert or overwrite (a later duplicate merge wins, as in tokenizers).
  void insert(uint64_t key, Value value);
  const Value* find(uint64_t key) const {
    if (slots_.empty()) return nullptr;
    for (size_t i = slot(key);; i = (i + 1) & mask_) {
      if (slots_[i].key == key) return &slots_[i].value;
      if (slots_[i].key == kEmpty) return nullptr;
    }
  }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  struct Slot {
    uint64_t key;
    Value value;
  };
  size_t slot(uint64_t key) const { return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> shift_); }
  std::vector<Slot> slots_;  // key and value side by side: one cache line per probe
  size_t mask_ = 0;
  int shift_ = 64;
};

/// One token of a merged word: its id and how many bytes of the word it covers.
struct BpeSymbol {
  uint32_t id;
  uint32_t len;
};

/// The per-word cache of BPE results: a fixed-size, insert-only hash table that readers use without locks (entries
/// are published with one atomic store and never change), bounded like tokenizers' cache (inserts stop at capacity).
class WordCache {
 public:
  WordCache() = default;
  WordCache(const WordCache&) = delete;
  WordCache& operator=(const WordCache&) = delete;
  ~WordCache();
  /// Set the capacity (number of words) before first use; 0 disables the cache.
  void set_capacity(size_t capacity) { capacity_ = capacity; }
  /// Append the cached symbols of (kind, key) to out; false when not cached. Safe concurrently with insert().
  bool find(uint8_t kind, std::string_view key, uint64_t hash, std::vector<BpeSymbol>& out) const;
  void insert(uint8_t kind, std::string_view key, uint64_t hash, const BpeSymbol* symbols, size_t n);
  /// Prefetch the slot of hash (entry false), or the entry that slot points to (entry true).
  void prefetch(uint64_t hash, bool entry) const;
  static uint64_t hash(std::string_view key);

 private:
  struct Entry;
  size_t capacity_ = 0;
  std::once_flag init_;
  std::atomic<std::atomic<Entry*>*> slots_{nullptr};
  size_t mask_ = 0;
  std::atomic<size_t> size_{0};
};
}  // namespace detail

struct BpeOptions {
  std::optional<std::string> unk_token;
  std::optional<std::string> continuing_subword_prefix;
  std::optional<std::string> end_of_word_suffix;
  bool fuse_unk = false;
  bool byte_fallback = false;
  bool ignore_merges = false;
  size_t cache_capacity = 65536;  // words cached after merging (tokenizers uses 10000; results are identical)
};

class Bpe : public Model {
 public:
  /// Build from a vocabulary and merges in rank order; throws InputError("<where>: ...") for a merge whose
  /// parts or result are not in the vocabulary.
  static std::unique_ptr<Bpe> create(Vocab vocab, const std::vector<std::pair<std::string, std::string>>& merges,
                                     BpeOptions options, const std::string& where = "BPE");
  /// Load GPT-2 style vocab.json + merges.txt (errors name path:line).
  static std::unique_ptr<Bpe> from_files(const std::string& vocab_json, const std::string& merges_txt, BpeOptions options);
  static std::unique_ptr<Bpe> from_json(const Json& j, const detail::JsonPath& at);

  std::vector<Token> tokenize(const std::string& word) const override;
  std::optional<uint32_t> token_to_id(const std::string& token) const override;
  std::optional<std::string> id_to_token(uint32_t id) const override;
  size_t vocab_size() const override { return vocab_.size(); }
  Vocab get_vocab() const override { return vocab_; }
  Json to_json() const override;
  const BpeOptions& options() const { return options_; }

  using Symbol = detail::BpeSymbol;
  /// True when every byte has its GPT-2 byte-level char in the vocabulary and no prefix/suffix/ignore_merges is set:
  /// then tokenize_bytes_many() gives the tokens of byte-level mapped words without building them.
  bool byte_level_ready() const { return byte_level_ready_; }
  /// The tokens of the byte-level mapped form of many words of one text (raw bytes text[first, second) each;
  /// byte_level_ready() must hold), cached per word like tokenize(), with the cache lookups of all words overlapped:
  /// appends every word's symbols (len counts raw bytes) to out and sets ends[i] = out.size() after word i.
  /// hashes is scratch space.
  void tokenize_bytes_many(std::string_view text, const std::vector<std::pair<uint32_t, uint32_t>>& words,
                           std::vector<Symbol>& out, std::vector<uint32_t>& ends, std::vector<uint64_t>& hashes) const;
  /// The string of a vocabulary id (the id must be in the vocabulary).
  const std::string& token_string(uint32_t id) const {
    return id < dense_r_.size() && dense_r_[id] ? *dense_r_[id] : vocab_r_.at(id);
  }

 private:
  std::vector<Symbol> merge_word(const std::string& word) const;
  /// Apply the merges to n initial symbols in place (lowest rank first, leftmost on ties); returns the new count.
  size_t merge_symbols(Symbol* symbols, size_t n) const;

  Vocab vocab_;
  std::unordered_map<uint32_t, std::string> vocab_r_;
  std::vector<const std::string*> dense_r_;  // id -> token when ids are dense (else empty; use vocab_r_)
  std::vector<int64_t> char_ids_;            // code point -> id of that one-char token (-1: none), for cp < 0x800
  detail::MergeMap merges_;                                              // (a << 32 | b) -> (rank, new id)
  std::vector<std::pair<uint32_t, uint32_t>> merge_list_;               // by rank, for serialization
  uint32_t byte_ids_[256] = {};                                          // raw byte -> id of its byte-level char
  bool byte_level_ready_ = false;
  BpeOptions options_;
  mutable detail::WordCache cache_;
};

}  // namespace tcpp::tokenizers
