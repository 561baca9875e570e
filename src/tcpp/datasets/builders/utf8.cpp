// UTF-8 validation for the builders (Python's strict utf-8 decoding rules).
#include "tcpp/datasets/builders/utf8.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "tcpp/core/error.h"

namespace tcpp::datasets::builders {

size_t find_invalid_utf8(std::string_view s) {
  size_t i = 0, n = s.size();
  while (i < n) {
    // ASCII runs 32, then eight bytes at a time (most text is mostly ASCII).
    while (i + 32 <= n) {
      uint64_t w[4];
      std::memcpy(w, s.data() + i, 32);
      if ((w[0] | w[1] | w[2] | w[3]) & 0x8080808080808080ull) break;
      i += 32;
    }
    while (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= n) break;
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0, min = 0;
    if ((c & 0xe0) == 0xc0) len = 2, cp = c & 0x1f, min = 0x80;
    else if ((c & 0xf0) == 0xe0) len = 3, cp = c & 0x0f, min = 0x800;
    else if ((c & 0xf8) == 0xf0) len = 4, cp = c & 0x07, min = 0x10000;
    bool ok = len > 0 && i + len <= n;
    for (size_t k = 1; ok && k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      ok = (cc & 0xc0) == 0x80;
      cp = cp << 6 | (cc & 0x3f);
    }
    ok = ok && cp >= min && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
    if (!ok) return i;
    i += len;
  }
  return std::string_view::npos;
}

void check_utf8(std::string_view s, const std::string& path, int64_t first_line, int64_t first_offset) {
  size_t i = find_invalid_utf8(s);
  if (i == std::string_view::npos) return;
  auto c = static_cast<unsigned char>(s[i]);
  int64_t line = first_line + std::count(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(i), '\n');
  char byte[8];
  std::snprintf(byte, sizeof byte, "0x%02x", c);
  throw InputError(path, line, "invalid UTF-8: byte " + std::string(byte) + " at offset " +
                                   std::to_string(first_offset + static_cast<int64_t>(i)) +
                                   " cannot start a valid sequence (the file must be UTF-8 text)");
}

}  // namespace tcpp::datasets::builders
