// Tokenizer pipeline (as tokenizers' TokenizerImpl: encode_single_sequence, post_process, encode_batch, decode).
#include "tcpp/tokenizers/tokenizer.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>

#include "tcpp/core/error.h"
#include "tcpp/core/strings.h"
#include "tcpp/tokenizers/bpe.h"
#include "tcpp/tokenizers/gpt2_split.h"
#include "tcpp/tokenizers/json_internal.h"
#include "tcpp/tokenizers/unicode.h"

namespace tcpp::tokenizers {

Tokenizer::Tokenizer(std::unique_ptr<Model> model) : model_(std::move(model)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

void Tokenizer::set_normalizer(std::unique_ptr<Normalizer> n) { normalizer_ = std::move(n); }
void Tokenizer::set_pre_tokenizer(std::unique_ptr<PreTokenizer> p) { pre_tokenizer_ = std::move(p); }
void Tokenizer::set_post_processor(std::unique_ptr<PostProcessor> p) { post_processor_ = std::move(p); }
void Tokenizer::set_decoder(std::unique_ptr<Decoder> d) { decoder_ = std::move(d); }

namespace {

// Padding beyond this many tokens in a tokenizer.json is surely hostile (it would exhaust memory).
constexpr size_t kMaxPaddingLength = size_t{1} << 24;

TruncationParams truncation_from_json(const Json& j, const detail::JsonPath& at) {
  using namespace detail;
  TruncationParams p;
  p.max_length = get_uint(j, "max_length", at, 512);
  p.stride = get_uint(j, "stride", at, 0);
  std::string strategy = get_string(j, "strategy", at, "LongestFirst");
  if (strategy == "LongestFirst") p.strategy = TruncationStrategy::kLongestFirst;
  else if (strategy == "OnlyFirst") p.strategy = TruncationStrategy::kOnlyFirst;
  else if (strategy == "OnlySecond") p.strategy = TruncationStrategy::kOnlySecond;
  else throw InputError(at.key("strategy").str(), "expected LongestFirst, OnlyFirst or OnlySecond, got " + quote(strategy));
  std::string dir = get_string(j, "direction", at, "Right");
  if (dir != "Right" && dir != "Left") throw InputError(at.key("direction").str(), "expected Left or Right, got " + quote(dir));
  p.direction = dir == "Left" ? TruncationDirection::kLeft : TruncationDirection::kRight;
  return p;
}

PaddingParams padding_from_json(const Json& j, const detail::JsonPath& at) {
  using namespace detail;
  PaddingParams p;
  const Json& s = require(j, "strategy", at);
  if (s.is_string() && s.get<std::string>() == "BatchLongest") {
    p.strategy = PaddingStrategy::kBatchLongest;
  } else if (s.is_object() && s.contains("Fixed")) {
    p.strategy = PaddingStrategy::kFixed;
    p.fixed_length = get_uint(s, "Fixed", at.key("strategy"));
    if (p.fixed_length > kMaxPaddingLength)
      throw InputError(at.key("strategy").key("Fixed").str(), std::to_string(p.fixed_length) + " is too large (limit " +
                                                                   std::to_string(kMaxPaddingLength) + " tokens)");
  } else {
    throw_type(at.key("strategy"), "\"BatchLongest\" or {\"Fixed\": N}", s);
  }
  std::string dir = get_string(j, "direction", at, "Right");
  if (dir != "Right" && dir != "Left") throw InputError(at.key("direction").str(), "expected Left or Right, got " + quote(dir));
  p.direction = dir == "Left" ? PaddingDirection::kLeft : PaddingDirection::kRight;
  if (j.contains("pad_to_multiple_of") && !j["pad_to_multiple_of"].is_null()) {
    p.pad_to_multiple_of = get_uint(j, "pad_to_multiple_of", at);
    if (*p.pad_to_multiple_of > kMaxPaddingLength)
      throw InputError(at.key("pad_to_multiple_of").str(), std::to_string(*p.pad_to_multiple_of) + " is too large (limit " +
                                                               std::to_string(kMaxPaddingLength) + " tokens)");
  }
  p.pad_id = as_id(j.value("pad_id", Json(0)), at.key("pad_id"), 1ull << 31);
  p.pad_type_id = static_cast<uint32_t>(get_uint(j, "pad_type_id", at, 0));
  p.pad_token = get_string(j, "pad_token", at, "[PAD]");
  return p;
}

void check_utf8(const std::string& text, const char* what) {
  size_t bad = unicode::find_invalid_utf8(text);
  if (bad != std::string_view::npos) throw InputError(what, "invalid UTF-8 at byte " + std::to_string(bad));
}

}  // namespace

Tokenizer Tokenizer::from_file(const std::string& path) { return from_json(read_json_file(path), path); }

Tokenizer Tokenizer::from_json(const Json& j, const std::string& where) {
  using namespace detail;
  JsonPath root{where, ""};
  if (!j.is_object()) throw_type(root, "a tokenizer.json object", j);
  if (j.contains("version") && !j["version"].is_null()) {
    std::string v = as_string(j["version"], root.key("version"));
    if (v != "1.0") throw InputError(root.key("version").str(), "unknown tokenizer version " + quote(v) + " (expected \"1.0\")");
  }
  Tokenizer tok(model_from_json(require(j, "model", root), root.key("model")));
  auto opt = [&](const char* key) -> const Json* {
    auto it = j.find(key);
    return it == j.end() || it->is_null() ? nullptr : &*it;
  };
  if (auto* n = opt("normalizer")) tok.normalizer_ = normalizer_from_json(*n, root.key("normalizer"));
  if (auto* p = opt("pre_tokenizer")) tok.pre_tokenizer_ = pre_tokenizer_from_json(*p, root.key("pre_tokenizer"));
  if (auto* p = opt("post_processor")) tok.post_processor_ = post_processor_from_json(*p, root.key("post_processor"));
  if (auto* d = opt("decoder")) tok.decoder_ = decoder_from_json(*d, root.key("decoder"));
  if (auto* t = opt("truncation")) tok.truncation_ = truncation_from_json(*t, root.key("truncation"));
  if (auto* p = opt("padding")) tok.padding_ = padding_from_json(*p, root.key("padding"));
  if (auto* a = opt("added_tokens")) {
    if (!a->is_array()) throw_type(root.key("added_tokens"), "an array", *a);
    std::vector<AddedToken> tokens;
    for (size_t i = 0; i < a->size(); ++i) {
      auto at = root.key("added_tokens").index(i);
      const Json& e = (*a)[i];
      AddedToken t;
      t.content = get_string(e, "content", at);
      if (e.contains("id")) as_id(e["id"], at.key("id"), 1ull << 31);
      t.single_word = get_bool(e, "single_word", at, false);
      t.lstrip = get_bool(e, "lstrip", at, false);
      t.rstrip = get_bool(e, "rstrip", at, false);
      t.special = get_bool(e, "special", at, false);
      t.normalized = get_bool(e, "normalized", at, !t.special);
      tokens.push_back(std::move(t));
    }
    tok.add_tokens(tokens);
  }
  return tok;
}

size_t Tokenizer::add_tokens(const std::vector<AddedToken>& tokens) { return added_.add_tokens(tokens, *model_, normalizer_.get()); }

size_t Tokenizer::add_special_tokens(const std::vector<std::string>& tokens) {
  std::vector<AddedToken> list;
  for (const auto& t : tokens) list.push_back(AddedToken::make(t, /*special=*/true));
  return add_tokens(list);
}

namespace {

// The byte-level BPE fast path over one input: GPT-2's pattern by a scanner, the BPE of raw bytes (no mapped
// strings), offsets straight from byte positions (no NormalizedString). Every mapped char of one original char
// aligns with that whole char, and a prefix space with the first char of its split, as in the general pipeline.
class ByteLevelBpeEncoder {
 public:
  // Work buffers reused by every encode on a thread (so a sentence costs no allocations but its Encoding's).
  struct Scratch {
    std::string prefixed;
    std::vector<Bpe::Symbol> symbols;
    std::vector<std::pair<uint32_t, uint32_t>> words;  // the pattern's matches in a split
    std::vector<uint32_t> ends;
    std::vector<uint64_t> hashes;
  };

  ByteLevelBpeEncoder(const Bpe& bpe, bool add_prefix_space, uint32_t type_id, const std::string& text, Encoding& e)
      : bpe_(bpe), add_prefix_space_(add_prefix_space), type_id_(type_id), text_(text), e_(e), scratch_(thread_scratch()),
        prefixed_(scratch_.prefixed), symbols_(scratch_.symbols), words_(scratch_.words), ends_(scratch_.ends),
        hashes_(scratch_.hashes) {
    for (unsigned char c : text)
      if (c >= 0x80) {
        converter_.emplace(text);
        break;
      }
  }

  ~ByteLevelBpeEncoder() {
    constexpr size_t kKeep = size_t{1} << 16;  // a huge input's buffers are not kept for the thread's lifetime
    if (symbols_.capacity() > kKeep || words_.capacity() > kKeep || prefixed_.capacity() > kKeep) scratch_ = Scratch();
  }

  /// Pre-tokenize and tokenize text_[begin, end), a split that no added token took.
  void segment(size_t begin, size_t end) {
    if (begin >= end) return;
    std::string_view seg(text_.data() + begin, end - begin);
    const bool prefix = add_prefix_space_ && seg[0] != ' ';
    if (prefix) {
      prefixed_.assign(1, ' ');
      prefixed_.append(seg);
      seg = prefixed_;
    }
    words_.clear();
    gpt2::split(seg, [&](size_t a, size_t b) { words_.emplace_back(static_cast<uint32_t>(a), static_cast<uint32_t>(b)); });
    symbols_.clear();
    bpe_.tokenize_bytes_many(seg, words_, symbols_, ends_, hashes_);
    reserve(e_.size() + symbols_.size());  // exact when the input is one split (no added tokens)
    for (size_t w = 0, k = 0; w < words_.size(); ++w) {
      size_t p = words_[w].first;
      for (; k < ends_[w]; ++k) {
        const Bpe::Symbol& s = symbols_[k];
        size_t first = original(begin, prefix, p), last = original(begin, prefix, p + s.len - 1);
        p += s.len;
        // ASCII input: every char is one byte and char offsets are byte offsets.
        Offsets o = converter_ ? converter_->convert({char_start(first), char_end(last)}) : Offsets{first, last + 1};
        e_.append_token(s.id, type_id_, bpe_.token_string(s.id), word_, o, 0);
      }
      ++word_;
    }
  }

  /// A split taken by an added token: its tokens as the general path appends them.
  void added(const Split& split) {
    Offsets base = split.normalized.offsets_original();
    for (const auto& t : *split.tokens) {
      Offsets o = t.offsets;
      if (auto r = split.normalized.normalized_to_original(t.offsets)) o = {base.first + r->first, base.first + r->second};
      e_.append_token(t.id, type_id_, t.value, word_, converter_ ? converter_->convert(o) : o, 0);
    }
    ++word_;
  }

 private:
  // Original byte of position p of the (possibly space-prefixed) split starting at begin.
  static size_t original(size_t begin, bool prefix, size_t p) { return prefix ? (p == 0 ? begin : begin + p - 1) : begin + p; }
  size_t char_start(size_t i) const {
    while (i > 0 && (static_cast<unsigned char>(text_[i]) & 0xC0) == 0x80) --i;
    return i;
  }
  size_t char_end(size_t i) const {
    size_t s = char_start(i);
    return s + unicode::utf8_len(static_cast<unsigned char>(text_[s]));
  }

  void reserve(size_t n) {
    e_.ids.reserve(n);
    e_.type_ids.reserve(n);
    e_.tokens.reserve(n);
    e_.words.reserve(n);
    e_.offsets.reserve(n);
    e_.special_tokens_mask.reserve(n);
    e_.attention_mask.reserve(n);
  }

  static Scratch& thread_scratch() {
    thread_local Scratch scratch;
    return scratch;
  }

  const Bpe& bpe_;
  bool add_prefix_space_;
  uint32_t type_id_;
  const std::string& text_;
  Encoding& e_;
  std::optional<BytesToCharOffsetConverter> converter_;  // only for non-ASCII input (else char offsets = bytes)
  int64_t word_ = 0;
  Scratch& scratch_;
  std::string& prefixed_;
  std::vector<Bpe::Symbol>& symbols_;
  std::vector<std::pair<uint32_t, uint32_t>>& words_;
  std::vector<uint32_t>& ends_;
  std::vector<uint64_t>& hashes_;
};

constexpr size_t kMaxAddedTokensScanned = 16;  // more added tokens: find them with the added vocabulary's trie

}  // namespace

bool Tokenizer::uses_fast_path() const {
  if (!fast_path_ || normalizer_ || !pre_tokenizer_) return false;
  const auto* bpe = dynamic_cast<const Bpe*>(model_.get());
  return bpe && bpe->byte_level_ready() && byte_level_regex_prefix_space(*pre_tokenizer_).has_value();
}

bool Tokenizer::encode_single_fast(const std::string& text, uint32_t type_id, Encoding& out) const {
  if (!uses_fast_path()) return false;
  const auto& bpe = static_cast<const Bpe&>(*model_);
  bool add_prefix_space = *byte_level_regex_prefix_space(*pre_tokenizer_);
  bool any_added = added_.size() > kMaxAddedTokensScanned;
  for (const auto& [content, id] : added_.get_vocab()) {
    if (any_added) break;
    any_added = content.empty() || text.find(content) != std::string::npos;
  }
  Encoding e;
  ByteLevelBpeEncoder encoder(bpe, add_prefix_space, type_id, text, e);
  if (!any_added) {
    encoder.segment(0, text.size());
  } else {
    PreTokenizedString pre = added_.extract_and_normalize(nullptr, text);
    for (const auto& split : pre.splits()) {
      if (split.tokens) {
        encoder.added(split);
        continue;
      }
      // Without a normalizer a split is a slice of the input; anything else takes the general path.
      Offsets range = split.normalized.offsets_original();
      const std::string& s = split.normalized.get();
      if (s.size() != range.second - range.first || text.compare(range.first, s.size(), s) != 0) return false;
      encoder.segment(range.first, range.second);
    }
  }
  out = std::move(e);
  return true;
}

Encoding Tokenizer::encode_single(const std::string& text, uint32_t type_id) const {
  check_utf8(text, "input");
  if (Encoding fast; encode_single_fast(text, type_id, fast)) return fast;
  PreTokenizedString pre = added_.extract_and_normalize(normalizer_.get(), text);
  if (pre_tokenizer_) pre_tokenizer_->pre_tokenize(pre);
  pre.tokenize(*model_);
  Encoding e;
  BytesToCharOffsetConverter converter(pre.original());
  const auto& splits = pre.splits();
  for (size_t idx = 0; idx < splits.size(); ++idx) {
    const auto& split = splits[idx];
    Offsets base = split.normalized.offsets_original();
    for (const auto& t : *split.tokens) {
      Offsets o = t.offsets;
      if (auto r = split.normalized.normalized_to_original(t.offsets)) o = {base.first + r->first, base.first + r->second};
      e.append_token(t.id, type_id, t.value, static_cast<int64_t>(idx), converter.convert(o), 0);
    }
  }
  return e;
}

Encoding Tokenizer::post_process(Encoding encoding, std::optional<Encoding> pair, bool add_special_tokens) const {
  if (truncation_) {
    TruncationParams params = *truncation_;
    size_t n_added = num_special_tokens_to_add(pair.has_value());
    if (add_special_tokens && n_added > 0) {
      if (n_added > params.max_length)
        throw InputError("truncation", "max_length (" + std::to_string(params.max_length) + ") is smaller than the " +
                                           std::to_string(n_added) + " special tokens to add");
      params.max_length -= n_added;
    }
    truncate_encodings(encoding, pair ? &*pair : nullptr, params);
  }
  Encoding out;
  if (post_processor_) {
    out = post_processor_->process(std::move(encoding), std::move(pair), add_special_tokens);
  } else {
    out = std::move(encoding);
    if (pair) out.merge_with(std::move(*pair));
  }
  if (padding_) {
    std::vector<Encoding> one;
    one.push_back(std::move(out));
    pad_encodings(one, *padding_);
    out = std::move(one[0]);
  }
  return out;
}

Encoding Tokenizer::encode(const std::string& text, bool add_special_tokens) const {
  return post_process(encode_single(text, 0), std::nullopt, add_special_tokens);
}

Encoding Tokenizer::encode_pair(const std::string& text, const std::string& pair, bool add_special_tokens) const {
  return post_process(encode_single(text, 0), encode_single(pair, 1), add_special_tokens);
}

namespace {

// Run encode_one(i) for i in [0, n) on num_threads threads (0: all cores), results in input order. Threads take
// chunks of consecutive inputs from a shared counter; the first error stops the batch and is rethrown.
template <typename F>
std::vector<Encoding> run_batch(size_t n, size_t num_threads, F encode_one) {
  std::vector<Encoding> out(n);
  if (num_threads == 0) num_threads = std::max(1u, std::thread::hardware_concurrency());
  num_threads = std::min(num_threads, std::max<size_t>(1, n / 8));
  const size_t chunk = std::clamp<size_t>(n / (num_threads * 64), 1, 64);
  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&] {
    for (size_t begin = next.fetch_add(chunk); begin < n; begin = next.fetch_add(chunk)) {
      try {
        for (size_t i = begin, end = std::min(n, begin + chunk); i < end; ++i) out[i] = encode_one(i);
      } catch (...) {
        std::lock_guard lock(error_mutex);
        if (!error) error = std::current_exception();
        next = n;
      }
    }
  };
  if (num_threads <= 1) {
    work();
  } else {
    std::vector<std::thread> threads;
    for (size_t t = 1; t < num_threads; ++t) threads.emplace_back(work);
    work();  // the calling thread is one of the workers
    for (auto& t : threads) t.join();
  }
  if (error) std::rethrow_exception(error);
  return out;
}

}  // namespace

std::vector<Encoding> Tokenizer::encode_batch(const std::vector<EncodeInput>& inputs, bool add_special_tokens, size_t num_threads) const {
  auto out = run_batch(inputs.size(), num_threads, [&](size_t i) {
    const auto& in = inputs[i];
    return in.pair ? encode_pair(in.text, *in.pair, add_special_tokens) : encode(in.text, add_special_tokens);
  });
  if (padding_) pad_encodings(out, *padding_);
  return out;
}

std::vector<Encoding> Tokenizer::encode_batch(const std::vector<std::string>& texts, bool add_special_tokens, size_t num_threads) const {
  auto out = run_batch(texts.size(), num_threads, [&](size_t i) { return encode(texts[i], add_special_tokens); });
  if (padding_) pad_encodings(out, *padding_);
  return out;
}

std::string Tokenizer::decode(const std::vector<uint32_t>& ids, bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (uint32_t id : ids) {
    std::optional<std::string> tok;
    if (const AddedToken* a = added_.find(id)) {
      tok = a->content;
    } else {
      tok = model_->id_to_token(id);
    }
    if (!tok) continue;
    if (skip_special_tokens && added_.is_special_token(*tok)) continue;
    tokens.push_back(std::move(*tok));
  }
  if (decoder_) return decoder_->decode(std::move(tokens));
  return join(tokens, " ");
}

std::vector<std::string> Tokenizer::decode_batch(const std::vector<std::vector<uint32_t>>& ids, bool skip_special_tokens) const {
  std::vector<std::string> out;
  out.reserve(ids.size());
  for (const auto& seq : ids) out.push_back(decode(seq, skip_special_tokens));
  return out;
}

std::vector<std::string> Tokenizer::pre_tokenize_words(const std::string& text) const {
  check_utf8(text, "input");
  PreTokenizedString pre = added_.extract_and_normalize(normalizer_.get(), text);
  if (pre_tokenizer_) pre_tokenizer_->pre_tokenize(pre);
  std::vector<std::string> words;
  words.reserve(pre.splits().size());
  for (const auto& s : pre.splits()) words.push_back(s.normalized.get());
  return words;
}

std::optional<uint32_t> Tokenizer::token_to_id(const std::string& token) const { return added_.token_to_id(token, *model_); }

std::optional<std::string> Tokenizer::id_to_token(uint32_t id) const {
  if (const AddedToken* a = added_.find(id)) return a->content;
  return model_->id_to_token(id);
}

size_t Tokenizer::get_vocab_size(bool with_added_tokens) const {
  if (!with_added_tokens) return model_->vocab_size();
  // As tokenizers' get_vocab_size(true): model entries plus added tokens that are not already in the model.
  size_t n = model_->vocab_size();
  for (const auto& [content, id] : added_.get_vocab())
    if (!model_->token_to_id(content)) ++n;
  return n;
}

size_t Tokenizer::num_special_tokens_to_add(bool is_pair) const { return post_processor_ ? post_processor_->added_tokens(is_pair) : 0; }

bool Tokenizer::is_special_id(uint32_t id) const {
  const AddedToken* a = added_.find(id);
  return a && a->special;
}

}  // namespace tcpp::tokenizers
