// GPT-2 pattern scanner tables: ASCII by hand, the rest read from PCRE2's own \p{L} and \p{N} once, so the scanner
// classifies every code point exactly as the PCRE2 regex path does.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "tcpp/tokenizers/gpt2_split.h"

#include <pcre2.h>

#include <map>
#include <memory>
#include <string>

#include "tcpp/core/error.h"
#include "tcpp/tokenizers/unicode.h"

namespace tcpp::tokenizers::gpt2 {

namespace detail {

// Letters, digits and the ASCII members of kGpt2Pattern's white space (\t \n \v \f \r and space).
#define O kOther
#define L kLetter
#define N kNumber
#define S kSpace
const uint8_t kAsciiClass[128] = {
    O, O, O, O, O, O, O, O, O, S, S, S, S, S, O, O,  // 0x00
    O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O,  // 0x10
    S, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O,  // 0x20
    N, N, N, N, N, N, N, N, N, N, O, O, O, O, O, O,  // 0x30
    O, L, L, L, L, L, L, L, L, L, L, L, L, L, L, L,  // 0x40
    L, L, L, L, L, L, L, L, L, L, L, O, O, O, O, O,  // 0x50
    O, L, L, L, L, L, L, L, L, L, L, L, L, L, L, L,  // 0x60
    L, L, L, L, L, L, L, L, L, L, L, O, O, O, O, O,  // 0x70
};
#undef O
#undef L
#undef N
#undef S

namespace {

constexpr char32_t kMaxCodePoint = 0x10FFFF;

// Two-level table: block index per 256 code points, then one class byte per code point of that block.
struct Tables {
  std::vector<uint16_t> stage1;
  std::vector<uint8_t> stage2;
};

// Mark with `cls` every code point of `all` (a UTF-8 string of code points) that PCRE2 matches with `pattern`.
void mark(const std::string& all, const char* pattern, CharClass cls, std::vector<uint8_t>& classes) {
  int err = 0;
  PCRE2_SIZE err_off = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern), PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP,
                                   &err, &err_off, nullptr);
  if (!code) throw Error(std::string("gpt2 scanner: cannot compile ") + pattern);
  std::unique_ptr<pcre2_code, decltype(&pcre2_code_free)> hold_code(code, &pcre2_code_free);
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(code, nullptr);
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> hold_md(md, &pcre2_match_data_free);
  auto subject = reinterpret_cast<PCRE2_SPTR>(all.data());
  size_t start = 0;
  while (start < all.size()) {
    int rc = pcre2_match(code, subject, all.size(), start, PCRE2_NO_UTF_CHECK, md, nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) throw Error("gpt2 scanner: PCRE2 failed while reading its Unicode tables");
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    for (size_t i = ov[0], len = 0; i < ov[1]; i += len) classes[unicode::decode(all, i, &len)] = cls;
    start = ov[1] > ov[0] ? ov[1] : ov[0] + unicode::utf8_len(static_cast<unsigned char>(all[ov[0]]));
  }
}

Tables build_tables() {
  std::vector<uint8_t> classes(kMaxCodePoint + 1, kOther);
  for (char32_t c = 0; c < 0x80; ++c) classes[c] = kAsciiClass[c];
  std::string all;
  all.reserve(4 * (kMaxCodePoint + 1));
  for (char32_t c = 0x80; c <= kMaxCodePoint; ++c)
    if (c < 0xD800 || c > 0xDFFF) unicode::append_utf8(all, c);
  mark(all, "\\p{L}+", kLetter, classes);
  mark(all, "\\p{N}+", kNumber, classes);
  // White space exactly as kGpt2Pattern spells \s (Unicode White_Space).
  for (char32_t c : {0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000}) classes[c] = kSpace;
  for (char32_t c = 0x2000; c <= 0x200A; ++c) classes[c] = kSpace;
  Tables t;
  std::map<std::string, uint16_t> blocks;
  for (size_t b = 0; b <= kMaxCodePoint >> 8; ++b) {
    std::string block(reinterpret_cast<const char*>(&classes[b << 8]), 256);
    auto [it, inserted] = blocks.emplace(block, static_cast<uint16_t>(blocks.size()));
    if (inserted) t.stage2.insert(t.stage2.end(), block.begin(), block.end());
    t.stage1.push_back(it->second);
  }
  return t;
}

const Tables& tables() {
  static const Tables t = build_tables();
  return t;
}

}  // namespace

CharClass non_ascii_class(const unsigned char* p, size_t* len) {
  char32_t cp;
  if ((p[0] >> 5) == 0x6) {
    *len = 2;
    cp = (static_cast<char32_t>(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
  } else if ((p[0] >> 4) == 0xE) {
    *len = 3;
    cp = (static_cast<char32_t>(p[0] & 0x0F) << 12) | (static_cast<char32_t>(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
  } else if ((p[0] >> 3) == 0x1E) {
    *len = 4;
    cp = (static_cast<char32_t>(p[0] & 0x07) << 18) | (static_cast<char32_t>(p[1] & 0x3F) << 12) |
         (static_cast<char32_t>(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
  } else {  // not a lead byte (the input is validated before; stay in bounds regardless)
    *len = 1;
    return kOther;
  }
  const Tables& t = tables();
  if (cp > kMaxCodePoint) return kOther;
  return static_cast<CharClass>(t.stage2[(static_cast<size_t>(t.stage1[cp >> 8]) << 8) | (cp & 0xFF)]);
}

}  // namespace detail

CharClass char_class(char32_t cp) {
  if (cp < 0x80) return static_cast<CharClass>(detail::kAsciiClass[cp]);
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return kOther;
  std::string s;
  unicode::append_utf8(s, cp);
  size_t len = 0;
  return detail::non_ascii_class(reinterpret_cast<const unsigned char*>(s.data()), &len);
}

std::vector<std::pair<size_t, size_t>> split_ranges(std::string_view s) {
  std::vector<std::pair<size_t, size_t>> out;
  split(s, [&](size_t b, size_t e) { out.emplace_back(b, e); });
  return out;
}

}  // namespace tcpp::tokenizers::gpt2
