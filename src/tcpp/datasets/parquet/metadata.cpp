// Parquet footer and page-header decoding: one function per parquet.thrift struct, unknown fields skipped
// (so files from newer writers still read).
#include "tcpp/datasets/parquet/metadata.h"

#include <optional>

#include "tcpp/datasets/parquet/thrift.h"

namespace tcpp::datasets::parquet {
namespace {

// Read a struct: calls on_field(id, type) for each field; on_field returns false to have the field skipped.
template <typename F>
void read_struct(CompactReader& r, F on_field) {
  r.begin_struct();
  int16_t id;
  ThriftType type;
  while (r.next_field(&id, &type))
    if (!on_field(id, type)) r.skip(type);
  r.end_struct();
}

// Read a list whose elements are read by read_one(); a wrong element type is skipped as a whole.
template <typename F>
bool read_list(CompactReader& r, ThriftType expected, F read_one) {
  ThriftType et;
  int64_t n;
  r.read_list_header(&et, &n);
  if (et != expected) {
    for (int64_t i = 0; i < n; ++i) r.skip(et);
    return true;
  }
  for (int64_t i = 0; i < n; ++i) read_one();
  return true;
}

bool is(ThriftType t, ThriftType want) { return t == want; }

// A scalar field: stored into out (converted to its type, e.g. an enum) when the wire type is the expected one;
// otherwise false, so that the caller skips the field.
template <typename T>
struct Stored { using type = T; };
template <typename T>
struct Stored<std::optional<T>> { using type = T; };

template <typename T, typename Read>
bool scalar(ThriftType t, ThriftType want, T& out, Read read) {
  if (t != want) return false;
  out = static_cast<typename Stored<T>::type>(read());
  return true;
}

SchemaElement read_schema_element(CompactReader& r) {
  SchemaElement e;
  read_struct(r, [&](int16_t id, ThriftType t) {
    switch (id) {
      case 1:
        return scalar(t, ThriftType::kI32, e.type, [&] { return r.read_i32(); });
      case 2:
        return scalar(t, ThriftType::kI32, e.type_length, [&] { return r.read_i32(); });
      case 3:
        return scalar(t, ThriftType::kI32, e.repetition, [&] { return r.read_i32(); });
      case 4:
        return scalar(t, ThriftType::kBinary, e.name, [&] { return r.read_string(); });
      case 5:
        return scalar(t, ThriftType::kI32, e.num_children, [&] { return r.read_i32(); });
      case 6:
        return scalar(t, ThriftType::kI32, e.converted_type, [&] { return r.read_i32(); });
      case 10:
        if (!is(t, ThriftType::kStruct)) return false;
        // A union: one member struct set; INTEGER carries bitWidth (i8) and isSigned, TIME and TIMESTAMP
        // isAdjustedToUTC and their unit (a union of empty structs: MILLIS 1, MICROS 2, NANOS 3).
        read_struct(r, [&](int16_t member, ThriftType mt) {
          e.logical_type = member;
          if ((member == kLogicalTime || member == kLogicalTimestamp) && is(mt, ThriftType::kStruct)) {
            read_struct(r, [&](int16_t f, ThriftType ft) {
              if (f == 1 && (ft == ThriftType::kBoolTrue || ft == ThriftType::kBoolFalse)) {
                e.adjusted_to_utc = CompactReader::bool_value(ft);
                return true;
              }
              if (f == 2 && is(ft, ThriftType::kStruct)) {
                read_struct(r, [&](int16_t unit, ThriftType) {
                  e.time_unit = unit;
                  return false;  // the member's (empty) struct is skipped
                });
                return true;
              }
              return false;
            });
            return true;
          }
          if (member != kLogicalInteger || !is(mt, ThriftType::kStruct)) return false;
          read_struct(r, [&](int16_t f, ThriftType ft) {
            if (f == 1 && is(ft, ThriftType::kByte)) {
              e.int_bit_width = r.read_i8();  // an i8 is one raw byte
              return true;
            }
            if (f == 2 && (ft == ThriftType::kBoolTrue || ft == ThriftType::kBoolFalse)) {
              e.int_signed = CompactReader::bool_value(ft);
              return true;
            }
            return false;
          });
          return true;
        });
        return true;
      default:
        return false;
    }
  });
  return e;
}

ColumnMetaData read_column_metadata(CompactReader& r) {
  ColumnMetaData m;
  read_struct(r, [&](int16_t id, ThriftType t) {
    switch (id) {
      case 1:
        return scalar(t, ThriftType::kI32, m.type, [&] { return r.read_i32(); });
      case 2:
        if (!is(t, ThriftType::kList)) return false;
        return read_list(r, ThriftType::kI32,
                         [&] { m.encodings.push_back(static_cast<Encoding>(r.read_i32())); });
      case 3:
        if (!is(t, ThriftType::kList)) return false;
        return read_list(r, ThriftType::kBinary, [&] { m.path_in_schema.push_back(r.read_string()); });
      case 4:
        return scalar(t, ThriftType::kI32, m.codec, [&] { return r.read_i32(); });
      case 5:
        return scalar(t, ThriftType::kI64, m.num_values, [&] { return r.read_i64(); });
      case 6:
        return scalar(t, ThriftType::kI64, m.total_uncompressed_size, [&] { return r.read_i64(); });
      case 7:
        return scalar(t, ThriftType::kI64, m.total_compressed_size, [&] { return r.read_i64(); });
      case 9:
        return scalar(t, ThriftType::kI64, m.data_page_offset, [&] { return r.read_i64(); });
      case 11:
        return scalar(t, ThriftType::kI64, m.dictionary_page_offset, [&] { return r.read_i64(); });
      default:
        return false;
    }
  });
  return m;
}

ColumnChunk read_column_chunk(CompactReader& r) {
  ColumnChunk c;
  read_struct(r, [&](int16_t id, ThriftType t) {
    switch (id) {
      case 1:
        return scalar(t, ThriftType::kBinary, c.file_path, [&] { return r.read_string(); });
      case 2:
        return scalar(t, ThriftType::kI64, c.file_offset, [&] { return r.read_i64(); });
      case 3:
        if (!is(t, ThriftType::kStruct)) return false;
        c.meta_data = read_column_metadata(r);
        return true;
      case 8:
        c.encrypted = true;
        return false;  // crypto_metadata
      case 9:
        c.encrypted = true;
        return false;  // encrypted_column_metadata
      default:
        return false;
    }
  });
  return c;
}

RowGroup read_row_group(CompactReader& r) {
  RowGroup g;
  read_struct(r, [&](int16_t id, ThriftType t) {
    switch (id) {
      case 1:
        if (!is(t, ThriftType::kList)) return false;
        return read_list(r, ThriftType::kStruct, [&] { g.columns.push_back(read_column_chunk(r)); });
      case 2:
        return scalar(t, ThriftType::kI64, g.total_byte_size, [&] { return r.read_i64(); });
      case 3:
        return scalar(t, ThriftType::kI64, g.num_rows, [&] { return r.read_i64(); });
      default:
        return false;
    }
  });
  return g;
}

std::pair<std::string, std::string> read_key_value(CompactReader& r) {
  std::pair<std::string, std::string> kv;
  read_struct(r, [&](int16_t id, ThriftType t) {
    if (!is(t, ThriftType::kBinary)) return false;
    if (id == 1)
      kv.first = r.read_string();
    else if (id == 2)
      kv.second = r.read_string();
    else
      return false;
    return true;
  });
  return kv;
}

}  // namespace

FileMetaData parse_file_metadata(const uint8_t* data, size_t size) {
  CompactReader r(data, size);
  FileMetaData md;
  bool has_schema = false, has_row_groups = false;
  read_struct(r, [&](int16_t id, ThriftType t) {
    switch (id) {
      case 1:
        return scalar(t, ThriftType::kI32, md.version, [&] { return r.read_i32(); });
      case 2:
        if (!is(t, ThriftType::kList)) return false;
        has_schema = true;
        return read_list(r, ThriftType::kStruct, [&] { md.schema.push_back(read_schema_element(r)); });
      case 3:
        return scalar(t, ThriftType::kI64, md.num_rows, [&] { return r.read_i64(); });
      case 4:
        if (!is(t, ThriftType::kList)) return false;
        has_row_groups = true;
        return read_list(r, ThriftType::kStruct, [&] { md.row_groups.push_back(read_row_group(r)); });
      case 5:
        if (!is(t, ThriftType::kList)) return false;
        return read_list(r, ThriftType::kStruct, [&] { md.key_value_metadata.push_back(read_key_value(r)); });
      case 6:
        return scalar(t, ThriftType::kBinary, md.created_by, [&] { return r.read_string(); });
      case 8:
        md.encrypted = true;
        return false;
      default:
        return false;
    }
  });
  if (!has_schema || md.schema.empty()) throw ThriftError("FileMetaData has no schema");
  if (!has_row_groups) throw ThriftError("FileMetaData has no row_groups list");
  return md;
}

PageHeader parse_page_header(const uint8_t* data, size_t size, size_t* header_size) {
  CompactReader r(data, size);
  PageHeader h;
  bool has_type = false, has_sizes = false;
  read_struct(r, [&](int16_t id, ThriftType t) {
    switch (id) {
      case 1:
        if (!is(t, ThriftType::kI32)) return false;
        h.type = static_cast<PageType>(r.read_i32());
        has_type = true;
        return true;
      case 2:
        return scalar(t, ThriftType::kI32, h.uncompressed_page_size, [&] { return r.read_i32(); });
      case 3:
        if (!is(t, ThriftType::kI32)) return false;
        h.compressed_page_size = r.read_i32();
        has_sizes = true;
        return true;
      case 5: {
        if (!is(t, ThriftType::kStruct)) return false;
        DataPageHeader d;
        read_struct(r, [&](int16_t f, ThriftType ft) {
          if (!is(ft, ThriftType::kI32)) return false;
          switch (f) {
            case 1:
              d.num_values = r.read_i32();
              return true;
            case 2:
              d.encoding = static_cast<Encoding>(r.read_i32());
              return true;
            case 3:
              d.definition_level_encoding = static_cast<Encoding>(r.read_i32());
              return true;
            case 4:
              d.repetition_level_encoding = static_cast<Encoding>(r.read_i32());
              return true;
            default:
              return false;
          }
        });
        h.data_page_header = d;
        return true;
      }
      case 7: {
        if (!is(t, ThriftType::kStruct)) return false;
        DictionaryPageHeader d;
        read_struct(r, [&](int16_t f, ThriftType ft) {
          if (!is(ft, ThriftType::kI32)) return false;
          if (f == 1)
            d.num_values = r.read_i32();
          else if (f == 2)
            d.encoding = static_cast<Encoding>(r.read_i32());
          else
            return false;
          return true;
        });
        h.dictionary_page_header = d;
        return true;
      }
      case 8: {
        if (!is(t, ThriftType::kStruct)) return false;
        DataPageHeaderV2 d;
        read_struct(r, [&](int16_t f, ThriftType ft) {
          if (f == 7 && (ft == ThriftType::kBoolTrue || ft == ThriftType::kBoolFalse)) {
            d.is_compressed = CompactReader::bool_value(ft);
            return true;
          }
          if (!is(ft, ThriftType::kI32)) return false;
          switch (f) {
            case 1:
              d.num_values = r.read_i32();
              return true;
            case 2:
              d.num_nulls = r.read_i32();
              return true;
            case 3:
              d.num_rows = r.read_i32();
              return true;
            case 4:
              d.encoding = static_cast<Encoding>(r.read_i32());
              return true;
            case 5:
              d.definition_levels_byte_length = r.read_i32();
              return true;
            case 6:
              d.repetition_levels_byte_length = r.read_i32();
              return true;
            default:
              return false;
          }
        });
        h.data_page_header_v2 = d;
        return true;
      }
      default:
        return false;
    }
  });
  if (!has_type || !has_sizes) throw ThriftError("page header lacks its type or sizes");
  *header_size = r.position();
  return h;
}

std::string codec_name(Codec c) {
  switch (c) {
    case Codec::kUncompressed:
      return "UNCOMPRESSED";
    case Codec::kSnappy:
      return "SNAPPY";
    case Codec::kGzip:
      return "GZIP";
    case Codec::kLzo:
      return "LZO";
    case Codec::kBrotli:
      return "BROTLI";
    case Codec::kLz4:
      return "LZ4";
    case Codec::kZstd:
      return "ZSTD";
    case Codec::kLz4Raw:
      return "LZ4_RAW";
  }
  return "codec " + std::to_string(static_cast<int>(c));
}

std::string encoding_name(Encoding e) {
  switch (e) {
    case Encoding::kPlain:
      return "PLAIN";
    case Encoding::kPlainDictionary:
      return "PLAIN_DICTIONARY";
    case Encoding::kRle:
      return "RLE";
    case Encoding::kBitPacked:
      return "BIT_PACKED";
    case Encoding::kDeltaBinaryPacked:
      return "DELTA_BINARY_PACKED";
    case Encoding::kDeltaLengthByteArray:
      return "DELTA_LENGTH_BYTE_ARRAY";
    case Encoding::kDeltaByteArray:
      return "DELTA_BYTE_ARRAY";
    case Encoding::kRleDictionary:
      return "RLE_DICTIONARY";
    case Encoding::kByteStreamSplit:
      return "BYTE_STREAM_SPLIT";
  }
  return "encoding " + std::to_string(static_cast<int>(e));
}

std::string type_name(PhysicalType t) {
  switch (t) {
    case PhysicalType::kBoolean:
      return "BOOLEAN";
    case PhysicalType::kInt32:
      return "INT32";
    case PhysicalType::kInt64:
      return "INT64";
    case PhysicalType::kInt96:
      return "INT96";
    case PhysicalType::kFloat:
      return "FLOAT";
    case PhysicalType::kDouble:
      return "DOUBLE";
    case PhysicalType::kByteArray:
      return "BYTE_ARRAY";
    case PhysicalType::kFixedLenByteArray:
      return "FIXED_LEN_BYTE_ARRAY";
  }
  return "type " + std::to_string(static_cast<int>(t));
}

std::string page_type_name(PageType t) {
  switch (t) {
    case PageType::kDataPage:
      return "DATA_PAGE";
    case PageType::kIndexPage:
      return "INDEX_PAGE";
    case PageType::kDictionaryPage:
      return "DICTIONARY_PAGE";
    case PageType::kDataPageV2:
      return "DATA_PAGE_V2";
  }
  return "page type " + std::to_string(static_cast<int>(t));
}

}  // namespace tcpp::datasets::parquet
