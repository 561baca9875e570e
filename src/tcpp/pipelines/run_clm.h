// run_clm.py / run_mlm.py as library functions: parse -> load_dataset -> tokenize -> group_texts -> Trainer ->
// train/evaluate -> save, writing the same result files as the Python scripts.
#pragma once

#include <string>

#include "tcpp/args/hf_argument_parser.h"
#include "tcpp/datasets/dataset.h"

namespace tcpp::tokenizers {
class PreTrainedTokenizer;
}

namespace tcpp::pipelines {

/// Run run_clm.py's main() on parsed arguments. Throws tcpp::Error subclasses with a message naming the flag or
/// file on bad input. Writes train/eval/all_results.json, trainer_state.json, the model and tokenizer to output_dir.
void run_clm(args::ParsedArguments& parsed);
/// Run run_mlm.py's main().
void run_mlm(args::ParsedArguments& parsed);

/// The tokenized, grouped splits run_clm trains on ("train", "validation"), built or reused from the map caches;
/// `tcpp prepare` saves this with save_to_disk. block_size is resolved as run_clm does from the tokenizer's
/// model_max_length and max_position_embeddings (1024 when unknown).
datasets::DatasetDict prepare_clm_datasets(const args::ParsedArguments& parsed,
                                           const tokenizers::PreTrainedTokenizer& tokenizer,
                                           int64_t max_position_embeddings);

/// The model's max_position_embeddings (n_positions for GPT-2) from --config_name, --model_name_or_path or
/// --model_type + --config_overrides; 1024 (transformers' default) when none is given.
int64_t max_position_embeddings(const args::ModelArguments& model_args);

/// Load the raw splits of --train_file/--validation_file (or a saved dataset folder), with run_clm's
/// validation_split_percentage split when there is no validation file.
datasets::DatasetDict load_raw_datasets(const args::ParsedArguments& parsed);

/// HF's save_metrics: <split>_results.json (indent 4, sorted keys) and merged into all_results.json.
void save_metrics(const std::string& output_dir, const std::string& split, const Json& metrics);

}  // namespace tcpp::pipelines
