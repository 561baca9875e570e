// The csv builder: a header row, quoted fields, column types as pandas.read_csv infers them
// (as datasets' packaged csv builder, which reads with pandas and converts with pa.Table.from_pandas).
#include <cmath>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tcpp/core/error.h"
#include "tcpp/core/strings.h"
#include "tcpp/datasets/arrow/ipc.h"
#include "tcpp/datasets/arrow/memory_map.h"
#include "tcpp/datasets/builders/builders.h"
#include "tcpp/datasets/builders/utf8.h"
#include "tcpp/datasets/dataset_internal.h"

namespace tcpp::datasets::builders {
namespace {

struct Record {
  std::vector<std::string> fields;
  std::vector<bool> quoted;  // a quoted empty field is an empty string, not a missing value
  int64_t line;              // where the record starts (1-based)
  int64_t bytes = 0;         // its length in the file, line end included
};

// RFC 4180 records: delimiter-separated, "..." quoting with "" for a quote, newlines allowed inside quotes,
// "\r\n" or "\n" line ends, blank lines skipped (pandas' skip_blank_lines). A record longer than max_row bytes is
// an InputError naming its first line, thrown before more than max_row bytes of it are copied.
class CsvReader {
 public:
  CsvReader(std::string_view text, char delimiter, std::string path, int64_t max_row)
      : text_(text), delimiter_(delimiter), path_(std::move(path)), max_row_(static_cast<size_t>(max_row)) {}

  bool next(Record& r) {
    r.fields.clear();
    r.quoted.clear();
    while (pos_ < text_.size() && (text_[pos_] == '\n' || text_[pos_] == '\r')) {  // blank lines
      if (text_[pos_] == '\n') ++line_;
      ++pos_;
    }
    if (pos_ >= text_.size()) return false;
    r.line = line_;
    const size_t start = pos_;
    // The record's end is not known ahead (quotes may hold newlines): check the length as it is read.
    const size_t stop = text_.size() - start > max_row_ ? start + max_row_ : text_.size();
    auto too_long = [&] {
      throw_row_too_long(path_ + ":" + std::to_string(r.line), -1, static_cast<int64_t>(max_row_),
                         "split the field or record, or keep long texts in a text file");
    };
    std::string field;
    bool quoted = false;
    while (true) {
      if (pos_ >= stop && pos_ < text_.size() && text_[pos_] != '\n' && text_[pos_] != '\r') too_long();
      if (pos_ >= text_.size()) {
        r.fields.push_back(std::move(field));
        r.quoted.push_back(quoted);
        r.bytes = static_cast<int64_t>(pos_ - start);
        return true;
      }
      char c = text_[pos_];
      if (c == '"' && field.empty() && !quoted) {
        quoted = true;
        ++pos_;
        int64_t start_line = line_;
        while (true) {
          if (pos_ >= text_.size()) throw InputError(path_, start_line, "unterminated quoted field");
          if (pos_ >= stop) too_long();
          char q = text_[pos_++];
          if (q == '"') {
            if (pos_ < text_.size() && text_[pos_] == '"') {
              field.push_back('"');
              ++pos_;
            } else {
              break;
            }
          } else {
            if (q == '\n') ++line_;
            field.push_back(q);
          }
        }
        continue;
      }
      if (c == delimiter_) {
        r.fields.push_back(std::move(field));
        r.quoted.push_back(quoted);
        field.clear();
        quoted = false;
        ++pos_;
        continue;
      }
      if (c == '\n' || c == '\r') {
        if (c == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') ++pos_;
        ++pos_;
        ++line_;
        r.fields.push_back(std::move(field));
        r.quoted.push_back(quoted);
        r.bytes = static_cast<int64_t>(pos_ - start);
        return true;
      }
      field.push_back(c);
      ++pos_;
    }
  }

 private:
  std::string_view text_;
  char delimiter_;
  std::string path_;
  size_t max_row_;
  size_t pos_ = 0;
  int64_t line_ = 1;
};

// pandas' default missing-value spellings (na_values) that matter in practice.
bool is_missing(const std::string& s, bool quoted) {
  if (quoted) return false;
  return s.empty() || s == "NaN" || s == "nan" || s == "NA" || s == "N/A" || s == "n/a" || s == "null" ||
         s == "NULL" || s == "None" || s == "<NA>" || s == "#N/A" || s == "-NaN" || s == "-nan";
}

std::optional<bool> csv_bool(const std::string& s) {
  if (s == "True" || s == "TRUE" || s == "true") return true;
  if (s == "False" || s == "FALSE" || s == "false") return false;
  return std::nullopt;
}

enum class Kind { kUnknown, kBool, kInt, kDouble, kString };

struct ColumnState {
  Kind kind = Kind::kUnknown;
  bool has_missing = false;
};

void observe(ColumnState& c, const std::string& v, bool quoted) {
  if (is_missing(v, quoted)) {
    c.has_missing = true;
    return;
  }
  Kind k;
  if (parse_int(v)) k = Kind::kInt;
  else if (parse_double(v)) k = Kind::kDouble;
  else if (csv_bool(v)) k = Kind::kBool;
  else k = Kind::kString;
  if (c.kind == Kind::kUnknown || c.kind == k) c.kind = k;
  else if ((c.kind == Kind::kInt && k == Kind::kDouble) || (c.kind == Kind::kDouble && k == Kind::kInt)) c.kind = Kind::kDouble;
  else c.kind = Kind::kString;  // pandas falls back to object (str) columns
}

arrow::DataType arrow_type(const ColumnState& c) {
  switch (c.kind) {
    case Kind::kInt: return c.has_missing ? arrow::float64() : arrow::int64();  // pandas: NaN forces float64
    case Kind::kDouble: return arrow::float64();
    case Kind::kBool: return c.has_missing ? arrow::utf8() : arrow::bool_();  // pandas: object column
    default: return arrow::utf8();
  }
}

// The file's text, read in place from the mapping `keep` holds (not copied: a big file costs page cache only).
std::string_view read_text(const std::string& path, std::shared_ptr<const arrow::MappedFile>& keep) {
  keep = arrow::MappedFile::open(path);
  std::string_view text(reinterpret_cast<const char*>(keep->data()), static_cast<size_t>(keep->size()));
  if (text.substr(0, 3) == "\xef\xbb\xbf") text.remove_prefix(3);
  check_utf8(text, path);
  return text;
}

// A record's value in a column of kind `type` (arrow_type's), appended to b.
void append_field(const Record& r, size_t i, arrow::ArrayBuilder& b) {
  if (i >= r.fields.size() || is_missing(r.fields[i], r.quoted[i])) return b.append_null();
  const std::string& v = r.fields[i];
  switch (b.type().id) {
    case arrow::TypeId::kInt64: return b.append_int(*parse_int(v));
    case arrow::TypeId::kFloat64: return b.append_double(*parse_double(v));
    case arrow::TypeId::kBool: return b.append_bool(*csv_bool(v));
    default: return b.append_string(v);
  }
}

// The header record, whose names must be unique.
Record read_header(CsvReader& reader, const std::string& path) {
  Record r;
  if (!reader.next(r)) throw InputError(path, "empty CSV file: expected a header row");
  for (size_t i = 0; i < r.fields.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (r.fields[i] == r.fields[j]) throw InputError(path, r.line, "duplicate column name \"" + r.fields[i] + "\"");
  return r;
}

void check_width(const Record& r, size_t columns, const std::string& path) {
  if (r.fields.size() > columns)
    throw InputError(path, r.line, "expected " + std::to_string(columns) + " fields, saw " +
                                       std::to_string(r.fields.size()));
}

}  // namespace

bool for_each_csv_chunk(const std::string& path, const LoadOptions& options, int64_t chunk_rows,
                        const std::function<bool(const arrow::Schema&, const std::vector<arrow::Array>&)>& fn) {
  std::shared_ptr<const arrow::MappedFile> keep;
  const std::string_view text = read_text(path, keep);
  CsvReader reader(text, options.csv_delimiter, path, max_row_bytes());
  const std::vector<std::string> header = read_header(reader, path).fields;
  std::vector<Record> chunk;
  for (bool more = true; more;) {
    chunk.clear();
    Record r;
    while (static_cast<int64_t>(chunk.size()) < chunk_rows && (more = reader.next(r))) {
      check_width(r, header.size(), path);
      chunk.push_back(std::move(r));
    }
    if (chunk.empty()) break;
    // Each chunk's columns typed from its own values, as pandas types each chunk of read_csv(chunksize=...).
    std::vector<ColumnState> states(header.size());
    for (const auto& rec : chunk)
      for (size_t i = 0; i < header.size(); ++i) {
        if (i < rec.fields.size()) observe(states[i], rec.fields[i], rec.quoted[i]);
        else states[i].has_missing = true;
      }
    arrow::Schema schema;
    std::vector<arrow::Array> columns;
    for (size_t i = 0; i < header.size(); ++i) {
      schema.fields.push_back(arrow::field(header[i], arrow_type(states[i])));
      arrow::ArrayBuilder b(schema.fields.back().type);
      for (const auto& rec : chunk) append_field(rec, i, b);
      columns.push_back(b.finish());
    }
    if (!fn(schema, columns)) return false;
  }
  return true;
}

void build_csv(const std::vector<std::string>& files, const LoadOptions& options, const std::string& out_path,
               const std::string& fingerprint) {
  char delimiter = options.csv_delimiter;
  const int64_t max_row = max_row_bytes();
  std::vector<std::string> header;
  std::vector<ColumnState> states;
  // Pass 1: header (must agree across files) and column kinds.
  for (const auto& path : files) {
    std::shared_ptr<const arrow::MappedFile> keep;
    std::string_view text = read_text(path, keep);
    CsvReader reader(text, delimiter, path, max_row);
    const Record names = read_header(reader, path);
    if (header.empty()) {
      header = names.fields;
      states.resize(header.size());
    } else if (names.fields != header) {
      throw InputError(path, names.line, "header (" + join(names.fields, ", ") + ") differs from the first file's (" +
                                             join(header, ", ") + ")");
    }
    Record r;
    while (reader.next(r)) {
      check_width(r, header.size(), path);
      for (size_t i = 0; i < header.size(); ++i) {
        if (i < r.fields.size()) observe(states[i], r.fields[i], r.quoted[i]);
        else states[i].has_missing = true;  // pandas fills short rows with NaN
      }
    }
  }
  arrow::Schema schema;
  for (size_t i = 0; i < header.size(); ++i) schema.fields.push_back(arrow::field(header[i], arrow_type(states[i])));
  schema.metadata = hf_schema_metadata(schema, fingerprint);

  // Pass 2: values.
  BatchedTableWriter writer(out_path, schema, options.writer_batch_size);
  for (const auto& path : files) {
    std::shared_ptr<const arrow::MappedFile> keep;
    std::string_view text = read_text(path, keep);
    CsvReader reader(text, delimiter, path, max_row);
    Record r;
    reader.next(r);  // header
    while (reader.next(r)) {
      writer.begin_row(r.bytes);
      for (size_t i = 0; i < header.size(); ++i) append_field(r, i, writer.column(i));
      writer.end_row();
    }
  }
  writer.close();
}

}  // namespace tcpp::datasets::builders
