// from_pretrained for local folders: tokenizer files + tokenizer_config.json + special_tokens_map.json.
#include "tcpp/tokenizers/auto_tokenizer.h"

#include <algorithm>
#include <filesystem>

#include "tcpp/core/error.h"
#include "tcpp/core/strings.h"
#include "tcpp/tokenizers/bpe.h"
#include "tcpp/tokenizers/json_internal.h"
#include "tcpp/tokenizers/wordpiece.h"

namespace fs = std::filesystem;

namespace tcpp::tokenizers {

Tokenizer load_gpt2_tokenizer(const std::string& vocab_json, const std::string& merges_txt, bool add_prefix_space) {
  Tokenizer tok(Bpe::from_files(vocab_json, merges_txt, BpeOptions{}));
  tok.set_pre_tokenizer(make_byte_level_pre_tokenizer(add_prefix_space));
  tok.set_post_processor(make_byte_level_processing(/*trim_offsets=*/false));
  tok.set_decoder(make_byte_level_decoder());
  return tok;
}

Tokenizer load_bert_tokenizer(const std::string& vocab_txt, bool do_lower_case) {
  auto model = WordPiece::from_vocab_txt(vocab_txt);
  for (const char* t : {"[CLS]", "[SEP]", "[UNK]"})
    if (!model->token_to_id(t)) throw InputError(vocab_txt, std::string("BERT vocabulary has no ") + t + " token");
  uint32_t cls = *model->token_to_id("[CLS]"), sep = *model->token_to_id("[SEP]");
  Tokenizer tok(std::move(model));
  tok.set_normalizer(make_bert_normalizer(do_lower_case));
  tok.set_pre_tokenizer(make_bert_pre_tokenizer());
  tok.set_post_processor(make_bert_processing("[CLS]", cls, "[SEP]", sep));
  tok.set_decoder(make_wordpiece_decoder());
  return tok;
}

namespace {

// A special token in a config: "text" or {"content": "text", ...} (a serialized AddedToken).
std::optional<std::string> token_field(const Json& j, const std::string& key, const detail::JsonPath& at) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) return detail::get_string(*it, "content", at.key(key));
  detail::throw_type(at.key(key), "a string or {\"content\": ...}", *it);
}

void read_special_tokens(const Json& j, const detail::JsonPath& at, SpecialTokensMap& s) {
  if (!j.is_object()) detail::throw_type(at, "an object", j);
  struct Field {
    const char* key;
    std::optional<std::string>* dst;
  };
  for (auto [key, dst] : {Field{"bos_token", &s.bos_token}, Field{"eos_token", &s.eos_token}, Field{"unk_token", &s.unk_token},
                          Field{"sep_token", &s.sep_token}, Field{"pad_token", &s.pad_token}, Field{"cls_token", &s.cls_token},
                          Field{"mask_token", &s.mask_token}}) {
    if (auto v = token_field(j, key, at)) *dst = v;
  }
  auto it = j.find("additional_special_tokens");
  if (it != j.end() && !it->is_null()) {
    if (!it->is_array()) detail::throw_type(at.key("additional_special_tokens"), "an array", *it);
    s.additional_special_tokens.clear();
    for (size_t i = 0; i < it->size(); ++i) {
      const Json& e = (*it)[i];
      auto eat = at.key("additional_special_tokens").index(i);
      s.additional_special_tokens.push_back(e.is_object() ? detail::get_string(e, "content", eat) : detail::as_string(e, eat));
    }
  }
}

}  // namespace

PreTrainedTokenizer PreTrainedTokenizer::from_tokenizer(Tokenizer tokenizer, SpecialTokensMap special, int64_t model_max_length) {
  PreTrainedTokenizer p(std::move(tokenizer));
  p.special_ = std::move(special);
  p.model_max_length_ = model_max_length;
  return p;
}

PreTrainedTokenizer PreTrainedTokenizer::from_pretrained(const std::string& path) {
  fs::path p(path);
  fs::path dir = p;
  Json config = Json::object();
  if (fs::is_regular_file(p)) dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  if (!fs::exists(p)) throw InputError(path, "no such tokenizer file or folder");
  fs::path config_file = dir / "tokenizer_config.json";
  if (fs::exists(config_file)) config = read_json_file(config_file.string());
  detail::JsonPath cat{config_file.string(), ""};
  if (!config.is_object()) detail::throw_type(cat, "an object", config);

  std::optional<Tokenizer> tok;
  bool bert_like = false, gpt2_like = false;
  if (fs::is_regular_file(p)) {
    tok = Tokenizer::from_file(p.string());
  } else if (fs::exists(dir / "tokenizer.json")) {
    tok = Tokenizer::from_file((dir / "tokenizer.json").string());
  } else if (fs::exists(dir / "vocab.json") && fs::exists(dir / "merges.txt")) {
    tok = load_gpt2_tokenizer((dir / "vocab.json").string(), (dir / "merges.txt").string(),
                              detail::get_bool(config, "add_prefix_space", cat, false));
    gpt2_like = true;
  } else if (fs::exists(dir / "vocab.txt")) {
    tok = load_bert_tokenizer((dir / "vocab.txt").string(), detail::get_bool(config, "do_lower_case", cat, true));
    bert_like = true;
  } else {
    throw InputError(path, "no tokenizer.json, vocab.json + merges.txt, or vocab.txt in this folder");
  }
  PreTrainedTokenizer out(std::move(*tok));
  SpecialTokensMap& s = out.special_;
  // Defaults of the matching transformers class when the config names no special tokens.
  const Tokenizer& t = out.tokenizer_;
  if (t.token_to_id("<|endoftext|>") && (gpt2_like || !t.token_to_id("[CLS]"))) {
    s.bos_token = s.eos_token = s.unk_token = "<|endoftext|>";  // GPT2TokenizerFast
  } else if (bert_like || (t.token_to_id("[CLS]") && t.token_to_id("[SEP]"))) {
    s.unk_token = "[UNK]";  // BertTokenizerFast
    s.sep_token = "[SEP]";
    s.pad_token = "[PAD]";
    s.cls_token = "[CLS]";
    s.mask_token = "[MASK]";
  }
  fs::path map_file = dir / "special_tokens_map.json";
  if (fs::exists(map_file)) read_special_tokens(read_json_file(map_file.string()), detail::JsonPath{map_file.string(), ""}, s);
  read_special_tokens(config, cat, s);

  if (config.contains("model_max_length") && !config["model_max_length"].is_null()) {
    const Json& m = config["model_max_length"];
    if (!m.is_number()) detail::throw_type(cat.key("model_max_length"), "a number", m);
    double v = m.get<double>();
    if (v < 0) throw InputError(cat.key("model_max_length").str(), "must not be negative, got " + m.dump());
    out.model_max_length_ = v >= 9.2e18 ? kVeryLargeInteger : m.is_number_integer() ? m.get<int64_t>() : static_cast<int64_t>(v);
  }
  for (auto [key, dst] : {std::pair<const char*, std::string*>{"padding_side", &out.padding_side_}, {"truncation_side", &out.truncation_side_}}) {
    std::string side = detail::get_string(config, key, cat, *dst);
    if (side != "left" && side != "right") throw InputError(cat.key(key).str(), "expected \"left\" or \"right\", got " + quote(side));
    *dst = side;
  }
  out.clean_up_ = detail::get_bool(config, "clean_up_tokenization_spaces", cat, false);

  // Special tokens named by the config must exist; add the missing ones as special added tokens (as transformers).
  std::vector<std::string> missing;
  for (const auto* tokn : {&s.bos_token, &s.eos_token, &s.unk_token, &s.sep_token, &s.pad_token, &s.cls_token, &s.mask_token})
    if (*tokn && !out.tokenizer_.token_to_id(**tokn)) missing.push_back(**tokn);
  for (const auto& a : s.additional_special_tokens)
    if (!out.tokenizer_.token_to_id(a)) missing.push_back(a);
  if (!missing.empty()) out.tokenizer_.add_special_tokens(missing);
  // Tokens listed as special must also be treated as special by decode(skip_special_tokens).
  std::vector<AddedToken> specials;
  for (const auto* tokn : {&s.bos_token, &s.eos_token, &s.unk_token, &s.sep_token, &s.pad_token, &s.cls_token, &s.mask_token})
    if (*tokn && !out.tokenizer_.added_vocabulary().is_special_token(**tokn)) specials.push_back(AddedToken::make(**tokn, /*special=*/true));
  if (!specials.empty()) out.tokenizer_.add_tokens(specials);
  return out;
}

std::optional<uint32_t> PreTrainedTokenizer::id_of(const std::optional<std::string>& token) const {
  if (!token) return std::nullopt;
  return tokenizer_.token_to_id(*token);
}

std::vector<uint32_t> PreTrainedTokenizer::all_special_ids() const {
  std::vector<uint32_t> ids;
  auto add = [&](const std::optional<std::string>& t) {
    if (auto id = id_of(t); id && std::find(ids.begin(), ids.end(), *id) == ids.end()) ids.push_back(*id);
  };
  for (const auto* t : {&special_.bos_token, &special_.eos_token, &special_.unk_token, &special_.sep_token, &special_.pad_token,
                        &special_.cls_token, &special_.mask_token})
    add(*t);
  for (const auto& a : special_.additional_special_tokens) add(a);
  return ids;
}

std::vector<uint32_t> PreTrainedTokenizer::get_special_tokens_mask(const std::vector<uint32_t>& ids) const {
  auto special = all_special_ids();
  std::vector<uint32_t> mask(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) mask[i] = std::find(special.begin(), special.end(), ids[i]) != special.end();
  return mask;
}

std::string PreTrainedTokenizer::decode(const std::vector<uint32_t>& ids, bool skip_special_tokens, bool clean_up) const {
  std::string text = tokenizer_.decode(ids, skip_special_tokens);
  if (!clean_up) return text;
  // transformers' clean_up_tokenization.
  static const std::pair<const char*, const char*> kRules[] = {{" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"},
                                                               {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  for (const auto& [from, to] : kRules) {
    std::string out;
    size_t pos = 0, f;
    std::string sfrom = from;
    while ((f = text.find(sfrom, pos)) != std::string::npos) {
      out.append(text, pos, f - pos);
      out += to;
      pos = f + sfrom.size();
    }
    out.append(text, pos, std::string::npos);
    text = std::move(out);
  }
  return text;
}

}  // namespace tcpp::tokenizers
