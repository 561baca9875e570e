// Regex: a PCRE2 (JIT) pattern in Unicode mode, used where tokenizers uses Oniguruma (ByteLevel, Split, Replace).
#pragma once

#include <memory>
#include <string>

#include "tcpp/core/json.h"
#include "tcpp/tokenizers/normalized_string.h"

namespace tcpp::tokenizers {

class Regex {
 public:
  /// Compile pattern (UTF + Unicode properties, JIT when available); throws InputError "<where>: ..." if invalid.
  static Regex compile(const std::string& pattern, const std::string& where);
  /// Matches and the gaps between them over s (valid UTF-8), as tokenizers' Pattern::find_matches.
  Matches find_matches(const std::string& s) const;
  const std::string& pattern() const { return pattern_; }

  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) noexcept;
  ~Regex();

 private:
  Regex() = default;
  struct Impl;
  std::string pattern_;
  std::unique_ptr<Impl> impl_;
};

namespace detail {
struct JsonPath;
}

/// A pattern given in tokenizer.json as {"String": "..."} or {"Regex": "..."} (ReplacePattern / SplitPattern).
class Pattern {
 public:
  static Pattern from_json(const Json& j, const detail::JsonPath& at);
  static Pattern literal(std::string s);
  Matches find(const std::string& s) const { return regex_ ? regex_->find_matches(s) : find_string_matches(s, literal_); }
  Json to_json() const;

 private:
  std::string literal_;
  std::shared_ptr<Regex> regex_;
};

/// GPT-2's pre-tokenization pattern, with \s spelled as Unicode White_Space (what Oniguruma's \s matches).
extern const char* const kGpt2Pattern;

}  // namespace tcpp::tokenizers
