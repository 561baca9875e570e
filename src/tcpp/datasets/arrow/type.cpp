// Arrow logical types, fields and schemas (as pyarrow's DataType / Field / Schema).
#include "tcpp/datasets/arrow/type.h"

#include "tcpp/core/check.h"

namespace tcpp::datasets::arrow {

int DataType::byte_width() const {
  switch (id) {
    case TypeId::kInt8:
    case TypeId::kUInt8:
      return 1;
    case TypeId::kInt16:
    case TypeId::kUInt16:
    case TypeId::kFloat16:
      return 2;
    case TypeId::kInt32:
    case TypeId::kUInt32:
    case TypeId::kFloat32:
    case TypeId::kDate32:
    case TypeId::kTime32:
      return 4;
    case TypeId::kInt64:
    case TypeId::kUInt64:
    case TypeId::kFloat64:
    case TypeId::kDate64:
    case TypeId::kTime64:
    case TypeId::kTimestamp:
    case TypeId::kDuration:
      return 8;
    default:
      return 0;
  }
}

bool DataType::is_integer() const {
  switch (id) {
    case TypeId::kInt8:
    case TypeId::kInt16:
    case TypeId::kInt32:
    case TypeId::kInt64:
    case TypeId::kUInt8:
    case TypeId::kUInt16:
    case TypeId::kUInt32:
    case TypeId::kUInt64:
      return true;
    default:
      return false;
  }
}

bool DataType::is_floating() const {
  return id == TypeId::kFloat16 || id == TypeId::kFloat32 || id == TypeId::kFloat64;
}

bool DataType::is_string_like() const {
  return id == TypeId::kUtf8 || id == TypeId::kLargeUtf8 || id == TypeId::kBinary || id == TypeId::kLargeBinary;
}

bool DataType::is_temporal() const {
  switch (id) {
    case TypeId::kDate32:
    case TypeId::kDate64:
    case TypeId::kTime32:
    case TypeId::kTime64:
    case TypeId::kTimestamp:
    case TypeId::kDuration:
      return true;
    default:
      return false;
  }
}

const char* time_unit_name(TimeUnit unit) {
  switch (unit) {
    case TimeUnit::kSecond: return "s";
    case TimeUnit::kMilli: return "ms";
    case TimeUnit::kMicro: return "us";
    case TimeUnit::kNano: return "ns";
  }
  return "?";
}

const DataType& DataType::value_type() const {
  TCPP_CHECK(is_list() && children.size() == 1, "value_type() of non-list type ", to_string());
  return children[0].type;
}

std::string DataType::to_string() const {
  switch (id) {
    case TypeId::kNull: return "null";
    case TypeId::kBool: return "bool";
    case TypeId::kInt8: return "int8";
    case TypeId::kInt16: return "int16";
    case TypeId::kInt32: return "int32";
    case TypeId::kInt64: return "int64";
    case TypeId::kUInt8: return "uint8";
    case TypeId::kUInt16: return "uint16";
    case TypeId::kUInt32: return "uint32";
    case TypeId::kUInt64: return "uint64";
    case TypeId::kFloat16: return "halffloat";
    case TypeId::kFloat32: return "float";
    case TypeId::kFloat64: return "double";
    case TypeId::kUtf8: return "string";
    case TypeId::kLargeUtf8: return "large_string";
    case TypeId::kBinary: return "binary";
    case TypeId::kLargeBinary: return "large_binary";
    case TypeId::kList:
    case TypeId::kLargeList: {
      std::string inner = children.empty() ? "?" : children[0].name + ": " + children[0].type.to_string();
      return std::string(id == TypeId::kList ? "list<" : "large_list<") + inner + ">";
    }
    case TypeId::kDate32: return "date32[day]";
    case TypeId::kDate64: return "date64[ms]";
    case TypeId::kTime32: return std::string("time32[") + time_unit_name(unit) + "]";
    case TypeId::kTime64: return std::string("time64[") + time_unit_name(unit) + "]";
    case TypeId::kTimestamp:
      return std::string("timestamp[") + time_unit_name(unit) + (timezone.empty() ? "" : ", tz=" + timezone) + "]";
    case TypeId::kDuration: return std::string("duration[") + time_unit_name(unit) + "]";
    case TypeId::kStruct: {
      std::string s = "struct<";
      for (size_t i = 0; i < children.size(); ++i) {
        if (i) s += ", ";
        s += children[i].name + ": " + children[i].type.to_string();
      }
      return s + ">";
    }
  }
  return "?";
}

bool operator==(const DataType& a, const DataType& b) {
  if (a.id != b.id || a.children.size() != b.children.size()) return false;
  if (a.is_temporal() && (a.unit != b.unit || a.timezone != b.timezone)) return false;
  for (size_t i = 0; i < a.children.size(); ++i) {
    // List item names ("item" vs "element") do not change the type, as in pyarrow.
    if (a.id == TypeId::kStruct && a.children[i].name != b.children[i].name) return false;
    if (a.children[i].type != b.children[i].type) return false;
  }
  return true;
}

int Schema::field_index(const std::string& name) const {
  for (size_t i = 0; i < fields.size(); ++i)
    if (fields[i].name == name) return static_cast<int>(i);
  return -1;
}

std::optional<std::string> Schema::metadata_value(const std::string& key) const {
  for (const auto& [k, v] : metadata)
    if (k == key) return v;
  return std::nullopt;
}

std::string Schema::to_string() const {
  std::string s;
  for (const auto& f : fields) {
    s += f.name + ": " + f.type.to_string();
    if (!f.nullable) s += " not null";
    s += "\n";
  }
  return s;
}

namespace {
DataType simple(TypeId id) {
  DataType t;
  t.id = id;
  return t;
}
}  // namespace

DataType null() { return simple(TypeId::kNull); }
DataType bool_() { return simple(TypeId::kBool); }
DataType int8() { return simple(TypeId::kInt8); }
DataType int16() { return simple(TypeId::kInt16); }
DataType int32() { return simple(TypeId::kInt32); }
DataType int64() { return simple(TypeId::kInt64); }
DataType uint8() { return simple(TypeId::kUInt8); }
DataType uint16() { return simple(TypeId::kUInt16); }
DataType uint32() { return simple(TypeId::kUInt32); }
DataType uint64() { return simple(TypeId::kUInt64); }
DataType float16() { return simple(TypeId::kFloat16); }
DataType float32() { return simple(TypeId::kFloat32); }
DataType float64() { return simple(TypeId::kFloat64); }
DataType utf8() { return simple(TypeId::kUtf8); }
DataType large_utf8() { return simple(TypeId::kLargeUtf8); }
DataType binary() { return simple(TypeId::kBinary); }
DataType large_binary() { return simple(TypeId::kLargeBinary); }

DataType list(DataType value_type) {
  DataType t = simple(TypeId::kList);
  t.children.push_back(field("item", std::move(value_type)));
  return t;
}

DataType large_list(DataType value_type) {
  DataType t = simple(TypeId::kLargeList);
  t.children.push_back(field("item", std::move(value_type)));
  return t;
}

DataType struct_(std::vector<Field> fields) {
  DataType t = simple(TypeId::kStruct);
  t.children = std::move(fields);
  return t;
}

DataType date32() { return simple(TypeId::kDate32); }
DataType date64() { return simple(TypeId::kDate64); }

namespace {
DataType with_unit(TypeId id, TimeUnit unit) {
  DataType t = simple(id);
  t.unit = unit;
  return t;
}
}  // namespace

DataType time32(TimeUnit unit) {
  TCPP_CHECK(unit == TimeUnit::kSecond || unit == TimeUnit::kMilli, "time32 takes s or ms, not ",
             time_unit_name(unit));
  return with_unit(TypeId::kTime32, unit);
}

DataType time64(TimeUnit unit) {
  TCPP_CHECK(unit == TimeUnit::kMicro || unit == TimeUnit::kNano, "time64 takes us or ns, not ", time_unit_name(unit));
  return with_unit(TypeId::kTime64, unit);
}

DataType timestamp(TimeUnit unit, std::string timezone) {
  DataType t = with_unit(TypeId::kTimestamp, unit);
  t.timezone = std::move(timezone);
  return t;
}

DataType duration(TimeUnit unit) { return with_unit(TypeId::kDuration, unit); }

Field field(std::string name, DataType type, bool nullable) {
  Field f;
  f.name = std::move(name);
  f.type = std::move(type);
  f.nullable = nullable;
  return f;
}

}  // namespace tcpp::datasets::arrow
