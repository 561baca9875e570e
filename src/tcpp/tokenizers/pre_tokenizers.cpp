// Pre-tokenizer implementations (as tokenizers' pre_tokenizers/{byte_level,whitespace,bert,metaspace,split,
// punctuation,digits,delimiter,sequence}.rs).
#include "tcpp/tokenizers/pre_tokenizers.h"

#include "tcpp/core/error.h"
#include "tcpp/core/strings.h"
#include "tcpp/tokenizers/json_internal.h"
#include "tcpp/tokenizers/regex.h"
#include "tcpp/tokenizers/unicode.h"

namespace tcpp::tokenizers {

PreTokenizedString::PreTokenizedString(NormalizedString s) : original_(s.get_original()) {
  splits_.push_back(Split{std::move(s), std::nullopt});
}

void PreTokenizedString::tokenize(const Model& model) {
  for (auto& s : splits_)
    if (!s.tokens) s.tokens = model.tokenize(s.normalized.get());
}

namespace {

std::vector<Split> wrap(std::vector<NormalizedString> v) {
  std::vector<Split> out;
  out.reserve(v.size());
  for (auto& n : v) out.push_back(Split{std::move(n), std::nullopt});
  return out;
}

std::vector<Split> one(NormalizedString n) {
  std::vector<Split> out;
  out.push_back(Split{std::move(n), std::nullopt});
  return out;
}

SplitDelimiterBehavior behavior_from_string(const std::string& s, const detail::JsonPath& at) {
  if (s == "Removed") return SplitDelimiterBehavior::kRemoved;
  if (s == "Isolated") return SplitDelimiterBehavior::kIsolated;
  if (s == "MergedWithPrevious") return SplitDelimiterBehavior::kMergedWithPrevious;
  if (s == "MergedWithNext") return SplitDelimiterBehavior::kMergedWithNext;
  if (s == "Contiguous") return SplitDelimiterBehavior::kContiguous;
  throw InputError(at.str(), "expected Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous, got " + quote(s));
}

class ByteLevel : public PreTokenizer {
 public:
  ByteLevel(bool add_prefix_space, bool use_regex)
      : add_prefix_space_(add_prefix_space), use_regex_(use_regex), re_(Regex::compile(kGpt2Pattern, "ByteLevel")) {}
  bool add_prefix_space() const { return add_prefix_space_; }
  bool use_regex() const { return use_regex_; }
  void pre_tokenize(PreTokenizedString& pre) const override {
    pre.split([&](size_t, NormalizedString n) {
      if (add_prefix_space_ && !starts_with(n.get(), " ")) n.prepend(" ");
      if (!use_regex_) return one(std::move(n));
      return wrap(n.split(re_.find_matches(n.get()), SplitDelimiterBehavior::kIsolated));
    });
    const auto& table = byte_to_char_table();
    pre.normalize([&](NormalizedString& n) {
      const std::string& s = n.get();
      Transforms t;
      t.reserve(s.size());
      for (size_t i = 0, len = 0; i < s.size(); i += len) {
        len = unicode::utf8_len(static_cast<unsigned char>(s[i]));
        for (size_t k = 0; k < len; ++k) t.emplace_back(table[static_cast<unsigned char>(s[i + k])], k > 0 ? 1 : 0);
      }
      n.transform(t, 0);
    });
  }

 private:
  bool add_prefix_space_, use_regex_;
  Regex re_;
};

// Whitespace: keep runs of \w and runs of [^\w\s] (regex \w+|[^\w\s]+), drop the rest.
class Whitespace : public PreTokenizer {
 public:
  void pre_tokenize(PreTokenizedString& pre) const override {
    pre.split([](size_t, NormalizedString n) {
      const std::string& s = n.get();
      Matches m;
      if (s.empty()) {
        m.push_back({{0, 0}, false});
      } else {
        size_t prev = 0, i = 0;
        while (i < s.size()) {
          size_t len = 0;
          char32_t c = unicode::decode(s, i, &len);
          int kind = unicode::is_word_char(c) ? 1 : unicode::is_whitespace(c) ? 0 : 2;
          if (kind == 0) {
            i += len;
            continue;
          }
          size_t start = i;
          i += len;
          while (i < s.size()) {
            char32_t d = unicode::decode(s, i, &len);
            int k = unicode::is_word_char(d) ? 1 : unicode::is_whitespace(d) ? 0 : 2;
            if (k != kind) break;
            i += len;
          }
          if (prev != start) m.push_back({{prev, start}, false});
          m.push_back({{start, i}, true});
          prev = i;
        }
        if (prev != s.size()) m.push_back({{prev, s.size()}, false});
      }
      invert_matches(m);
      return wrap(n.split(m, SplitDelimiterBehavior::kRemoved));
    });
  }
};

class WhitespaceSplit : public PreTokenizer {
 public:
  void pre_tokenize(PreTokenizedString& pre) const override {
    pre.split([](size_t, NormalizedString n) {
      return wrap(n.split(find_char_matches(n.get(), unicode::is_whitespace), SplitDelimiterBehavior::kRemoved));
    });
  }
};

bool is_punc(char32_t c) { return unicode::is_ascii_punctuation(c) || unicode::is_punctuation(c); }

class BertPreTokenizer : public PreTokenizer {
 public:
  void pre_tokenize(PreTokenizedString& pre) const override {
    pre.split([](size_t, NormalizedString n) {
      return wrap(n.split(find_char_matches(n.get(), unicode::is_whitespace), SplitDelimiterBehavior::kRemoved));
    });
    pre.split([](size_t, NormalizedString n) {
      return wrap(n.split(find_char_matches(n.get(), is_punc), SplitDelimiterBehavior::kIsolated));
    });
  }
};

class Punctuation : public PreTokenizer {
 public:
  explicit Punctuation(SplitDelimiterBehavior b) : behavior_(b) {}
  void pre_tokenize(PreTokenizedString& pre) const override {
    pre.split([&](size_t, NormalizedString n) { return wrap(n.split(find_char_matches(n.get(), is_punc), behavior_)); });
  }

 private:
  SplitDelimiterBehavior behavior_;
};

class Digits : public PreTokenizer {
 public:
  explicit Digits(bool individual) : individual_(individual) {}
  void pre_tokenize(PreTokenizedString& pre) const override {
    auto b = individual_ ? SplitDelimiterBehavior::kIsolated : SplitDelimiterBehavior::kContiguous;
    pre.split([&](size_t, NormalizedString n) { return wrap(n.split(find_char_matches(n.get(), unicode::is_numeric), b)); });
  }

 private:
  bool individual_;
};

class CharDelimiterSplit : public PreTokenizer {
 public:
  explicit CharDelimiterSplit(char32_t d) : delimiter_(d) {}
  void pre_tokenize(PreTokenizedString& pre) const override {
    pre.split([&](size_t, NormalizedString n) {
      return wrap(n.split(find_char_matches(n.get(), [&](char32_t c) { return c == delimiter_; }), SplitDelimiterBehavior::kRemoved));
    });
  }

 private:
  char32_t delimiter_;
};

enum class PrependScheme { kAlways, kFirst, kNever };

class Metaspace : public PreTokenizer {
 public:
  Metaspace(char32_t replacement, PrependScheme scheme, bool split) : replacement_(replacement), scheme_(scheme), split_(split) {
    unicode::append_utf8(rep_, replacement);
  }
  void pre_tokenize(PreTokenizedString& pre) const override {
    pre.split([&](size_t, NormalizedString n) {
      n.replace(find_string_matches(n.get(), " "), rep_);
      bool starts = starts_with(n.get(), rep_);
      if ((scheme_ == PrependScheme::kAlways && !starts) ||
          (scheme_ == PrependScheme::kFirst && !starts && n.offsets_original().first == 0))
        n.prepend(rep_);
      if (!split_) return one(std::move(n));
      return wrap(n.split(find_char_matches(n.get(), [&](char32_t c) { return c == replacement_; }),
                          SplitDelimiterBehavior::kMergedWithNext));
    });
  }

 private:
  char32_t replacement_;
  std::string rep_;
  PrependScheme scheme_;
  bool split_;
};

class SplitPre : public PreTokenizer {
 public:
  SplitPre(Pattern p, SplitDelimiterBehavior b, bool invert) : pattern_(std::move(p)), behavior_(b), invert_(invert) {}
  void pre_tokenize(PreTokenizedString& pre) const override {
    pre.split([&](size_t, NormalizedString n) {
      Matches m = pattern_.find(n.get());
      if (invert_) invert_matches(m);
      return wrap(n.split(m, behavior_));
    });
  }

 private:
  Pattern pattern_;
  SplitDelimiterBehavior behavior_;
  bool invert_;
};

class SequencePre : public PreTokenizer {
 public:
  explicit SequencePre(std::vector<std::unique_ptr<PreTokenizer>> p) : list_(std::move(p)) {}
  void pre_tokenize(PreTokenizedString& pre) const override {
    for (const auto& p : list_) p->pre_tokenize(pre);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> list_;
};

char32_t single_char(const std::string& s, const detail::JsonPath& at) {
  auto cps = unicode::to_code_points(s);
  if (cps.size() != 1) throw InputError(at.str(), "expected a single character, got " + quote(s));
  return cps[0];
}

}  // namespace

const std::vector<char32_t>& byte_to_char_table() {
  // GPT-2's bytes_to_unicode: printable Latin-1 bytes map to themselves, the others to 256, 257, ...
  static const std::vector<char32_t> table = [] {
    std::vector<char32_t> t(256, 0);
    std::vector<bool> direct(256, false);
    for (int b = '!'; b <= '~'; ++b) direct[b] = true;
    for (int b = 0xA1; b <= 0xAC; ++b) direct[b] = true;
    for (int b = 0xAE; b <= 0xFF; ++b) direct[b] = true;
    char32_t n = 0;
    for (int b = 0; b < 256; ++b) t[b] = direct[b] ? static_cast<char32_t>(b) : 256 + n++;
    return t;
  }();
  return table;
}

int char_to_byte(char32_t c) {
  static const std::vector<int> inverse = [] {
    std::vector<int> inv(512, -1);
    const auto& t = byte_to_char_table();
    for (int b = 0; b < 256; ++b) inv[t[b]] = b;
    return inv;
  }();
  return c < 512 ? inverse[c] : -1;
}

std::unique_ptr<PreTokenizer> make_byte_level_pre_tokenizer(bool add_prefix_space, bool use_regex) {
  return std::make_unique<ByteLevel>(add_prefix_space, use_regex);
}

std::optional<bool> byte_level_regex_prefix_space(const PreTokenizer& p) {
  const auto* b = dynamic_cast<const ByteLevel*>(&p);
  if (!b || !b->use_regex()) return std::nullopt;
  return b->add_prefix_space();
}

std::unique_ptr<PreTokenizer> make_bert_pre_tokenizer() { return std::make_unique<BertPreTokenizer>(); }

std::unique_ptr<PreTokenizer> pre_tokenizer_from_json(const Json& j, const detail::JsonPath& at) {
  using namespace detail;
  std::string type = get_string(j, "type", at);
  if (type == "ByteLevel") return std::make_unique<ByteLevel>(get_bool(j, "add_prefix_space", at, true), get_bool(j, "use_regex", at, true));
  if (type == "Whitespace") return std::make_unique<Whitespace>();
  if (type == "WhitespaceSplit") return std::make_unique<WhitespaceSplit>();
  if (type == "BertPreTokenizer") return std::make_unique<BertPreTokenizer>();
  if (type == "Punctuation")
    return std::make_unique<Punctuation>(behavior_from_string(get_string(j, "behavior", at, "Isolated"), at.key("behavior")));
  if (type == "Digits") return std::make_unique<Digits>(get_bool(j, "individual_digits", at, false));
  if (type == "CharDelimiterSplit")
    return std::make_unique<CharDelimiterSplit>(single_char(get_string(j, "delimiter", at), at.key("delimiter")));
  if (type == "Metaspace") {
    char32_t rep = single_char(get_string(j, "replacement", at, "\xE2\x96\x81"), at.key("replacement"));
    PrependScheme scheme = PrependScheme::kAlways;
    if (auto ps = get_optional_string(j, "prepend_scheme", at)) {
      if (*ps == "always") scheme = PrependScheme::kAlways;
      else if (*ps == "first") scheme = PrependScheme::kFirst;
      else if (*ps == "never") scheme = PrependScheme::kNever;
      else throw InputError(at.key("prepend_scheme").str(), "expected always, first or never, got " + quote(*ps));
    } else if (j.contains("add_prefix_space")) {
      scheme = get_bool(j, "add_prefix_space", at, true) ? PrependScheme::kAlways : PrependScheme::kNever;
    }
    return std::make_unique<Metaspace>(rep, scheme, get_bool(j, "split", at, true));
  }
  if (type == "Split")
    return std::make_unique<SplitPre>(Pattern::from_json(require(j, "pattern", at), at.key("pattern")),
                                      behavior_from_string(get_string(j, "behavior", at), at.key("behavior")),
                                      get_bool(j, "invert", at, false));
  if (type == "Sequence") {
    const Json& arr = require(j, "pretokenizers", at);
    if (!arr.is_array()) throw_type(at.key("pretokenizers"), "an array", arr);
    std::vector<std::unique_ptr<PreTokenizer>> list;
    for (size_t i = 0; i < arr.size(); ++i) list.push_back(pre_tokenizer_from_json(arr[i], at.key("pretokenizers").index(i)));
    return std::make_unique<SequencePre>(std::move(list));
  }
  throw InputError(at.key("type").str(), "unsupported pre-tokenizer " + quote(type) +
                                            " (supported: ByteLevel, Whitespace, WhitespaceSplit, BertPreTokenizer, Metaspace, "
                                            "Split, Punctuation, Digits, CharDelimiterSplit, Sequence)");
}

}  // namespace tcpp::tokenizers
