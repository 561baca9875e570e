// The README.md model card run_clm.py / run_mlm.py leave in output_dir (Trainer.create_model_card): YAML metadata,
// the evaluation results, the hyperparameters, the training-results table from log_history, framework versions.
#pragma once

#include <optional>
#include <string>

#include "tcpp/core/json.h"

namespace tcpp::pipelines {

struct ModelCardInputs {
  std::string model_name;                     // the output folder's name
  std::optional<std::string> finetuned_from;  // --model_name_or_path, unset when trained from scratch
  std::string task;                           // "text-generation" / "fill-mask"
  // run_clm.py's create_model_card kwargs for --dataset_name: dataset_tags = the name, dataset_args = the
  // configuration, dataset = "name config" (or the name); all unset for local files.
  std::optional<std::string> dataset;
  std::optional<std::string> dataset_tags;
  std::optional<std::string> dataset_args;
  // TrainingSummary.from_trainer's dataset_metadata: {"config": ..., "split": ...} of the evaluated dataset when its
  // builder is a real Hub dataset's (not csv/json/pandas/parquet/text); null otherwise.
  Json dataset_metadata;
  Json training_args = Json::object();        // TrainingArguments as JSON
  Json log_history = Json::array();           // trainer_state.json's log_history
  int world_size = 1;
  std::string libtorch_version;
};

/// The card's Markdown, laid out as transformers' TrainingSummary.to_model_card.
std::string model_card(const ModelCardInputs& in);

}  // namespace tcpp::pipelines
