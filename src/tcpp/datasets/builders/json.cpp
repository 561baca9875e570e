// The json builder: JSON Lines or a top-level array of records, types inferred over all rows
// (as datasets' packaged json builder over pyarrow.json, but a type conflict is an error naming file:line).
#include <functional>
#include <string>
#include <string_view>

#include "tcpp/core/error.h"
#include "tcpp/core/json.h"
#include "tcpp/core/strings.h"
#include "tcpp/datasets/arrow/ipc.h"
#include "tcpp/datasets/arrow/memory_map.h"
#include "tcpp/datasets/builders/builders.h"
#include "tcpp/datasets/builders/json_lines.h"
#include "tcpp/datasets/builders/utf8.h"
#include "tcpp/datasets/dataset_internal.h"
#include "tcpp/datasets/type_inference.h"

namespace tcpp::datasets::builders {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Parse a whole document keeping key order; syntax errors read "path:line:column: ...".
OrderedJson parse_ordered(std::string_view text, const std::string& path) {
  OrderedJson doc = OrderedJson::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) (void)parse_json(std::string(text), path);  // throws with line and column
  return doc;
}

// Call fn(record, where, row_bytes) for every record of a file; where is "path:line" or "path: item k", row_bytes
// the JSON line's length (0 for an item of a top-level array: that whole document is parsed at once, as datasets
// does with json.load). A JSON line longer than max_row_bytes() is refused before it is parsed.
void for_each_record(const std::string& path, const std::string& field,
                     const std::function<void(const OrderedJson&, const std::string&, int64_t)>& fn) {
  auto file = arrow::MappedFile::open(path);
  std::string_view text(reinterpret_cast<const char*>(file->data()), static_cast<size_t>(file->size()));
  if (text.substr(0, 3) == "\xef\xbb\xbf") text.remove_prefix(3);  // UTF-8 byte order mark
  check_utf8(text, path);
  size_t first = 0;
  while (first < text.size() && is_space(text[first])) ++first;
  if (first == text.size()) return;

  auto record = [&](const OrderedJson& item, const std::string& where, int64_t row_bytes) {
    if (item.is_object()) return fn(item, where, row_bytes);
    if (item.is_string()) return fn(OrderedJson{{"text", item}}, where, row_bytes);  // a list of strings: a text column
    throw InputError(where, "expected a JSON object (one record), got " + item.dump().substr(0, 80));
  };
  auto items = [&](const OrderedJson& array, const std::string& what) {
    if (!array.is_array()) throw InputError(path, what + " must be a list of records, got a " + std::string(array.type_name()));
    for (size_t k = 0; k < array.size(); ++k) record(array[k], path + ": item " + std::to_string(k), 0);
  };

  if (!field.empty()) {
    OrderedJson doc = parse_ordered(text, path);
    if (!doc.is_object() || !doc.contains(field))
      throw InputError(path, "field=\"" + field + "\": expected a top-level object with that key");
    return items(doc[field], "\"" + field + "\"");
  }
  if (text[first] == '[') return items(parse_ordered(text, path), "the top-level array");

  // JSON Lines.
  const int64_t max_row = max_row_bytes();
  int64_t line_no = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    ++line_no;
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    size_t b = 0;
    while (b < line.size() && is_space(line[b])) ++b;
    if (b == line.size()) continue;  // blank line
    if (static_cast<int64_t>(line.size()) > max_row)
      throw_row_too_long(path + ":" + std::to_string(line_no), static_cast<int64_t>(line.size()), max_row,
                         "split the record, or keep long texts in a text file");
    OrderedJson value = OrderedJson::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) {
      // A pretty-printed top-level object is not JSON Lines: say so, listing its keys.
      if (line_no == 1 || text[first] == '{') {
        OrderedJson doc = OrderedJson::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
        if (doc.is_object()) {
          std::vector<std::string> keys;
          for (const auto& [k, v] : doc.items()) keys.push_back(k);
          throw InputError(path, "is one JSON object with keys [" + join(keys, ", ") +
                                     "], not JSON Lines or a list of records; pass field=<key> naming the list");
        }
      }
      try {
        OrderedJson strict = OrderedJson::parse(line.begin(), line.end());  // throws the detailed error
        (void)strict;
      } catch (const OrderedJson::exception& e) {  // parse_error, or out_of_range for a number like 1e400
        std::string msg = e.what();
        auto pos = msg.find("]: ");  // drop nlohmann's "[json.exception.parse_error.101] " prefix
        throw InputError(path, line_no, "invalid JSON: " + (pos == std::string::npos ? msg : msg.substr(pos + 3)));
      }
    }
    record(value, path + ":" + std::to_string(line_no), static_cast<int64_t>(line.size()));
  }
}

}  // namespace

void build_json(const std::vector<std::string>& files, const LoadOptions& options, const std::string& out_path,
                const std::string& fingerprint) {
  if (build_json_lines_fast(files, options, out_path, fingerprint)) return;  // JSON Lines of plain records
  // Pass 1: column names (in order of first appearance) and their unified types.
  struct ColumnInfo {
    std::string name;
    InferredType type;
    std::string typed_at;  // where the column's type was first set
  };
  std::vector<ColumnInfo> columns;
  for (const auto& path : files) {
    for_each_record(path, options.field, [&](const OrderedJson& rec, const std::string& where, int64_t) {
      for (const auto& [key, value] : rec.items()) {
        ColumnInfo* col = nullptr;
        for (auto& c : columns)
          if (c.name == key) col = &c;
        if (!col) {
          columns.push_back({key, InferredType{}, ""});
          col = &columns.back();
        }
        InferredType t;
        try {
          t = infer_type(value);
        } catch (const InputError& e) {
          throw InputError(where, "column \"" + key + "\": " + e.what());
        }
        std::string why;
        bool was_null = col->type.kind == InferredType::Kind::kNull;
        if (!unify_types(col->type, t, &why))
          throw InputError(where, "column \"" + key + "\": expected " + col->type.to_string() + " (as at " +
                                      col->typed_at + "), got " + t.to_string() + ": " + why);
        if (was_null && col->type.kind != InferredType::Kind::kNull) col->typed_at = where;
      }
    });
  }
  arrow::Schema schema;
  for (const auto& c : columns) schema.fields.push_back(arrow::field(c.name, to_arrow_type(c.type)));
  schema.metadata = hf_schema_metadata(schema, fingerprint);

  // Pass 2: values, in record batches of writer_batch_size rows.
  BatchedTableWriter writer(out_path, schema, options.writer_batch_size);
  for (const auto& path : files) {
    for_each_record(path, options.field, [&](const OrderedJson& rec, const std::string& where, int64_t row_bytes) {
      writer.begin_row(row_bytes);
      for (size_t c = 0; c < columns.size(); ++c) {
        auto it = rec.find(columns[c].name);
        try {
          if (it == rec.end()) writer.column(c).append_null();
          else writer.column(c).append_json(*it);
        } catch (const InputError& e) {
          throw InputError(where, "column \"" + columns[c].name + "\": " + e.what());
        }
      }
      writer.end_row();
    });
  }
  writer.close();
}

}  // namespace tcpp::datasets::builders
