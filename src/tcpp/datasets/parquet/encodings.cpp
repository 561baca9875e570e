// Parquet encodings: RLE/bit-packing hybrid, PLAIN, DELTA_*, BYTE_STREAM_SPLIT (parquet-format Encodings.md).
#include "tcpp/datasets/parquet/encodings.h"

#include <cstring>
#include <string>

#include "tcpp/core/error.h"

namespace tcpp::datasets::parquet {
namespace {

uint64_t read_uleb128(ByteSpan data, size_t& pos) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos >= data.size) throw InputError("truncated varint in encoded data");
    uint8_t b = data.data[pos++];
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
  throw InputError("malformed varint (more than 10 bytes) in encoded data");
}

int64_t read_zigzag(ByteSpan data, size_t& pos) {
  uint64_t n = read_uleb128(data, pos);
  return static_cast<int64_t>((n >> 1) ^ (~(n & 1) + 1));
}

// Value number i of a little-endian, LSB-first bit-packed run of width bw starting at data (size bytes).
uint64_t unpack(const uint8_t* data, size_t size, uint64_t bit, int bw) {
  if (bw == 0) return 0;
  size_t byte = static_cast<size_t>(bit >> 3);
  int shift = static_cast<int>(bit & 7);
  uint8_t buf[16] = {};
  size_t n = std::min<size_t>(size - byte, (static_cast<size_t>(bw) + shift + 7) / 8);
  std::memcpy(buf, data + byte, n);
  uint64_t lo;
  std::memcpy(&lo, buf, 8);
  uint64_t v = lo >> shift;
  if (shift + bw > 64) v |= static_cast<uint64_t>(buf[8]) << (64 - shift);
  return bw == 64 ? v : v & ((uint64_t{1} << bw) - 1);
}

}  // namespace

size_t Values::size() const {
  switch (type) {
    case PhysicalType::kBoolean:
      return bools.size();
    case PhysicalType::kInt32:
      return i32.size();
    case PhysicalType::kInt64:
      return i64.size();
    case PhysicalType::kFloat:
      return f32.size();
    case PhysicalType::kDouble:
      return f64.size();
    default:
      return bytes.size();
  }
}

void Values::reserve(size_t n) {
  switch (type) {
    case PhysicalType::kBoolean:
      bools.reserve(n);
      break;
    case PhysicalType::kInt32:
      i32.reserve(n);
      break;
    case PhysicalType::kInt64:
      i64.reserve(n);
      break;
    case PhysicalType::kFloat:
      f32.reserve(n);
      break;
    case PhysicalType::kDouble:
      f64.reserve(n);
      break;
    default:
      bytes.reserve(n);
      break;
  }
}

void Values::append_from_dictionary(const Values& dict, const std::vector<uint32_t>& indices) {
  size_t n = dict.size();
  for (uint32_t i : indices)
    if (i >= n)
      throw InputError("dictionary index " + std::to_string(i) + " is out of range (the dictionary has " +
                       std::to_string(n) + " entries)");
  auto gather = [&](auto& out, const auto& from) {
    size_t old = out.size();
    out.resize(old + indices.size());
    for (size_t k = 0; k < indices.size(); ++k) out[old + k] = from[indices[k]];
  };
  switch (type) {
    case PhysicalType::kBoolean:
      return gather(bools, dict.bools);
    case PhysicalType::kInt32:
      return gather(i32, dict.i32);
    case PhysicalType::kInt64:
      return gather(i64, dict.i64);
    case PhysicalType::kFloat:
      return gather(f32, dict.f32);
    case PhysicalType::kDouble:
      return gather(f64, dict.f64);
    default:
      return gather(bytes, dict.bytes);
  }
}

RleBitPackedDecoder::RleBitPackedDecoder(ByteSpan data, int bit_width) : data_(data), bit_width_(bit_width) {
  if (bit_width < 0 || bit_width > 32)
    throw InputError("RLE/bit-packed bit width " + std::to_string(bit_width) + " is out of range (0..32)");
}

bool RleBitPackedDecoder::next_run() {
  if (pos_ >= data_.size) return false;
  uint64_t header = read_uleb128(data_, pos_);
  if (header & 1) {  // bit-packed: (groups of 8 values) << 1 | 1
    uint64_t groups = header >> 1;
    uint64_t bytes = groups * static_cast<uint64_t>(bit_width_);
    if (groups > (uint64_t{1} << 31) || bytes > data_.size - pos_) {
      // The last run of a page may be cut short by the writer; keep only the whole values present.
      uint64_t avail = data_.size - pos_;
      if (bit_width_ == 0 || groups > (uint64_t{1} << 31))
        throw InputError("bit-packed run longer than its data");
      packed_left_ = static_cast<int64_t>(avail * 8 / static_cast<uint64_t>(bit_width_));
      bytes = avail;
    } else {
      packed_left_ = static_cast<int64_t>(groups * 8);
    }
    packed_start_ = pos_;
    packed_bit_ = 0;
    pos_ += static_cast<size_t>(bytes);
  } else {  // RLE: count << 1, then the value in ceil(bit_width / 8) bytes
    rle_left_ = static_cast<int64_t>(header >> 1);
    size_t width = static_cast<size_t>((bit_width_ + 7) / 8);
    if (width > data_.size - pos_) throw InputError("RLE run value truncated");
    uint32_t v = 0;
    for (size_t k = 0; k < width; ++k) v |= static_cast<uint32_t>(data_.data[pos_ + k]) << (8 * k);
    pos_ += width;
    rle_value_ = v;
  }
  return true;
}

void RleBitPackedDecoder::decode(uint32_t* out, int64_t n) {
  int64_t done = 0;
  while (done < n) {
    if (rle_left_ > 0) {
      int64_t k = std::min(rle_left_, n - done);
      std::fill(out + done, out + done + k, rle_value_);
      done += k;
      rle_left_ -= k;
    } else if (packed_left_ > 0) {
      int64_t k = std::min(packed_left_, n - done);
      size_t run_bytes = pos_ - packed_start_;
      for (int64_t j = 0; j < k; ++j) {
        out[done + j] =
            static_cast<uint32_t>(unpack(data_.data + packed_start_, run_bytes, packed_bit_, bit_width_));
        packed_bit_ += static_cast<uint64_t>(bit_width_);
      }
      done += k;
      packed_left_ -= k;
    } else if (!next_run()) {
      throw InputError("RLE/bit-packed data ended after " + std::to_string(done) + " of " +
                       std::to_string(n) + " values");
    }
  }
}

int bit_width_for(int64_t max_value) {
  int w = 0;
  while (max_value > 0) {
    ++w;
    max_value >>= 1;
  }
  return w;
}

size_t decode_plain(ByteSpan data, PhysicalType type, int32_t type_length, int64_t n, Values& out) {
  auto need = [&](uint64_t bytes, const char* what) {
    if (bytes > data.size)
      throw InputError("PLAIN " + std::string(what) + " data holds " + std::to_string(data.size) +
                       " bytes, " + std::to_string(n) + " values need " + std::to_string(bytes));
  };
  auto copy = [&](auto& vec, const char* what) {
    using T = typename std::decay_t<decltype(vec)>::value_type;
    uint64_t bytes = static_cast<uint64_t>(n) * sizeof(T);
    need(bytes, what);
    size_t old = vec.size();
    vec.resize(old + static_cast<size_t>(n));
    if (n > 0) std::memcpy(vec.data() + old, data.data, static_cast<size_t>(bytes));
    return static_cast<size_t>(bytes);
  };
  if (n < 0) throw InputError("negative value count");
  switch (type) {
    case PhysicalType::kBoolean: {
      uint64_t bytes = (static_cast<uint64_t>(n) + 7) / 8;
      need(bytes, "BOOLEAN");
      for (int64_t i = 0; i < n; ++i) out.bools.push_back((data.data[i >> 3] >> (i & 7)) & 1);
      return static_cast<size_t>(bytes);
    }
    case PhysicalType::kInt32:
      return copy(out.i32, "INT32");
    case PhysicalType::kInt64:
      return copy(out.i64, "INT64");
    case PhysicalType::kFloat:
      return copy(out.f32, "FLOAT");
    case PhysicalType::kDouble:
      return copy(out.f64, "DOUBLE");
    case PhysicalType::kByteArray: {
      size_t pos = 0;
      for (int64_t i = 0; i < n; ++i) {
        if (data.size - pos < 4)
          throw InputError("PLAIN BYTE_ARRAY data ended at value " + std::to_string(i) + " of " +
                           std::to_string(n));
        uint32_t len;
        std::memcpy(&len, data.data + pos, 4);
        pos += 4;
        if (len > data.size - pos)
          throw InputError("PLAIN BYTE_ARRAY value " + std::to_string(i) + " claims " + std::to_string(len) +
                           " bytes, " + std::to_string(data.size - pos) + " are left");
        out.bytes.emplace_back(reinterpret_cast<const char*>(data.data + pos), len);
        pos += len;
      }
      return pos;
    }
    case PhysicalType::kFixedLenByteArray: {
      if (type_length <= 0) throw InputError("FIXED_LEN_BYTE_ARRAY without a positive type_length");
      uint64_t bytes = static_cast<uint64_t>(n) * static_cast<uint64_t>(type_length);
      need(bytes, "FIXED_LEN_BYTE_ARRAY");
      for (int64_t i = 0; i < n; ++i)
        out.bytes.emplace_back(reinterpret_cast<const char*>(data.data + i * type_length), type_length);
      return static_cast<size_t>(bytes);
    }
    case PhysicalType::kInt96:
      break;
  }
  throw InputError("PLAIN decoding of " + type_name(type) + " is not supported");
}

size_t decode_delta_binary_packed(ByteSpan data, int64_t n, std::vector<int64_t>& out) {
  size_t pos = 0;
  uint64_t block_size = read_uleb128(data, pos);
  uint64_t miniblocks = read_uleb128(data, pos);
  uint64_t total = read_uleb128(data, pos);
  int64_t value = read_zigzag(data, pos);
  // Block sizes past 2^31 values are corrupt (and would overflow the miniblock byte counts below); each
  // miniblock needs a bit-width byte, so more miniblocks than bytes left are corrupt too.
  if (block_size == 0 || block_size % 128 != 0 || block_size > (uint64_t{1} << 31) || miniblocks == 0 ||
      miniblocks > data.size - pos || block_size % miniblocks != 0 || (block_size / miniblocks) % 32 != 0)
    throw InputError("DELTA_BINARY_PACKED header: block size " + std::to_string(block_size) + " with " +
                     std::to_string(miniblocks) + " miniblocks is invalid");
  if (static_cast<int64_t>(total) < n)
    throw InputError("DELTA_BINARY_PACKED holds " + std::to_string(total) + " values, the page needs " +
                     std::to_string(n));
  uint64_t per_mini = block_size / miniblocks;
  int64_t produced = 0;
  if (n > 0) {
    out.push_back(value);
    ++produced;
  }
  std::vector<uint8_t> widths(miniblocks);
  while (produced < n) {
    int64_t min_delta = read_zigzag(data, pos);
    if (miniblocks > data.size - pos) throw InputError("DELTA_BINARY_PACKED block header truncated");
    std::memcpy(widths.data(), data.data + pos, miniblocks);
    pos += miniblocks;
    for (uint64_t m = 0; m < miniblocks && produced < n; ++m) {
      int bw = widths[m];
      if (bw > 64)
        throw InputError("DELTA_BINARY_PACKED miniblock bit width " + std::to_string(bw) + " exceeds 64");
      uint64_t bytes = per_mini * static_cast<uint64_t>(bw) / 8;
      if (bytes > data.size - pos) throw InputError("DELTA_BINARY_PACKED miniblock truncated");
      for (uint64_t j = 0; j < per_mini && produced < n; ++j) {
        uint64_t delta =
            unpack(data.data + pos, static_cast<size_t>(bytes), j * static_cast<uint64_t>(bw), bw);
        value = static_cast<int64_t>(static_cast<uint64_t>(value) + static_cast<uint64_t>(min_delta) + delta);
        out.push_back(value);
        ++produced;
      }
      pos += static_cast<size_t>(bytes);
    }
  }
  return pos;
}

size_t decode_delta_length_byte_array(ByteSpan data, int64_t n, std::vector<std::string_view>& out) {
  std::vector<int64_t> lengths;
  size_t pos = n > 0 ? decode_delta_binary_packed(data, n, lengths) : 0;
  for (int64_t i = 0; i < n; ++i) {
    int64_t len = lengths[static_cast<size_t>(i)];
    if (len < 0 || static_cast<uint64_t>(len) > data.size - pos)
      throw InputError("DELTA_LENGTH_BYTE_ARRAY value " + std::to_string(i) + " has length " +
                       std::to_string(len) + ", " + std::to_string(data.size - pos) + " bytes are left");
    out.emplace_back(reinterpret_cast<const char*>(data.data + pos), static_cast<size_t>(len));
    pos += static_cast<size_t>(len);
  }
  return pos;
}

void decode_delta_byte_array(ByteSpan data, int64_t n, std::vector<uint8_t>& storage,
                             std::vector<std::string_view>& out) {
  if (n == 0) return;
  std::vector<int64_t> prefixes;
  size_t pos = decode_delta_binary_packed(data, n, prefixes);
  std::vector<std::string_view> suffixes;
  decode_delta_length_byte_array({data.data + pos, data.size - pos}, n, suffixes);
  // Sizes first, so the views into storage are taken after its one allocation.
  uint64_t total = 0, prev = 0;
  for (int64_t i = 0; i < n; ++i) {
    int64_t p = prefixes[static_cast<size_t>(i)];
    if (p < 0 || static_cast<uint64_t>(p) > prev)
      throw InputError("DELTA_BYTE_ARRAY value " + std::to_string(i) + ": prefix length " +
                       std::to_string(p) + " exceeds the previous value's " + std::to_string(prev) +
                       " bytes");
    prev = static_cast<uint64_t>(p) + suffixes[static_cast<size_t>(i)].size();
    total += prev;
    if (total > (uint64_t{1} << 32))
      throw InputError("DELTA_BYTE_ARRAY values add up to more than 4 GiB in one page");
  }
  storage.resize(static_cast<size_t>(total));
  size_t at = 0, prev_at = 0, prev_len = 0;
  for (int64_t i = 0; i < n; ++i) {
    size_t p = static_cast<size_t>(prefixes[static_cast<size_t>(i)]);
    std::string_view suffix = suffixes[static_cast<size_t>(i)];
    std::memmove(storage.data() + at, storage.data() + prev_at, p);
    std::memcpy(storage.data() + at + p, suffix.data(), suffix.size());
    prev_at = at, prev_len = p + suffix.size();
    at += prev_len;
  }
  at = 0;
  for (int64_t i = 0; i < n; ++i) {
    size_t len =
        static_cast<size_t>(prefixes[static_cast<size_t>(i)]) + suffixes[static_cast<size_t>(i)].size();
    out.emplace_back(reinterpret_cast<const char*>(storage.data() + at), len);
    at += len;
  }
}

void decode_byte_stream_split(ByteSpan data, int64_t n, int width, uint8_t* out) {
  uint64_t bytes = static_cast<uint64_t>(n) * static_cast<uint64_t>(width);
  if (bytes > data.size)
    throw InputError("BYTE_STREAM_SPLIT data holds " + std::to_string(data.size) + " bytes, " +
                     std::to_string(n) + " values need " + std::to_string(bytes));
  for (int64_t i = 0; i < n; ++i)
    for (int k = 0; k < width; ++k)
      out[i * width + k] =
          data.data[static_cast<size_t>(k) * static_cast<size_t>(n) + static_cast<size_t>(i)];
}

}  // namespace tcpp::datasets::parquet
