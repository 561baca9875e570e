// Thrift compact protocol decoding (the encoding of Parquet's footer and page headers), written from the
// published protocol description; no Thrift library. Every read is bounds-checked.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tcpp::datasets::parquet {

/// Compact protocol type codes, as they appear in field headers and list headers.
enum class ThriftType : uint8_t {
  kStop = 0,
  kBoolTrue = 1,
  kBoolFalse = 2,
  kByte = 3,
  kI16 = 4,
  kI32 = 5,
  kI64 = 6,
  kDouble = 7,
  kBinary = 8,
  kList = 9,
  kSet = 10,
  kMap = 11,
  kStruct = 12,
};

/// Thrown for malformed Thrift data; the Parquet reader rethrows it as InputError naming the file and
/// what it was reading (footer, page header of row group R column C).
class ThriftError : public std::exception {
 public:
  explicit ThriftError(std::string message) : message_(std::move(message)) {}
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  std::string message_;
};

/// A cursor over compact-protocol bytes. Structs are read as: begin_struct(); while (next_field(&id, &type))
/// { switch (id) { ... default: skip(type); } } end_struct(). Nesting is limited (a hostile file cannot
/// exhaust the stack) and every length is checked against the bytes left.
class CompactReader {
 public:
  CompactReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  size_t position() const { return pos_; }

  void begin_struct();
  void end_struct();
  /// Read the next field header; false at the struct's stop byte.
  bool next_field(int16_t* id, ThriftType* type);
  /// A bool field's value is carried by its header type (kBoolTrue / kBoolFalse).
  static bool bool_value(ThriftType type) { return type == ThriftType::kBoolTrue; }

  int8_t read_i8() { return static_cast<int8_t>(read_byte()); }
  int32_t read_i32();
  int64_t read_i64();
  double read_double();
  std::string read_string();
  /// List header: element type and count (the count is checked against the bytes left).
  void read_list_header(ThriftType* element_type, int64_t* size);
  /// A bool inside a list is one byte.
  bool read_list_bool();

  /// Skip a value of the given type (structs, lists, maps recursively).
  void skip(ThriftType type);

 private:
  uint64_t read_varint();
  uint8_t read_byte();
  void need(size_t n) const;

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  int depth_ = 0;
  int16_t last_field_ = 0;
  // Last field id of each enclosing struct (compact protocol field ids are deltas from the previous one).
  int16_t saved_field_[64] = {};
};

}  // namespace tcpp::datasets::parquet
