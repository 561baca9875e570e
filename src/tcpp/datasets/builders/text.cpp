// The text builder: one row per line, paragraph or file, in a "text" column (as datasets' packaged text builder).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cstdlib>
#include <functional>
#include <string>
#include <string_view>

#include "tcpp/core/error.h"
#include "tcpp/core/read_only_file.h"
#include "tcpp/core/strings.h"
#include "tcpp/datasets/arrow/ipc.h"
#include "tcpp/datasets/arrow/memory_map.h"
#include "tcpp/datasets/builders/builders.h"
#include "tcpp/datasets/dataset_internal.h"
#include "tcpp/datasets/builders/lines.h"
#include "tcpp/datasets/builders/utf8.h"

namespace tcpp::datasets::builders {

namespace {

// The rows of the record batch being built: a utf8 array's offsets and bytes, written and reused batch by batch.
class LineBatches {
 public:
  LineBatches(arrow::IpcWriter& writer, int64_t batch_rows) : writer_(writer), batch_rows_(std::max<int64_t>(1, batch_rows)) {
    offsets_.reserve(static_cast<size_t>(std::min<int64_t>(batch_rows_, 1 << 20)) + 1);
    offsets_.push_back(0);
  }
  int64_t rows() const { return static_cast<int64_t>(offsets_.size()) - 1; }
  void add(std::string_view row, std::string_view line_break) {
    if (static_cast<int64_t>(data_.size() + row.size() + line_break.size()) > kArrowMaxStringBytes) flush();
    data_.append(row.data(), row.size());
    data_.append(line_break.data(), line_break.size());
    offsets_.push_back(static_cast<int32_t>(data_.size()));
    if (rows() >= batch_rows_) flush();
  }
  void flush() {
    if (rows() == 0) return;
    arrow::Array::Parts p;
    p.type = arrow::utf8();
    p.length = rows();
    p.values = reinterpret_cast<const uint8_t*>(offsets_.data());
    p.values_size = static_cast<int64_t>(offsets_.size() * sizeof(int32_t));
    p.data = reinterpret_cast<const uint8_t*>(data_.data());
    p.data_size = static_cast<int64_t>(data_.size());
    writer_.write_batch({arrow::Array::from_parts(std::move(p))});
    offsets_.resize(1);  // the next batch reuses both buffers
    data_.clear();
  }

 private:
  arrow::IpcWriter& writer_;
  int64_t batch_rows_;
  std::vector<int32_t> offsets_;
  std::string data_;
};

// The length of the line starting at byte `offset` of path (with its line break when keep_linebreaks), for the
// error about a row over the limit once it is known to be one (the file is mapped; this is the error path only).
int64_t line_length_at(const std::string& path, int64_t offset, bool keep_linebreaks) {
  auto file = arrow::MappedFile::open(path);
  std::string_view raw(reinterpret_cast<const char*>(file->data()), static_cast<size_t>(file->size()));
  int64_t n = 0;
  for_each_line_t(raw.substr(static_cast<size_t>(offset)), keep_linebreaks, [&](std::string_view row) {
    n = static_cast<int64_t>(row.size());
    return false;
  });
  return n;
}

// sample_by "line": the file is read (not mapped) in pieces of 1 MiB into one buffer that stays in the CPU cache,
// and scan_lines() checks UTF-8 and splits lines in the same pass, so every byte is read from memory once and
// copied once into the record batch (then once more by the kernel into the cache file). A line longer than the
// buffer grows it (up to the longest row allowed).
void read_lines(const std::string& path, bool keep_linebreaks, int64_t max_row, LineBatches& out) {
  ReadOnlyFile file(path, /*sequential=*/true);
  std::vector<char> buf(size_t{1} << 20);
  size_t have = 0;     // bytes in buf
  int64_t at = 0;      // file offset of buf[0]
  int64_t line = 0;    // rows handed out so far
  bool eof = false;
  while (!eof || have > 0) {
    if (!eof && have < buf.size()) eof = file.fill(buf.data(), buf.size(), have);
    LineScan scan = scan_lines(std::string_view(buf.data(), have), /*at_end=*/eof, [&](std::string_view row, std::string_view line_break) {
      ++line;
      const auto n = static_cast<int64_t>(row.size() + (keep_linebreaks ? line_break.size() : 0));
      if (n > max_row) throw_row_too_long(path + ":" + std::to_string(line), n, max_row, "split the text into shorter lines");
      out.add(row, keep_linebreaks ? line_break : std::string_view());
    });
    if (scan.invalid != std::string_view::npos) {
      // The error names the line and file offset as check_utf8 does over the whole file (mapped: error path only).
      auto file = arrow::MappedFile::open(path);
      std::string_view raw(reinterpret_cast<const char*>(file->data()), static_cast<size_t>(file->size()));
      check_utf8(raw.substr(0, std::min(raw.size(), static_cast<size_t>(at) + scan.invalid + 4)), path);
      throw InputError(path, "invalid UTF-8 at offset " + std::to_string(at + static_cast<int64_t>(scan.invalid)));
    }
    const size_t left = have - scan.consumed;  // an unfinished line: kept for the next read
    if (left > 0 && scan.consumed == 0 && have == buf.size()) {
      // No line ends in the whole buffer: it is one line longer than the buffer.
      if (static_cast<int64_t>(have) > max_row + 4) {
        throw_row_too_long(path + ":" + std::to_string(line + 1), line_length_at(path, at, keep_linebreaks), max_row,
                           "split the text into shorter lines");
      }
      buf.resize(std::min<size_t>(buf.size() * 2, static_cast<size_t>(max_row) + 8));
      if (have < buf.size()) continue;
    }
    std::memmove(buf.data(), buf.data() + scan.consumed, left);
    at += static_cast<int64_t>(scan.consumed);
    have = left;
    if (eof && scan.consumed == 0 && have > 0) throw InputError(path, "internal error: unread bytes at the end");
  }
}

}  // namespace

void build_text(const std::vector<std::string>& files, const LoadOptions& options, const std::string& out_path,
                const std::string& fingerprint) {
  if (options.sample_by != "line" && options.sample_by != "paragraph" && options.sample_by != "document")
    throw InputError("sample_by", "expected line, paragraph or document, got \"" + options.sample_by + "\"");
  arrow::Schema schema;
  schema.fields.push_back(arrow::field("text", arrow::utf8()));
  schema.metadata = hf_schema_metadata(schema, fingerprint);
  auto writer = arrow::IpcWriter::open(out_path, schema, arrow::IpcFormat::kStream, arrow::Durability::kPageCache);
  const int64_t max_row = max_row_bytes();
  if (options.sample_by == "line") {
    LineBatches batches(*writer, options.writer_batch_size);
    for (const auto& path : files) read_lines(path, options.keep_linebreaks, max_row, batches);
    batches.flush();
    writer->close();
    return;
  }
  arrow::ArrayBuilder rows(arrow::utf8());
  int64_t batch_bytes = 0;  // a utf8 array holds at most 2 GiB - 1 bytes: flush before a row would overflow it
  auto flush = [&] {
    if (rows.length() > 0) writer->write_batch({rows.borrow()});
    rows.reset();  // the next batch reuses the buffers
    batch_bytes = 0;
  };
  // `where` is only built for a row over the limit: "path: paragraph N" or "path".
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
    check_utf8(raw, path);
    std::string translated;
    std::string_view text = raw;
    if (raw.find('\r') != std::string_view::npos) {
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
