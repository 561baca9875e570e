// Parquet file reader: footer, schema -> Arrow columns, and column chunks decoded page by page
// (dictionary, data page v1 and v2; every codec but LZO).
#include "tcpp/datasets/parquet/file_reader.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>

#include "tcpp/core/error.h"
#include "tcpp/core/logging.h"
#include "tcpp/core/strings.h"
#include "tcpp/datasets/arrow/ipc.h"
#include "tcpp/datasets/arrow/temporal.h"
#include "tcpp/datasets/builders/utf8.h"
#include "tcpp/datasets/parquet/compression.h"
#include "tcpp/datasets/parquet/thrift.h"

namespace tcpp::datasets::parquet {
namespace {

constexpr char kMagic[] = "PAR1";
constexpr char kEncryptedMagic[] = "PARE";
constexpr int kMaxSchemaDepth = 64;
// Levels of one page are decoded into memory; a hostile header must not make us allocate gigabytes for a few
// bytes of RLE runs.
constexpr int64_t kMaxPageValues = int64_t{1} << 26;

// s in double quotes, each byte that is not part of valid UTF-8 written as \xNN (messages may end up in JSON logs).
std::string quote_name(const std::string& s) {
  std::string out = "\"";
  std::string_view rest = s;
  for (size_t bad; (bad = builders::find_invalid_utf8(rest)) != std::string_view::npos; rest.remove_prefix(bad + 1)) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned char>(rest[bad]));
    out.append(rest.substr(0, bad)).append(hex);
  }
  return out.append(rest) + "\"";
}

bool is_string_annotated(const SchemaElement& e) {
  if (e.logical_type == kLogicalString || e.logical_type == kLogicalEnum || e.logical_type == kLogicalJson)
    return true;
  return e.converted_type && (*e.converted_type == kConvertedUtf8 || *e.converted_type == kConvertedEnum ||
                              *e.converted_type == kConvertedJson);
}

bool is_decimal(const SchemaElement& e) {
  return e.logical_type == kLogicalDecimal || (e.converted_type && *e.converted_type == kConvertedDecimal);
}

// DATE, TIME and TIMESTAMP (logical or legacy converted types) as pyarrow reads them without the file's
// ARROW:schema: date32, time32[ms] / time64[us|ns], timestamp[unit] or, adjusted to UTC, timestamp[unit, tz=UTC];
// nullopt for other leaves. The physical type must be the one the annotation is defined on.
std::optional<arrow::DataType> temporal_leaf_type(const SchemaElement& e, const std::string& where) {
  using arrow::TimeUnit;
  std::optional<arrow::DataType> t;
  PhysicalType physical = PhysicalType::kInt64;
  auto unit_of = [&](int16_t u) {
    if (u < 1 || u > 3) throw InputError(where, "unknown TIME/TIMESTAMP unit " + std::to_string(u));
    return u == 1 ? TimeUnit::kMilli : u == 2 ? TimeUnit::kMicro : TimeUnit::kNano;
  };
  const int32_t converted = e.converted_type.value_or(-1);
  if (e.logical_type == kLogicalDate || (e.logical_type == 0 && converted == kConvertedDate)) {
    t = arrow::date32(), physical = PhysicalType::kInt32;
  } else if (e.logical_type == kLogicalTime) {
    const TimeUnit unit = unit_of(e.time_unit);
    t = unit == TimeUnit::kMilli ? arrow::time32(unit) : arrow::time64(unit);
    if (unit == TimeUnit::kMilli) physical = PhysicalType::kInt32;
  } else if (e.logical_type == 0 && converted == kConvertedTimeMillis) {
    t = arrow::time32(TimeUnit::kMilli), physical = PhysicalType::kInt32;
  } else if (e.logical_type == 0 && converted == kConvertedTimeMicros) {
    t = arrow::time64(TimeUnit::kMicro);
  } else if (e.logical_type == kLogicalTimestamp) {
    t = arrow::timestamp(unit_of(e.time_unit), e.adjusted_to_utc ? "UTC" : "");
  } else if (e.logical_type == 0 &&
             (converted == kConvertedTimestampMillis || converted == kConvertedTimestampMicros)) {
    t = arrow::timestamp(converted == kConvertedTimestampMillis ? TimeUnit::kMilli : TimeUnit::kMicro, "UTC");
  }
  if (t && *e.type != physical)
    throw InputError(where, "a " + t->to_string() + " column must be stored as " + type_name(physical) + ", not " +
                                type_name(*e.type));
  return t;
}

// The Arrow type `written` (from the file's ARROW:schema) for a leaf the parquet annotations typed `derived`, and the
// factor from the stored integers to its unit, as pyarrow casts them: a timestamp's timezone name and unit (pyarrow
// stores timestamp[s] in milliseconds), date64 from DATE days, a time in other units, the types parquet cannot
// annotate over plain integers (timestamp / duration / date64 / time64 over INT64, date32 / time32 over INT32:
// arrow-rs and pyarrow store them raw), large strings and binaries. nullopt for anything else.
struct Restored {
  arrow::DataType type;
  int64_t multiply = 1, divide = 1;
};

std::optional<Restored> restorable(const arrow::DataType& derived, const arrow::DataType& written) {
  using arrow::TypeId;
  const TypeId d = derived.id, w = written.id;
  auto rescaled = [&](int64_t from, int64_t to) {
    return Restored{written, to > from ? to / from : 1, from > to ? from / to : 1};
  };
  if (derived == written) return Restored{written};
  if (d == TypeId::kTimestamp && w == TypeId::kTimestamp && derived.timezone.empty() == written.timezone.empty())
    return rescaled(arrow::units_per_second(derived.unit), arrow::units_per_second(written.unit));
  if ((d == TypeId::kTime32 || d == TypeId::kTime64) && (w == TypeId::kTime32 || w == TypeId::kTime64))
    return rescaled(arrow::units_per_second(derived.unit), arrow::units_per_second(written.unit));
  if (d == TypeId::kDate32 && w == TypeId::kDate64) return Restored{written, 86400000, 1};
  if (d == TypeId::kInt64 && (w == TypeId::kTimestamp || w == TypeId::kDuration || w == TypeId::kDate64 ||
                              w == TypeId::kTime64))
    return Restored{written};
  if (d == TypeId::kInt32 && (w == TypeId::kDate32 || w == TypeId::kTime32)) return Restored{written};
  if ((d == TypeId::kUtf8 && w == TypeId::kLargeUtf8) || (d == TypeId::kBinary && w == TypeId::kLargeBinary))
    return Restored{written};
  return std::nullopt;
}

// Adopt the ARROW:schema's types where restorable() allows, through lists and structs; the node keeps its type
// (and its children theirs) where not.
void restore_node(FieldNode& n, const arrow::DataType& written) {
  using arrow::TypeId;
  if (n.kind == FieldNode::Kind::kLeaf) {
    if (auto r = restorable(n.type, written)) n.type = r->type, n.multiply = r->multiply, n.divide = r->divide;
  } else if (n.kind == FieldNode::Kind::kList && written.is_list()) {
    restore_node(n.children[0], written.value_type());
    n.type = written.id == TypeId::kLargeList ? arrow::large_list(n.children[0].type) : arrow::list(n.children[0].type);
  } else if (n.kind == FieldNode::Kind::kStruct && written.id == TypeId::kStruct) {
    std::vector<arrow::Field> members;
    for (auto& c : n.children) {
      for (const auto& f : written.children)
        if (f.name == c.name) restore_node(c, f.type);
      members.push_back(arrow::field(c.name, c.type));
    }
    n.type = arrow::struct_(std::move(members));
  }
}

// pyarrow and arrow-rs record the Arrow schema a file was written from (key ARROW:schema: a base64 IPC schema
// message) and read the types back from it (restorable()). A record that does not parse is ignored with a warning
// (the annotations still type every column).
void restore_arrow_types(std::vector<FieldNode>& fields,
                         const std::vector<std::pair<std::string, std::string>>& key_value_metadata,
                         const std::string& path) {
  for (const auto& [key, value] : key_value_metadata) {
    if (key != "ARROW:schema") continue;
    arrow::Schema written;
    try {
      const std::optional<std::string> bytes = base64_decode(value);
      if (!bytes) throw InputError("not base64");
      auto owned = std::make_shared<std::string>(*bytes);
      written = arrow::read_ipc_buffer(owned, reinterpret_cast<const uint8_t*>(owned->data()),
                                       static_cast<int64_t>(owned->size()), path + ": ARROW:schema")
                    .schema;
    } catch (const InputError& e) {
      log_warning(path + ": its ARROW:schema record is not read (" + e.what() + "); columns keep the types of their "
                         "parquet annotations");
      return;
    }
    for (auto& n : fields)
      for (const auto& f : written.fields)
        if (f.name == n.name) restore_node(n, f.type);
    return;
  }
}

// The Arrow type of a primitive leaf, as pyarrow reads it (integer widths and signedness from the
// annotations; STRING/ENUM/JSON byte arrays as utf8, others as binary; dates, times and timestamps as
// temporal_leaf_type says).
arrow::DataType leaf_arrow_type(const SchemaElement& e, const std::string& where) {
  if (auto t = temporal_leaf_type(e, where)) return *t;
  auto unsupported = [&](const std::string& what) {
    return InputError(where, what +
                                 " is not supported (supported: BOOLEAN, INT32, INT64, FLOAT, DOUBLE, "
                                 "BYTE_ARRAY, FIXED_LEN_BYTE_ARRAY)");
  };
  if (is_decimal(e)) throw unsupported("the DECIMAL logical type");
  if (e.logical_type == kLogicalUnknown) return arrow::null();
  int bits = 0;
  bool is_signed = true;
  if (e.logical_type == kLogicalInteger) {
    bits = e.int_bit_width;
    is_signed = e.int_signed;
  } else if (e.converted_type) {
    switch (*e.converted_type) {
      case kConvertedInt8:
        bits = 8;
        break;
      case kConvertedInt16:
        bits = 16;
        break;
      case kConvertedUint8:
        bits = 8, is_signed = false;
        break;
      case kConvertedUint16:
        bits = 16, is_signed = false;
        break;
      case kConvertedUint32:
        bits = 32, is_signed = false;
        break;
      case kConvertedUint64:
        bits = 64, is_signed = false;
        break;
      default:
        break;
    }
  }
  switch (*e.type) {
    case PhysicalType::kBoolean:
      return arrow::bool_();
    case PhysicalType::kInt32:
      if (bits == 8) return is_signed ? arrow::int8() : arrow::uint8();
      if (bits == 16) return is_signed ? arrow::int16() : arrow::uint16();
      return is_signed ? arrow::int32() : arrow::uint32();
    case PhysicalType::kInt64:
      return is_signed ? arrow::int64() : arrow::uint64();
    case PhysicalType::kFloat:
      return arrow::float32();
    case PhysicalType::kDouble:
      return arrow::float64();
    case PhysicalType::kByteArray:
      return is_string_annotated(e) ? arrow::utf8() : arrow::binary();
    case PhysicalType::kFixedLenByteArray:
      if (e.logical_type == kLogicalFloat16 && e.type_length == 2) return arrow::float16();
      return arrow::binary();
    case PhysicalType::kInt96:
      throw unsupported("physical type INT96 (legacy timestamps)");
  }
  throw unsupported("physical type " + type_name(*e.type));
}

// Levels of a page: n values of bit width for max_level; v1 pages prefix a 4-byte length, v2 pages do not.
void decode_levels(ByteSpan data, int max_level, int64_t n, std::vector<uint8_t>& out) {
  // In chunks, so a page's levels never need a second full-size buffer.
  uint32_t tmp[4096];
  RleBitPackedDecoder decoder(data, bit_width_for(max_level));
  for (int64_t done = 0; done < n;) {
    int64_t k = std::min<int64_t>(n - done, 4096);
    decoder.decode(tmp, k);
    for (int64_t j = 0; j < k; ++j) {
      if (tmp[j] > static_cast<uint32_t>(max_level))
        throw InputError("level " + std::to_string(tmp[j]) + " exceeds the column's maximum " +
                         std::to_string(max_level));
      out.push_back(static_cast<uint8_t>(tmp[j]));
    }
    done += k;
  }
}

size_t decode_v1_levels(ByteSpan data, Encoding encoding, int max_level, int64_t n, std::vector<uint8_t>& out,
                        const char* what) {
  if (encoding != Encoding::kRle)
    throw InputError(std::string(what) + " level encoding " + encoding_name(encoding) +
                     " is not supported (expected RLE)");
  if (data.size < 4) throw InputError(std::string(what) + " levels: page too short for their length prefix");
  uint32_t len;
  std::memcpy(&len, data.data, 4);
  if (len > data.size - 4)
    throw InputError(std::string(what) + " levels claim " + std::to_string(len) + " bytes, the page has " +
                     std::to_string(data.size - 4) + " left");
  decode_levels({data.data + 4, len}, max_level, n, out);
  return 4 + static_cast<size_t>(len);
}

// Decode the n non-null values of a data page body into out.
// storage receives buffers that decoded BYTE_ARRAY views point into (DELTA_BYTE_ARRAY rebuilds its values).
void decode_values(ByteSpan data, Encoding encoding, const SchemaElement& leaf, int64_t n,
                   const Values* dictionary, Values& out, std::vector<std::vector<uint8_t>>& storage) {
  switch (encoding) {
    case Encoding::kPlain:
      decode_plain(data, *leaf.type, leaf.type_length, n, out);
      return;
    case Encoding::kPlainDictionary:
    case Encoding::kRleDictionary: {
      if (!dictionary)
        throw InputError(encoding_name(encoding) + " data page without a dictionary page before it");
      if (n == 0) return;
      if (data.size < 1) throw InputError("dictionary-encoded page has no bit-width byte");
      std::vector<uint32_t> indices(static_cast<size_t>(n));
      RleBitPackedDecoder({data.data + 1, data.size - 1}, data.data[0]).decode(indices.data(), n);
      out.append_from_dictionary(*dictionary, indices);
      return;
    }
    case Encoding::kRle: {
      if (*leaf.type != PhysicalType::kBoolean) break;
      if (data.size < 4) throw InputError("RLE BOOLEAN values: page too short for their length prefix");
      uint32_t len;
      std::memcpy(&len, data.data, 4);
      if (len > data.size - 4) throw InputError("RLE BOOLEAN values claim more bytes than the page has");
      std::vector<uint32_t> bits(static_cast<size_t>(n));
      RleBitPackedDecoder({data.data + 4, len}, 1).decode(bits.data(), n);
      for (uint32_t b : bits) out.bools.push_back(static_cast<uint8_t>(b));
      return;
    }
    case Encoding::kDeltaBinaryPacked: {
      if (*leaf.type != PhysicalType::kInt32 && *leaf.type != PhysicalType::kInt64) break;
      std::vector<int64_t> v;
      decode_delta_binary_packed(data, n, v);
      if (*leaf.type == PhysicalType::kInt64)
        out.i64.insert(out.i64.end(), v.begin(), v.end());
      else
        for (int64_t x : v) out.i32.push_back(static_cast<int32_t>(x));
      return;
    }
    case Encoding::kDeltaLengthByteArray:
      if (*leaf.type != PhysicalType::kByteArray) break;
      decode_delta_length_byte_array(data, n, out.bytes);
      return;
    case Encoding::kDeltaByteArray:
      if (*leaf.type != PhysicalType::kByteArray && *leaf.type != PhysicalType::kFixedLenByteArray) break;
      storage.emplace_back();
      decode_delta_byte_array(data, n, storage.back(), out.bytes);
      if (*leaf.type == PhysicalType::kFixedLenByteArray)
        for (size_t i = out.bytes.size() - static_cast<size_t>(n); i < out.bytes.size(); ++i)
          if (out.bytes[i].size() != static_cast<size_t>(leaf.type_length))
            throw InputError("DELTA_BYTE_ARRAY value of " + std::to_string(out.bytes[i].size()) +
                             " bytes in a FIXED_LEN_BYTE_ARRAY(" + std::to_string(leaf.type_length) +
                             ") column");
      return;
    case Encoding::kByteStreamSplit: {
      auto split = [&](auto& vec) {
        size_t old = vec.size();
        using T = typename std::decay_t<decltype(vec)>::value_type;
        if (static_cast<uint64_t>(n) * sizeof(T) > data.size)
          throw InputError("BYTE_STREAM_SPLIT data holds " + std::to_string(data.size) + " bytes, " +
                           std::to_string(n) + " values need " +
                           std::to_string(static_cast<uint64_t>(n) * sizeof(T)));
        vec.resize(old + static_cast<size_t>(n));
        decode_byte_stream_split(data, n, sizeof(T), reinterpret_cast<uint8_t*>(vec.data() + old));
      };
      switch (*leaf.type) {
        case PhysicalType::kInt32:
          split(out.i32);
          return;
        case PhysicalType::kInt64:
          split(out.i64);
          return;
        case PhysicalType::kFloat:
          split(out.f32);
          return;
        case PhysicalType::kDouble:
          split(out.f64);
          return;
        default:
          break;
      }
      break;
    }
    default:
      break;
  }
  throw InputError(
      "encoding " + encoding_name(encoding) + " of " + type_name(*leaf.type) +
      " values is not supported (supported: PLAIN, PLAIN_DICTIONARY, RLE_DICTIONARY; RLE for "
      "BOOLEAN; DELTA_BINARY_PACKED for INT32/INT64; DELTA_LENGTH_BYTE_ARRAY and DELTA_BYTE_ARRAY for "
      "BYTE_ARRAY; BYTE_STREAM_SPLIT for INT32/INT64/FLOAT/DOUBLE)");
}

}  // namespace

std::unique_ptr<ParquetFile> ParquetFile::open(const std::string& path) {
  std::unique_ptr<ParquetFile> f(new ParquetFile());
  f->path_ = path;
  f->file_ = arrow::MappedFile::open(path);
  const uint8_t* d = f->file_->data();
  int64_t size = f->file_->size();
  if (size < 12)
    throw InputError(path, "not a Parquet file: " + std::to_string(size) +
                               " bytes, expected at least 12 (\"PAR1\", footer, footer length, \"PAR1\")");
  if (std::memcmp(d + size - 4, kEncryptedMagic, 4) == 0)
    throw InputError(path, "encrypted Parquet files (footer magic \"PARE\") are not supported");
  if (std::memcmp(d, kMagic, 4) != 0 || std::memcmp(d + size - 4, kMagic, 4) != 0)
    throw InputError(path,
                     "not a Parquet file: expected the magic \"PAR1\" at its start and end (truncated "
                     "or another format?)");
  uint32_t footer_len;
  std::memcpy(&footer_len, d + size - 8, 4);
  if (footer_len > static_cast<uint64_t>(size - 12))
    throw InputError(path, "footer length " + std::to_string(footer_len) + " exceeds the file's " +
                               std::to_string(size) + " bytes (truncated file?)");
  f->footer_start_ = size - 8 - footer_len;
  try {
    f->metadata_ = parse_file_metadata(d + f->footer_start_, footer_len);
  } catch (const ThriftError& e) {
    throw InputError(path, std::string("corrupt footer (FileMetaData): ") + e.what());
  }
  if (f->metadata_.encrypted) throw InputError(path, "encrypted Parquet files are not supported");
  f->build_columns();
  return f;
}

void ParquetFile::build_columns() {
  const auto& schema = metadata_.schema;
  // Walk the depth-first schema list into a tree, checking num_children against what is there.
  struct Node {
    const SchemaElement* e;
    std::vector<size_t> children;
  };
  std::vector<Node> nodes(schema.size());
  size_t next = 0;
  std::function<void(size_t, int)> walk = [&](size_t i, int depth) {
    if (depth > kMaxSchemaDepth)
      throw InputError(path_, "schema nested deeper than " + std::to_string(kMaxSchemaDepth));
    nodes[i].e = &schema[i];
    next = i + 1;
    int32_t k = schema[i].num_children;
    if (k < 0 || static_cast<size_t>(k) > schema.size() - next)
      throw InputError(path_, "schema element " + quote_name(schema[i].name) + " claims " + std::to_string(k) +
                                  " children, the schema has " + std::to_string(schema.size() - next) +
                                  " more");
    for (int32_t c = 0; c < k; ++c) {
      if (next >= schema.size()) throw InputError(path_, "schema ends inside " + quote_name(schema[i].name));
      size_t child = next;
      nodes[i].children.push_back(child);
      walk(child, depth + 1);
    }
  };
  walk(0, 0);
  if (next != schema.size())
    throw InputError(path_,
                     "schema has " + std::to_string(schema.size() - next) + " element(s) outside the root");

  int leaf_count = 0;
  // The node for schema element i (as_item: the element is the repeated item of a list whose levels the
  // caller already counted in def/rep).
  std::function<FieldNode(size_t, int16_t, int16_t, bool, const std::string&)> derive =
      [&](size_t i, int16_t def, int16_t rep, bool as_item, const std::string& prefix) -> FieldNode {
    const SchemaElement& e = *nodes[i].e;
    std::string path = prefix.empty() ? e.name : prefix + "." + e.name;
    auto fail = [&](const std::string& what) {
      return InputError(path_, "column " + quote_name(path) + ": " + what);
    };
    // Every name may become an Arrow field name, so a JSON key (a struct member's, Dataset::row's).
    if (builders::find_invalid_utf8(e.name) != std::string_view::npos) throw fail("the name is not valid UTF-8");
    if (!e.repetition) throw fail("the field has no repetition type");
    if (*e.repetition != Repetition::kRequired && *e.repetition != Repetition::kOptional &&
        *e.repetition != Repetition::kRepeated)
      throw fail("unknown repetition type " + std::to_string(static_cast<int>(*e.repetition)));
    FieldNode n;
    n.name = e.name;
    n.first_leaf = leaf_count;
    if (*e.repetition == Repetition::kRepeated && !as_item) {  // a bare repeated field: a non-null list
      n.kind = FieldNode::Kind::kList;
      n.def = def;
      n.items_def = static_cast<int16_t>(def + 1);
      n.rep = static_cast<int16_t>(rep + 1);
      n.children.push_back(derive(i, n.items_def, n.rep, /*as_item=*/true, prefix));
      n.type = arrow::list(n.children[0].type);
    } else {
      n.optional = !as_item && *e.repetition == Repetition::kOptional;
      n.def = static_cast<int16_t>(def + (n.optional ? 1 : 0));
      const auto& kids = nodes[i].children;
      bool is_map = e.logical_type == kLogicalMap ||
                    (e.converted_type &&
                     (*e.converted_type == kConvertedMap || *e.converted_type == kConvertedMapKeyValue));
      bool is_list =
          e.logical_type == kLogicalList || (e.converted_type && *e.converted_type == kConvertedList);
      if (kids.empty()) {
        if (!e.type) throw fail("a group without fields (expected a primitive leaf or fields)");
        n.kind = FieldNode::Kind::kLeaf;
        n.leaf = leaf_count++;
        leaves_.push_back({path, &e, n.def, rep});
        n.type = leaf_arrow_type(e, path_ + ": column " + quote_name(path));
      } else if (is_map) {
        throw fail("map columns are not supported (expected primitives, lists and structs)");
      } else if (is_list && !as_item) {
        const SchemaElement& r = *nodes[kids[0]].e;
        if (kids.size() != 1 || !r.repetition || *r.repetition != Repetition::kRepeated)
          throw fail("a LIST group must hold exactly one repeated field");
        n.kind = FieldNode::Kind::kList;
        n.items_def = static_cast<int16_t>(n.def + 1);
        n.rep = static_cast<int16_t>(rep + 1);
        const auto& inner = nodes[kids[0]].children;
        // parquet-format LogicalTypes.md, backward compatibility: the repeated field is itself the item when
        // it is a primitive, has several fields, or is named "array" / "<list>_tuple"; else its one field is.
        if (inner.empty() || inner.size() > 1 || r.name == "array" || r.name == e.name + "_tuple")
          n.children.push_back(derive(kids[0], n.items_def, n.rep, /*as_item=*/true, path));
        else
          n.children.push_back(derive(inner[0], n.items_def, n.rep, /*as_item=*/false, path + "." + r.name));
        n.type = arrow::list(n.children[0].type);
      } else {
        n.kind = FieldNode::Kind::kStruct;
        std::vector<arrow::Field> members;
        for (size_t c : kids) {
          n.children.push_back(derive(c, n.def, rep, /*as_item=*/false, path));
          members.push_back(arrow::field(n.children.back().name, n.children.back().type));
        }
        n.type = arrow::struct_(std::move(members));
      }
    }
    n.num_leaves = leaf_count - n.first_leaf;
    return n;
  };
  for (size_t top : nodes[0].children) {
    fields_.push_back(derive(top, 0, 0, /*as_item=*/false, ""));
  }
  restore_arrow_types(fields_, metadata_.key_value_metadata, path_);
  for (size_t g = 0; g < metadata_.row_groups.size(); ++g)
    if (metadata_.row_groups[g].columns.size() != leaves_.size())
      throw InputError(path_, "row group " + std::to_string(g) + " has " +
                                  std::to_string(metadata_.row_groups[g].columns.size()) +
                                  " column chunks, the schema has " + std::to_string(leaves_.size()) +
                                  " leaf columns");
}

arrow::Schema ParquetFile::arrow_schema() const {
  arrow::Schema s;
  for (const auto& f : fields_) s.fields.push_back(arrow::field(f.name, f.type));
  return s;
}

ColumnChunkData ParquetFile::read_column_chunk(int row_group, int leaf) const {
  const LeafColumn& col = leaves_.at(static_cast<size_t>(leaf));
  std::string where = path_ + ": row group " + std::to_string(row_group) + ", column " + quote_name(col.path);
  const ColumnChunk& chunk =
      metadata_.row_groups.at(static_cast<size_t>(row_group)).columns[static_cast<size_t>(leaf)];
  if (chunk.encrypted) throw InputError(where, "encrypted columns are not supported");
  if (!chunk.file_path.empty())
    throw InputError(where,
                     "the column chunk lives in another file (" + chunk.file_path + "); not supported");
  if (!chunk.meta_data) throw InputError(where, "column chunk without metadata");
  const ColumnMetaData& md = *chunk.meta_data;
  if (md.type != *col.leaf->type)
    throw InputError(where, "column chunk type " + type_name(md.type) + " differs from the schema's " +
                                type_name(*col.leaf->type));

  int64_t start = md.data_page_offset;
  if (md.dictionary_page_offset && *md.dictionary_page_offset > 0 && *md.dictionary_page_offset < start)
    start = *md.dictionary_page_offset;
  if (start < 4 || md.total_compressed_size < 0 || md.total_compressed_size > footer_start_ - start)
    throw InputError(where, "column chunk bytes [" + std::to_string(start) + ", +" +
                                std::to_string(md.total_compressed_size) +
                                ") lie outside the data section [4, " + std::to_string(footer_start_) +
                                ") (truncated or corrupt file?)");
  const uint8_t* base = file_->data();
  int64_t pos = start, end = start + md.total_compressed_size;

  ColumnChunkData out;
  out.values.type = *col.leaf->type;
  // One allocation per vector instead of doubling through a large chunk (reserve only maps address space; the
  // cap keeps a hostile num_values from asking for more).
  size_t hint = static_cast<size_t>(std::clamp<int64_t>(md.num_values, 0, int64_t{1} << 26));
  if (col.max_definition_level > 0) out.definition_levels.reserve(hint);
  if (col.max_repetition_level > 0) out.repetition_levels.reserve(hint);
  out.values.reserve(hint);
  Values dictionary;
  dictionary.type = *col.leaf->type;
  bool has_dictionary = false;
  int page = 0;
  try {
    while (out.num_values < md.num_values) {
      if (pos >= end)
        throw InputError("column chunk ended after " + std::to_string(out.num_values) + " of its " +
                         std::to_string(md.num_values) + " values");
      size_t header_size = 0;
      PageHeader h;
      try {
        h = parse_page_header(base + pos, static_cast<size_t>(end - pos), &header_size);
      } catch (const ThriftError& e) {
        throw InputError("page " + std::to_string(page) + ": corrupt page header: " + e.what());
      }
      pos += static_cast<int64_t>(header_size);
      if (h.compressed_page_size < 0 || h.compressed_page_size > end - pos)
        throw InputError("page " + std::to_string(page) + ": compressed size " +
                         std::to_string(h.compressed_page_size) + " exceeds the " +
                         std::to_string(end - pos) + " bytes left in the column chunk");
      ByteSpan body{base + pos, static_cast<size_t>(h.compressed_page_size)};
      pos += h.compressed_page_size;
      std::string page_where = "page " + std::to_string(page++) + " (" + page_type_name(h.type) + ")";
      try {
        // The uncompressed bytes of the page (or its part after v2 levels): mapped file or a decompressed
        // buffer.
        auto inflate = [&](ByteSpan in, int32_t size) -> ByteSpan {
          if (md.codec == Codec::kUncompressed) {
            if (in.size != static_cast<size_t>(size))
              throw InputError("uncompressed page holds " + std::to_string(in.size) +
                               " bytes, its header says " + std::to_string(size));
            return in;
          }
          out.buffers.emplace_back();
          decompress(md.codec, in, size, out.buffers.back());
          return {out.buffers.back().data(), out.buffers.back().size()};
        };
        if (h.type == PageType::kDictionaryPage) {
          if (!h.dictionary_page_header) throw InputError("missing dictionary_page_header");
          if (has_dictionary) throw InputError("a second dictionary page in one column chunk");
          auto e = h.dictionary_page_header->encoding;
          if (e != Encoding::kPlain && e != Encoding::kPlainDictionary)
            throw InputError("dictionary page encoding " + encoding_name(e) +
                             " is not supported (expected PLAIN)");
          if (h.dictionary_page_header->num_values < 0) throw InputError("negative dictionary size");
          ByteSpan data = inflate(body, h.uncompressed_page_size);
          decode_plain(data, *col.leaf->type, col.leaf->type_length, h.dictionary_page_header->num_values,
                       dictionary);
          has_dictionary = true;
          ++out.dictionary_pages;
        } else if (h.type == PageType::kDataPage || h.type == PageType::kDataPageV2) {
          bool v2 = h.type == PageType::kDataPageV2;
          if (!v2 && !h.data_page_header) throw InputError("missing data_page_header");
          if (v2 && !h.data_page_header_v2) throw InputError("missing data_page_header_v2");
          int64_t n = v2 ? h.data_page_header_v2->num_values : h.data_page_header->num_values;
          Encoding encoding = v2 ? h.data_page_header_v2->encoding : h.data_page_header->encoding;
          if (n > kMaxPageValues)
            throw InputError(std::to_string(n) + " values in one page; more than " +
                             std::to_string(kMaxPageValues) + " is not supported (writers use ~20000)");
          if (n < 0 || n > md.num_values - out.num_values)
            throw InputError(std::to_string(n) + " values, but the column chunk has " +
                             std::to_string(md.num_values - out.num_values) + " left of its " +
                             std::to_string(md.num_values));
          ByteSpan values;
          if (!v2) {
            ByteSpan data = inflate(body, h.uncompressed_page_size);
            size_t used = 0;
            if (col.max_repetition_level > 0)
              used += decode_v1_levels({data.data + used, data.size - used},
                                       h.data_page_header->repetition_level_encoding,
                                       col.max_repetition_level, n, out.repetition_levels, "repetition");
            if (col.max_definition_level > 0)
              used += decode_v1_levels({data.data + used, data.size - used},
                                       h.data_page_header->definition_level_encoding,
                                       col.max_definition_level, n, out.definition_levels, "definition");
            values = {data.data + used, data.size - used};
          } else {
            const auto& h2 = *h.data_page_header_v2;
            int64_t rl = h2.repetition_levels_byte_length, dl = h2.definition_levels_byte_length;
            if (rl < 0 || dl < 0 || rl + dl > static_cast<int64_t>(body.size))
              throw InputError("level lengths " + std::to_string(rl) + " + " + std::to_string(dl) +
                               " exceed the page's " + std::to_string(body.size) + " bytes");
            if (col.max_repetition_level > 0)
              decode_levels({body.data, static_cast<size_t>(rl)}, col.max_repetition_level, n,
                            out.repetition_levels);
            if (col.max_definition_level > 0)
              decode_levels({body.data + rl, static_cast<size_t>(dl)}, col.max_definition_level, n,
                            out.definition_levels);
            ByteSpan rest{body.data + rl + dl, body.size - static_cast<size_t>(rl + dl)};
            int32_t rest_size = h.uncompressed_page_size - static_cast<int32_t>(rl + dl);
            if (h2.is_compressed) {
              values = inflate(rest, rest_size);
            } else {
              if (rest.size != static_cast<size_t>(rest_size))
                throw InputError("uncompressed values hold " + std::to_string(rest.size) +
                                 " bytes, the header says " + std::to_string(rest_size));
              values = rest;
            }
          }
          int64_t non_null = n;
          if (col.max_definition_level > 0) {
            non_null = 0;
            for (size_t i = out.definition_levels.size() - static_cast<size_t>(n);
                 i < out.definition_levels.size(); ++i)
              non_null += out.definition_levels[i] == col.max_definition_level;
          }
          decode_values(values, encoding, *col.leaf, non_null, has_dictionary ? &dictionary : nullptr,
                        out.values, out.buffers);
          out.num_values += n;
          ++(v2 ? out.data_pages_v2 : out.data_pages_v1);
        }
        // Index pages and unknown page types carry no values: skipped.
      } catch (const InputError& e) {
        throw InputError(page_where, e.what());
      }
    }
  } catch (const InputError& e) {
    throw InputError(where, e.what());
  }
  if (col.max_repetition_level > 0 && !out.repetition_levels.empty() && out.repetition_levels[0] != 0)
    throw InputError(where,
                     "the first repetition level is not 0 (a list cannot continue across column chunks)");
  return out;
}

}  // namespace tcpp::datasets::parquet
