// Shared pieces of the packaged builders: the record-batch writer of their second (value) pass.
#include "tcpp/datasets/builders/builders.h"

#include <algorithm>

namespace tcpp::datasets::builders {

BatchedTableWriter::BatchedTableWriter(const std::string& path, const arrow::Schema& schema, int64_t batch_rows)
    : writer_(arrow::IpcWriter::open(path, schema)), batch_rows_(std::max<int64_t>(1, batch_rows)) {
  for (const auto& f : schema.fields) builders_.emplace_back(f.type);
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
}

}  // namespace tcpp::datasets::builders
