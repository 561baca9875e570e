// IterableDataset: load_dataset(..., streaming=True) for local files (as datasets.IterableDataset): rows are
// read lazily from the files, no Arrow cache is built; map/take/skip/shuffle(buffer) are applied on the fly.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tcpp/datasets/column.h"
#include "tcpp/datasets/dataset.h"
#include "tcpp/datasets/load.h"

namespace tcpp::datasets {

class IterableDataset {
 public:
  /// Stream the files of options.data_files[split] with the text, json (JSON Lines) or parquet builder
  /// (parquet: one row group in memory at a time). Files are
  /// opened when iteration starts, so missing files throw then; builder choice is checked here.
  static IterableDataset from_files(const LoadOptions& options, const std::string& split);

  /// Apply fn lazily (batched as options.batched / batch_size; remove_columns honoured; no caching).
  IterableDataset map(MapFunction fn, const MapOptions& options = {}) const;
  /// The first n rows.
  IterableDataset take(int64_t n) const;
  /// All but the first n rows.
  IterableDataset skip(int64_t n) const;
  /// HF's buffer shuffle: keep buffer_size rows, emit a random one as each new row arrives (seeded).
  IterableDataset shuffle(uint64_t seed, int64_t buffer_size = 1000) const;

  /// Read the stream, calling fn with consecutive batches of up to batch_size rows; stop early when fn
  /// returns false. A column whose values in the batch are all strings (or all integers)
  /// arrives as Strings (Int64s); anything else as JSON values.
  void for_each_batch(int64_t batch_size, const std::function<bool(const Batch&)>& fn) const;
  /// Every row as a JSON object (for tests and small data).
  std::vector<Json> to_rows() const;

  struct Stage;

 private:
  LoadOptions options_;
  std::string builder_;
  std::vector<std::string> files_;
  std::vector<std::shared_ptr<const Stage>> stages_;
};

}  // namespace tcpp::datasets
