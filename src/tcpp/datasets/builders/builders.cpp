// Shared pieces of the packaged builders: the record-batch writer of their second (value) pass.
#include "tcpp/datasets/builders/builders.h"

#include <algorithm>
#include <cstdlib>
#include <string>

#include "tcpp/core/error.h"
#include "tcpp/core/strings.h"

namespace tcpp::datasets::builders {

BatchedTableWriter::BatchedTableWriter(const std::string& path, const arrow::Schema& schema, int64_t batch_rows)
    : writer_(arrow::IpcWriter::open(path, schema, arrow::IpcFormat::kStream, arrow::Durability::kPageCache)), batch_rows_(std::max<int64_t>(1, batch_rows)) {
  for (const auto& f : schema.fields) builders_.emplace_back(f.type);
}

void BatchedTableWriter::begin_row(int64_t row_bytes) {
  if (pending_bytes_ + row_bytes > kArrowMaxStringBytes && !builders_.empty() && builders_[0].length() > 0) flush();
  pending_bytes_ += row_bytes;
}

void BatchedTableWriter::end_row() {
  if (!builders_.empty() && builders_[0].length() >= batch_rows_) flush();
}

void BatchedTableWriter::close() {
  if (!builders_.empty() && builders_[0].length() > 0) flush();
  writer_->close();
}

void BatchedTableWriter::flush() {
  std::vector<arrow::Array> arrays;
  for (auto& b : builders_) arrays.push_back(b.borrow());
  writer_->write_batch(arrays);
  for (auto& b : builders_) b.reset();  // the next batch reuses the buffers
  pending_bytes_ = 0;
}

int64_t max_row_bytes() {
  const char* env = std::getenv("TCPP_MAX_ROW_BYTES");
  if (env == nullptr || *env == '\0') return kArrowMaxStringBytes;
  const auto v = parse_int(env);
  if (!v || *v < 1)
    throw InputError("TCPP_MAX_ROW_BYTES", "expected a positive number of bytes, got \"" + std::string(env) + "\"");
  return std::min(*v, kArrowMaxStringBytes);
}

void throw_row_too_long(const std::string& where, int64_t n, int64_t limit, const std::string& advice) {
  throw InputError(where + ": a row of " + (n < 0 ? "more than " + std::to_string(limit) : std::to_string(n)) +
                   " bytes is longer than the limit of " + std::to_string(limit) + " bytes (" +
                   (limit == kArrowMaxStringBytes ? std::string("an Arrow string holds at most 2 GiB - 1")
                                                  : std::string("set by TCPP_MAX_ROW_BYTES")) +
                   "); " + advice);
}

}  // namespace tcpp::datasets::builders
