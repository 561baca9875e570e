// Arrow logical types, fields and schemas: the subset of the Arrow columnar format trainer.cpp stores.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tcpp::datasets::arrow {

/// The physical types we read and write (Arrow's names; "string" is utf8).
enum class TypeId {
  kNull,  // every value null, no buffers (HF Value("null"))
  kBool,
  kInt8,
  kInt16,
  kInt32,
  kInt64,
  kUInt8,
  kUInt16,
  kUInt32,
  kUInt64,
  kFloat16,
  kFloat32,
  kFloat64,
  kUtf8,
  kLargeUtf8,
  kBinary,
  kLargeBinary,
  kList,
  kLargeList,
  kStruct,
  // Dates and times (pyarrow's temporal types): 32- or 64-bit integers counting units since the epoch (time of day
  // for kTime32/kTime64, a length of time for kDuration), read and written as those integers.
  kDate32,     // days
  kDate64,     // milliseconds
  kTime32,     // seconds or milliseconds since midnight
  kTime64,     // microseconds or nanoseconds since midnight
  kTimestamp,  // DataType::unit since 1970-01-01T00:00:00 UTC (with a timezone or naive)
  kDuration,
};

/// The unit of kTime32 / kTime64 / kTimestamp / kDuration values.
enum class TimeUnit { kSecond, kMilli, kMicro, kNano };

/// Ordered key/value pairs (Arrow's custom_metadata; HF stores its "huggingface" JSON here).
using KeyValueMetadata = std::vector<std::pair<std::string, std::string>>;

struct Field;

/// A type: an id plus, for list (one child named "item") and struct (one child per member), the children.
struct DataType {
  TypeId id = TypeId::kInt64;
  std::vector<Field> children;
  /// kTime32, kTime64, kTimestamp, kDuration: the unit of the stored integers.
  TimeUnit unit = TimeUnit::kSecond;
  /// kTimestamp: the timezone name ("UTC", "+01:00", "Europe/Paris"), or "" for a naive timestamp.
  std::string timezone;

  /// Byte width of one value for fixed-width numeric types (bool: 0, meaning bit-packed; others: 0).
  int byte_width() const;
  bool is_integer() const;
  bool is_floating() const;
  bool is_fixed_width() const { return byte_width() > 0; }
  bool is_string_like() const;  // utf8, large_utf8, binary, large_binary
  bool is_temporal() const;     // date32/64, time32/64, timestamp, duration
  bool is_list() const { return id == TypeId::kList || id == TypeId::kLargeList; }
  /// The element type of a list.
  const DataType& value_type() const;
  /// Arrow's spelling: "int64", "string", "large_list<item: int32>", "struct<a: int64, b: string>",
  /// "timestamp[ns, tz=UTC]", "date32[day]".
  std::string to_string() const;

  friend bool operator==(const DataType& a, const DataType& b);
  friend bool operator!=(const DataType& a, const DataType& b) { return !(a == b); }
};

struct Field {
  std::string name;
  DataType type;
  bool nullable = true;
  KeyValueMetadata metadata;

  friend bool operator==(const Field& a, const Field& b) {
    return a.name == b.name && a.type == b.type && a.nullable == b.nullable;
  }
  friend bool operator!=(const Field& a, const Field& b) { return !(a == b); }
};

struct Schema {
  std::vector<Field> fields;
  KeyValueMetadata metadata;

  /// Index of the field called name, or -1.
  int field_index(const std::string& name) const;
  /// The value stored under key in the schema metadata, if any.
  std::optional<std::string> metadata_value(const std::string& key) const;
  /// One line per field: "name: type" (plus " not null" when not nullable).
  std::string to_string() const;
};

// Type factories, named as pyarrow's (pa.int64(), pa.list_(...), pa.struct(...)).
DataType null();
DataType bool_();
DataType int8();
DataType int16();
DataType int32();
DataType int64();
DataType uint8();
DataType uint16();
DataType uint32();
DataType uint64();
DataType float16();
DataType float32();
DataType float64();
DataType utf8();
DataType large_utf8();
DataType binary();
DataType large_binary();
DataType list(DataType value_type);
DataType large_list(DataType value_type);
DataType struct_(std::vector<Field> fields);
DataType date32();
DataType date64();
/// unit kSecond or kMilli.
DataType time32(TimeUnit unit);
/// unit kMicro or kNano.
DataType time64(TimeUnit unit);
DataType timestamp(TimeUnit unit, std::string timezone = "");
DataType duration(TimeUnit unit);
/// "s", "ms", "us", "ns" (pyarrow's unit names).
const char* time_unit_name(TimeUnit unit);
Field field(std::string name, DataType type, bool nullable = true);

}  // namespace tcpp::datasets::arrow
