// Template members of NormalizedString (filter, map, find_char_matches).
#pragma once

#include "tcpp/tokenizers/unicode.h"

namespace tcpp::tokenizers {

template <typename Keep>
void NormalizedString::filter(Keep keep) {
  // As NormalizedString::filter: each kept char absorbs the removed chars that follow it.
  int64_t removed = 0;
  size_t removed_start = 0;
  Transforms transforms;
  transforms.reserve(normalized_.size());
  bool have_last = false;
  char32_t last_c = 0;
  for (size_t i = 0, n = 0; i < normalized_.size(); i += n) {
    char32_t c = unicode::decode(normalized_, i, &n);
    if (keep(c)) {
      if (have_last) {
        transforms.emplace_back(last_c, -removed);
      } else {
        removed_start = static_cast<size_t>(removed);
      }
      last_c = c;
      have_last = true;
      removed = 0;
    } else {
      ++removed;
    }
  }
  if (have_last) transforms.emplace_back(last_c, -removed);
  transform(transforms, removed_start);
}

template <typename Map>
void NormalizedString::map(Map map) {
  Transforms transforms;
  transforms.reserve(normalized_.size());
  for (size_t i = 0, n = 0; i < normalized_.size(); i += n) transforms.emplace_back(map(unicode::decode(normalized_, i, &n)), 0);
  transform(transforms, 0);
}

template <typename Pred>
Matches find_char_matches(const std::string& s, Pred pred) {
  if (s.empty()) return {{{0, 0}, false}};
  Matches matches;
  size_t last_offset = 0, last_seen = 0;
  for (size_t i = 0, n = 0; i < s.size(); i += n) {
    char32_t c = unicode::decode(s, i, &n);
    last_seen = i + n;
    if (pred(c)) {
      if (last_offset < i) matches.push_back({{last_offset, i}, false});
      matches.push_back({{i, i + n}, true});
      last_offset = i + n;
    }
  }
  if (last_seen > last_offset) matches.push_back({{last_offset, last_seen}, false});
  return matches;
}

}  // namespace tcpp::tokenizers
