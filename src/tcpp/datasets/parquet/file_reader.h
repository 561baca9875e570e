// A Parquet file reader (internal to the parquet builder): footer and schema, then one column chunk at a time
// decoded to levels and values. Written from parquet-format's spec (parquet.thrift, Encodings.md,
// Compression.md). Errors are InputError naming the file, and the row group and column where it applies.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tcpp/datasets/arrow/memory_map.h"
#include "tcpp/datasets/arrow/type.h"
#include "tcpp/datasets/parquet/encodings.h"
#include "tcpp/datasets/parquet/metadata.h"

namespace tcpp::datasets::parquet {

/// One table column: a top-level primitive field, or a list of primitives (one level of repetition, in the
/// standard 3-level LIST form or the legacy 2-level / bare `repeated` forms).
struct LeafColumn {
  std::string name;  // the top-level field name (the Arrow column name)
  std::string path;  // dotted path of the leaf, for messages: "tokens.list.element"
  const SchemaElement* leaf = nullptr;
  int16_t max_definition_level = 0;
  int16_t max_repetition_level = 0;   // 0 (flat) or 1 (list)
  int16_t list_definition_level = 0;  // lists: definition level of an empty (present) list
  arrow::DataType type;               // Arrow type of the column (list<...> for lists)
  bool nullable = true;
};

/// A column chunk decoded: levels (empty when their max level is 0) and the non-null values in order.
struct ColumnChunkData {
  std::vector<uint8_t> definition_levels;  // levels are at most 1-2 here; one byte each
  std::vector<uint8_t> repetition_levels;
  Values values;
  int64_t num_values = 0;                     // level count (rows for flat columns)
  std::vector<std::vector<uint8_t>> buffers;  // decompressed pages that values.bytes point into
  int data_pages_v1 = 0, data_pages_v2 = 0,
      dictionary_pages = 0;  // what the chunk held (tests check coverage)
};

class ParquetFile {
 public:
  /// Map the file, check both magics and decode the footer and schema. Throws InputError naming path.
  static std::unique_ptr<ParquetFile> open(const std::string& path);

  const std::string& path() const { return path_; }
  const FileMetaData& metadata() const { return metadata_; }
  const std::vector<LeafColumn>& columns() const { return columns_; }
  int num_row_groups() const { return static_cast<int>(metadata_.row_groups.size()); }
  /// The Arrow schema of the columns (no metadata).
  arrow::Schema arrow_schema() const;

  /// Decode column `column` of row group `row_group`. Throws InputError "path: row group R, column "c": ...".
  ColumnChunkData read_column_chunk(int row_group, int column) const;

 private:
  ParquetFile() = default;
  void build_columns();

  std::string path_;
  std::shared_ptr<const arrow::MappedFile> file_;
  FileMetaData metadata_;
  int64_t footer_start_ = 0;  // first byte of the footer metadata; column data must end before it
  std::vector<LeafColumn> columns_;
};

}  // namespace tcpp::datasets::parquet
