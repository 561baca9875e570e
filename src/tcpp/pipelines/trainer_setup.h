// Glue between the argument structs, the Arrow datasets and the Trainer (what run_clm.py does between parsing
// and trainer.train()).
#pragma once

#include <memory>

#include "tcpp/args/training_arguments.h"
#include "tcpp/datasets/dataset.h"
#include "tcpp/trainer/data_loader.h"
#include "tcpp/trainer/trainer_options.h"

namespace tcpp::pipelines {

/// TrainingArguments (after post_init) -> the Trainer's options. Fields the Trainer does not implement with a
/// non-default value were already reported by post_init.
trainer::TrainerOptions trainer_options_from_args(const args::TrainingArguments& args);

/// An Arrow Dataset seen as the Trainer's random-access dataset: each row's list columns become Features columns.
/// Rows are read from the memory-mapped table on demand (no copy of the dataset).
class ArrowTrainerDataset : public trainer::TrainerDataset {
 public:
  explicit ArrowTrainerDataset(datasets::Dataset dataset);
  int64_t size() const override;
  collators::Features get(int64_t index) const override;

 private:
  datasets::Dataset dataset_;
};

}  // namespace tcpp::pipelines
