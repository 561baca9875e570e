// DataTrainingArguments of run_clm.py (and the extra fields of run_mlm.py): what data to train and evaluate on.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tcpp/args/field.h"

namespace tcpp::args {

/// Which example script's DataTrainingArguments to expose (run_mlm has its own extra fields, no keep_linebreaks).
enum class Script { kClm, kMlm };

struct DataTrainingArguments {
  std::optional<std::string> dataset_name;
  std::optional<std::string> dataset_config_name;
  std::optional<std::string> train_file;
  std::optional<std::string> validation_file;
  /// trainer.cpp extension: a save_to_disk folder (what `tcpp prepare` writes), as --train_file DIR.
  std::optional<std::string> dataset_path;
  std::optional<int64_t> max_train_samples;
  std::optional<int64_t> max_eval_samples;
  bool streaming = false;
  std::optional<int64_t> block_size;  // run_clm only
  bool overwrite_cache = false;
  std::optional<int64_t> validation_split_percentage = 5;
  std::optional<int64_t> preprocessing_num_workers;
  bool keep_linebreaks = true;  // run_clm's flag; run_mlm loads text without line breaks (post_init sets false)
  // run_mlm only:
  std::optional<int64_t> max_seq_length;
  double mlm_probability = 0.15;
  bool line_by_line = false;
  bool pad_to_max_length = false;

  /// The fields the given script exposes, bound to this instance.
  std::vector<FieldRef> fields(Script script);
  /// Validate as run_clm's __post_init__ (a data source is required; file extensions checked); throws InputError.
  void post_init(Script script);
};

}  // namespace tcpp::args
