// Parquet value and level encodings (internal): the RLE/bit-packing hybrid, PLAIN, DELTA_BINARY_PACKED,
// DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY and BYTE_STREAM_SPLIT, as parquet-format's Encodings.md describes
// them. Decoders throw InputError without a location on malformed input; the column reader adds the file, row
// group and column.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "tcpp/datasets/parquet/metadata.h"

namespace tcpp::datasets::parquet {

/// A bounds-checked byte range.
struct ByteSpan {
  const uint8_t* data = nullptr;
  size_t size = 0;
};

/// Decoded values of one physical type; only the vector of that type is used.
struct Values {
  PhysicalType type = PhysicalType::kInt32;
  std::vector<uint8_t> bools;
  std::vector<int32_t> i32;
  std::vector<int64_t> i64;
  std::vector<float> f32;
  std::vector<double> f64;
  std::vector<std::string_view> bytes;  // BYTE_ARRAY and FIXED_LEN_BYTE_ARRAY; point into page buffers

  size_t size() const;
  /// Reserve room for n values in the vector of this type.
  void reserve(size_t n);
  /// Append the n values of dict selected by indices (each checked against dict.size()).
  void append_from_dictionary(const Values& dict, const std::vector<uint32_t>& indices);
};

/// The RLE / bit-packing hybrid (no length prefix; callers strip it where the page kind has one).
class RleBitPackedDecoder {
 public:
  RleBitPackedDecoder(ByteSpan data, int bit_width);
  /// Decode exactly n values; throws when the runs end first.
  void decode(uint32_t* out, int64_t n);

 private:
  bool next_run();
  ByteSpan data_;
  size_t pos_ = 0;
  int bit_width_;
  int64_t rle_left_ = 0;  // values left in the current RLE run
  uint32_t rle_value_ = 0;
  int64_t packed_left_ = 0;  // values left in the current bit-packed run
  uint64_t packed_bit_ = 0;  // bit offset of the next packed value from packed_start_
  size_t packed_start_ = 0;
};

/// Bits needed to store values 0..max_value.
int bit_width_for(int64_t max_value);

/// Decode n PLAIN values of type (type_length for FIXED_LEN_BYTE_ARRAY), appending to out. Returns the bytes
/// used.
size_t decode_plain(ByteSpan data, PhysicalType type, int32_t type_length, int64_t n, Values& out);

/// Decode n DELTA_BINARY_PACKED INT32/INT64 values, appending to out (as int64). Returns the bytes used.
size_t decode_delta_binary_packed(ByteSpan data, int64_t n, std::vector<int64_t>& out);

/// Decode n DELTA_LENGTH_BYTE_ARRAY values (lengths, then the bytes back to back), appending views into data.
size_t decode_delta_length_byte_array(ByteSpan data, int64_t n, std::vector<std::string_view>& out);

/// Decode n DELTA_BYTE_ARRAY values (prefix lengths, then suffixes as DELTA_LENGTH_BYTE_ARRAY). The values
/// are rebuilt into storage (which must stay alive and unmodified while out is used), views appended to out.
void decode_delta_byte_array(ByteSpan data, int64_t n, std::vector<uint8_t>& storage,
                             std::vector<std::string_view>& out);

/// Decode n BYTE_STREAM_SPLIT values of width bytes each (byte k of every value stored in stream k) into out.
void decode_byte_stream_split(ByteSpan data, int64_t n, int width, uint8_t* out);

}  // namespace tcpp::datasets::parquet
