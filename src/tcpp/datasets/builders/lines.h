// Line splitting shared by the text builder and streaming (internal).
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>

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

}  // namespace detail

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
