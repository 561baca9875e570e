// Line splitting shared by the text builder and streaming (internal).
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace tcpp::datasets::builders {

/// Call fn for each line as Python yields them from a file opened in text mode and split with
/// str.splitlines(keepends=keep_linebreaks): "\r\n" and "\r" read as "\n"; \v, \f, \x1c-\x1e, U+0085, U+2028
/// and U+2029 also end lines. Stops when fn returns false.
void for_each_line(std::string_view text, bool keep_linebreaks, const std::function<bool(std::string_view)>& fn);
/// Python's universal newlines translation ("\r\n" and "\r" become "\n").
std::string translate_newlines_copy(std::string_view s);

namespace detail {
// Length of the line boundary starting at s[i] as Python's str.splitlines sees it (0 if none). "\r" never
// occurs here (translated already).
inline size_t line_break_at(std::string_view s, size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  if (c == '\n' || c == 0x0b || c == 0x0c || c == 0x1c || c == 0x1d || c == 0x1e) return 1;
  if (c == 0xc2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x85) return 2;  // U+0085
  if (c == 0xe2 && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
      (static_cast<unsigned char>(s[i + 2]) == 0xa8 || static_cast<unsigned char>(s[i + 2]) == 0xa9))
    return 3;  // U+2028, U+2029
  return 0;
}

// Length of the well-formed UTF-8 sequence at p (n bytes available, p[0] >= 0x80) and its code point in *cp, with
// Python's strict rules (no overlong forms, surrogates or code points above U+10FFFF); 0 when malformed, and
// kUtf8Truncated when the bytes so far are a valid start but end before the sequence does.
inline constexpr size_t kUtf8Truncated = ~size_t{0};
inline size_t utf8_sequence(const unsigned char* p, size_t n, uint32_t* cp) {
  const unsigned char c = p[0];
  size_t len;
  uint32_t v, min;
  if ((c & 0xe0) == 0xc0) len = 2, v = c & 0x1fu, min = 0x80;
  else if ((c & 0xf0) == 0xe0) len = 3, v = c & 0x0fu, min = 0x800;
  else if ((c & 0xf8) == 0xf0) len = 4, v = c & 0x07u, min = 0x10000;
  else return 0;
  for (size_t k = 1; k < len; ++k) {
    if (k >= n) return kUtf8Truncated;
    if ((p[k] & 0xc0) != 0x80) return 0;
    v = v << 6 | (p[k] & 0x3fu);
  }
  if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
  *cp = v;
  return len;
}

// Offset of the first byte at or after i that is below 0x20 or above 0x7f (every line break and every non-ASCII
// byte is one), or n.
inline size_t next_special_byte(const char* p, size_t i, size_t n) {
#if defined(__SSE2__)
  const __m128i limit = _mm_set1_epi8(0x20);
  for (; i + 16 <= n; i += 16) {  // signed compare: bytes >= 0x80 are negative, so one test finds both
    const int m = _mm_movemask_epi8(_mm_cmplt_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i)), limit));
    if (m != 0) return i + static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(m)));
  }
#else
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    if (((w - 0x2020202020202020ull) & ~w & 0x8080808080808080ull) | (w & 0x8080808080808080ull)) break;
  }
#endif
  for (; i < n; ++i)
    if (static_cast<unsigned char>(p[i]) < 0x20 || static_cast<unsigned char>(p[i]) >= 0x80) return i;
  return n;
}

}  // namespace detail

/// What scan_lines() got through: rows up to `consumed` were handed out; `invalid` is the offset of the first
/// malformed UTF-8 sequence (std::string_view::npos when none was met before consumed).
struct LineScan {
  size_t consumed = 0;
  size_t invalid = std::string_view::npos;
};

/// The text builder's one pass over a piece of a file: split it into lines exactly as for_each_line does (universal
/// newlines, then str.splitlines) while checking that it is valid UTF-8, reading each byte once (16 at a time where
/// none is a control byte or non-ASCII). fn(row, line_break) is called for each line, line_break being the bytes
/// that ended it as keep_linebreaks keeps them ("\n" for "\r\n" and "\r"; empty for a last line without one).
/// With at_end false the piece is followed by more of the file: the unfinished last line (and a final "\r" or
/// UTF-8 sequence that the next bytes complete) is not handed out but left after `consumed`, for the caller to
/// scan again with what follows. Stops at the first malformed sequence.
template <typename Fn>
LineScan scan_lines(std::string_view text, bool at_end, Fn&& fn) {
  static const char kNewline = '\n';
  const char* p = text.data();
  const size_t n = text.size();
  size_t start = 0;
  for (size_t i = 0;;) {
    i = detail::next_special_byte(p, i, n);
    if (i >= n) break;
    const auto c = static_cast<unsigned char>(p[i]);
    if (c == '\n') {
      fn(std::string_view(p + start, i - start), std::string_view(p + i, 1));
      start = ++i;
    } else if (c >= 0x80) {
      uint32_t cp = 0;
      const size_t len = detail::utf8_sequence(reinterpret_cast<const unsigned char*>(p + i), n - i, &cp);
      if (len == detail::kUtf8Truncated && !at_end) return {start, std::string_view::npos};
      if (len == 0 || len == detail::kUtf8Truncated) return {start, i};
      if (cp == 0x85 || cp == 0x2028 || cp == 0x2029) {
        fn(std::string_view(p + start, i - start), std::string_view(p + i, len));
        start = i + len;
      }
      i += len;
    } else if (c == '\r') {  // "\r\n" and "\r" read as "\n" (universal newlines)
      if (i + 1 == n && !at_end) return {start, std::string_view::npos};  // a "\n" may follow
      fn(std::string_view(p + start, i - start), std::string_view(&kNewline, 1));
      i += i + 1 < n && p[i + 1] == '\n' ? 2 : 1;
      start = i;
    } else if (c == 0x0b || c == 0x0c || c == 0x1c || c == 0x1d || c == 0x1e) {
      fn(std::string_view(p + start, i - start), std::string_view(p + i, 1));
      start = ++i;
    } else {
      ++i;  // a tab or another control byte that does not end a line
    }
  }
  if (!at_end) return {start, std::string_view::npos};
  if (start < n) fn(std::string_view(p + start, n - start), std::string_view());
  return {n, std::string_view::npos};
}

/// for_each_line with the callback inlined (fn(std::string_view) -> bool), for the text builder's hot loop.
template <typename Fn>
void for_each_line_t(std::string_view raw, bool keep_linebreaks, Fn&& fn) {
  std::string translated;
  std::string_view text = raw;
  if (raw.find('\r') != std::string_view::npos) {
    translated = translate_newlines_copy(raw);
    text = translated;
  }
  size_t start = 0;
  const size_t size = text.size();
  for (size_t i = 0; i < size;) {
    // Skip eight bytes at a time while none can start a line break: every break starts with a byte below
    // 0x20 (\n, \v, \f, \x1c-\x1e) or above 0x7f (U+0085, U+2028, U+2029).
    while (i + 8 <= size) {
      uint64_t w;
      std::memcpy(&w, text.data() + i, 8);
      const uint64_t below_0x20 = (w - 0x2020202020202020ull) & ~w & 0x8080808080808080ull;
      if ((below_0x20 | (w & 0x8080808080808080ull)) != 0) break;
      i += 8;
    }
    if (i >= size) break;
    size_t n = detail::line_break_at(text, i);
    if (n == 0) {
      ++i;
      continue;
    }
    if (!fn(text.substr(start, (keep_linebreaks ? i + n : i) - start))) return;
    i += n;
    start = i;
  }
  if (start < text.size()) fn(text.substr(start));
}

}  // namespace tcpp::datasets::builders
