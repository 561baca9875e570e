// Internals shared by dataset.cpp, map.cpp and save_load.cpp (never installed).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tcpp/datasets/arrow/ipc.h"
#include "tcpp/datasets/dataset.h"

namespace tcpp::datasets {

struct Dataset::Storage {
  arrow::Schema schema;
  std::vector<arrow::Table> tables;  // in memory (from_tables); empty when memory-mapped
  std::vector<std::shared_ptr<const arrow::IpcFileReader>> readers;  // memory-mapped files, batches loaded lazily
  std::vector<std::string> files;  // one per reader; empty in memory
  struct Chunk {
    size_t table, batch;  // table: index into tables, or into readers when mapped
    int64_t start;        // first row of the batch in the concatenation
    bool mapped = false;  // a memory-mapped file's batch (a concatenation may hold both kinds)
  };
  std::vector<Chunk> chunks;  // non-empty batches only, in order
  int64_t num_rows = 0;

  /// The batch holding physical row `row` and the row's index inside it (a mapped batch is loaded on first use).
  std::pair<const arrow::RecordBatch*, int64_t> locate(int64_t row) const;
  /// Storage over memory-mapped Arrow files, opened lazily (see arrow::IpcFileReader).
  static std::shared_ptr<const Storage> open_mapped(const std::vector<std::string>& files);
};

std::shared_ptr<const Dataset::Storage> make_storage(std::vector<arrow::Table> tables, std::vector<std::string> files);

Dataset make_dataset(std::shared_ptr<const Dataset::Storage> storage, std::string fingerprint);
/// Append visible column visible_column of rows [begin, end) to out, keeping the stored Arrow type.
void gather_rows(const Dataset& d, size_t visible_column, int64_t begin, int64_t end, arrow::ArrayBuilder& out);
/// Rows of the files (or memory) under d, before select/shuffle/shard.
int64_t stored_rows(const Dataset& d);
/// {"huggingface": {"info": {"features": ...}, "fingerprint": fp}} as HF's ArrowWriter stores it.
arrow::KeyValueMetadata hf_schema_metadata(const arrow::Schema& schema, const std::string& fingerprint);

}  // namespace tcpp::datasets
