// Encoding operations: merge, truncate (with stride/overflow), pad; batch truncation and padding.
#include "tcpp/tokenizers/encoding.h"

#include <algorithm>

#include "tcpp/core/error.h"

namespace tcpp::tokenizers {

void Encoding::append_token(uint32_t id, uint32_t type_id, std::string token, int64_t word, Offsets o, uint32_t special) {
  ids.push_back(id);
  type_ids.push_back(type_id);
  tokens.push_back(std::move(token));
  words.push_back(word);
  offsets.push_back(o);
  special_tokens_mask.push_back(special);
  attention_mask.push_back(1);
}

namespace {
void append_plain(Encoding& a, const Encoding& b) {
  a.ids.insert(a.ids.end(), b.ids.begin(), b.ids.end());
  a.type_ids.insert(a.type_ids.end(), b.type_ids.begin(), b.type_ids.end());
  a.tokens.insert(a.tokens.end(), b.tokens.begin(), b.tokens.end());
  a.words.insert(a.words.end(), b.words.begin(), b.words.end());
  a.offsets.insert(a.offsets.end(), b.offsets.begin(), b.offsets.end());
  a.special_tokens_mask.insert(a.special_tokens_mask.end(), b.special_tokens_mask.begin(), b.special_tokens_mask.end());
  a.attention_mask.insert(a.attention_mask.end(), b.attention_mask.begin(), b.attention_mask.end());
}

Encoding range(const Encoding& e, size_t start, size_t stop) {
  Encoding o;
  o.ids.assign(e.ids.begin() + start, e.ids.begin() + stop);
  o.type_ids.assign(e.type_ids.begin() + start, e.type_ids.begin() + stop);
  o.tokens.assign(e.tokens.begin() + start, e.tokens.begin() + stop);
  o.words.assign(e.words.begin() + start, e.words.begin() + stop);
  o.offsets.assign(e.offsets.begin() + start, e.offsets.begin() + stop);
  o.special_tokens_mask.assign(e.special_tokens_mask.begin() + start, e.special_tokens_mask.begin() + stop);
  o.attention_mask.assign(e.attention_mask.begin() + start, e.attention_mask.begin() + stop);
  return o;
}
}  // namespace

void Encoding::merge_with(Encoding other) {
  // As tokenizers' Encoding::merge_with: every overflowing part of either side is combined with the other side
  // (clones keep their own overflowing parts, so the result nests like tokenizers').
  if (ids.empty() && overflowing.empty()) {  // merging into nothing gives `other` itself: move instead of copying
    *this = std::move(other);
    return;
  }
  std::vector<Encoding> overflowings;
  for (const auto& self_o : overflowing) {
    Encoding n = self_o;
    n.merge_with(other);
    overflowings.push_back(std::move(n));
    for (const auto& other_o : other.overflowing) {
      Encoding m = self_o;
      m.merge_with(other_o);
      overflowings.push_back(std::move(m));
    }
  }
  for (const auto& other_o : other.overflowing) {
    Encoding n = *this;
    n.merge_with(other_o);
    overflowings.push_back(std::move(n));
  }
  append_plain(*this, other);
  overflowing = std::move(overflowings);
}

void Encoding::truncate(size_t max_len, size_t stride, bool from_left) {
  size_t len = ids.size();
  if (max_len >= len) return;
  if (max_len == 0) {
    Encoding o = std::move(*this);
    *this = Encoding();
    overflowing.push_back(std::move(o));
    return;
  }
  if (stride >= max_len)
    throw InputError("truncation", "stride (" + std::to_string(stride) + ") must be smaller than max_length minus the special tokens (" +
                                       std::to_string(max_len) + ")");
  size_t step = max_len - stride;
  std::vector<std::pair<size_t, size_t>> parts;
  if (!from_left) {
    for (size_t start = 0; start < len; start += step) {
      size_t stop = std::min(start + max_len, len);
      parts.emplace_back(start, stop);
      if (stop == len) break;
    }
  } else {
    for (size_t i = 0; i < len; i += step) {
      size_t stop = len - i;
      size_t start = stop > max_len ? stop - max_len : 0;
      parts.emplace_back(start, stop);
      if (start == 0) break;
    }
  }
  Encoding first = range(*this, parts[0].first, parts[0].second);
  for (size_t i = 1; i < parts.size(); ++i) first.overflowing.push_back(range(*this, parts[i].first, parts[i].second));
  *this = std::move(first);
}

void Encoding::pad(size_t target, uint32_t pad_id, uint32_t pad_type_id, const std::string& pad_token, bool left) {
  for (auto& o : overflowing) o.pad(target, pad_id, pad_type_id, pad_token, left);
  if (ids.size() >= target) return;
  size_t n = target - ids.size();
  auto grow = [&](auto& v, auto value) { v.insert(left ? v.begin() : v.end(), n, value); };
  grow(ids, pad_id);
  grow(type_ids, pad_type_id);
  grow(tokens, pad_token);
  grow(words, int64_t{-1});
  grow(attention_mask, 0u);
  grow(special_tokens_mask, 1u);
  grow(offsets, Offsets{0, 0});
}

void truncate_encodings(Encoding& encoding, Encoding* pair, const TruncationParams& p) {
  bool left = p.direction == TruncationDirection::kLeft;
  if (p.max_length == 0) {
    encoding.truncate(0, p.stride, left);
    if (pair) pair->truncate(0, p.stride, left);
    return;
  }
  size_t total = encoding.size() + (pair ? pair->size() : 0);
  if (total <= p.max_length) return;
  size_t to_remove = total - p.max_length;
  if (p.strategy == TruncationStrategy::kLongestFirst) {
    if (!pair) {
      encoding.truncate(total - to_remove, p.stride, left);
      return;
    }
    size_t n1 = encoding.size(), n2 = pair->size();
    bool swap = n1 > n2;
    if (swap) std::swap(n1, n2);
    if (n1 > p.max_length) {
      n2 = n1;
    } else {
      n2 = std::max(n1, p.max_length - n1);
    }
    if (n1 + n2 > p.max_length) {
      n1 = p.max_length / 2;
      n2 = n1 + p.max_length % 2;
    }
    if (swap) std::swap(n1, n2);
    encoding.truncate(n1, p.stride, left);
    pair->truncate(n2, p.stride, left);
    return;
  }
  Encoding* target = p.strategy == TruncationStrategy::kOnlyFirst ? &encoding : pair;
  if (!target) throw InputError("truncation", "strategy only_second needs a pair of sequences");
  if (target->size() <= to_remove)
    throw InputError("truncation", "the sequence to truncate is too short (" + std::to_string(target->size()) +
                                       " tokens) to remove " + std::to_string(to_remove) + " tokens and respect max_length");
  target->truncate(target->size() - to_remove, p.stride, left);
}

void pad_encodings(std::vector<Encoding>& encodings, const PaddingParams& p) {
  if (encodings.empty()) return;
  size_t length = p.fixed_length;
  if (p.strategy == PaddingStrategy::kBatchLongest) {
    length = 0;
    for (const auto& e : encodings) length = std::max(length, e.size());
  }
  if (p.pad_to_multiple_of && *p.pad_to_multiple_of > 0 && length % *p.pad_to_multiple_of)
    length += *p.pad_to_multiple_of - length % *p.pad_to_multiple_of;
  for (auto& e : encodings) e.pad(length, p.pad_id, p.pad_type_id, p.pad_token, p.direction == PaddingDirection::kLeft);
}

}  // namespace tcpp::tokenizers
