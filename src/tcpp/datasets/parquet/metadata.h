// Parquet file metadata (the footer's FileMetaData) and page headers: the subset of parquet.thrift a reader
// of flat and list columns needs, decoded from the Thrift compact protocol (parquet-format's parquet.thrift).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tcpp::datasets::parquet {

/// Physical types (parquet.thrift Type).
enum class PhysicalType : int32_t {
  kBoolean = 0,
  kInt32 = 1,
  kInt64 = 2,
  kInt96 = 3,
  kFloat = 4,
  kDouble = 5,
  kByteArray = 6,
  kFixedLenByteArray = 7,
};

enum class Repetition : int32_t { kRequired = 0, kOptional = 1, kRepeated = 2 };

/// Encodings (parquet.thrift Encoding).
enum class Encoding : int32_t {
  kPlain = 0,
  kPlainDictionary = 2,
  kRle = 3,
  kBitPacked = 4,
  kDeltaBinaryPacked = 5,
  kDeltaLengthByteArray = 6,
  kDeltaByteArray = 7,
  kRleDictionary = 8,
  kByteStreamSplit = 9,
};

/// Compression codecs (parquet.thrift CompressionCodec).
enum class Codec : int32_t {
  kUncompressed = 0,
  kSnappy = 1,
  kGzip = 2,
  kLzo = 3,
  kBrotli = 4,
  kLz4 = 5,
  kZstd = 6,
  kLz4Raw = 7,
};

enum class PageType : int32_t { kDataPage = 0, kIndexPage = 1, kDictionaryPage = 2, kDataPageV2 = 3 };

// ConvertedType values we interpret (parquet.thrift ConvertedType).
constexpr int32_t kConvertedUtf8 = 0;
constexpr int32_t kConvertedMap = 1;
constexpr int32_t kConvertedMapKeyValue = 2;
constexpr int32_t kConvertedList = 3;
constexpr int32_t kConvertedEnum = 4;
constexpr int32_t kConvertedDecimal = 5;
constexpr int32_t kConvertedDate = 6;
constexpr int32_t kConvertedTimeMillis = 7;
constexpr int32_t kConvertedTimeMicros = 8;
constexpr int32_t kConvertedTimestampMillis = 9;
constexpr int32_t kConvertedTimestampMicros = 10;
constexpr int32_t kConvertedUint8 = 11;
constexpr int32_t kConvertedUint16 = 12;
constexpr int32_t kConvertedUint32 = 13;
constexpr int32_t kConvertedUint64 = 14;
constexpr int32_t kConvertedInt8 = 15;
constexpr int32_t kConvertedInt16 = 16;
constexpr int32_t kConvertedJson = 19;

// LogicalType union members we interpret (their field ids in parquet.thrift LogicalType).
constexpr int16_t kLogicalString = 1;
constexpr int16_t kLogicalMap = 2;
constexpr int16_t kLogicalList = 3;
constexpr int16_t kLogicalEnum = 4;
constexpr int16_t kLogicalDecimal = 5;
constexpr int16_t kLogicalDate = 6;
constexpr int16_t kLogicalTime = 7;
constexpr int16_t kLogicalTimestamp = 8;
constexpr int16_t kLogicalInteger = 10;
constexpr int16_t kLogicalUnknown = 11;  // every value null (pyarrow writes pa.null() columns so)
constexpr int16_t kLogicalJson = 12;
constexpr int16_t kLogicalFloat16 = 15;

struct SchemaElement {
  std::optional<PhysicalType> type;  // absent for groups
  int32_t type_length = 0;
  std::optional<Repetition> repetition;  // absent for the root
  std::string name;
  int32_t num_children = 0;
  std::optional<int32_t> converted_type;
  int16_t logical_type = 0;   // the LogicalType union member's field id, 0 when absent
  int32_t int_bit_width = 0;  // LogicalType INTEGER
  bool int_signed = true;
  int16_t time_unit = 0;      // LogicalType TIME / TIMESTAMP: the TimeUnit member, 1 MILLIS, 2 MICROS, 3 NANOS
  bool adjusted_to_utc = false;  // LogicalType TIME / TIMESTAMP: isAdjustedToUTC
};

struct ColumnMetaData {
  PhysicalType type = PhysicalType::kInt32;
  std::vector<Encoding> encodings;
  std::vector<std::string> path_in_schema;
  Codec codec = Codec::kUncompressed;
  int64_t num_values = 0;
  int64_t total_uncompressed_size = 0;
  int64_t total_compressed_size = 0;
  int64_t data_page_offset = 0;
  std::optional<int64_t> dictionary_page_offset;
};

struct ColumnChunk {
  std::string file_path;  // set when the chunk lives in another file (unsupported)
  int64_t file_offset = 0;
  std::optional<ColumnMetaData> meta_data;
  bool encrypted = false;
};

struct RowGroup {
  std::vector<ColumnChunk> columns;
  int64_t total_byte_size = 0;
  int64_t num_rows = 0;
};

struct FileMetaData {
  int32_t version = 0;
  std::vector<SchemaElement> schema;  // depth-first; schema[0] is the root
  int64_t num_rows = 0;
  std::vector<RowGroup> row_groups;
  std::vector<std::pair<std::string, std::string>> key_value_metadata;
  std::string created_by;
  bool encrypted = false;  // encryption_algorithm present (plaintext footer of an encrypted file)
};

struct DataPageHeader {
  int32_t num_values = 0;
  Encoding encoding = Encoding::kPlain;
  Encoding definition_level_encoding = Encoding::kRle;
  Encoding repetition_level_encoding = Encoding::kRle;
};

struct DictionaryPageHeader {
  int32_t num_values = 0;
  Encoding encoding = Encoding::kPlain;
};

struct DataPageHeaderV2 {
  int32_t num_values = 0;
  int32_t num_nulls = 0;
  int32_t num_rows = 0;
  Encoding encoding = Encoding::kPlain;
  int32_t definition_levels_byte_length = 0;
  int32_t repetition_levels_byte_length = 0;
  bool is_compressed = true;
};

struct PageHeader {
  PageType type = PageType::kDataPage;
  int32_t uncompressed_page_size = 0;
  int32_t compressed_page_size = 0;
  std::optional<DataPageHeader> data_page_header;
  std::optional<DictionaryPageHeader> dictionary_page_header;
  std::optional<DataPageHeaderV2> data_page_header_v2;
};

/// Decode the footer's FileMetaData; throws ThriftError on malformed bytes.
FileMetaData parse_file_metadata(const uint8_t* data, size_t size);
/// Decode one page header at data; *header_size receives its length in bytes. Throws ThriftError.
PageHeader parse_page_header(const uint8_t* data, size_t size, size_t* header_size);

/// Names for messages: "SNAPPY", "RLE_DICTIONARY", "BYTE_ARRAY", "DATA_PAGE_V2".
std::string codec_name(Codec c);
std::string encoding_name(Encoding e);
std::string type_name(PhysicalType t);
std::string page_type_name(PageType t);

}  // namespace tcpp::datasets::parquet
