// The parquet builder: each row group's column chunks decoded and appended to the Arrow cache in record
// batches (as datasets' packaged parquet builder, which reads with pyarrow.parquet).
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "tcpp/core/error.h"
#include "tcpp/datasets/builders/builders.h"
#include "tcpp/datasets/builders/utf8.h"
#include "tcpp/datasets/dataset_internal.h"
#include "tcpp/datasets/parquet/file_reader.h"

namespace tcpp::datasets::builders {
namespace {

using parquet::ColumnChunkData;
using parquet::LeafColumn;
using parquet::PhysicalType;

// Append value number v of a decoded chunk to b (b's type was derived from the leaf, so the casts are exact).
void append_value(const ColumnChunkData& d, size_t v, arrow::ArrayBuilder& b, const std::string& where) {
  const auto& vals = d.values;
  // Logical type UNKNOWN means every value is null; arrow-rs stores a non-nullable one as REQUIRED zeros.
  if (b.type().id == arrow::TypeId::kNull) return b.append_null();
  switch (vals.type) {
    case PhysicalType::kBoolean:
      return b.append_bool(vals.bools[v] != 0);
    case PhysicalType::kInt32:
      // Unsigned annotations reinterpret the stored bits (UINT_32 3000000000 is stored as a negative int32).
      if (b.type().id == arrow::TypeId::kUInt32 || b.type().id == arrow::TypeId::kUInt16 ||
          b.type().id == arrow::TypeId::kUInt8)
        return b.append_uint(static_cast<uint32_t>(vals.i32[v]));
      return b.append_int(vals.i32[v]);
    case PhysicalType::kInt64:
      if (b.type().id == arrow::TypeId::kUInt64) return b.append_uint(static_cast<uint64_t>(vals.i64[v]));
      return b.append_int(vals.i64[v]);
    case PhysicalType::kFloat:
      return b.append_double(vals.f32[v]);
    case PhysicalType::kDouble:
      return b.append_double(vals.f64[v]);
    default: {
      std::string_view s = vals.bytes[v];
      if (b.type().id == arrow::TypeId::kFloat16) {
        uint16_t h = static_cast<uint16_t>(static_cast<uint8_t>(s[0]) | static_cast<uint8_t>(s[1]) << 8);
        return b.append_double(arrow::half_to_float(h));
      }
      if (b.type().id == arrow::TypeId::kUtf8) {
        try {
          check_utf8(s, "value");
        } catch (const InputError&) {
          throw InputError(where, "a STRING value is not valid UTF-8");
        }
      }
      return b.append_string(s);
    }
  }
}

// Appends the rows of one column chunk to a builder, one row per call.
class ColumnCursor {
 public:
  ColumnCursor(const LeafColumn& col, ColumnChunkData data, std::string where)
      : col_(col), data_(std::move(data)), where_(std::move(where)) {}

  /// Rows in the chunk (for lists, the levels that start a row).
  int64_t num_rows() const {
    if (col_.max_repetition_level == 0) return data_.num_values;
    int64_t n = 0;
    for (uint8_t r : data_.repetition_levels) n += r == 0;
    return n;
  }

  void append_row(arrow::ArrayBuilder& b) {
    int max_def = col_.max_definition_level;
    if (col_.max_repetition_level == 0) {
      if (max_def > 0 && data_.definition_levels[level_] < max_def)
        b.append_null();
      else
        append_value(data_, value_++, b, where_);
      ++level_;
      return;
    }
    // A list row: levels from here up to the next repetition level 0.
    uint8_t def = data_.definition_levels.empty() ? max_def : data_.definition_levels[level_];
    if (def < col_.list_definition_level) {  // the list itself is null
      b.append_null();
      ++level_;
      return;
    }
    auto& items = b.child(0);
    if (def > col_.list_definition_level) {  // not an empty list
      do {
        def = data_.definition_levels.empty() ? max_def : data_.definition_levels[level_];
        if (def < max_def)
          items.append_null();
        else
          append_value(data_, value_++, items, where_);
        ++level_;
      } while (level_ < static_cast<size_t>(data_.num_values) && data_.repetition_levels[level_] != 0);
    } else {
      ++level_;
    }
    b.close_list();
  }

  void check_done() const {
    if (value_ != data_.values.size())
      throw InputError(where_, "the levels select " + std::to_string(value_) + " values, the pages hold " +
                                   std::to_string(data_.values.size()));
  }

 private:
  const LeafColumn& col_;
  ColumnChunkData data_;
  std::string where_;
  size_t level_ = 0;
  size_t value_ = 0;
};

}  // namespace

void build_parquet(const std::vector<std::string>& files, const LoadOptions& options,
                   const std::string& out_path, const std::string& fingerprint) {
  // Pass 1: footers only; every file must have the first file's columns.
  std::vector<std::unique_ptr<parquet::ParquetFile>> readers;
  arrow::Schema schema;
  for (const auto& path : files) {
    readers.push_back(parquet::ParquetFile::open(path));
    arrow::Schema s = readers.back()->arrow_schema();
    if (readers.size() == 1) {
      schema = s;
      continue;
    }
    for (size_t c = 0; c < std::max(s.fields.size(), schema.fields.size()); ++c) {
      std::string want = c < schema.fields.size()
                             ? schema.fields[c].name + ": " + schema.fields[c].type.to_string()
                             : "(none)";
      std::string got =
          c < s.fields.size() ? s.fields[c].name + ": " + s.fields[c].type.to_string() : "(none)";
      if (want != got)
        throw InputError(path, "column " + std::to_string(c) + " is " + got + ", expected " + want +
                                   " as in " + files.front() +
                                   " (all files of a split must share one schema)");
    }
  }
  for (auto& f : schema.fields)
    f.nullable = true;  // nullability may differ between files; HF features ignore it
  schema.metadata = hf_schema_metadata(schema, fingerprint);

  // Pass 2: row group by row group, every column decoded, then rows appended in record batches.
  BatchedTableWriter writer(out_path, schema, options.writer_batch_size);
  for (const auto& file : readers) {
    const auto& columns = file->columns();
    for (int g = 0; g < file->num_row_groups(); ++g) {
      int64_t rows = file->metadata().row_groups[static_cast<size_t>(g)].num_rows;
      std::vector<ColumnCursor> cursors;
      for (size_t c = 0; c < columns.size(); ++c) {
        std::string where =
            file->path() + ": row group " + std::to_string(g) + ", column \"" + columns[c].path + "\"";
        cursors.emplace_back(columns[c], file->read_column_chunk(g, static_cast<int>(c)), where);
        if (cursors.back().num_rows() != rows)
          throw InputError(where, "holds " + std::to_string(cursors.back().num_rows()) +
                                      " rows, the row group has " + std::to_string(rows));
      }
      for (int64_t r = 0; r < rows; ++r) {
        for (size_t c = 0; c < cursors.size(); ++c) cursors[c].append_row(writer.column(c));
        writer.end_row();
      }
      for (const auto& cur : cursors) cur.check_done();
    }
  }
  writer.close();
}

}  // namespace tcpp::datasets::builders
