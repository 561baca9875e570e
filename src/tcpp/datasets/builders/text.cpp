// The text builder: one row per line, paragraph or file, in a "text" column (as datasets' packaged text builder).
#include <string>
#include <string_view>

#include "tcpp/core/error.h"
#include "tcpp/datasets/arrow/ipc.h"
#include "tcpp/datasets/arrow/memory_map.h"
#include "tcpp/datasets/builders/builders.h"
#include "tcpp/datasets/dataset_internal.h"
#include "tcpp/datasets/builders/utf8.h"

namespace tcpp::datasets::builders {
namespace {

// Python's universal newlines (open() in text mode): "\r\n" and "\r" read as "\n".
std::string translate_newlines(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// Length of the line boundary starting at s[i] as Python's str.splitlines sees it (0 if none). "\r" never
// occurs here (translated already).
size_t line_break_at(std::string_view s, size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  if (c == '\n' || c == 0x0b || c == 0x0c || c == 0x1c || c == 0x1d || c == 0x1e) return 1;
  if (c == 0xc2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x85) return 2;  // U+0085
  if (c == 0xe2 && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
      (static_cast<unsigned char>(s[i + 2]) == 0xa8 || static_cast<unsigned char>(s[i + 2]) == 0xa9))
    return 3;  // U+2028, U+2029
  return 0;
}

}  // namespace

void build_text(const std::vector<std::string>& files, const LoadOptions& options, const std::string& out_path,
                const std::string& fingerprint) {
  if (options.sample_by != "line" && options.sample_by != "paragraph" && options.sample_by != "document")
    throw InputError("sample_by", "expected line, paragraph or document, got \"" + options.sample_by + "\"");
  arrow::Schema schema;
  schema.fields.push_back(arrow::field("text", arrow::utf8()));
  schema.metadata = hf_schema_metadata(schema, fingerprint);
  auto writer = arrow::IpcWriter::open(out_path, schema);
  arrow::ArrayBuilder rows(arrow::utf8());
  auto add = [&](std::string_view row) {
    rows.append_string(row);
    if (rows.length() >= options.writer_batch_size) writer->write_batch({rows.finish()});
  };
  for (const auto& path : files) {
    auto file = arrow::MappedFile::open(path);
    std::string_view raw(reinterpret_cast<const char*>(file->data()), static_cast<size_t>(file->size()));
    check_utf8(raw, path);
    std::string translated;
    std::string_view text = raw;
    if (raw.find('\r') != std::string_view::npos) {
      translated = translate_newlines(raw);
      text = translated;
    }
    if (options.sample_by == "document") {
      add(text);
    } else if (options.sample_by == "paragraph") {
      // Non-empty pieces between "\n\n", as the builder's paragraph mode.
      size_t start = 0;
      while (start <= text.size()) {
        size_t end = text.find("\n\n", start);
        if (end == std::string_view::npos) end = text.size();
        if (end > start) add(text.substr(start, end - start));
        start = end + 2;
      }
    } else {
      size_t start = 0;
      for (size_t i = 0; i < text.size();) {
        size_t n = line_break_at(text, i);
        if (n == 0) {
          ++i;
          continue;
        }
        add(text.substr(start, (options.keep_linebreaks ? i + n : i) - start));
        i += n;
        start = i;
      }
      if (start < text.size()) add(text.substr(start));
    }
  }
  if (rows.length() > 0) writer->write_batch({rows.finish()});
  writer->close();
}

}  // namespace tcpp::datasets::builders
