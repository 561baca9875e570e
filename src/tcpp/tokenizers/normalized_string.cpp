// NormalizedString: alignment-tracking string edits (as tokenizers' tokenizer/normalizer.rs).
#include "tcpp/tokenizers/normalized_string.h"

#include <algorithm>
#include <cstdlib>
#include <memory>

#include <utf8proc.h>

#include "tcpp/tokenizers/unicode.h"

namespace tcpp::tokenizers {

NormalizedString::NormalizedString(std::string text) : original_(text), normalized_(std::move(text)) {
  alignments_.reserve(normalized_.size());
  for (size_t i = 0; i < normalized_.size();) {
    size_t n = unicode::utf8_len(static_cast<unsigned char>(normalized_[i]));
    if (i + n > normalized_.size()) n = normalized_.size() - i;
    for (size_t k = 0; k < n; ++k) alignments_.emplace_back(i, i + n);
    i += n;
  }
}

std::optional<Offsets> NormalizedString::normalized_to_original(Offsets r) const {
  if (r.first == r.second) return r;
  if (r.first > r.second) return std::nullopt;
  if (r.second > alignments_.size()) return std::nullopt;
  return Offsets{alignments_[r.first].first, alignments_[r.second - 1].second};
}

std::optional<Offsets> NormalizedString::original_to_normalized(Offsets r) const {
  if (r.first == r.second) return r;
  if (r.first > r.second) return std::nullopt;
  if (original_.empty() && r == Offsets{0, 0}) return Offsets{0, normalized_.size()};
  std::optional<size_t> start, end;
  for (size_t i = 0; i < alignments_.size(); ++i) {
    const auto& a = alignments_[i];
    if (r.second < a.second) break;
    if (!start && r.first <= a.first && a.first != a.second) start = i;
    if (r.second >= a.second) end = i + 1;
  }
  if (start && end) return Offsets{*start, *end};
  if (start) return Offsets{*start, *start};
  if (end) return Offsets{*end, *end};
  return std::nullopt;
}

namespace {
bool is_char_boundary(const std::string& s, size_t i) {
  return i == 0 || i == s.size() || (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) != 0x80);
}
}  // namespace

std::optional<NormalizedString> NormalizedString::slice(Offsets r) const {
  if (r.first > r.second || r.second > normalized_.size()) return std::nullopt;
  if (!is_char_boundary(normalized_, r.first) || !is_char_boundary(normalized_, r.second)) return std::nullopt;
  Offsets orig;
  if (normalized_.empty() && r == Offsets{0, 0}) {
    orig = {0, original_.size()};
  } else {
    auto o = normalized_to_original(r);
    if (!o) return std::nullopt;
    orig = *o;
  }
  NormalizedString out;
  if (orig.first <= orig.second && orig.second <= original_.size()) out.original_ = original_.substr(orig.first, orig.second - orig.first);
  out.normalized_ = normalized_.substr(r.first, r.second - r.first);
  size_t shift = orig.first;
  out.alignments_.reserve(r.second - r.first);
  for (size_t i = r.first; i < r.second; ++i) {
    const auto& a = alignments_[i];
    out.alignments_.emplace_back(a.first >= shift ? a.first - shift : 0, a.second >= shift ? a.second - shift : 0);
  }
  out.original_shift_ = original_shift_ + orig.first;
  return out;
}

void NormalizedString::transform_range(Offsets r, const Transforms& dest, size_t initial_offset) {
  // Walk the replaced chars alongside dest, as NormalizedString::transform_range.
  size_t pos = r.first;  // byte position of the next replaced char in normalized_
  auto next_char_len = [&]() -> size_t {
    if (pos >= r.second) return 0;
    size_t n = unicode::utf8_len(static_cast<unsigned char>(normalized_[pos]));
    pos += n;
    return n;
  };
  size_t initial_removed = 0;
  for (size_t k = 0; k < initial_offset; ++k) initial_removed += next_char_len();
  size_t offset = initial_removed + r.first;
  std::string out;
  out.reserve(r.second - r.first + dest.size());
  std::vector<Offsets> aligns;
  aligns.reserve(r.second - r.first + dest.size());
  for (const auto& [c, changes] : dest) {
    size_t idx = offset;
    Offsets align{0, 0};
    if (changes > 0) {
      if (idx >= 1 && idx - 1 < alignments_.size()) align = alignments_[idx - 1];
    } else if (idx < alignments_.size()) {
      align = alignments_[idx];
    }
    size_t replaced = changes > 0 ? 0 : next_char_len();
    size_t removed = 0;
    for (int64_t k = 0; k < -changes; ++k) removed += next_char_len();
    offset += replaced + removed;
    size_t before = out.size();
    unicode::append_utf8(out, c);
    aligns.insert(aligns.end(), out.size() - before, align);
  }
  normalized_.replace(r.first, r.second - r.first, out);
  alignments_.erase(alignments_.begin() + r.first, alignments_.begin() + r.second);
  alignments_.insert(alignments_.begin() + r.first, aligns.begin(), aligns.end());
}

void NormalizedString::transform(const Transforms& dest, size_t initial_offset) {
  transform_range({0, normalized_.size()}, dest, initial_offset);
}

namespace {

uint8_t combining_class(char32_t c) {
  return c < 0x300 ? 0 : static_cast<uint8_t>(utf8proc_get_property(static_cast<utf8proc_int32_t>(c))->combining_class);
}

// The canonical composition of a + b, if any (composition exclusions and Hangul included).
std::optional<char32_t> compose_pair(char32_t a, char32_t b) {
  utf8proc_int32_t buf[2] = {static_cast<utf8proc_int32_t>(a), static_cast<utf8proc_int32_t>(b)};
  auto n = utf8proc_normalize_utf32(buf, 2, static_cast<utf8proc_option_t>(UTF8PROC_COMPOSE | UTF8PROC_STABLE));
  if (n == 1) return static_cast<char32_t>(buf[0]);
  return std::nullopt;
}

}  // namespace

void NormalizedString::unicode_normalize(bool compat, bool compose) {
  bool ascii = true;
  for (char c : normalized_) ascii &= static_cast<unsigned char>(c) < 0x80;
  if (ascii) return;
  int options = UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | (compat ? UTF8PROC_COMPAT : 0) | (compose ? UTF8PROC_COMPOSE : 0);
  {
    utf8proc_uint8_t* dst = nullptr;
    auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(normalized_.data()), static_cast<utf8proc_ssize_t>(normalized_.size()),
                          &dst, static_cast<utf8proc_option_t>(options));
    std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> hold(dst, &std::free);
    if (n >= 0 && std::string_view(reinterpret_cast<const char*>(dst), static_cast<size_t>(n)) == normalized_) return;
  }
  // Decompose char by char, tagging each output char with its change (0 = first of a decomposition, 1 = added),
  // and reorder marks by combining class with their tags, as unicode-normalization-alignments (used by tokenizers).
  struct Item {
    char32_t c;
    int64_t change;
    uint8_t ccc;
  };
  std::vector<Item> items;
  items.reserve(normalized_.size());
  size_t pending = 0;
  auto sort_pending = [&] {
    std::stable_sort(items.begin() + pending, items.end(), [](const Item& a, const Item& b) { return a.ccc < b.ccc; });
    pending = items.size();
  };
  auto decompose_options = static_cast<utf8proc_option_t>(UTF8PROC_DECOMPOSE | (compat ? UTF8PROC_COMPAT : 0));
  utf8proc_int32_t buf[32];
  for (size_t i = 0, n = 0; i < normalized_.size(); i += n) {
    char32_t c = unicode::decode(normalized_, i, &n);
    int boundclass = 0;
    auto len = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(c), buf, 32, decompose_options, &boundclass);
    if (len < 0 || len > 32) {
      len = 1;
      buf[0] = static_cast<utf8proc_int32_t>(c);
    }
    for (utf8proc_ssize_t k = 0; k < len; ++k) {
      char32_t d = static_cast<char32_t>(buf[k]);
      uint8_t ccc = combining_class(d);
      if (ccc == 0) sort_pending();
      items.push_back({d, k == 0 ? 0 : 1, ccc});
    }
  }
  sort_pending();
  Transforms out;
  out.reserve(items.size());
  if (!compose) {
    for (const auto& it : items) out.emplace_back(it.c, it.change);
  } else {
    // Canonical composition; a char merged into its starter moves its change into it, minus one.
    std::optional<std::pair<char32_t, int64_t>> composee;
    int last_ccc = -1;  // class of the last blocked mark, -1 when none
    Transforms blocked;
    for (const auto& it : items) {
      if (!composee) {
        if (it.ccc != 0) {
          out.emplace_back(it.c, it.change);
        } else {
          composee = std::make_pair(it.c, it.change);
        }
        continue;
      }
      if (last_ccc >= 0 && last_ccc >= it.ccc) {
        if (it.ccc == 0) {
          out.push_back(*composee);
          out.insert(out.end(), blocked.begin(), blocked.end());
          blocked.clear();
          composee = std::make_pair(it.c, it.change);
          last_ccc = -1;
        } else {
          blocked.emplace_back(it.c, it.change);
          last_ccc = it.ccc;
        }
        continue;
      }
      if (auto r = compose_pair(composee->first, it.c)) {
        composee = std::make_pair(*r, composee->second + it.change - 1);
        continue;
      }
      if (last_ccc < 0 && it.ccc == 0) {
        out.push_back(*composee);
        composee = std::make_pair(it.c, it.change);
        continue;
      }
      blocked.emplace_back(it.c, it.change);
      last_ccc = it.ccc;
    }
    if (composee) out.push_back(*composee);
    out.insert(out.end(), blocked.begin(), blocked.end());
  }
  transform(out, 0);
}

void NormalizedString::nfd() { unicode_normalize(/*compat=*/false, /*compose=*/false); }
void NormalizedString::nfkd() { unicode_normalize(/*compat=*/true, /*compose=*/false); }
void NormalizedString::nfc() { unicode_normalize(/*compat=*/false, /*compose=*/true); }
void NormalizedString::nfkc() { unicode_normalize(/*compat=*/true, /*compose=*/true); }

void NormalizedString::lowercase() {
  bool changed = false;
  Transforms transforms;
  transforms.reserve(normalized_.size());
  std::u32string lower;
  for (size_t i = 0, n = 0; i < normalized_.size(); i += n) {
    char32_t c = unicode::decode(normalized_, i, &n);
    lower.clear();
    unicode::to_lower(c, lower);
    for (size_t k = 0; k < lower.size(); ++k) transforms.emplace_back(lower[k], k > 0 ? 1 : 0);
    changed |= lower.size() != 1 || lower[0] != c;
  }
  if (changed) transform(transforms, 0);
}

void NormalizedString::prepend(const std::string& s) {
  if (normalized_.empty()) return;
  size_t n = 0;
  char32_t next = unicode::decode(normalized_, 0, &n);
  Transforms t;
  auto cps = unicode::to_code_points(s);
  for (size_t i = 0; i < cps.size(); ++i) t.emplace_back(cps[i], i != 0 ? 1 : 0);
  t.emplace_back(next, 1);
  transform_range({0, n}, t, 0);
}

void NormalizedString::append(const std::string& s) {
  Transforms t;
  if (normalized_.empty()) {
    for (char32_t c : unicode::to_code_points(s)) t.emplace_back(c, 1);
    transform_range({0, 0}, t, 0);
    return;
  }
  size_t b = normalized_.size() - 1;
  while (b > 0 && (static_cast<unsigned char>(normalized_[b]) & 0xC0) == 0x80) --b;
  size_t n = 0;
  t.emplace_back(unicode::decode(normalized_, b, &n), 0);
  for (char32_t c : unicode::to_code_points(s)) t.emplace_back(c, 1);
  transform_range({b, normalized_.size()}, t, 0);
}

void NormalizedString::replace(const Matches& matches, const std::string& content) {
  // As NormalizedString::replace: replacement chars are "inserted" and share the alignment of the match's last byte.
  std::string out;
  std::vector<Offsets> aligns;
  out.reserve(normalized_.size());
  aligns.reserve(alignments_.size());
  size_t last_end = 0;
  for (const auto& [range, is_match] : matches) {
    if (!is_match) continue;
    auto [start, end] = range;
    out.append(normalized_, last_end, start - last_end);
    aligns.insert(aligns.end(), alignments_.begin() + last_end, alignments_.begin() + start);
    Offsets align = end >= 1 ? alignments_[end - 1] : Offsets{0, 0};
    size_t before = out.size();
    out += content;
    aligns.insert(aligns.end(), out.size() - before, align);
    last_end = end;
  }
  out.append(normalized_, last_end, std::string::npos);
  aligns.insert(aligns.end(), alignments_.begin() + last_end, alignments_.end());
  normalized_ = std::move(out);
  alignments_ = std::move(aligns);
}

void NormalizedString::lrstrip(bool left, bool right) {
  auto cps = unicode::to_code_points(normalized_);
  size_t leading = 0, trailing = 0;
  if (left) while (leading < cps.size() && unicode::is_whitespace(cps[leading])) ++leading;
  if (right) while (trailing < cps.size() && unicode::is_whitespace(cps[cps.size() - 1 - trailing])) ++trailing;
  if (leading == 0 && trailing == 0) return;
  Transforms t;
  size_t count = cps.size();
  for (size_t i = 0; i < count; ++i) {
    if (i < leading || i + trailing >= count) continue;
    // tokenizers compares the char index with the byte length here; harmless, kept for parity.
    if (i + trailing + 1 == normalized_.size()) {
      t.emplace_back(cps[i], -static_cast<int64_t>(trailing));
    } else {
      t.emplace_back(cps[i], 0);
    }
  }
  transform(t, leading);
}

std::vector<NormalizedString> NormalizedString::split(const Matches& matches, SplitDelimiterBehavior behavior) const {
  std::vector<std::pair<Offsets, bool>> splits;  // (range, remove)
  switch (behavior) {
    case SplitDelimiterBehavior::kIsolated:
      for (const auto& [o, m] : matches) splits.push_back({o, false});
      break;
    case SplitDelimiterBehavior::kRemoved:
      splits = matches;
      break;
    case SplitDelimiterBehavior::kContiguous: {
      bool previous = false;
      for (const auto& [o, m] : matches) {
        if (m == previous && !splits.empty()) {
          splits.back().first.second = o.second;
        } else {
          splits.push_back({o, false});
        }
        previous = m;
      }
      break;
    }
    case SplitDelimiterBehavior::kMergedWithPrevious: {
      bool previous = false;
      for (const auto& [o, m] : matches) {
        if (m && !previous && !splits.empty()) {
          splits.back().first.second = o.second;
        } else {
          splits.push_back({o, false});
        }
        previous = m;
      }
      break;
    }
    case SplitDelimiterBehavior::kMergedWithNext: {
      bool previous = false;
      for (auto it = matches.rbegin(); it != matches.rend(); ++it) {
        const auto& [o, m] = *it;
        if (m && !previous && !splits.empty()) {
          splits.back().first.first = o.first;
        } else {
          splits.push_back({o, false});
        }
        previous = m;
      }
      std::reverse(splits.begin(), splits.end());
      break;
    }
  }
  std::vector<NormalizedString> out;
  out.reserve(splits.size());
  for (const auto& [o, remove] : splits) {
    if (remove) continue;
    if (auto s = slice(o)) out.push_back(std::move(*s));
  }
  return out;
}

Matches find_string_matches(const std::string& s, const std::string& pattern) {
  if (pattern.empty()) return {{{0, unicode::char_count(s)}, false}};
  if (s.empty()) return {{{0, 0}, false}};
  Matches out;
  size_t prev = 0;
  for (size_t pos = s.find(pattern); pos != std::string::npos; pos = s.find(pattern, pos + pattern.size())) {
    if (prev != pos) out.push_back({{prev, pos}, false});
    out.push_back({{pos, pos + pattern.size()}, true});
    prev = pos + pattern.size();
  }
  if (prev != s.size()) out.push_back({{prev, s.size()}, false});
  return out;
}

void invert_matches(Matches& matches) {
  for (auto& m : matches) m.second = !m.second;
}

BytesToCharOffsetConverter::BytesToCharOffsetConverter(const std::string& s) {
  map_.resize(s.size());
  uint32_t ci = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) ++ci;
    map_[i] = ci;
  }
}

Offsets BytesToCharOffsetConverter::convert(Offsets o) const {
  if (o.first >= map_.size()) return o;
  size_t start = map_[o.first];
  if (o.second < map_.size()) return {start, map_[o.second]};
  size_t last = (o.second >= 1 && o.second - 1 < map_.size()) ? map_[o.second - 1] : start + 1;
  return {start, last + 1};
}

}  // namespace tcpp::tokenizers
