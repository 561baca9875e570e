// A hand-written scanner for GPT-2's pre-tokenization pattern (kGpt2Pattern in regex.h):
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// It gives exactly the matches PCRE2 gives for that pattern (its \p{L} / \p{N} tables are read from PCRE2 once),
// several times faster: ASCII is classified by a table, other code points by a two-level table.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace tcpp::tokenizers::gpt2 {

/// Class of a code point for the pattern: other ([^\s\p{L}\p{N}]), letter, number or white space.
enum CharClass : uint8_t { kOther = 0, kLetter = 1, kNumber = 2, kSpace = 3 };

/// Class of code point cp (any value up to 0x10FFFF).
CharClass char_class(char32_t cp);

/// Call piece(begin, end) for every match of the pattern over s (valid UTF-8), in order. The matches cover s
/// without gaps (every char belongs to one of the alternatives), so no gap ranges are reported.
template <typename F>
void split(std::string_view s, F piece);

/// The matches of split() as [begin, end) byte ranges (for tests).
std::vector<std::pair<size_t, size_t>> split_ranges(std::string_view s);

namespace detail {
extern const uint8_t kAsciiClass[128];
/// Class of the (valid, non-ASCII) UTF-8 char at p; sets len to its byte length.
CharClass non_ascii_class(const unsigned char* p, size_t* len);
}  // namespace detail

template <typename F>
void split(std::string_view sv, F piece) {
  const auto* s = reinterpret_cast<const unsigned char*>(sv.data());
  const size_t n = sv.size();
  auto cls = [&](size_t i, size_t* len) -> CharClass {
    if (s[i] < 0x80) {
      *len = 1;
      return static_cast<CharClass>(detail::kAsciiClass[s[i]]);
    }
    return detail::non_ascii_class(s + i, len);
  };
  // End of the run of chars of class k starting at i.
  auto run_end = [&](size_t i, CharClass k) {
    size_t len = 0;
    while (i < n) {
      if (s[i] < 0x80) {
        if (detail::kAsciiClass[s[i]] != k) break;
        ++i;
        continue;
      }
      if (detail::non_ascii_class(s + i, &len) != k) break;
      i += len;
    }
    return i;
  };
  size_t i = 0;
  while (i < n) {
    const size_t start = i;
    const unsigned char c = s[i];
    if (c == '\'' && i + 1 < n) {  // 's|'t|'re|'ve|'m|'ll|'d
      const unsigned char d = s[i + 1];
      if (d == 's' || d == 't' || d == 'm' || d == 'd') {
        piece(start, i + 2);
        i += 2;
        continue;
      }
      if (i + 2 < n) {
        const unsigned char e = s[i + 2];
        if ((d == 'r' && e == 'e') || (d == 'v' && e == 'e') || (d == 'l' && e == 'l')) {
          piece(start, i + 3);
          i += 3;
          continue;
        }
      }
    }
    size_t len = 0;
    if (c == ' ' && i + 1 < n) {  // ' ?\p{L}+' | ' ?\p{N}+' | ' ?[^\s\p{L}\p{N}]+' with the space
      CharClass k = cls(i + 1, &len);
      if (k != kSpace) {
        i = run_end(i + 1 + len, k);
        piece(start, i);
        continue;
      }
    }
    CharClass k = cls(i, &len);
    if (k != kSpace) {  // the same three alternatives without the space
      i = run_end(i + len, k);
      piece(start, i);
      continue;
    }
    // \s+(?!\S) | \s+ : the white-space run, minus its last char when a non-space follows and the run has two or
    // more chars (the lookahead backtracks one char); a single space char before a non-space is matched alone.
    size_t last = i;
    i += len;
    while (i < n) {
      if (s[i] < 0x80) {
        if (detail::kAsciiClass[s[i]] != kSpace) break;
        last = i++;
        continue;
      }
      if (detail::non_ascii_class(s + i, &len) != kSpace) break;
      last = i;
      i += len;
    }
    if (i < n && last > start) i = last;
    piece(start, i);
  }
}

}  // namespace tcpp::tokenizers::gpt2
