// UTF-8 decoding/encoding and the Unicode character classes tokenizers uses (Rust char:: predicates, via utf8proc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tcpp::tokenizers::unicode {

/// Byte length of the UTF-8 sequence starting with lead byte b (1 for invalid lead bytes).
inline size_t utf8_len(unsigned char b) {
  if (b < 0x80) return 1;
  if ((b >> 5) == 0x6) return 2;
  if ((b >> 4) == 0xE) return 3;
  if ((b >> 3) == 0x1E) return 4;
  return 1;
}

/// Decode the code point at s[i] (s must be valid UTF-8); sets len to its byte length.
inline char32_t decode(std::string_view s, size_t i, size_t* len) {
  unsigned char b = static_cast<unsigned char>(s[i]);
  size_t n = utf8_len(b);
  *len = n;
  if (n == 1) return b;
  char32_t cp = b & (0xFF >> (n + 1));
  for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  return cp;
}

/// Byte length of the UTF-8 encoding of cp.
inline size_t encoded_len(char32_t cp) { return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4; }

/// Append the UTF-8 encoding of cp.
void append_utf8(std::string& out, char32_t cp);
/// Decode a whole valid UTF-8 string into code points.
std::vector<char32_t> to_code_points(std::string_view s);
/// Offset of the first invalid byte, or npos when s is valid UTF-8 (no surrogates, no overlongs).
size_t find_invalid_utf8(std::string_view s);
/// Number of code points in a valid UTF-8 string.
size_t char_count(std::string_view s);

// Rust's char predicates, which tokenizers' components are defined with.
bool is_whitespace(char32_t c);       // White_Space property (char::is_whitespace)
bool is_punctuation(char32_t c);      // general category P* (char::is_punctuation)
bool is_ascii_punctuation(char32_t c);
bool is_numeric(char32_t c);          // Nd | Nl | No (char::is_numeric)
bool is_other(char32_t c);            // C* (unicode_categories is_other)
bool is_mark_nonspacing(char32_t c);  // Mn
bool is_word_char(char32_t c);        // regex \w: alphabetic, marks, decimal digits, connector punctuation
bool is_letter(char32_t c);           // \p{L}
bool is_number(char32_t c);           // \p{N}
/// Full lower-case mapping (char::to_lowercase): usually one code point, two for U+0130.
void to_lower(char32_t c, std::u32string& out);

}  // namespace tcpp::tokenizers::unicode
