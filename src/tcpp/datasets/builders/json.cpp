// The json builder: JSON Lines or a top-level array of records, types inferred over all rows
// (as datasets' packaged json builder over pyarrow.json, but a type conflict is an error naming file:line).
#include <algorithm>
#include <cstdio>
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

// Where each value of a JSON document held in memory ends, found without building it: strings and nesting are
// followed, the values themselves are parsed one at a time afterwards (parse). A top-level array of records, or the
// list that field= names, is thus read one record at a time, memory following the largest record rather than the
// file (datasets' json.load builds the whole document; nlohmann's would take ~10x the file). Errors name
// "path:line:column" of the whole file.
class Scanner {
 public:
  Scanner(std::string_view text, const std::string& path) : text_(text), path_(path) {}

  size_t skip_space(size_t p) const {
    while (p < text_.size() && is_space(text_[p])) ++p;
    return p;
  }
  char at(size_t p) const { return p < text_.size() ? text_[p] : '\0'; }

  // One past the end of the value that starts at p (not checked inside: parse does that).
  size_t value_end(size_t p) const {
    // nlohmann skips a byte order mark at the start of what it parses; inside a document it is not JSON.
    if (text_.substr(p, 3) == "\xef\xbb\xbf")
      fail(p, "a byte order mark (EF BB BF) inside the document, where a JSON value belongs");
    const char c = at(p);
    if (c == '"') return string_end(p);
    if (c == '{' || c == '[') {
      int64_t depth = 0;
      for (size_t i = p; i < text_.size(); ++i) {
        const char d = text_[i];
        if (d == '"') i = string_end(i) - 1;
        else if (d == '{' || d == '[') ++depth;
        else if ((d == '}' || d == ']') && --depth == 0) return i + 1;
      }
      fail(p, std::string("the ") + (c == '{' ? "object" : "array") + " that starts here is never closed");
    }
    size_t i = p;
    while (i < text_.size() && !is_space(text_[i]) && text_[i] != ',' && text_[i] != ']' && text_[i] != '}') ++i;
    if (i == p) fail(p, "expected a JSON value" + found(p));
    return i;
  }

  // The value in [b, e), parsed alone.
  OrderedJson parse(size_t b, size_t e) const {
    const std::string_view s = text_.substr(b, e - b);
    OrderedJson v = OrderedJson::parse(s.begin(), s.end(), nullptr, /*allow_exceptions=*/false);
    if (!v.is_discarded()) return v;
    try {
      const OrderedJson strict = OrderedJson::parse(s.begin(), s.end());  // throws the detailed error
      (void)strict;
    } catch (const OrderedJson::exception& x) {
      const JsonErrorAt err = locate_json_error(x, s);
      fail(b + err.offset, "invalid JSON (" + err.what + ")");
    }
    fail(b, "invalid JSON");
  }

  // Checks that [b, e) is valid JSON without building it (memory: its nesting depth only).
  void check(size_t b, size_t e) const {
    struct Discard : nlohmann::json_sax<OrderedJson> {
      std::string_view text;
      size_t at = 0;
      std::string what;
      bool null() override { return true; }
      bool boolean(bool) override { return true; }
      bool number_integer(number_integer_t) override { return true; }
      bool number_unsigned(number_unsigned_t) override { return true; }
      bool number_float(number_float_t, const string_t&) override { return true; }
      bool string(string_t&) override { return true; }
      bool binary(binary_t&) override { return true; }
      bool start_object(std::size_t) override { return true; }
      bool key(string_t&) override { return true; }
      bool end_object() override { return true; }
      bool start_array(std::size_t) override { return true; }
      bool end_array() override { return true; }
      bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& x) override {
        const JsonErrorAt err = locate_json_error(x, text);
        at = err.offset, what = err.what;
        return false;
      }
    } discard;
    const std::string_view s = text_.substr(b, e - b);
    discard.text = s;
    if (!OrderedJson::sax_parse(s.begin(), s.end(), &discard)) fail(b + discard.at, "invalid JSON (" + discard.what + ")");
  }

  // Calls fn(begin, end, k) for the k-th item of the array whose '[' is at p; returns one past its ']'.
  size_t for_each_item(size_t p, const std::function<void(size_t, size_t, size_t)>& fn) const {
    size_t i = skip_space(p + 1);
    if (at(i) == ']') return i + 1;
    for (size_t k = 0;; ++k) {
      const size_t e = value_end(i);
      fn(i, e, k);
      i = skip_space(e);
      if (at(i) == ']') return i + 1;
      if (at(i) != ',') fail(i, "expected ',' or ']' after item " + std::to_string(k) + " of the array" + found(i));
      i = skip_space(i + 1);
    }
  }

  // Calls fn(key, begin, end) for each member of the object whose '{' is at p; returns one past its '}'.
  size_t for_each_member(size_t p, const std::function<void(const std::string&, size_t, size_t)>& fn) const {
    size_t i = skip_space(p + 1);
    if (at(i) == '}') return i + 1;
    for (;;) {
      if (at(i) != '"') fail(i, "expected a key in double quotes" + found(i));
      const size_t key_end = string_end(i);
      const std::string key = parse(i, key_end).get<std::string>();
      i = skip_space(key_end);
      if (at(i) != ':') fail(i, "expected ':' after the key \"" + key + "\"" + found(i));
      const size_t b = skip_space(i + 1);
      const size_t e = value_end(b);
      fn(key, b, e);
      i = skip_space(e);
      if (at(i) == '}') return i + 1;
      if (at(i) != ',') fail(i, "expected ',' or '}' after the value of \"" + key + "\"" + found(i));
      i = skip_space(i + 1);
    }
  }

  // Only white space may follow the top-level value, which ends at p.
  void expect_end(size_t p) const {
    p = skip_space(p);
    if (p < text_.size()) fail(p, "unexpected text after the top-level value" + found(p));
  }

  [[noreturn]] void fail(size_t at, const std::string& what) const {
    at = std::min(at, text_.size());
    size_t line = 1, line_start = 0;
    for (size_t i = 0; i < at; ++i)
      if (text_[i] == '\n') ++line, line_start = i + 1;
    throw InputError(path_ + ":" + std::to_string(line) + ":" + std::to_string(at - line_start + 1), what);
  }

 private:
  size_t string_end(size_t p) const {
    for (size_t i = p + 1; i < text_.size(); ++i) {
      if (text_[i] == '\\') ++i;
      else if (text_[i] == '"') return i + 1;
    }
    fail(p, "the string that starts here is never closed");
  }
  std::string found(size_t p) const {
    if (p >= text_.size()) return ", found the end of the file";
    const auto c = static_cast<unsigned char>(text_[p]);
    if (c >= 0x20 && c < 0x7f) return ", found '" + std::string(1, text_[p]) + "'";
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02x", c);
    return std::string(", found byte ") + hex;
  }

  std::string_view text_;
  const std::string& path_;
};

// Call fn(record, where, row_bytes) for every record of a file; where is "path:line" for a JSON line or
// "path:line: item k" for an item of a list (line: where the item starts), row_bytes the record's JSON length. A
// record longer than max_row_bytes() is refused before it is parsed.
void for_each_record(const std::string& path, const std::string& field,
                     const std::function<void(const OrderedJson&, const std::string&, int64_t)>& fn) {
  auto file = arrow::MappedFile::open(path);
  std::string_view text(reinterpret_cast<const char*>(file->data()), static_cast<size_t>(file->size()));
  if (text.substr(0, 3) == "\xef\xbb\xbf") text.remove_prefix(3);  // UTF-8 byte order mark
  check_utf8(text, path);
  size_t first = 0;
  while (first < text.size() && is_space(text[first])) ++first;
  if (first == text.size()) return;
  const int64_t max_row = max_row_bytes();

  auto record = [&](const OrderedJson& item, const std::string& where, int64_t row_bytes) {
    if (item.is_object()) return fn(item, where, row_bytes);
    if (item.is_string()) return fn(OrderedJson{{"text", item}}, where, row_bytes);  // a list of strings: a text column
    throw InputError(where, "expected a JSON object (one record), got " + item.dump().substr(0, 80));
  };
  const Scanner scan(text, path);
  size_t item_line = 1, line_counted = 0;  // line of byte line_counted (items come in order: counted once)
  auto items = [&](size_t b, size_t e, const std::string& what) {
    if (text[b] != '[') {
      const OrderedJson v = scan.parse(b, e);
      throw InputError(path, what + " must be a list of records, got a " + std::string(v.type_name()));
    }
    scan.for_each_item(b, [&](size_t ib, size_t ie, size_t k) {
      item_line += static_cast<size_t>(std::count(text.begin() + static_cast<std::ptrdiff_t>(line_counted),
                                             text.begin() + static_cast<std::ptrdiff_t>(ib), '\n'));
      line_counted = ib;
      const std::string where = path + ":" + std::to_string(item_line) + ": item " + std::to_string(k);
      const int64_t n = static_cast<int64_t>(ie - ib);
      if (n > max_row) throw_row_too_long(where, n, max_row, "split the record, or keep long texts in a text file");
      record(scan.parse(ib, ie), where, n);
    });
  };

  if (!field.empty()) {
    if (text[first] != '{') {
      scan.value_end(first);  // a syntax error first
      throw InputError(path, "field=\"" + field + "\": expected a top-level object with that key");
    }
    size_t b = 0, e = 0;  // the last member of that name (json.load keeps the last); the others only checked
    const size_t end = scan.for_each_member(first, [&](const std::string& key, size_t vb, size_t ve) {
      if (key != field) return scan.check(vb, ve);
      if (e > 0) scan.check(b, e);
      b = vb, e = ve;
    });
    scan.expect_end(end);
    if (e == 0) throw InputError(path, "field=\"" + field + "\": expected a top-level object with that key");
    return items(b, e, "\"" + field + "\"");
  }
  if (text[first] == '[') {
    const size_t end = scan.value_end(first);
    scan.expect_end(end);
    return items(first, end, "the top-level array");
  }

  // JSON Lines.
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
    if (line.substr(b, 3) == "\xef\xbb\xbf")  // nlohmann would skip it; past the file's start it is not JSON
      throw InputError(path + ":" + std::to_string(line_no),
                       "a byte order mark (EF BB BF) starts the line; only the file's first bytes may be one");
    if (static_cast<int64_t>(line.size()) > max_row)
      throw_row_too_long(path + ":" + std::to_string(line_no), static_cast<int64_t>(line.size()), max_row,
                         "split the record, or keep long texts in a text file");
    OrderedJson value = OrderedJson::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) {
      // A pretty-printed top-level object is not JSON Lines: say so, listing its keys.
      if (text[first] == '{') {
        std::vector<std::string> keys;
        bool one_object = true;
        try {
          scan.expect_end(scan.for_each_member(first, [&](const std::string& k, size_t, size_t) { keys.push_back(k); }));
        } catch (const InputError&) {
          one_object = false;  // not one object either: the line's own error below
        }
        if (one_object)
          throw InputError(path, "is one JSON object with keys [" + join(keys, ", ") +
                                     "], not JSON Lines or a list of records; pass field=<key> naming the list");
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
