// The text builder: one row per line, paragraph or file, in a "text" column (as datasets' packaged text builder).
#include <algorithm>
#include <cstdlib>
#include <functional>
#include <string>
#include <string_view>

#include "tcpp/core/error.h"
#include "tcpp/core/strings.h"
#include "tcpp/datasets/arrow/ipc.h"
#include "tcpp/datasets/arrow/memory_map.h"
#include "tcpp/datasets/builders/builders.h"
#include "tcpp/datasets/dataset_internal.h"
#include "tcpp/datasets/builders/lines.h"
#include "tcpp/datasets/builders/utf8.h"

namespace tcpp::datasets::builders {

void build_text(const std::vector<std::string>& files, const LoadOptions& options, const std::string& out_path,
                const std::string& fingerprint) {
  if (options.sample_by != "line" && options.sample_by != "paragraph" && options.sample_by != "document")
    throw InputError("sample_by", "expected line, paragraph or document, got \"" + options.sample_by + "\"");
  arrow::Schema schema;
  schema.fields.push_back(arrow::field("text", arrow::utf8()));
  schema.metadata = hf_schema_metadata(schema, fingerprint);
  auto writer = arrow::IpcWriter::open(out_path, schema);
  arrow::ArrayBuilder rows(arrow::utf8());
  const int64_t max_row = max_row_bytes();
  int64_t batch_bytes = 0;  // a utf8 array holds at most 2 GiB - 1 bytes: flush before a row would overflow it
  auto flush = [&] {
    if (rows.length() > 0) writer->write_batch({rows.borrow()});
    rows.reset();  // the next batch reuses the buffers
    batch_bytes = 0;
  };
  // `where` is only built for a row over the limit: "path:line", "path: paragraph N" or "path".
  auto add = [&](std::string_view row, const auto& where) {  // where() -> std::string, called only on error
    const auto n = static_cast<int64_t>(row.size());
    if (n > max_row) throw_row_too_long(where(), n, max_row, "split the text into shorter lines");
    if (batch_bytes + n > kArrowMaxStringBytes) flush();
    rows.append_string(row);
    batch_bytes += n;
    if (rows.length() >= options.writer_batch_size) flush();
  };
  for (const auto& path : files) {
    auto file = arrow::MappedFile::open(path);
    std::string_view raw(reinterpret_cast<const char*>(file->data()), static_cast<size_t>(file->size()));
    if (options.sample_by == "line") {
      // One pass in pieces of ~4 MB that end after a "\n" (always a line boundary, never inside a UTF-8 sequence or
      // a "\r\n"): each piece is validated and split while it is in the CPU cache, instead of reading the whole
      // mapped file from memory twice. The piece's page table entries are filled in one call, not fault by fault.
      constexpr size_t kPiece = size_t{4} << 20;
      int64_t line = 0;
      for (size_t begin = 0; begin < raw.size();) {
        size_t end = begin + kPiece >= raw.size() ? raw.size() : raw.find('\n', begin + kPiece);
        end = end == std::string_view::npos ? raw.size() : std::min(raw.size(), end + 1);
        file->prefault(static_cast<int64_t>(begin), static_cast<int64_t>(end - begin));
        std::string_view piece = raw.substr(begin, end - begin);
        if (find_invalid_utf8(piece) != std::string_view::npos) check_utf8(raw.substr(0, end), path);  // throws
        for_each_line_t(piece, options.keep_linebreaks, [&](std::string_view row) {
          ++line;
          add(row, [&] { return path + ":" + std::to_string(line); });
          return true;
        });
        begin = end;
      }
      continue;
    }
    check_utf8(raw, path);
    std::string translated;
    std::string_view text = raw;
    if (options.sample_by != "line" && raw.find('\r') != std::string_view::npos) {
      translated = translate_newlines_copy(raw);
      text = translated;
    }
    if (options.sample_by == "document") {
      add(text, [&] { return path; });
    } else {  // paragraph
      // Non-empty pieces between "\n\n", as the builder's paragraph mode.
      size_t start = 0;
      int64_t paragraph = 0;
      while (start <= text.size()) {
        size_t end = text.find("\n\n", start);
        if (end == std::string_view::npos) end = text.size();
        if (end > start) {
          ++paragraph;
          add(text.substr(start, end - start), [&] { return path + ": paragraph " + std::to_string(paragraph); });
        }
        start = end + 2;
      }
    }
  }
  flush();
  writer->close();
}

}  // namespace tcpp::datasets::builders
