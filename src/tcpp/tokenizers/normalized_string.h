// NormalizedString: a string being normalized plus, per normalized byte, the original byte range it came from
// (as tokenizers' tokenizer/normalizer.rs). Every offset a tokenizer reports is computed through it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tcpp::tokenizers {

/// Byte (or, once converted, character) range [first, second).
using Offsets = std::pair<size_t, size_t>;
/// A pattern's result over a string: consecutive ranges, each flagged true when it is a match.
using Matches = std::vector<std::pair<Offsets, bool>>;
/// A normalization step: (new char, change) where change is 0 (replaces one char), 1 (inserted), -n (replaces
/// one char and removes the n following ones), as tokenizers' NormalizedString::transform.
using Transforms = std::vector<std::pair<char32_t, int64_t>>;

/// How split() treats the delimiters found by a pattern (tokenizers' SplitDelimiterBehavior).
enum class SplitDelimiterBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

class NormalizedString {
 public:
  NormalizedString() = default;
  /// Start from text (valid UTF-8); normalized == original.
  explicit NormalizedString(std::string text);

  const std::string& get() const { return normalized_; }
  const std::string& get_original() const { return original_; }
  size_t len() const { return normalized_.size(); }
  bool empty() const { return normalized_.empty(); }
  /// Range of this (sub)string within the full original input.
  Offsets offsets_original() const { return {original_shift_, original_shift_ + original_.size()}; }

  /// Convert a normalized byte range to an original one (relative to this string); nullopt when impossible.
  std::optional<Offsets> normalized_to_original(Offsets range) const;
  /// Convert an original byte range to a normalized one.
  std::optional<Offsets> original_to_normalized(Offsets range) const;
  /// The substring of a normalized byte range, keeping alignments; nullopt when not on char boundaries.
  std::optional<NormalizedString> slice(Offsets normalized_range) const;

  /// Replace normalized bytes [start, end) by dest (see Transforms), skipping initial_offset chars first.
  void transform_range(Offsets normalized_range, const Transforms& dest, size_t initial_offset);
  void transform(const Transforms& dest, size_t initial_offset);

  void nfd();
  void nfkd();
  void nfc();
  void nfkc();
  /// Keep only the chars for which keep(c) is true.
  template <typename Keep>
  void filter(Keep keep);
  /// Replace each char c by map(c).
  template <typename Map>
  void map(Map map);
  void lowercase();
  void prepend(const std::string& s);
  void append(const std::string& s);
  /// Replace every matched range by content.
  void replace(const Matches& matches, const std::string& content);
  void lstrip() { lrstrip(true, false); }
  void rstrip() { lrstrip(false, true); }
  void strip() { lrstrip(true, true); }
  void lrstrip(bool left, bool right);

  /// Split along the matches of a pattern (computed on get()), as NormalizedString::split.
  std::vector<NormalizedString> split(const Matches& matches, SplitDelimiterBehavior behavior) const;

 private:
  void unicode_normalize(bool compat, bool compose);

  std::string original_;
  std::string normalized_;
  std::vector<Offsets> alignments_;  // one per normalized byte: original byte range
  size_t original_shift_ = 0;
};

/// Matches of a char predicate: every char for which pred(c) holds is one match (tokenizers' Pattern for Fn).
template <typename Pred>
Matches find_char_matches(const std::string& s, Pred pred);
/// Matches of a literal string (empty pattern matches nothing).
Matches find_string_matches(const std::string& s, const std::string& pattern);
/// Flip every match flag (tokenizers' Invert).
void invert_matches(Matches& matches);

/// Convert byte offsets in s to char offsets, as tokenizers' BytesToCharOffsetConverter (offsets inside a
/// multi-byte char map to that char; an end at len maps to the char count).
class BytesToCharOffsetConverter {
 public:
  explicit BytesToCharOffsetConverter(const std::string& s);
  Offsets convert(Offsets o) const;

 private:
  std::vector<uint32_t> map_;  // byte index -> char index
};

}  // namespace tcpp::tokenizers

#include "tcpp/tokenizers/normalized_string_inl.h"
