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

/// One physical column (a leaf of the schema); row groups hold one column chunk per leaf, in this order.
struct LeafColumn {
  std::string path;  // dotted path, for messages: "tokens.list.element"
  const SchemaElement* leaf = nullptr;
  int16_t max_definition_level = 0;
  int16_t max_repetition_level = 0;
};

/// The shape of one table column for record assembly (Dremel): the definition level at which each node is
/// present, and the repetition level at which a list starts a new item. Lists come from LIST-annotated groups
/// (3-level, and the legacy 2-level forms) or bare `repeated` fields; other groups are structs.
struct FieldNode {
  enum class Kind { kLeaf, kStruct, kList };
  Kind kind = Kind::kLeaf;
  std::string name;
  arrow::DataType type;
  bool optional = false;               // null when the definition level is below def
  int16_t def = 0;                     // definition level at which the node is present
  int16_t items_def = 0;               // lists: definition level at which the list holds at least one item
  int16_t rep = 0;                     // lists: repetition level that starts a new item
  int leaf = -1;                       // leaves: index into ParquetFile::leaves()
  int first_leaf = 0, num_leaves = 0;  // the leaves under this node: [first_leaf, first_leaf + num_leaves)
  int64_t multiply = 1, divide = 1;    // leaves: stored integers to the type's unit (ARROW:schema restores)
  std::vector<FieldNode> children;     // struct members, or the list's item
};

/// A column chunk decoded: levels (empty when their max level is 0) and the non-null values in order.
struct ColumnChunkData {
  std::vector<uint8_t> definition_levels;  // one byte each (schemas nest at most 64 deep)
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
  /// The physical columns (schema leaves), in column-chunk order.
  const std::vector<LeafColumn>& leaves() const { return leaves_; }
  /// The table's columns (top-level fields).
  const std::vector<FieldNode>& fields() const { return fields_; }
  int num_row_groups() const { return static_cast<int>(metadata_.row_groups.size()); }
  /// The Arrow schema of the columns (no metadata).
  arrow::Schema arrow_schema() const;

  /// Decode leaf column `leaf` of row group `row_group`. Throws InputError "path: row group R, column "c":
  /// ...".
  ColumnChunkData read_column_chunk(int row_group, int leaf) const;

 private:
  ParquetFile() = default;
  void build_columns();

  std::string path_;
  std::shared_ptr<const arrow::MappedFile> file_;
  FileMetaData metadata_;
  int64_t footer_start_ = 0;  // first byte of the footer metadata; column data must end before it
  std::vector<LeafColumn> leaves_;
  std::vector<FieldNode> fields_;
};

}  // namespace tcpp::datasets::parquet
