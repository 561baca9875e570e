// Normalizer implementations (as tokenizers' normalizers/{unicode,utils,bert,replace,prepend,strip}.rs).
#include "tcpp/tokenizers/normalizers.h"

#include <optional>
#include <string>
#include <vector>

#include "tcpp/core/error.h"
#include "tcpp/core/strings.h"
#include "tcpp/tokenizers/json_internal.h"
#include "tcpp/tokenizers/regex.h"
#include "tcpp/tokenizers/unicode.h"

namespace tcpp::tokenizers {

namespace {

enum class UnicodeForm { kNFC, kNFD, kNFKC, kNFKD };

class UnicodeNormalizer : public Normalizer {
 public:
  explicit UnicodeNormalizer(UnicodeForm f) : form_(f) {}
  void normalize(NormalizedString& s) const override {
    switch (form_) {
      case UnicodeForm::kNFC: s.nfc(); break;
      case UnicodeForm::kNFD: s.nfd(); break;
      case UnicodeForm::kNFKC: s.nfkc(); break;
      case UnicodeForm::kNFKD: s.nfkd(); break;
    }
  }

 private:
  UnicodeForm form_;
};

// As tokenizers' Nmt: drop ASCII control characters, turn other white space (and U+2581, U+FFFD) into a space.
class Nmt : public Normalizer {
 public:
  void normalize(NormalizedString& s) const override {
    s.filter([](char32_t c) {
      return !((c >= 0x01 && c <= 0x08) || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F || c == 0x8F || c == 0x9F);
    });
    s.map([](char32_t c) {
      bool space = c == 0x09 || c == 0x0A || c == 0x0C || c == 0x0D || c == 0x1680 || (c >= 0x200B && c <= 0x200F) ||
                   c == 0x2028 || c == 0x2029 || c == 0x2581 || c == 0xFEFF || c == 0xFFFD;
      return space ? U' ' : c;
    });
  }
};

class Lowercase : public Normalizer {
 public:
  void normalize(NormalizedString& s) const override { s.lowercase(); }
};

class StripAccents : public Normalizer {
 public:
  void normalize(NormalizedString& s) const override {
    s.filter([](char32_t c) { return !unicode::is_mark_nonspacing(c); });
  }
};

bool is_chinese_char(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

class BertNormalizer : public Normalizer {
 public:
  BertNormalizer(bool clean_text, bool handle_chinese_chars, std::optional<bool> strip_accents, bool lowercase)
      : clean_text_(clean_text), chinese_(handle_chinese_chars), strip_accents_(strip_accents), lowercase_(lowercase) {}
  void normalize(NormalizedString& s) const override {
    if (clean_text_) {
      s.filter([](char32_t c) {
        bool control = c != '\t' && c != '\n' && c != '\r' && unicode::is_other(c);
        return !(c == 0 || c == 0xFFFD || control);
      });
      s.map([](char32_t c) { return (c == '\t' || c == '\n' || c == '\r' || unicode::is_whitespace(c)) ? U' ' : c; });
    }
    if (chinese_) {
      bool any = false;
      Transforms t;
      const std::string& str = s.get();
      t.reserve(str.size());
      for (size_t i = 0, n = 0; i < str.size(); i += n) {
        char32_t c = unicode::decode(str, i, &n);
        if (is_chinese_char(c)) {
          t.emplace_back(U' ', 0);
          t.emplace_back(c, 1);
          t.emplace_back(U' ', 1);
          any = true;
        } else {
          t.emplace_back(c, 0);
        }
      }
      if (any) s.transform(t, 0);
    }
    if (strip_accents_.value_or(lowercase_)) {
      s.nfd();
      s.filter([](char32_t c) { return !unicode::is_mark_nonspacing(c); });
    }
    if (lowercase_) s.lowercase();
  }

 private:
  bool clean_text_, chinese_;
  std::optional<bool> strip_accents_;
  bool lowercase_;
};

class Replace : public Normalizer {
 public:
  Replace(Pattern p, std::string content) : pattern_(std::move(p)), content_(std::move(content)) {}
  void normalize(NormalizedString& s) const override { s.replace(pattern_.find(s.get()), content_); }

 private:
  Pattern pattern_;
  std::string content_;
};

class Prepend : public Normalizer {
 public:
  explicit Prepend(std::string p) : prepend_(std::move(p)) {}
  void normalize(NormalizedString& s) const override {
    if (!s.empty()) s.prepend(prepend_);
  }

 private:
  std::string prepend_;
};

class Strip : public Normalizer {
 public:
  Strip(bool left, bool right) : left_(left), right_(right) {}
  void normalize(NormalizedString& s) const override { s.lrstrip(left_, right_); }

 private:
  bool left_, right_;
};

class Sequence : public Normalizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<Normalizer>> n) : normalizers_(std::move(n)) {}
  void normalize(NormalizedString& s) const override {
    for (const auto& n : normalizers_) n->normalize(s);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> normalizers_;
};

}  // namespace

std::unique_ptr<Normalizer> make_bert_normalizer(bool lowercase) {
  return std::make_unique<BertNormalizer>(true, true, std::nullopt, lowercase);
}

std::unique_ptr<Normalizer> normalizer_from_json(const Json& j, const detail::JsonPath& at) {
  using namespace detail;
  std::string type = get_string(j, "type", at);
  if (type == "NFC") return std::make_unique<UnicodeNormalizer>(UnicodeForm::kNFC);
  if (type == "NFD") return std::make_unique<UnicodeNormalizer>(UnicodeForm::kNFD);
  if (type == "NFKC") return std::make_unique<UnicodeNormalizer>(UnicodeForm::kNFKC);
  if (type == "NFKD") return std::make_unique<UnicodeNormalizer>(UnicodeForm::kNFKD);
  if (type == "Lowercase") return std::make_unique<Lowercase>();
  if (type == "Nmt") return std::make_unique<Nmt>();
  if (type == "StripAccents") return std::make_unique<StripAccents>();
  if (type == "BertNormalizer") {
    std::optional<bool> strip;
    if (j.contains("strip_accents") && !j["strip_accents"].is_null()) strip = get_bool(j, "strip_accents", at, false);
    return std::make_unique<BertNormalizer>(get_bool(j, "clean_text", at, true), get_bool(j, "handle_chinese_chars", at, true),
                                            strip, get_bool(j, "lowercase", at, true));
  }
  if (type == "Replace")
    return std::make_unique<Replace>(Pattern::from_json(require(j, "pattern", at), at.key("pattern")), get_string(j, "content", at));
  if (type == "Prepend") return std::make_unique<Prepend>(get_string(j, "prepend", at));
  if (type == "Strip") return std::make_unique<Strip>(get_bool(j, "strip_left", at, true), get_bool(j, "strip_right", at, true));
  if (type == "Sequence") {
    const Json& arr = require(j, "normalizers", at);
    if (!arr.is_array()) throw_type(at.key("normalizers"), "an array", arr);
    std::vector<std::unique_ptr<Normalizer>> list;
    for (size_t i = 0; i < arr.size(); ++i) list.push_back(normalizer_from_json(arr[i], at.key("normalizers").index(i)));
    return std::make_unique<Sequence>(std::move(list));
  }
  throw InputError(at.key("type").str(), "unsupported normalizer " + quote(type) +
                                            " (supported: NFC, NFD, NFKC, NFKD, Nmt, Lowercase, StripAccents, BertNormalizer, "
                                            "Replace, Prepend, Strip, Sequence)");
}

}  // namespace tcpp::tokenizers
