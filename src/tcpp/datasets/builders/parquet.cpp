// The parquet builder: each row group's column chunks decoded and appended to the Arrow cache in record
// batches (as datasets' packaged parquet builder, which reads with pyarrow.parquet).
#include <algorithm>
#include <functional>
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
using parquet::FieldNode;
using parquet::PhysicalType;

// A stored integer in the unit of the leaf's type (the ARROW:schema's: FieldNode::multiply / divide), as pyarrow's
// safe cast: a value that does not convert exactly is an error naming the column.
int64_t to_unit(int64_t v, const FieldNode& leaf, const std::string& where) {
  if (leaf.multiply != 1 && __builtin_mul_overflow(v, leaf.multiply, &v))
    throw InputError(where, "a stored value overflows " + leaf.type.to_string());
  if (leaf.divide != 1) {
    if (v % leaf.divide != 0)
      throw InputError(where, "stored value " + std::to_string(v) + " is not a whole number of the " +
                                  leaf.type.to_string() + " the file's ARROW:schema names");
    v /= leaf.divide;
  }
  return v;
}

// Append value number v of a decoded chunk to b (b's type was derived from the leaf, so the casts are exact).
void append_value_unchecked(const ColumnChunkData& d, size_t v, arrow::ArrayBuilder& b, const FieldNode& leaf,
                            const std::string& where) {
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
      return b.append_int(to_unit(vals.i32[v], leaf, where));
    case PhysicalType::kInt64:
      if (b.type().id == arrow::TypeId::kUInt64) return b.append_uint(static_cast<uint64_t>(vals.i64[v]));
      return b.append_int(to_unit(vals.i64[v], leaf, where));
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
      if (b.type().id == arrow::TypeId::kUtf8 || b.type().id == arrow::TypeId::kLargeUtf8) {
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

// The same, naming the column when the value does not fit its annotated type (an INT_8 column holding 300).
void append_value(const ColumnChunkData& d, size_t v, arrow::ArrayBuilder& b, const FieldNode& leaf,
                  const std::string& where) {
  try {
    append_value_unchecked(d, v, b, leaf, where);
  } catch (const InputError& e) {
    if (std::string(e.what()).rfind(where, 0) == 0) throw;
    throw InputError(where, e.what());
  }
}

// One leaf's decoded column chunk, with what record assembly needs.
struct LeafData {
  ColumnChunkData data;
  std::string where;  // "file: row group R, column "path""
  uint8_t max_def = 0, max_rep = 0;
  size_t next_value = 0;  // level entries are consumed in order, so the next value is a running count

  uint8_t def(size_t i) const { return data.definition_levels.empty() ? max_def : data.definition_levels[i]; }
  uint8_t rep(size_t i) const { return data.repetition_levels.empty() ? 0 : data.repetition_levels[i]; }
  size_t size() const { return static_cast<size_t>(data.num_values); }
  int64_t num_rows() const {
    if (max_rep == 0) return data.num_values;
    int64_t n = 0;
    for (uint8_t r : data.repetition_levels) n += r == 0;
    return n;
  }
};

// Appends the rows of one table column to a builder, one row per call: a flat column straight from its leaf,
// a nested one by record assembly over the level slices of its leaves (Dremel's algorithm).
class FieldCursor {
 public:
  FieldCursor(const FieldNode& field, std::vector<LeafData>& leaves)
      : field_(field), leaves_(leaves), pos_(leaves.size(), 0), slices_(leaves.size()) {
    flat_ = field.kind == FieldNode::Kind::kLeaf;
  }

  void append_row(arrow::ArrayBuilder& b) {
    if (flat_) {
      LeafData& l = leaves_[static_cast<size_t>(field_.leaf)];
      size_t& i = pos_[static_cast<size_t>(field_.leaf)];
      if (l.def(i) < l.max_def)
        b.append_null();
      else
        append_value(l.data, l.next_value++, b, field_, l.where);
      ++i;
      return;
    }
    for (int k = field_.first_leaf; k < field_.first_leaf + field_.num_leaves; ++k) {
      const LeafData& l = leaves_[static_cast<size_t>(k)];
      size_t begin = pos_[static_cast<size_t>(k)], end = begin + 1;
      while (end < l.size() && l.rep(end) != 0) ++end;
      slices_[static_cast<size_t>(k)] = {begin, end};
      pos_[static_cast<size_t>(k)] = end;
    }
    assemble(field_, b);
  }

 private:
  [[noreturn]] void corrupt(const LeafData& l, size_t entry, const std::string& what) const {
    throw InputError(l.where, "level entry " + std::to_string(entry) + ": " + what + " (corrupt levels)");
  }

  void assemble(const FieldNode& n, arrow::ArrayBuilder& b) {
    const LeafData& ref = leaves_[static_cast<size_t>(n.first_leaf)];
    auto [b0, e0] = slices_[static_cast<size_t>(n.first_leaf)];
    if (b0 >= e0) corrupt(ref, b0, "no level left for field \"" + n.name + "\"");
    uint8_t d = ref.def(b0);
    if (d < n.def) {
      if (n.optional) return b.append_null();
      corrupt(
          ref, b0,
          "definition level " + std::to_string(d) + " leaves the required field \"" + n.name + "\" absent");
    }
    switch (n.kind) {
      case FieldNode::Kind::kLeaf: {
        LeafData& l = leaves_[static_cast<size_t>(n.leaf)];
        if (e0 - b0 != 1) corrupt(l, b0, std::to_string(e0 - b0) + " levels for one value");
        return append_value(l.data, l.next_value++, b, n, l.where);
      }
      case FieldNode::Kind::kStruct:
        for (size_t k = 0; k < n.children.size(); ++k) assemble(n.children[k], b.child(k));
        return b.close_struct();
      case FieldNode::Kind::kList:
        break;
    }
    if (d >= n.items_def && n.children[0].kind == FieldNode::Kind::kLeaf) {
      // A list of primitives (the common case: token ids): each level entry is one item.
      const FieldNode& item = n.children[0];
      LeafData& l = leaves_[static_cast<size_t>(item.leaf)];
      auto& items = b.child(0);
      for (size_t i = b0; i < e0; ++i) {
        if (l.def(i) >= item.def)
          append_value(l.data, l.next_value++, items, item, l.where);
        else if (item.optional)
          items.append_null();
        else
          corrupt(l, i,
                  "definition level " + std::to_string(l.def(i)) + " leaves a required list item absent");
      }
    } else if (d >= n.items_def) {
      // Items start at the entries whose repetition level is this list's; every leaf must agree on their
      // number.
      std::vector<std::pair<size_t, size_t>> rest(slices_.begin() + n.first_leaf,
                                                  slices_.begin() + n.first_leaf + n.num_leaves);
      while (rest[0].first < rest[0].second) {
        for (int k = 0; k < n.num_leaves; ++k) {
          const LeafData& l = leaves_[static_cast<size_t>(n.first_leaf + k)];
          auto& [begin, end] = rest[static_cast<size_t>(k)];
          if (begin >= end) corrupt(l, begin, "fewer list items than in column \"" + ref.where + "\"");
          size_t item_end = begin + 1;
          while (item_end < end && l.rep(item_end) > n.rep) ++item_end;
          slices_[static_cast<size_t>(n.first_leaf + k)] = {begin, item_end};
          begin = item_end;
        }
        assemble(n.children[0], b.child(0));
      }
      for (int k = 1; k < n.num_leaves; ++k)
        if (rest[static_cast<size_t>(k)].first < rest[static_cast<size_t>(k)].second)
          corrupt(leaves_[static_cast<size_t>(n.first_leaf + k)], rest[static_cast<size_t>(k)].first,
                  "more list items than in column \"" + ref.where + "\"");
    } else if (e0 - b0 != 1) {
      corrupt(ref, b0, "an empty list with " + std::to_string(e0 - b0) + " level entries");
    }
    b.close_list();
  }

  const FieldNode& field_;
  std::vector<LeafData>& leaves_;
  bool flat_ = false;
  std::vector<size_t> pos_;                        // per leaf: first level entry of the next row
  std::vector<std::pair<size_t, size_t>> slices_;  // per leaf: the entries of the node being assembled
};

// Every leaf column of row group g, decoded, each checked to hold the row group's rows.
std::vector<LeafData> decode_row_group(const parquet::ParquetFile& file, int g) {
  const auto& leaves = file.leaves();
  int64_t rows = file.metadata().row_groups[static_cast<size_t>(g)].num_rows;
  std::vector<LeafData> data(leaves.size());
  for (size_t k = 0; k < leaves.size(); ++k) {
    LeafData& l = data[k];
    l.where = file.path() + ": row group " + std::to_string(g) + ", column \"" + leaves[k].path + "\"";
    l.data = file.read_column_chunk(g, static_cast<int>(k));
    l.max_def = static_cast<uint8_t>(leaves[k].max_definition_level);
    l.max_rep = static_cast<uint8_t>(leaves[k].max_repetition_level);
    if (l.num_rows() != rows)
      throw InputError(l.where, "holds " + std::to_string(l.num_rows()) + " rows, the row group has " +
                                    std::to_string(rows));
  }
  return data;
}

}  // namespace

bool for_each_parquet_row_group(
    const std::string& path,
    const std::function<bool(const arrow::Schema&, const std::vector<arrow::Array>&)>& fn) {
  auto file = parquet::ParquetFile::open(path);
  arrow::Schema schema = file->arrow_schema();
  for (int g = 0; g < file->num_row_groups(); ++g) {
    int64_t rows = file->metadata().row_groups[static_cast<size_t>(g)].num_rows;
    std::vector<LeafData> data = decode_row_group(*file, g);
    std::vector<arrow::Array> arrays;
    for (const auto& f : file->fields()) {
      arrow::ArrayBuilder b(f.type);
      FieldCursor cursor(f, data);
      for (int64_t r = 0; r < rows; ++r) cursor.append_row(b);
      arrays.push_back(b.finish());
    }
    if (!fn(schema, arrays)) return false;
  }
  return true;
}

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
    const auto& fields = file->fields();
    for (int g = 0; g < file->num_row_groups(); ++g) {
      int64_t rows = file->metadata().row_groups[static_cast<size_t>(g)].num_rows;
      std::vector<LeafData> data = decode_row_group(*file, g);
      std::vector<FieldCursor> cursors;
      for (const auto& f : fields) cursors.emplace_back(f, data);
      for (int64_t r = 0; r < rows; ++r) {
        for (size_t c = 0; c < cursors.size(); ++c) cursors[c].append_row(writer.column(c));
        writer.end_row();
      }
    }
  }
  writer.close();
}

}  // namespace tcpp::datasets::builders
