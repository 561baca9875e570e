// Post-processor implementations (as tokenizers' processors/{template,bert,roberta,sequence}.rs and
// pre_tokenizers/byte_level.rs's process_offsets).
#include "tcpp/tokenizers/post_processors.h"

#include <map>

#include "tcpp/core/error.h"
#include "tcpp/core/strings.h"
#include "tcpp/tokenizers/json_internal.h"
#include "tcpp/tokenizers/pre_tokenizers.h"
#include "tcpp/tokenizers/unicode.h"

namespace tcpp::tokenizers {

Encoding PostProcessor::process(Encoding encoding, std::optional<Encoding> pair, bool add_special_tokens) const {
  std::vector<Encoding> encodings;
  encodings.push_back(std::move(encoding));
  if (pair) encodings.push_back(std::move(*pair));
  for (size_t i = 0; i < encodings.size(); ++i) encodings[i].type_ids.assign(encodings[i].size(), static_cast<uint32_t>(i));
  encodings = process_encodings(std::move(encodings), add_special_tokens);
  Encoding out;
  for (auto& e : encodings) out.merge_with(std::move(e));
  return out;
}

namespace {

// Shrink offsets so they exclude the (byte-level) spaces a token starts or ends with (process_offsets).
void trim_offsets(Encoding& e, bool add_prefix_space) {
  const char32_t space_char = byte_to_char_table()[' '];
  for (size_t i = 0; i < e.size(); ++i) {
    auto cps = unicode::to_code_points(e.tokens[i]);
    auto is_space = [&](char32_t c) { return c == space_char || unicode::is_whitespace(c); };
    size_t leading = 0, trailing = 0;
    while (leading < cps.size() && is_space(cps[leading])) ++leading;
    while (trailing < cps.size() && is_space(cps[cps.size() - 1 - trailing])) ++trailing;
    Offsets& o = e.offsets[i];
    if (leading > 0) {
      bool is_first = i == 0 || o.first == 0;
      if (is_first && add_prefix_space && leading == 1) leading = 0;
      o.first = std::min(o.first + leading, o.second);
    }
    if (trailing > 0 && o.second >= trailing) o.second = std::max(o.second - trailing, o.first);
  }
  for (auto& ov : e.overflowing) trim_offsets(ov, add_prefix_space);
}

Encoding special_encoding(const std::vector<uint32_t>& ids, const std::vector<std::string>& tokens, uint32_t type_id) {
  Encoding e;
  for (size_t k = 0; k < ids.size(); ++k) e.append_token(ids[k], type_id, tokens[k], -1, {0, 0}, 1);
  return e;
}

// Wrap e (and its overflowing parts) as prefix + e + suffix.
Encoding wrap(const Encoding& e, const Encoding& prefix, const Encoding& suffix) {
  Encoding out = prefix;
  Encoding body = e;
  body.overflowing.clear();
  out.merge_with(std::move(body));
  out.merge_with(suffix);
  for (const auto& o : e.overflowing) out.overflowing.push_back(wrap(o, prefix, suffix));
  return out;
}

class BertProcessing : public PostProcessor {
 public:
  BertProcessing(std::string sep, uint32_t sep_id, std::string cls, uint32_t cls_id)
      : sep_(std::move(sep)), cls_(std::move(cls)), sep_id_(sep_id), cls_id_(cls_id) {}
  size_t added_tokens(bool is_pair) const override { return is_pair ? 3 : 2; }
  std::vector<uint32_t> special_ids() const override { return {cls_id_, sep_id_}; }
  std::vector<Encoding> process_encodings(std::vector<Encoding> encodings, bool add_special_tokens) const override {
    if (!add_special_tokens) return encodings;
    for (size_t i = 0; i < encodings.size(); ++i) {
      uint32_t t = i == 0 ? 0 : 1;
      Encoding prefix = i == 0 ? special_encoding({cls_id_}, {cls_}, 0) : Encoding();
      encodings[i] = wrap(encodings[i], prefix, special_encoding({sep_id_}, {sep_}, t));
    }
    return encodings;
  }

 private:
  std::string sep_, cls_;
  uint32_t sep_id_, cls_id_;
};

class RobertaProcessing : public PostProcessor {
 public:
  RobertaProcessing(std::string sep, uint32_t sep_id, std::string cls, uint32_t cls_id, bool trim, bool add_prefix_space)
      : sep_(std::move(sep)), cls_(std::move(cls)), sep_id_(sep_id), cls_id_(cls_id), trim_(trim), add_prefix_space_(add_prefix_space) {}
  size_t added_tokens(bool is_pair) const override { return is_pair ? 4 : 2; }
  std::vector<uint32_t> special_ids() const override { return {cls_id_, sep_id_}; }
  std::vector<Encoding> process_encodings(std::vector<Encoding> encodings, bool add_special_tokens) const override {
    for (auto& e : encodings) {
      if (trim_) trim_offsets(e, add_prefix_space_);
      e.type_ids.assign(e.size(), 0);  // RoBERTa uses type id 0 everywhere
    }
    if (!add_special_tokens) return encodings;
    for (size_t i = 0; i < encodings.size(); ++i) {
      Encoding prefix = i == 0 ? special_encoding({cls_id_}, {cls_}, 0) : special_encoding({sep_id_}, {sep_}, 0);
      encodings[i] = wrap(encodings[i], prefix, special_encoding({sep_id_}, {sep_}, 0));
    }
    return encodings;
  }

 private:
  std::string sep_, cls_;
  uint32_t sep_id_, cls_id_;
  bool trim_, add_prefix_space_;
};

class ByteLevelProcessing : public PostProcessor {
 public:
  ByteLevelProcessing(bool trim, bool add_prefix_space) : trim_(trim), add_prefix_space_(add_prefix_space) {}
  size_t added_tokens(bool) const override { return 0; }
  std::vector<uint32_t> special_ids() const override { return {}; }
  std::vector<Encoding> process_encodings(std::vector<Encoding> encodings, bool) const override {
    if (trim_)
      for (auto& e : encodings) trim_offsets(e, add_prefix_space_);
    return encodings;
  }

 private:
  bool trim_, add_prefix_space_;
};

struct Piece {
  bool is_sequence = false;
  size_t sequence = 0;  // 0 = A, 1 = B
  std::string special;  // special token name
  uint32_t type_id = 0;
};

struct SpecialTokenSpec {
  std::vector<uint32_t> ids;
  std::vector<std::string> tokens;
};

class TemplateProcessing : public PostProcessor {
 public:
  TemplateProcessing(std::vector<Piece> single, std::vector<Piece> pair, std::map<std::string, SpecialTokenSpec> special)
      : single_(std::move(single)), pair_(std::move(pair)), special_(std::move(special)) {}
  size_t added_tokens(bool is_pair) const override {
    size_t n = 0;
    for (const auto& p : is_pair ? pair_ : single_)
      if (!p.is_sequence) n += special_.at(p.special).ids.size();
    return n;
  }
  std::vector<uint32_t> special_ids() const override {
    std::vector<uint32_t> ids;
    for (const auto& [name, spec] : special_) ids.insert(ids.end(), spec.ids.begin(), spec.ids.end());
    return ids;
  }
  std::vector<Encoding> process_encodings(std::vector<Encoding> encodings, bool add_special_tokens) const override {
    const auto& tmpl = encodings.size() == 2 ? pair_ : single_;
    std::vector<Encoding> out;
    for (const auto& p : tmpl) {
      if (p.is_sequence) {
        if (p.sequence >= encodings.size()) continue;
        Encoding e = encodings[p.sequence];
        e.type_ids.assign(e.size(), p.type_id);
        out.push_back(std::move(e));
      } else if (add_special_tokens) {
        const auto& spec = special_.at(p.special);
        out.push_back(special_encoding(spec.ids, spec.tokens, p.type_id));
      }
    }
    return out;
  }

 private:
  std::vector<Piece> single_, pair_;
  std::map<std::string, SpecialTokenSpec> special_;
};

class SequenceProcessing : public PostProcessor {
 public:
  explicit SequenceProcessing(std::vector<std::unique_ptr<PostProcessor>> list) : list_(std::move(list)) {}
  size_t added_tokens(bool is_pair) const override {
    size_t n = 0;
    for (const auto& p : list_) n += p->added_tokens(is_pair);
    return n;
  }
  std::vector<uint32_t> special_ids() const override {
    std::vector<uint32_t> ids;
    for (const auto& p : list_) {
      auto s = p->special_ids();
      ids.insert(ids.end(), s.begin(), s.end());
    }
    return ids;
  }
  std::vector<Encoding> process_encodings(std::vector<Encoding> encodings, bool add_special_tokens) const override {
    for (const auto& p : list_) encodings = p->process_encodings(std::move(encodings), add_special_tokens);
    return encodings;
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> list_;
};

std::pair<std::string, uint32_t> token_and_id(const Json& j, const std::string& key, const detail::JsonPath& at) {
  const Json& v = detail::require(j, key, at);
  if (!v.is_array() || v.size() != 2) detail::throw_type(at.key(key), "[token, id]", v);
  return {detail::as_string(v[0], at.key(key).index(0)), detail::as_id(v[1], at.key(key).index(1), 1ull << 31)};
}

std::vector<Piece> pieces_from_json(const Json& arr, const detail::JsonPath& at, const std::map<std::string, SpecialTokenSpec>& special) {
  if (!arr.is_array()) detail::throw_type(at, "an array of template pieces", arr);
  std::vector<Piece> out;
  for (size_t i = 0; i < arr.size(); ++i) {
    auto pat = at.index(i);
    const Json& p = arr[i];
    Piece piece;
    if (p.is_object() && p.contains("Sequence")) {
      const Json& s = p["Sequence"];
      std::string id = detail::get_string(s, "id", pat.key("Sequence"));
      if (id != "A" && id != "B") throw InputError(pat.key("Sequence").key("id").str(), "expected \"A\" or \"B\", got " + quote(id));
      piece.is_sequence = true;
      piece.sequence = id == "A" ? 0 : 1;
      piece.type_id = static_cast<uint32_t>(detail::get_uint(s, "type_id", pat.key("Sequence"), 0));
    } else if (p.is_object() && p.contains("SpecialToken")) {
      const Json& s = p["SpecialToken"];
      piece.special = detail::get_string(s, "id", pat.key("SpecialToken"));
      if (!special.count(piece.special))
        throw InputError(pat.key("SpecialToken").key("id").str(), "special token " + quote(piece.special) + " is not in \"special_tokens\"");
      piece.type_id = static_cast<uint32_t>(detail::get_uint(s, "type_id", pat.key("SpecialToken"), 0));
    } else {
      detail::throw_type(pat, "{\"Sequence\": ...} or {\"SpecialToken\": ...}", p);
    }
    out.push_back(std::move(piece));
  }
  return out;
}

}  // namespace

std::unique_ptr<PostProcessor> make_bert_processing(const std::string& cls, uint32_t cls_id, const std::string& sep, uint32_t sep_id) {
  return std::make_unique<BertProcessing>(sep, sep_id, cls, cls_id);
}

std::unique_ptr<PostProcessor> make_byte_level_processing(bool trim_offsets) {
  return std::make_unique<ByteLevelProcessing>(trim_offsets, false);
}

std::unique_ptr<PostProcessor> post_processor_from_json(const Json& j, const detail::JsonPath& at) {
  using namespace detail;
  std::string type = get_string(j, "type", at);
  if (type == "BertProcessing") {
    auto sep = token_and_id(j, "sep", at);
    auto cls = token_and_id(j, "cls", at);
    return std::make_unique<BertProcessing>(sep.first, sep.second, cls.first, cls.second);
  }
  if (type == "RobertaProcessing") {
    auto sep = token_and_id(j, "sep", at);
    auto cls = token_and_id(j, "cls", at);
    return std::make_unique<RobertaProcessing>(sep.first, sep.second, cls.first, cls.second, get_bool(j, "trim_offsets", at, true),
                                               get_bool(j, "add_prefix_space", at, true));
  }
  if (type == "ByteLevel")
    return std::make_unique<ByteLevelProcessing>(get_bool(j, "trim_offsets", at, true), get_bool(j, "add_prefix_space", at, true));
  if (type == "TemplateProcessing") {
    std::map<std::string, SpecialTokenSpec> special;
    const Json& sj = require(j, "special_tokens", at);
    if (!sj.is_object()) throw_type(at.key("special_tokens"), "an object", sj);
    for (auto it = sj.begin(); it != sj.end(); ++it) {
      auto sat = at.key("special_tokens").key(it.key());
      const Json& ids = require(it.value(), "ids", sat);
      const Json& toks = require(it.value(), "tokens", sat);
      if (!ids.is_array()) throw_type(sat.key("ids"), "an array", ids);
      if (!toks.is_array()) throw_type(sat.key("tokens"), "an array", toks);
      if (ids.size() != toks.size())
        throw InputError(sat.str(), "\"ids\" and \"tokens\" must have the same length (" + std::to_string(ids.size()) + " vs " +
                                        std::to_string(toks.size()) + ")");
      SpecialTokenSpec spec;
      for (size_t k = 0; k < ids.size(); ++k) {
        spec.ids.push_back(as_id(ids[k], sat.key("ids").index(k), 1ull << 31));
        spec.tokens.push_back(as_string(toks[k], sat.key("tokens").index(k)));
      }
      special[it.key()] = std::move(spec);
    }
    auto single = pieces_from_json(require(j, "single", at), at.key("single"), special);
    auto pair = pieces_from_json(require(j, "pair", at), at.key("pair"), special);
    return std::make_unique<TemplateProcessing>(std::move(single), std::move(pair), std::move(special));
  }
  if (type == "Sequence") {
    const Json& arr = require(j, "processors", at);
    if (!arr.is_array()) throw_type(at.key("processors"), "an array", arr);
    std::vector<std::unique_ptr<PostProcessor>> list;
    for (size_t i = 0; i < arr.size(); ++i) list.push_back(post_processor_from_json(arr[i], at.key("processors").index(i)));
    return std::make_unique<SequenceProcessing>(std::move(list));
  }
  throw InputError(at.key("type").str(), "unsupported post-processor " + quote(type) +
                                            " (supported: TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence)");
}

}  // namespace tcpp::tokenizers
