// Glue between the argument structs, the Arrow datasets and the Trainer (what run_clm.py does between parsing
// and trainer.train()).
#pragma once

#include <memory>

#include "tcpp/args/training_arguments.h"
#include "tcpp/datasets/dataset.h"
#include "tcpp/datasets/iterable_dataset.h"
#include "tcpp/trainer/data_loader.h"
#include "tcpp/trainer/trainer_options.h"

namespace tcpp::pipelines {

/// TrainingArguments (after post_init) -> the Trainer's options. Fields the Trainer does not implement with a
/// non-default value were already reported by post_init.
trainer::TrainerOptions trainer_options_from_args(const args::TrainingArguments& args);

/// An Arrow Dataset seen as the Trainer's random-access dataset: each row's list columns become Features columns.
/// Rows are read from the memory-mapped table on demand (no copy of the dataset).
/// Row `row` of a batch as the Trainer's features: list<int> columns (input_ids, attention_mask, labels, ...) and
/// integer scalars; other columns (text, floats) are dropped, as remove_unused_columns does. JSON arrays of
/// integers (what a stream yields for lists) count as list<int>.
collators::Features features_of_row(const datasets::Batch& batch, size_t row);

/// A streamed (IterableDataset) split as the Trainer's stream: one pass per epoch, read in batches of 1000 rows.
class StreamTrainerDataset : public trainer::TrainerIterableDataset {
 public:
  explicit StreamTrainerDataset(datasets::IterableDataset stream) : stream_(std::move(stream)) {}
  void for_each(int64_t epoch, const std::function<bool(collators::Features&&)>& fn) const override;

 private:
  datasets::IterableDataset stream_;
};

class ArrowTrainerDataset : public trainer::TrainerDataset {
 public:
  explicit ArrowTrainerDataset(datasets::Dataset dataset);
  int64_t size() const override;
  collators::Features get(int64_t index) const override;

 private:
  datasets::Dataset dataset_;
};

}  // namespace tcpp::pipelines
