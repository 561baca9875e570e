// Encoding: the output of a tokenizer for one input (ids, type ids, masks, offsets), with truncation and padding
// (as tokenizers' tokenizer/encoding.rs, utils/truncation.rs, utils/padding.rs).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tcpp/tokenizers/normalized_string.h"

namespace tcpp::tokenizers {

struct Encoding {
  std::vector<uint32_t> ids;
  std::vector<uint32_t> type_ids;
  std::vector<std::string> tokens;
  std::vector<int64_t> words;  // word index, -1 for special/padding tokens
  std::vector<Offsets> offsets;  // character offsets into the input (as the Python/Node bindings report them)
  std::vector<uint32_t> special_tokens_mask;
  std::vector<uint32_t> attention_mask;
  std::vector<Encoding> overflowing;

  size_t size() const { return ids.size(); }
  void append_token(uint32_t id, uint32_t type_id, std::string token, int64_t word, Offsets offsets, uint32_t special);
  /// Append other (offsets unchanged), merging overflowing parts as tokenizers' Encoding::merge_with.
  void merge_with(Encoding other);
  /// Keep the first (right) or last (left) max_len tokens; the rest go to overflowing in windows of
  /// max_len with `stride` tokens of overlap.
  void truncate(size_t max_len, size_t stride, bool from_left);
  /// Pad to target_length with pad_id / pad_type_id / pad_token (attention 0, special 1, offsets (0,0)).
  void pad(size_t target_length, uint32_t pad_id, uint32_t pad_type_id, const std::string& pad_token, bool left);
};

enum class TruncationStrategy { kLongestFirst, kOnlyFirst, kOnlySecond };
enum class TruncationDirection { kRight, kLeft };

struct TruncationParams {
  size_t max_length = 512;
  TruncationStrategy strategy = TruncationStrategy::kLongestFirst;
  size_t stride = 0;
  TruncationDirection direction = TruncationDirection::kRight;
};

enum class PaddingStrategy { kBatchLongest, kFixed };
enum class PaddingDirection { kRight, kLeft };

struct PaddingParams {
  PaddingStrategy strategy = PaddingStrategy::kBatchLongest;
  size_t fixed_length = 0;  // with kFixed
  PaddingDirection direction = PaddingDirection::kRight;
  std::optional<size_t> pad_to_multiple_of;
  uint32_t pad_id = 0;
  uint32_t pad_type_id = 0;
  std::string pad_token = "[PAD]";
};

/// Truncate a sequence (and its pair) to params.max_length tokens in total (tokenizers' truncate_encodings).
/// Throws InputError when the strategy cannot be satisfied (only_second without a pair, sequence too short).
void truncate_encodings(Encoding& encoding, Encoding* pair, const TruncationParams& params);
/// Pad every encoding to the batch's longest (or the fixed length), rounded up to pad_to_multiple_of.
void pad_encodings(std::vector<Encoding>& encodings, const PaddingParams& params);

}  // namespace tcpp::tokenizers
