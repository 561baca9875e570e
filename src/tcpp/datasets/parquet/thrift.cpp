// Thrift compact protocol decoding: zigzag varints, delta-coded field ids, nibble-packed list headers.
#include "tcpp/datasets/parquet/thrift.h"

#include <cstring>

namespace tcpp::datasets::parquet {

namespace {
constexpr int kMaxDepth = 64;  // deeper than any Parquet structure; a hostile file stops here
}

void CompactReader::need(size_t n) const {
  if (n > size_ - pos_)
    throw ThriftError("truncated Thrift data: needed " + std::to_string(n) + " more byte(s) at offset " +
                      std::to_string(pos_) + " of " + std::to_string(size_));
}

uint8_t CompactReader::read_byte() {
  need(1);
  return data_[pos_++];
}

uint64_t CompactReader::read_varint() {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    uint8_t b = read_byte();
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
  throw ThriftError("malformed varint (more than 10 bytes) at offset " + std::to_string(pos_));
}

int64_t CompactReader::read_i64() {
  uint64_t n = read_varint();
  return static_cast<int64_t>((n >> 1) ^ (~(n & 1) + 1));  // zigzag
}

int32_t CompactReader::read_i32() {
  int64_t v = read_i64();
  if (v < INT32_MIN || v > INT32_MAX) throw ThriftError("i32 value " + std::to_string(v) + " out of range");
  return static_cast<int32_t>(v);
}

double CompactReader::read_double() {
  need(8);
  double d;
  std::memcpy(&d, data_ + pos_, 8);  // little-endian, as the platforms we build for
  pos_ += 8;
  return d;
}

std::string CompactReader::read_string() {
  uint64_t n = read_varint();
  need(n);
  std::string s(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(n));
  pos_ += static_cast<size_t>(n);
  return s;
}

void CompactReader::begin_struct() {
  if (depth_ >= kMaxDepth) throw ThriftError("structures nested deeper than " + std::to_string(kMaxDepth));
  saved_field_[depth_++] = last_field_;
  last_field_ = 0;
}

void CompactReader::end_struct() { last_field_ = saved_field_[--depth_]; }

bool CompactReader::next_field(int16_t* id, ThriftType* type) {
  uint8_t b = read_byte();
  uint8_t t = b & 0x0f;
  if (t == 0) return false;
  if (t > static_cast<uint8_t>(ThriftType::kStruct))
    throw ThriftError("unknown Thrift field type " + std::to_string(t) + " at offset " +
                      std::to_string(pos_ - 1));
  int delta = b >> 4;
  if (delta != 0) {
    *id = static_cast<int16_t>(last_field_ + delta);
  } else {
    int64_t v = read_i64();
    if (v < INT16_MIN || v > INT16_MAX) throw ThriftError("field id " + std::to_string(v) + " out of range");
    *id = static_cast<int16_t>(v);
  }
  last_field_ = *id;
  *type = static_cast<ThriftType>(t);
  return true;
}

void CompactReader::read_list_header(ThriftType* element_type, int64_t* size) {
  uint8_t b = read_byte();
  uint64_t n = b >> 4;
  if (n == 15) n = read_varint();
  uint8_t t = b & 0x0f;
  if (t == 0 || t > static_cast<uint8_t>(ThriftType::kStruct))
    throw ThriftError("unknown Thrift list element type " + std::to_string(t));
  // Every element takes at least one byte, so a count above the bytes left is corrupt (and would make us
  // allocate for nothing).
  if (n > size_ - pos_)
    throw ThriftError("list of " + std::to_string(n) + " elements exceeds the " +
                      std::to_string(size_ - pos_) + " bytes left");
  *element_type = static_cast<ThriftType>(t);
  *size = static_cast<int64_t>(n);
}

bool CompactReader::read_list_bool() { return read_byte() == 1; }

void CompactReader::skip(ThriftType type) {
  switch (type) {
    case ThriftType::kBoolTrue:
    case ThriftType::kBoolFalse:
      return;  // the value is in the field header
    case ThriftType::kByte:
      read_byte();
      return;
    case ThriftType::kI16:
    case ThriftType::kI32:
    case ThriftType::kI64:
      read_varint();
      return;
    case ThriftType::kDouble:
      need(8);
      pos_ += 8;
      return;
    case ThriftType::kBinary: {
      uint64_t n = read_varint();
      need(n);
      pos_ += static_cast<size_t>(n);
      return;
    }
    case ThriftType::kList:
    case ThriftType::kSet: {
      ThriftType et;
      int64_t n;
      read_list_header(&et, &n);
      if (depth_ >= kMaxDepth)
        throw ThriftError("structures nested deeper than " + std::to_string(kMaxDepth));
      ++depth_;
      for (int64_t i = 0; i < n; ++i) {
        if (et == ThriftType::kBoolTrue || et == ThriftType::kBoolFalse)
          read_byte();
        else
          skip(et);
      }
      --depth_;
      return;
    }
    case ThriftType::kMap: {
      uint64_t n = read_varint();
      if (n == 0) return;
      if (n > size_ - pos_)
        throw ThriftError("map of " + std::to_string(n) + " entries exceeds the bytes left");
      uint8_t kv = read_byte();
      auto kt = static_cast<ThriftType>(kv >> 4), vt = static_cast<ThriftType>(kv & 0x0f);
      if (depth_ >= kMaxDepth)
        throw ThriftError("structures nested deeper than " + std::to_string(kMaxDepth));
      ++depth_;
      for (uint64_t i = 0; i < n; ++i) {
        for (ThriftType t : {kt, vt}) {
          if (t == ThriftType::kBoolTrue || t == ThriftType::kBoolFalse)
            read_byte();
          else
            skip(t);
        }
      }
      --depth_;
      return;
    }
    case ThriftType::kStruct: {
      begin_struct();
      int16_t id;
      ThriftType t;
      while (next_field(&id, &t)) skip(t);
      end_struct();
      return;
    }
    case ThriftType::kStop:
      break;
  }
  throw ThriftError("cannot skip Thrift type " + std::to_string(static_cast<int>(type)));
}

}  // namespace tcpp::datasets::parquet
