// The text builder: one row per line, paragraph or file, in a "text" column (as datasets' packaged text builder).
#include <string>
#include <string_view>

#include "tcpp/core/error.h"
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
    if (options.sample_by != "line" && raw.find('\r') != std::string_view::npos) {
      translated = translate_newlines_copy(raw);
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
      for_each_line(text, options.keep_linebreaks, [&](std::string_view line) {
        add(line);
        return true;
      });
    }
  }
  if (rows.length() > 0) writer->write_batch({rows.finish()});
  writer->close();
}

}  // namespace tcpp::datasets::builders
