// Dataset: rows over memory-mapped Arrow tables with an optional index mapping (as datasets.Dataset):
// select/shuffle/train_test_split without copying, map with fingerprinted Arrow caches, save/load_from_disk.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tcpp/core/json.h"
#include "tcpp/datasets/arrow/table.h"
#include "tcpp/datasets/column.h"

namespace tcpp::datasets {

class Dataset;

/// A batched map function: takes a columnar batch, returns the new/updated columns. With num_proc > 1 it
/// is called from several threads at once, so it must be thread-safe.
using MapFunction = std::function<Batch(const Batch& batch)>;

struct MapOptions {
  /// Pass batches of batch_size rows (HF batched=True); false passes one row at a time.
  bool batched = false;
  int64_t batch_size = 1000;
  /// Split into num_proc contiguous shards mapped in parallel (threads), merged in order.
  int num_proc = 1;
  /// Input columns dropped from the output (HF remove_columns).
  std::vector<std::string> remove_columns;
  /// Reuse an existing cache file for the same fingerprint.
  bool load_from_cache_file = true;
  /// Write here instead of <cache dir>/cache-<fingerprint>.arrow.
  std::string cache_file_name;
  /// What the function depends on (e.g. "tokenize:" + tokenizer.json hash + max_length): part of the
  /// fingerprint, so a changed tokenizer never reuses a stale cache. Empty: a random fingerprint (no reuse).
  std::string function_key;
  /// Rows per record batch in the cache file (HF writer_batch_size).
  int64_t writer_batch_size = 1000;
  /// Drop the last incomplete batch (HF drop_last_batch).
  bool drop_last_batch = false;
  /// The progress bar's label (HF desc); empty: "Map" or "Map (num_proc=N)".
  std::string desc;
};


class Dataset {
 public:
  Dataset() = default;

  /// Open Arrow IPC files (stream or file format) memory-mapped, concatenated in order; they must share
  /// column names and types. Throws InputError naming the file that differs.
  static Dataset from_files(const std::vector<std::string>& paths, const std::string& fingerprint = "");
  /// Wrap in-memory tables (same schema) as a dataset; map results of such a dataset stay in memory too.
  static Dataset from_tables(std::vector<arrow::Table> tables, const std::string& fingerprint = "");
  /// Build an in-memory dataset from a batch (the columns' types as column_arrow_type()).
  static Dataset from_batch(const Batch& batch, const std::string& fingerprint = "");

  int64_t num_rows() const;
  std::vector<std::string> column_names() const;
  /// The schema of the visible columns.
  arrow::Schema schema() const;
  const std::string& fingerprint() const { return fingerprint_; }
  /// The Arrow files backing this dataset (empty when in memory).
  const std::vector<std::string>& cache_files() const;

  /// Row i as a JSON object (i may be negative: -1 is the last row, as Python indexing).
  Json row(int64_t i) const;
  /// Rows [begin, end) as a columnar batch (all columns, or only those named).
  Batch batch(int64_t begin, int64_t end, const std::vector<std::string>& columns = {}) const;
  /// Rows at arbitrary indices (e.g. a sampler's permutation slice) as a columnar batch.
  Batch rows(const std::vector<int64_t>& indices, const std::vector<std::string>& columns = {}) const;
  /// Column name for every row as JSON values.
  std::vector<Json> column(const std::string& name) const;
  /// Visit consecutive batches of batch_size rows (the last may be shorter).
  void for_each_batch(int64_t batch_size, const std::function<void(const Batch&)>& fn) const;

  /// Rows at the given indices, in order (an index mapping, no copy). Out-of-range indices throw InputError.
  Dataset select(std::vector<int64_t> indices) const;
  /// Rows [begin, end) (a contiguous slice).
  Dataset select_range(int64_t begin, int64_t end) const;
  /// The first n rows, and all but the first n (HF take/skip; n past the end is clamped, as there).
  Dataset take(int64_t n) const;
  Dataset skip(int64_t n) const;
  /// HF shard: shard `index` of `num_shards`. contiguous: the index-th of num_shards nearly equal slices (the first
  /// num_rows % num_shards one row longer); otherwise every num_shards-th row from `index`. InputError for an index
  /// outside [0, num_shards).
  Dataset shard(int64_t num_shards, int64_t index, bool contiguous = true) const;
  /// A seeded permutation of the rows (Fisher-Yates over a 64-bit Mersenne Twister; not numpy's stream).
  Dataset shuffle(uint64_t seed) const;
  /// HF train_test_split: n_test = ceil(test_size * n), n_train = n - n_test; shuffled first when shuffle.
  std::pair<Dataset, Dataset> train_test_split(double test_size, uint64_t seed, bool shuffle = true) const;
  /// Rows for which keep(batch)[i] is true, as an index mapping (HF filter with batched=True). keep gets
  /// batches of batch_size rows and must return one flag per row; function_key names it in the fingerprint.
  Dataset filter(const std::function<std::vector<bool>(const Batch&)>& keep, const std::string& function_key,
                 int64_t batch_size = 1000) const;
  /// HF sort: the rows ordered by the columns in turn (stable, as pyarrow's sort_indices), each descending where
  /// `reverse` says so (one flag for all, or one per column); nulls and then NaNs go last ("at_end", or HF's alias
  /// "last") or first ("at_start", "first") whatever the direction. An index mapping; columns of booleans, numbers and strings only (InputError
  /// naming the column otherwise).
  Dataset sort(const std::vector<std::string>& column_names, const std::vector<bool>& reverse = {},
               const std::string& null_placement = "at_end") const;
  Dataset remove_columns(const std::vector<std::string>& names) const;
  Dataset rename_column(const std::string& from, const std::string& to) const;

  /// The same rows with an output format (HF with_format): "torch" makes tcpp::collators' format_torch_row/_batch
  /// return LibTorch tensors for `columns` (all when empty); the other columns are left out unless
  /// output_all_columns. "python" or "" resets it. Throws InputError for another type or an unknown column.
  Dataset with_format(const std::string& type, const std::vector<std::string>& columns = {},
                      bool output_all_columns = false) const;
  /// with_format in place (HF set_format).
  void set_format(const std::string& type, const std::vector<std::string>& columns = {},
                  bool output_all_columns = false);
  /// "torch", or "" (python objects).
  const std::string& format_type() const { return format_type_; }
  /// The formatted columns (empty: all).
  const std::vector<std::string>& format_columns() const { return format_columns_; }
  bool output_all_columns() const { return output_all_columns_; }

  /// Apply fn to every row or batch and store the result as a new Arrow table. Disk-backed datasets write
  /// cache-<fp>.arrow next to their first file (cache-<fp>_0000i_of_0000N.arrow with num_proc > 1), where
  /// fp hashes this dataset's fingerprint, options.function_key and the options; an existing cache with
  /// that name is reused when load_from_cache_file. Writes are atomic (temp file + rename).
  Dataset map(const MapFunction& fn, const MapOptions& options = {}) const;

  /// Write HF's save_to_disk layout: data-0000i-of-0000N.arrow (stream format), state.json,
  /// dataset_info.json. num_shards 0 picks HF's rule (one shard per 500 MB).
  void save_to_disk(const std::string& dir, int num_shards = 0) const;
  /// Read a folder written by save_to_disk (ours or Python's).
  static Dataset load_from_disk(const std::string& dir);

 private:
  struct Storage;
  int64_t physical_row(int64_t i) const;
  Batch gather(const std::vector<int64_t>& physical, const std::vector<std::string>& columns) const;
  friend std::shared_ptr<const Storage> make_storage(std::vector<arrow::Table>, std::vector<std::string>);
  friend Dataset make_dataset(std::shared_ptr<const Storage>, std::string);
  friend void gather_rows(const Dataset&, size_t, int64_t, int64_t, arrow::ArrayBuilder&);
  friend int64_t stored_rows(const Dataset&);
  friend Dataset concatenate_datasets(const std::vector<Dataset>&);

  std::shared_ptr<const Storage> storage_;
  std::shared_ptr<const std::vector<int64_t>> indices_;  // null: identity (possibly offset by begin_)
  int64_t begin_ = 0, end_ = 0;                          // visible slice of the (mapped) rows
  std::vector<int> columns_;                             // visible storage columns, in order
  std::vector<std::string> names_;                       // their names (after renames)
  std::string fingerprint_;
  std::string format_type_;                              // with_format: "" or "torch"
  std::vector<std::string> format_columns_;
  bool output_all_columns_ = false;
};

/// HF's concatenate_datasets (axis 0): the rows of every dataset in turn. They must have the same columns (names and
/// Arrow types; in any order, the first's order wins), else InputError naming the one that differs. Zero-copy when
/// they store the same columns and show them alike (datasets from the same files or pipeline: memory-mapped batches
/// stay mapped, selections and shuffles become one index mapping); otherwise each is copied into memory in the
/// first's column order. A format all of them share is kept.
Dataset concatenate_datasets(const std::vector<Dataset>& datasets);

/// Splits by name ("train", "validation", ...), as datasets.DatasetDict.
using DatasetDict = std::map<std::string, Dataset>;

/// Write a DatasetDict folder: dataset_dict.json plus one save_to_disk folder per split.
void save_to_disk(const DatasetDict& dict, const std::string& dir);
/// Read a DatasetDict folder (dataset_dict.json) written by us or Python.
DatasetDict load_dataset_dict_from_disk(const std::string& dir);

/// HF Features JSON for a schema: {"text": {"dtype": "string", "_type": "Value"}, "ids": {"feature": ..., "_type": "List"}}.
Json features_json(const arrow::Schema& schema);

}  // namespace tcpp::datasets
