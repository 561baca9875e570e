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
    int column_map = -1;  // index into column_maps when the batch stores schema's columns elsewhere; -1: in place
  };
  std::vector<Chunk> chunks;  // non-empty batches only, in order
  int64_t num_rows = 0;
  /// For each column of schema, the batch's column holding it: how a concatenation of datasets whose files store
  /// the same columns in other orders (or with others) reads them where they are.
  std::vector<std::vector<size_t>> column_maps;

  /// A row's place: its record batch, its index there, and where that batch keeps schema's columns.
  struct Located {
    const arrow::RecordBatch* batch;
    int64_t row;
    const std::vector<size_t>* columns;  // null: schema's order
    const arrow::Array& column(size_t c) const { return batch->columns[columns ? (*columns)[c] : c]; }
  };
  /// Where physical row `row` is (a mapped batch is loaded on first use).
  Located locate(int64_t row) const;
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
