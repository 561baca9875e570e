// ModelArguments and DataTrainingArguments of run_clm.py / run_mlm.py: field tables and __post_init__ checks.
#include "tcpp/args/model_arguments.h"

#include <filesystem>

#include "tcpp/args/data_training_arguments.h"
#include "tcpp/core/error.h"
#include "tcpp/core/file.h"
#include "tcpp/core/strings.h"

namespace tcpp::args {

const std::vector<std::string>& causal_lm_model_types() {
  static const std::vector<std::string> types = {"gpt2", "llama"};
  return types;
}

const std::vector<std::string>& masked_lm_model_types() {
  static const std::vector<std::string> types = {"bert", "roberta"};
  return types;
}

std::vector<FieldRef> ModelArguments::fields() {
  using S = FieldSpec;
  return {
      bind(model_name_or_path,
           S("model_name_or_path", "The model checkpoint for weights initialization. Don't set if you want to train "
                                   "a model from scratch.")),
      bind(model_type, S("model_type", "If training from scratch, pass a model type from the list: gpt2, llama "
                                       "(run_clm) or bert, roberta (run_mlm)")),
      bind(config_overrides,
           S("config_overrides", "Override some existing default config settings when a model is trained from "
                                 "scratch. Example: n_embd=10,resid_pdrop=0.2,scale_attn_weights=false,"
                                 "summary_type=cls_index")),
      bind(config_name, S("config_name", "Pretrained config name or path if not the same as model_name")),
      bind(tokenizer_name, S("tokenizer_name", "Pretrained tokenizer name or path if not the same as model_name")),
      bind(cache_dir, S("cache_dir", "Where do you want to store the pretrained models downloaded from "
                                     "huggingface.co")),
      bind(use_fast_tokenizer,
           S("use_fast_tokenizer", "Whether to use one of the fast tokenizer (backed by the tokenizers library) or "
                                   "not.")
               .unsupported("the tokenizers here are the fast (tokenizers library) kind, with the same ids")),
      bind(model_revision,
           S("model_revision", "The specific model version to use (can be a branch name, tag name or commit id).")),
      bind(token, S("token", "The token to use as HTTP bearer authorization for remote files. If not specified, will "
                             "use the token generated when running `hf auth login` (stored in `~/.huggingface`).")
               .unsupported("there is no Hub access; models load from folders and the local cache")),
      bind(trust_remote_code,
           S("trust_remote_code", "Whether to trust the execution of code from datasets/models defined on the Hub. "
                                  "This option should only be set to `True` for repositories you trust and in "
                                  "which you have read the code, as it will execute code present on the Hub on "
                                  "your local machine.")
               .unsupported("no model code is downloaded or run; the supported families are built in")),
      bind(torch_dtype, S("torch_dtype", "Override the default `torch.dtype` and load the model under this dtype. "
                                         "If `auto` is passed, the dtype will be automatically derived from the "
                                         "model's weights.")
                            .with_choices({"auto", "bfloat16", "float16", "float32"})
                            .with_alias("dtype")),
      bind(low_cpu_mem_usage,
           S("low_cpu_mem_usage", "It is an option to create the model as an empty shell, then only materialize its "
                                  "parameters when the pretrained weights are loaded. set True will benefit LLM "
                                  "loading time and RAM consumption.")
               .unsupported("weights are memory-mapped and copied once into the model already")),
  };
}

void ModelArguments::post_init() {
  if (config_overrides && (config_name || model_name_or_path))
    throw InputError("--config_overrides",
                     "can't be used in combination with --config_name or --model_name_or_path (it only applies to "
                     "a model trained from scratch)");
}

std::vector<FieldRef> DataTrainingArguments::fields(Script script) {
  using S = FieldSpec;
  std::vector<FieldRef> out = {
      bind(dataset_name, S("dataset_name", "The name of the dataset to use (via the datasets library).")),
      bind(dataset_config_name,
           S("dataset_config_name", "The configuration name of the dataset to use (via the datasets library).")),
      bind(train_file, S("train_file", "The input training data file (a text, json/jsonl, csv, arrow or parquet "
                                       "file), or a dataset folder saved with save_to_disk.")),
      bind(validation_file,
           S("validation_file", "An optional input evaluation data file to evaluate the perplexity on (a text, "
                                "json/jsonl, csv, arrow or parquet file).")),
      bind(dataset_path, S("dataset_path", "trainer.cpp: a dataset folder saved with save_to_disk, e.g. by `tcpp "
                                           "prepare` (a DatasetDict with train/validation splits, or one Dataset "
                                           "used as the train split); the same as --train_file DIR.")),
      bind(max_train_samples,
           S("max_train_samples", "For debugging purposes or quicker training, truncate the number of training "
                                  "examples to this value if set.")),
      bind(max_eval_samples,
           S("max_eval_samples", "For debugging purposes or quicker training, truncate the number of evaluation "
                                 "examples to this value if set.")),
      bind(streaming, S("streaming", "Enable streaming mode")),
  };
  if (script == Script::kClm)
    out.push_back(bind(block_size, S("block_size", "Optional input sequence length after tokenization. The training "
                                                   "dataset will be truncated in block of this size for training. "
                                                   "Default to the model max input length for single sentence "
                                                   "inputs (take into account special tokens).")));
  out.push_back(bind(overwrite_cache, S("overwrite_cache", "Overwrite the cached training and evaluation sets")));
  out.push_back(bind(validation_split_percentage,
                     S("validation_split_percentage",
                       "The percentage of the train set used as validation set in case there's no validation split")));
  if (script == Script::kMlm)
    out.push_back(bind(max_seq_length,
                       S("max_seq_length", "The maximum total input sequence length after tokenization. Sequences "
                                           "longer than this will be truncated.")));
  out.push_back(bind(preprocessing_num_workers,
                     S("preprocessing_num_workers", "The number of processes to use for the preprocessing.")));
  if (script == Script::kClm)
    out.push_back(bind(keep_linebreaks, S("keep_linebreaks", "Whether to keep line breaks when using TXT files or not.")));
  if (script == Script::kMlm) {
    out.push_back(bind(mlm_probability, S("mlm_probability", "Ratio of tokens to mask for masked language modeling loss")));
    out.push_back(bind(line_by_line, S("line_by_line", "Whether distinct lines of text in the dataset are to be "
                                                       "handled as distinct sequences.")));
    out.push_back(bind(pad_to_max_length,
                       S("pad_to_max_length", "Whether to pad all samples to `max_seq_length`. If False, will pad the "
                                              "samples dynamically when batching to the maximum length in the "
                                              "batch.")));
  }
  return out;
}

void DataTrainingArguments::post_init(Script script) {
  // run_mlm.py has no keep_linebreaks: its text files load with datasets' default, lines without their "\n"
  // (which a byte-level BPE would otherwise encode as a token at the end of every line).
  if (script == Script::kMlm) keep_linebreaks = false;
  if (dataset_path) {
    std::error_code ec;
    const std::filesystem::path dir(*dataset_path);
    if (!std::filesystem::is_directory(dir, ec) ||
        (!std::filesystem::exists(dir / "dataset_dict.json", ec) && !std::filesystem::exists(dir / "state.json", ec)))
      throw InputError("--dataset_path", quote(*dataset_path) + " is not a dataset folder saved with save_to_disk "
                                         "(expected dataset_dict.json or state.json in it)");
    if (dataset_name || train_file)
      throw InputError("--dataset_path", "names the training data already: drop --dataset_name/--train_file");
  }
  if (!dataset_name && !train_file && !validation_file && !dataset_path)
    throw InputError("--train_file", "need either a dataset name (--dataset_name) or a training/validation file");
  // run_clm.py accepts csv, json and txt; trainer.cpp also takes jsonl/ndjson, tsv, arrow, parquet and saved
  // dataset folders (transformers#15582 asked for jsonl).
  static const std::vector<std::string> kExtensions = {"csv", "tsv", "json", "jsonl", "ndjson", "txt", "text",
                                                       "arrow", "parquet"};
  auto check_file = [&](const std::optional<std::string>& f, const char* flag) {
    if (!f) return;
    std::error_code ec;
    if (std::filesystem::is_directory(*f, ec)) return;  // a save_to_disk folder
    // A compressed file is told by the extension before .gz/.bz2/.xz/.zst/.lz4 (datasets decompresses them).
    const std::string name = without_compression_extension(*f);
    auto dot = name.rfind('.');
    std::string ext = dot == std::string::npos ? "" : to_lower(name.substr(dot + 1));
    if (std::find(kExtensions.begin(), kExtensions.end(), ext) == kExtensions.end())
      throw InputError(std::string("--") + flag, quote(*f) + " should be a " + join(kExtensions, ", ") +
                                                     " file (optionally compressed: .gz, .bz2, .xz, .zst, .lz4) "
                                                     "or a dataset folder (found extension " + quote(ext) + ")");
  };
  check_file(train_file, "train_file");
  check_file(validation_file, "validation_file");
  if (validation_split_percentage && (*validation_split_percentage < 0 || *validation_split_percentage > 100))
    throw InputError("--validation_split_percentage",
                     "must be between 0 and 100, got " + std::to_string(*validation_split_percentage));
  if (block_size && *block_size <= 0)
    throw InputError("--block_size", "must be positive, got " + std::to_string(*block_size));
  if (max_seq_length && *max_seq_length <= 0)
    throw InputError("--max_seq_length", "must be positive, got " + std::to_string(*max_seq_length));
  if (preprocessing_num_workers && *preprocessing_num_workers < 1)
    throw InputError("--preprocessing_num_workers", "must be at least 1, got " + std::to_string(*preprocessing_num_workers));
  if (script == Script::kMlm && (mlm_probability <= 0 || mlm_probability >= 1))
    throw InputError("--mlm_probability", "must lie in (0, 1), got " + std::to_string(mlm_probability));
}

}  // namespace tcpp::args
