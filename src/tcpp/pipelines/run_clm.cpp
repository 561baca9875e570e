// run_clm.py / run_mlm.py's main(): data, tokenizer, model, Trainer, result files.
#include "tcpp/pipelines/run_clm.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <sstream>

#include "tcpp/collators/data_collator.h"
#include "tcpp/collators/language_modeling.h"
#include "tcpp/core/error.h"
#include "tcpp/core/file.h"
#include "tcpp/core/hf_hub.h"
#include "tcpp/core/lock.h"
#include "tcpp/core/logging.h"
#include "tcpp/core/progress.h"
#include "tcpp/core/strings.h"
#include "tcpp/datasets/arrow/array.h"
#include "tcpp/datasets/fingerprint.h"
#include "tcpp/datasets/hub_cache.h"
#include "tcpp/distributed/environment.h"
#include "tcpp/distributed/process_group.h"
#include "tcpp/datasets/iterable_dataset.h"
#include "tcpp/datasets/load.h"
#include "tcpp/models/auto.h"
#include "tcpp/models/config.h"
#include "tcpp/models/hub.h"
#include "tcpp/models/safetensors.h"
#include "tcpp/pipelines/group_texts.h"
#include "tcpp/pipelines/model_card.h"
#include <torch/version.h>
#include "tcpp/pipelines/trainer_setup.h"
#include "tcpp/tokenizers/auto_tokenizer.h"
#include "tcpp/trainer/checkpoint.h"
#include "tcpp/trainer/html_report.h"
#include "tcpp/trainer/tensorboard.h"
#include "tcpp/trainer/trainer.h"

namespace tcpp::pipelines {
namespace fs = std::filesystem;

namespace {

// transformers' default when a config has no max_position_embeddings.
constexpr int64_t kDefaultMaxPositions = 1024;
// Files of a tokenizer folder that save_pretrained would write; copied next to every saved model.
const std::vector<std::string> kTokenizerFiles = {"tokenizer.json",  "tokenizer_config.json", "special_tokens_map.json",
                                                  "vocab.json",      "merges.txt",            "vocab.txt",
                                                  "added_tokens.json"};

bool is_saved_dataset(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec) &&
         (fs::exists(fs::path(path) / "dataset_dict.json") || fs::exists(fs::path(path) / "state.json"));
}

// --dataset_name given as a Hub id: where its configuration lies in the datasets cache (run_clm.py passes
// --cache_dir to load_dataset too); nullopt with the reason in *why when it is not there.
std::optional<datasets::CachedDatasetLocation> cached_dataset(const args::ParsedArguments& p,
                                                              std::string* why = nullptr) {
  const auto& d = p.data_args;
  if (!d.dataset_name || fs::exists(*d.dataset_name)) return std::nullopt;
  try {
    return datasets::find_cached_dataset(*d.dataset_name, d.dataset_config_name.value_or(""),
                                         p.model_args.cache_dir.value_or(""));
  } catch (const InputError& e) {
    if (why) *why = e.what();
    return std::nullopt;
  }
}

// A Hub dataset id's repository as huggingface-cli download leaves it in the hub cache (--cache_dir first, as for
// models, then HF_HUB_CACHE's), at main.
HubSnapshot dataset_snapshot(const args::ParsedArguments& p) {
  const std::string& name = *p.data_args.dataset_name;
  HubSnapshot found;
  if (p.model_args.cache_dir) found = find_hub_snapshot("dataset", name, "main", *p.model_args.cache_dir);
  if (!found.dir) found = find_hub_snapshot("dataset", name, "main");
  return found;
}

// Where --dataset_name's data is, decided once, as load_dataset looks: a folder of data files; else, for a Hub id,
// the Arrow files Python's datasets prepared (the datasets cache), else the repository huggingface-cli downloaded
// into the hub cache (its files). All unset for a saved dataset folder, or when nothing is found (`missing` says
// what was searched).
struct DatasetNameSource {
  std::optional<datasets::CachedDatasetLocation> arrow_cache;
  std::optional<datasets::LoadOptions> files;  // what load_dataset(folder, config) loads, or streams
  std::string missing;
};

DatasetNameSource dataset_name_source(const args::ParsedArguments& p, bool announce = false) {
  const auto& d = p.data_args;
  DatasetNameSource source;
  if (!d.dataset_name || is_saved_dataset(*d.dataset_name)) return source;
  std::string dir;
  if (fs::is_directory(*d.dataset_name)) {
    dir = *d.dataset_name;
  } else {
    source.arrow_cache = cached_dataset(p, &source.missing);
    if (source.arrow_cache || !is_hub_repo_id(*d.dataset_name)) return source;
    const HubSnapshot snapshot = dataset_snapshot(p);
    if (!snapshot.dir) {
      source.missing += "; its repository is not in the hub cache either (" + snapshot.repo_dir + ")";
      return source;
    }
    dir = *snapshot.dir;
    if (announce) log_info("loading " + *d.dataset_name + " from its files in the Hugging Face hub cache: " + dir);
  }
  // load_dataset(folder, config): its card's configs or datasets' default split patterns, the builder from the
  // extensions, and the builders' defaults (run_clm.py passes no keep_linebreaks here: lines lose their "\n").
  datasets::LoadOptions lo;
  lo.cache_dir = p.model_args.cache_dir.value_or("");
  try {
    source.files = datasets::resolve_dataset_folder(dir, d.dataset_config_name.value_or(""), lo);
  } catch (const InputError& e) {
    throw InputError("--dataset_name", e.what());
  }
  return source;
}

// The eval (else train) dataset's split name as HF's Dataset.split reads after run_clm's loading: "validation", or
// the train[:P%] / train[P%:] slices when the validation split was cut from train.
std::string card_split(const args::ParsedArguments& p, bool has_validation) {
  const std::string pct = std::to_string(p.data_args.validation_split_percentage.value_or(5));
  if (p.training_args.do_eval) return has_validation ? "validation" : "train[:" + pct + "%]";
  return has_validation ? "train" : "train[" + pct + "%:]";
}

// A path that exists as given, else a hub id looked up in the local Hugging Face cache (--cache_dir when given) at
// --model_revision (run_clm.py passes revision and cache_dir to the config, the tokenizer and the model alike).
std::string local_source(const std::string& name_or_path, const args::ModelArguments& m) {
  std::error_code ec;
  if (fs::exists(name_or_path, ec)) return name_or_path;
  return models::resolve_model_path(name_or_path, m.model_revision, m.cache_dir.value_or(""));
}

std::string tokenizer_source(const args::ModelArguments& m) {
  if (m.tokenizer_name) return local_source(*m.tokenizer_name, m);
  if (m.model_name_or_path) return local_source(*m.model_name_or_path, m);
  throw InputError("--tokenizer_name",
                   "you are instantiating a new tokenizer from scratch; this is not supported by this script. Train "
                   "one with `tcpp tokenizer train`, save it, and pass its folder with --tokenizer_name");
}

// Folder holding the tokenizer files (the argument may name tokenizer.json itself).
std::string tokenizer_dir(const std::string& source) {
  std::error_code ec;
  return fs::is_directory(source, ec) ? source : fs::path(source).parent_path().string();
}

std::string tokenizer_hash(const std::string& source) {
  datasets::Hasher h;
  std::string dir = tokenizer_dir(source);
  for (const auto& f : kTokenizerFiles) {
    fs::path p = fs::path(dir) / f;
    std::error_code ec;
    if (!fs::is_regular_file(p, ec)) continue;
    h.update(f);
    h.update(read_file(p.string()));
  }
  return h.hexdigest();
}

void copy_tokenizer_files(const std::string& source, const std::string& dest) {
  std::string dir = tokenizer_dir(source);
  for (const auto& f : kTokenizerFiles) {
    fs::path p = fs::path(dir) / f;
    std::error_code ec;
    if (fs::is_regular_file(p, ec)) write_file_atomic((fs::path(dest) / f).string(), read_file(p.string()));
  }
}

int64_t max_positions(const models::PretrainedConfig& config) {
  Json j = config.to_json();
  for (const char* key : {"max_position_embeddings", "n_positions"})
    if (j.contains(key) && j[key].is_number_integer()) return j[key].get<int64_t>();
  return kDefaultMaxPositions;
}

int64_t vocab_size(const models::PretrainedConfig& config) {
  Json j = config.to_json();
  return j.value("vocab_size", int64_t{0});
}

// transformers resizes the embeddings when len(tokenizer) exceeds them. For a model trained from scratch that is a
// fresh model with vocab_size = len(tokenizer), built so; a pretrained model is resized once loaded
// (resize_embeddings_to_tokenizer).
void fit_vocab(const args::ModelArguments& m, const tokenizers::PreTrainedTokenizer& tok,
               models::PretrainedConfig& config) {
  const int64_t n = static_cast<int64_t>(tok.size());
  if (n <= vocab_size(config) || m.model_name_or_path) return;
  log_info("Resizing the embeddings to the tokenizer's " + std::to_string(n) + " tokens (config vocab_size was " +
           std::to_string(vocab_size(config)) + ")");
  config.update_from_string("vocab_size=" + std::to_string(n));
}

// As run_clm.py / run_mlm.py: model.resize_token_embeddings(len(tokenizer)) only when the tokenizer has more tokens
// than the embedding has rows (added rows at the old rows' mean, as HF's mean_resizing).
void resize_embeddings_to_tokenizer(models::PreTrainedModelImpl& model, const tokenizers::PreTrainedTokenizer& tok) {
  const int64_t n = static_cast<int64_t>(tok.size());
  const int64_t rows = model.get_input_embeddings()->weight.size(0);
  if (n <= rows) return;
  log_info("Resizing the pretrained model's token embeddings from " + std::to_string(rows) + " to the tokenizer's " +
           std::to_string(n) + " tokens");
  model.resize_token_embeddings(n);
}

std::unique_ptr<models::PretrainedConfig> resolve_config(const args::ModelArguments& m, bool causal) {
  if (m.config_name) return models::AutoConfig::from_pretrained(local_source(*m.config_name, m));
  if (m.model_name_or_path) return models::AutoConfig::from_pretrained(local_source(*m.model_name_or_path, m));
  if (!m.model_type)
    throw InputError("--model_type", std::string("pass --model_name_or_path DIR (a pretrained model folder) or "
                                                 "--model_type to train from scratch (") +
                                         (causal ? "gpt2, llama" : "bert, roberta") + ")");
  auto config = models::AutoConfig::for_model(*m.model_type);
  log_warning("You are instantiating a new config instance from scratch.");
  if (m.config_overrides) {
    log_info("Overriding config: " + *m.config_overrides);
    config->update_from_string(*m.config_overrides);
  }
  return config;
}

// --torch_dtype: unset or float32 keeps float32 (transformers' default); "auto" takes the checkpoint's own dtype.
void set_load_dtype(const std::optional<std::string>& name, models::LoadOptions& lo) {
  if (!name || *name == "float32") return;
  if (*name == "auto") {
    lo.auto_dtype = true;
  } else if (*name == "bfloat16") {
    lo.dtype = torch::kBFloat16;
  } else if (*name == "float16") {
    lo.dtype = torch::kFloat16;
  } else {
    throw InputError("--torch_dtype", "expected auto, bfloat16, float16 or float32, got " + quote(*name));
  }
}

models::PreTrainedModel build_model(const args::ModelArguments& m, const models::PretrainedConfig& config,
                                    bool causal) {
  auto task = causal ? models::ModelTask::kCausalLM : models::ModelTask::kMaskedLM;
  models::PreTrainedModel model;
  if (m.model_name_or_path) {
    models::LoadOptions lo;
    set_load_dtype(m.torch_dtype, lo);
    model = models::model_from_pretrained(local_source(*m.model_name_or_path, m), task, lo);
  } else {
    model = models::model_from_config(config, task);
    int64_t n = 0;
    for (const auto& p : model->parameters()) n += p.numel();
    std::ostringstream os;
    os.precision(2);
    os << std::fixed << "Training new model from scratch - Total size=" << static_cast<double>(n) / (1 << 20) << "M params";
    log_info(os.str());
  }
  return model;
}

// Python's str(datetime.timedelta(seconds=int(s))) + "." + two digits of the fraction (HF's _secs2timedelta).
std::string secs_to_timedelta(double secs) {
  const auto whole = static_cast<int64_t>(secs);
  const auto msec = static_cast<int>(std::fabs(secs - static_cast<double>(whole)) * 100);
  int64_t s = whole;
  const int64_t days = s >= 0 ? s / 86400 : -((-s + 86399) / 86400);
  s -= days * 86400;
  char buf[96];
  std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld.%02d", static_cast<long long>(s / 3600),
                static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60), msec);
  if (days == 0) return buf;
  return std::to_string(days) + (std::abs(days) == 1 ? " day, " : " days, ") + buf;
}

// HF's Trainer.metrics_format: memory in MB, runtimes as H:MM:SS.cc, total_flos in GF, floats rounded to 4 places.
std::string format_metric(const std::string& key, const Json& v) {
  if (!v.is_number()) return dump_json_python(v, -1);
  if (trainer::is_memory_metric(key)) return std::to_string(v.get<int64_t>() >> 20) + "MB";
  if (key.find("_runtime") != std::string::npos) return secs_to_timedelta(v.get<double>());
  if (key == "total_flos") return std::to_string(static_cast<int64_t>(v.get<double>()) >> 30) + "GF";
  if (v.is_number_float()) return python_float_repr(trainer::python_round(v.get<double>(), 4));
  return dump_json_python(v, -1);
}

// HF's Trainer.log_metrics: keys padded to the longest, values right-aligned to the widest.
void log_metrics(const std::string& split, const Json& metrics) {
  log_info("***** " + split + " metrics *****");
  std::vector<std::pair<std::string, std::string>> rows;
  size_t key_width = 0, value_width = 0;
  for (auto it = metrics.begin(); it != metrics.end(); ++it) {
    rows.emplace_back(it.key(), format_metric(it.key(), it.value()));
    key_width = std::max(key_width, rows.back().first.size());
    value_width = std::max(value_width, rows.back().second.size());
  }
  for (auto& [key, value] : rows) {
    key.resize(key_width, ' ');
    log_info("  " + key + " = " + std::string(value_width - value.size(), ' ') + value);
  }
}

// Python's round() to an int for a float value, ties to even (used for the validation split boundary).
int64_t banker_round(double x) { return static_cast<int64_t>(std::nearbyint(x)); }

// Refuse to clobber earlier results; resume from the last checkpoint when one is there (older run_clm.py).
std::optional<std::string> detect_last_checkpoint(const args::TrainingArguments& t) {
  std::error_code ec;
  if (!fs::is_directory(t.output_dir, ec) || !t.do_train || t.overwrite_output_dir) return std::nullopt;
  auto last = trainer::get_last_checkpoint(t.output_dir);
  bool empty = true;  // this run's own lock file does not count
  for (const auto& entry : fs::directory_iterator(t.output_dir, ec))
    if (entry.path().filename() != kLockFileName) empty = false;
  if (!last && !empty)
    throw InputError("--output_dir", "output directory (" + t.output_dir +
                                         ") already exists and is not empty. Use --overwrite_output_dir to overcome.");
  if (last && !t.resume_from_checkpoint)
    log_info("Checkpoint detected, resuming training at " + *last +
             ". To avoid this behavior, change the `--output_dir` or add `--overwrite_output_dir` to train from scratch.");
  return last;
}

// The scripts load an evaluation split only with --do_eval: say which flag is missing before anything is loaded
// (HF fails later, inside train(), with "Trainer: evaluation requires an eval_dataset").
void check_eval_on_start(const args::TrainingArguments& t) {
  if (t.eval_on_start && t.do_train && !t.do_eval)
    throw InputError("--eval_on_start", "evaluates before the first training step, which needs the validation split: "
                                        "add --do_eval (or an --eval_strategy other than \"no\")");
}

// Two runs writing one output_dir would interleave their checkpoints and results: the main process holds a lock on
// it while it trains or evaluates, and a second run is refused with the first one's pid (core/lock.h).
std::optional<DirectoryLock> lock_output_dir(const args::TrainingArguments& t,
                                             const std::shared_ptr<distributed::ProcessGroup>& group) {
  if ((group && group->rank() != 0) || (!t.do_train && !t.do_eval)) return std::nullopt;
  return DirectoryLock::acquire(t.output_dir, "--output_dir");
}

struct Splits {
  std::shared_ptr<const trainer::TrainerDataset> train, eval;
  int64_t train_rows = 0, eval_rows = 0;
};

// One split, cut to max_samples, as the Trainer's dataset; errors name the flag that asked for it.
std::shared_ptr<const trainer::TrainerDataset> select_split(const datasets::DatasetDict& dict, const std::string& split,
                                                            std::optional<int64_t> max_samples, const char* flag,
                                                            const char* file_flag, int64_t* rows) {
  auto it = dict.find(split);
  if (it == dict.end()) throw InputError(flag, "requires a " + split + " dataset");
  datasets::Dataset ds = it->second;
  if (max_samples) ds = ds.select_range(0, std::min(*max_samples, ds.num_rows()));
  if (ds.num_rows() == 0)
    throw InputError(file_flag, "the " + split + " set has no examples after tokenization and grouping (is "
                                "block_size larger than the data?)");
  *rows = ds.num_rows();
  return std::make_shared<ArrowTrainerDataset>(ds);
}

Splits select_splits(const args::ParsedArguments& p, const datasets::DatasetDict& dict) {
  Splits s;
  if (p.training_args.do_train)
    s.train = select_split(dict, "train", p.data_args.max_train_samples, "--do_train", "--train_file", &s.train_rows);
  if (p.training_args.do_eval)
    s.eval = select_split(dict, "validation", p.data_args.max_eval_samples, "--do_eval", "--validation_file",
                          &s.eval_rows);
  return s;
}

// Causal-LM accuracy as run_clm's compute_metrics: argmax predictions shifted against the labels.
trainer::Metrics clm_accuracy(const torch::Tensor& preds, const torch::Tensor& labels) {
  auto p = preds.index({torch::indexing::Slice(), torch::indexing::Slice(torch::indexing::None, -1)}).reshape(-1);
  auto l = labels.index({torch::indexing::Slice(), torch::indexing::Slice(1, torch::indexing::None)}).reshape(-1);
  auto valid = l != -100;
  double n = valid.sum().item<double>();
  double correct = ((p == l) & valid).sum().item<double>();
  return {{"accuracy", n > 0 ? correct / n : 0.0}};
}

// MLM accuracy as run_mlm's compute_metrics: over positions whose label is not -100.
trainer::Metrics mlm_accuracy(const torch::Tensor& preds, const torch::Tensor& labels) {
  auto valid = labels != -100;
  double n = valid.sum().item<double>();
  double correct = ((preds == labels) & valid).sum().item<double>();
  return {{"accuracy", n > 0 ? correct / n : 0.0}};
}

// run_clm.py's trainer.create_model_card(finetuned_from=model_name_or_path, tasks=...): output_dir/README.md.
void write_model_card(args::ParsedArguments& p, const trainer::Trainer& trainer) {
  if (!trainer.is_world_process_zero()) return;
  ModelCardInputs in;
  const fs::path out = fs::path(p.training_args.output_dir).lexically_normal();
  in.model_name = (out.has_filename() ? out.filename() : out.parent_path().filename()).string();
  in.finetuned_from = p.model_args.model_name_or_path;
  in.task = trainer.model()->is_causal_lm() ? "text-generation" : "fill-mask";
  const auto& d = p.data_args;
  if (d.dataset_name) {  // run_clm.py's kwargs
    in.dataset_tags = d.dataset_name;
    in.dataset_args = d.dataset_config_name;
    in.dataset = *d.dataset_name + (d.dataset_config_name ? " " + *d.dataset_config_name : std::string());
    // from_trainer: a real Hub builder (a script's, not a packaged csv/json/pandas/parquet/text) adds the
    // evaluated split's configuration and split name, and the configuration as args when none was given.
    if (const auto where = cached_dataset(p)) {
      const Json info = datasets::cached_dataset_info(*where);
      const std::string builder =
          info.value("builder_name", Json()).is_string() ? info["builder_name"].get<std::string>() : "";
      static const std::set<std::string> kPackaged = {"", "csv", "json", "pandas", "parquet", "text"};
      if (kPackaged.count(builder) == 0) {
        const Json splits = info.value("splits", Json::object());
        bool has_validation = splits.is_object() && splits.contains("validation");
        if (splits.is_array())
          for (const auto& s : splits)
            has_validation = has_validation || (s.is_object() && s.value("name", Json()) == "validation");
        in.dataset_metadata = {{"config", where->config_name}, {"split", card_split(p, has_validation)}};
        if (!in.dataset_args) in.dataset_args = where->config_name;
      }
    }
  }
  in.training_args = p.training_args.to_json();
  in.log_history = Json(trainer.state().log_history);
  in.world_size = trainer.world_size();
  in.libtorch_version = TORCH_VERSION;
  fs::create_directories(out);
  write_file_atomic((out / "README.md").string(), model_card(in));
}

void train_and_evaluate(args::ParsedArguments& p, trainer::Trainer& trainer, const Splits& splits,
                        const std::optional<std::string>& last_checkpoint) {
  const auto& t = p.training_args;
  datasets::arrow::release_buffer_cache();  // the builders' spare mappings: no use while training
  if (t.do_train) {
    std::optional<std::string> checkpoint;
    if (t.resume_from_checkpoint) checkpoint = *t.resume_from_checkpoint;
    else if (last_checkpoint) checkpoint = *last_checkpoint;
    auto result = trainer.train(checkpoint);
    trainer.save_model();
    Json metrics = trainer::metrics_to_json(result.metrics);
    metrics["train_samples"] = splits.train_rows;
    if (trainer.is_world_process_zero()) {  // HF: log_metrics / save_metrics on the main process only
      log_metrics("train", metrics);
      save_metrics(t.output_dir, "train", metrics);
    }
    trainer.save_state();
    if (result.interrupted) {
      log_warning("training was interrupted; the last checkpoint in " + t.output_dir + " resumes it");
      return;
    }
  }
  if (t.do_eval) {
    log_info("*** Evaluate ***");
    auto m = trainer.evaluate();
    Json metrics = trainer::metrics_to_json(m);
    metrics["eval_samples"] = splits.eval_rows;
    double loss = metrics.value("eval_loss", std::nan(""));
    double ppl = std::exp(loss);
    metrics["perplexity"] = std::isfinite(ppl) ? ppl : std::numeric_limits<double>::infinity();
    if (trainer.is_world_process_zero()) {
      log_metrics("eval", metrics);
      save_metrics(t.output_dir, "eval", metrics);
    }
  }
  write_model_card(p, trainer);
}

// trainer.cpp's own addition: output_dir/report.html with the run's curves, arguments and metrics (`tcpp report`
// rebuilds it), written by the main process after training.
void write_report(const args::TrainingArguments& t, const trainer::Trainer& trainer) {
  if (!t.do_train || !trainer.is_world_process_zero()) return;
  log_info("Training report: " + trainer::write_html_report(t.output_dir));
}

trainer::ModelIO model_io(bool save_safetensors) {
  trainer::ModelIO io;
  models::SaveOptions save;
  save.safe_serialization = save_safetensors;  // false: pytorch_model.bin, as HF's --save_safetensors false
  io.save = [save](const models::PreTrainedModelImpl& m, const std::string& dir) {
    models::save_pretrained(m, dir, save);
  };
  io.load = [](models::PreTrainedModelImpl& m, const std::string& dir) {
    models::load_state_dict(m, models::load_checkpoint_tensors(dir), dir, /*strict=*/false);
  };
  return io;
}

// What both scripts hand the Trainer besides model and data: safetensors checkpoints with the tokenizer files and
// the full TrainingArguments, and argmax predictions for the accuracy metric.
// --log_level debug: each optimizer step's wall time (data, forward, backward and optimizer together), every
// logged value, and where checkpoints are written.
class DebugStepLogCallback : public trainer::TrainerCallback {
 public:
  std::string name() const override { return "DebugStepLogCallback"; }
  void on_step_begin(const trainer::TrainerOptions&, trainer::TrainerState&, trainer::TrainerControl&) override {
    step_start_ = std::chrono::steady_clock::now();
  }
  void on_step_end(const trainer::TrainerOptions&, trainer::TrainerState& state, trainer::TrainerControl&) override {
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - step_start_).count();
    log_debug("step " + std::to_string(state.global_step) + "/" + std::to_string(state.max_steps) + " took " +
              python_float_repr(std::round(s * 1e4) / 1e4) + " s (epoch " + python_float_repr(state.epoch.value_or(0)) + ")");
  }
  void on_log(const trainer::TrainerOptions&, trainer::TrainerState& state, trainer::TrainerControl&,
              const Json& logs) override {
    log_debug("step " + std::to_string(state.global_step) + " logs " + dump_json_python(logs, -1));
  }
  void on_save(const trainer::TrainerOptions& options, trainer::TrainerState& state, trainer::TrainerControl&) override {
    log_debug("step " + std::to_string(state.global_step) + ": checkpoint saved under " + options.output_dir);
  }

 private:
  std::chrono::steady_clock::time_point step_start_;
};

void configure_trainer(trainer::Trainer& trainer, args::ParsedArguments& p, trainer::ComputeMetricsFn accuracy) {
  trainer.set_model_io(model_io(p.training_args.save_safetensors));
  trainer.set_training_args_json(p.training_args.to_json());
  std::string tok_src = tokenizer_source(p.model_args);
  trainer.set_save_extra([tok_src](const std::string& dir) { copy_tokenizer_files(tok_src, dir); });
  // HF's tqdm bars (training, and each evaluation's batches): drawn in place on a terminal, plain lines otherwise
  // and with --disable_tqdm.
  if (auto progress = trainer::make_progress_callback(p.training_args.disable_tqdm.value_or(false)))
    trainer.add_callback(progress);
  if (log_level() <= LogLevel::kDebug) trainer.add_callback(std::make_shared<DebugStepLogCallback>());
  // --report_to tensorboard (or all, the default): event files under logging_dir, written by the main process.
  const auto& t = p.training_args;
  if (trainer.is_world_process_zero() &&
      std::find(t.report_to.begin(), t.report_to.end(), "tensorboard") != t.report_to.end())
    trainer.add_callback(std::make_shared<trainer::TensorBoardCallback>(
        t.logging_dir.value_or(t.output_dir + "/runs"), p.training_args.to_json(), trainer.model()->config_json()));
  // HF: prediction_loss_only keeps no logits, so compute_metrics (the accuracy) never runs.
  if (p.training_args.do_eval && !p.training_args.prediction_loss_only) {
    trainer.set_preprocess_logits_for_metrics(
        [](const torch::Tensor& logits, const torch::Tensor&) { return logits.argmax(-1); });
    trainer.set_compute_metrics(std::move(accuracy));
  }
}

// As TrainingArguments.device: this process's GPU (LOCAL_RANK) when LibTorch has CUDA and --use_cpu is not set,
// else the CPU.
torch::Device training_device(const args::TrainingArguments& t) {
  if (t.use_cpu || t.no_cuda || !torch::cuda::is_available()) return torch::Device(torch::kCPU);
  const int local_rank = distributed::environment_from_env().local_rank;
  const auto count = static_cast<int>(torch::cuda::device_count());
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(local_rank % std::max(count, 1)));
}

void place_model(models::PreTrainedModel& model, const args::TrainingArguments& t) {
  const auto device = training_device(t);
  if (device.is_cpu()) return;
  model->to(device);
  log_info("training on " + device.str());
}

// Join the process group when run under `tcpp launch` / torchrun (null for a single process), and set the log
// level: the example scripts log at INFO on the main process unless --log_level says otherwise; the other ranks
// at --log_level_replica (warning). As HF's should_log, "main" is each machine's local rank 0 with
// --log_on_each_node (the default), else global rank 0 only. Progress bars stay on global rank 0.
std::shared_ptr<distributed::ProcessGroup> setup_distributed_and_logging(const args::TrainingArguments& t) {
  const auto level = [](const std::string& name, LogLevel passive) {
    return name == "passive" ? passive : parse_log_level(name);
  };
  set_log_level(level(t.log_level, LogLevel::kInfo));
  // Dataset progress (conversion, map) as the Trainer's: plain lines with --disable_tqdm, none on other ranks.
  if (t.disable_tqdm.value_or(false)) set_progress_style(ProgressStyle::kLines);
  distributed::ProcessGroupOptions pgo;
  pgo.backend = t.ddp_backend.value_or("");
  pgo.timeout = std::chrono::seconds(t.ddp_timeout);
  pgo.device = training_device(t).str();
  auto group = distributed::init_process_group(pgo);
  if (group && group->rank() != 0) {
    const bool node_main = t.log_on_each_node && distributed::environment_from_env().local_rank == 0;
    if (!node_main) set_log_level(level(t.log_level_replica, LogLevel::kWarning));
    set_progress_style(ProgressStyle::kOff);
  }
  return group;
}

// datasets' main_process_first: rank 0 builds the caches, the other ranks then load them.
template <typename Fn>
auto main_process_first(const std::shared_ptr<distributed::ProcessGroup>& group, Fn&& fn) {
  if (group && group->rank() != 0) group->barrier();
  auto result = fn();
  if (group && group->rank() == 0) group->barrier();
  return result;
}

}  // namespace

void save_metrics(const std::string& output_dir, const std::string& split, const Json& metrics) {
  fs::create_directories(output_dir);
  write_file_atomic((fs::path(output_dir) / (split + "_results.json")).string(), dump_json_python(metrics, 4) + "\n");
  fs::path all = fs::path(output_dir) / "all_results.json";
  Json merged = Json::object();
  std::error_code ec;
  if (fs::exists(all, ec)) merged = read_json_file(all.string());
  if (!merged.is_object()) merged = Json::object();
  merged.update(metrics);
  write_file_atomic(all.string(), dump_json_python(merged, 4) + "\n");
}

datasets::DatasetDict load_raw_datasets(const args::ParsedArguments& p) {
  const auto& d = p.data_args;
  const std::string main_file = d.train_file ? *d.train_file : d.validation_file ? *d.validation_file : "";
  if (d.dataset_name && fs::exists(*d.dataset_name) && !fs::is_directory(*d.dataset_name))
    throw InputError("--dataset_name", quote(*d.dataset_name) + " is a file: pass data files with --train_file/"
                                       "--validation_file (--dataset_name takes a folder or a Hub dataset id)");
  if (d.dataset_name && d.dataset_config_name && is_saved_dataset(*d.dataset_name))
    throw InputError("--dataset_config_name", quote(*d.dataset_config_name) + ": " + *d.dataset_name +
                                              " is a save_to_disk folder, which has no configurations");
  datasets::DatasetDict raw;
  auto load_saved = [&](const std::string& path, const std::string& split) {
    if (fs::exists(fs::path(path) / "dataset_dict.json")) {
      auto dict = datasets::load_dataset_dict_from_disk(path);
      if (split.empty()) return dict;
      auto it = dict.find(split);
      if (it == dict.end()) throw InputError(path, "the saved DatasetDict has no \"" + split + "\" split");
      return datasets::DatasetDict{{split, it->second}};
    }
    return datasets::DatasetDict{{split.empty() ? "train" : split, datasets::Dataset::load_from_disk(path)}};
  };
  if (d.dataset_name && is_saved_dataset(*d.dataset_name)) {
    raw = load_saved(*d.dataset_name, "");
  } else if (d.dataset_name) {
    DatasetNameSource source = dataset_name_source(p, /*announce=*/true);
    if (auto& files = source.files) {
      // With --streaming the train split is streamed (train_stream): only the validation split is loaded here.
      if (d.streaming && !p.training_args.do_train) {
        files->data_files.erase("train");
        if (files->data_files.count("validation") == 0)
          throw InputError("--streaming", *d.dataset_name + " has no validation split, and with --do_eval the "
                                          "train[:5%] split needs the stream's length");
      }
      raw = datasets::load_dataset(*files);
    } else if (const auto& where = source.arrow_cache) {
      // load_dataset(name, config) offline: the Arrow files Python's datasets prepared, memory-mapped in place.
      log_info("loading " + *d.dataset_name + " (configuration " + where->config_name + ") from the Hugging Face "
               "datasets cache: " + where->dir);
      raw = datasets::load_cached_dataset(*d.dataset_name, *where);
    } else {
      throw InputError("--dataset_name", source.missing);
    }
  } else if (d.dataset_path || (d.train_file && is_saved_dataset(*d.train_file))) {
    raw = load_saved(d.dataset_path ? *d.dataset_path : *d.train_file, "");
    if (raw.count("train") == 0 && raw.size() == 1) raw = {{"train", raw.begin()->second}};
    if (d.validation_file && !is_saved_dataset(*d.validation_file))  // it would be left unread
      throw InputError("--validation_file", quote(*d.validation_file) + ": with a saved dataset folder for training, "
                                            "the validation data must be a saved dataset folder too (or a split of "
                                            "the same DatasetDict)");
  } else {
    datasets::LoadOptions lo;
    lo.builder = datasets::builder_for_extension(main_file);
    if (lo.builder.empty())
      throw InputError(main_file, "cannot tell the file format from its extension (expected .txt, .json, .jsonl, .csv, .parquet or .arrow)");
    if (d.train_file) lo.data_files["train"] = {*d.train_file};
    if (d.validation_file && !is_saved_dataset(*d.validation_file)) lo.data_files["validation"] = {*d.validation_file};
    lo.keep_linebreaks = d.keep_linebreaks;
    lo.cache_dir = p.model_args.cache_dir.value_or("");
    raw = datasets::load_dataset(lo);
  }
  if (d.validation_file && is_saved_dataset(*d.validation_file)) raw["validation"] = load_saved(*d.validation_file, "").begin()->second;
  if (raw.count("validation") == 0 && raw.count("train") != 0) {
    // As run_clm: validation = train[:P%], train = train[P%:], from the start of the data, no shuffling.
    const auto& train = raw.at("train");
    int64_t n = train.num_rows();
    int64_t k = banker_round(static_cast<double>(d.validation_split_percentage.value_or(5)) * static_cast<double>(n) / 100.0);
    raw["validation"] = train.select_range(0, k);
    raw["train"] = train.select_range(k, n);
  }
  return raw;
}

int64_t max_position_embeddings(const args::ModelArguments& m) {
  if (!m.config_name && !m.model_name_or_path && !m.model_type) return kDefaultMaxPositions;
  return max_positions(*resolve_config(m, /*causal=*/true));
}

// run_clm's block_size: --block_size capped at the tokenizer's model_max_length, else model_max_length capped at
// 1024 and the model's positions, with run_clm.py's warnings.
int64_t clm_block_size(const args::DataTrainingArguments& d, const tokenizers::PreTrainedTokenizer& tok,
                       int64_t max_position_embeddings) {
  int64_t block_size;
  if (!d.block_size) {
    block_size = tok.model_max_length();
    if (block_size > max_position_embeddings) {
      log_warning("The tokenizer picked seems to have a very large `model_max_length` (" + std::to_string(block_size) +
                  "). Using block_size=" + std::to_string(std::min<int64_t>(1024, max_position_embeddings)) +
                  " instead. You can change that default value by passing --block_size xxx.");
      block_size = std::min<int64_t>(1024, max_position_embeddings);
    }
  } else {
    if (*d.block_size > tok.model_max_length())
      log_warning("The block_size passed (" + std::to_string(*d.block_size) +
                  ") is larger than the maximum length for the model (" + std::to_string(tok.model_max_length()) +
                  "). Using block_size=" + std::to_string(tok.model_max_length()) + ".");
    block_size = std::min(*d.block_size, tok.model_max_length());
  }

  return block_size;
}

datasets::DatasetDict prepare_clm_datasets(const args::ParsedArguments& p, const tokenizers::PreTrainedTokenizer& tok,
                                           int64_t max_position_embeddings) {
  const auto& d = p.data_args;
  datasets::DatasetDict raw = load_raw_datasets(p);
  // A folder prepared earlier (tcpp prepare) is used as it is.
  bool prepared = true;
  for (const auto& [name, ds] : raw) {
    auto cols = ds.column_names();
    prepared = prepared && std::find(cols.begin(), cols.end(), "input_ids") != cols.end();
  }
  if (prepared) {
    log_info("the dataset is already tokenized and grouped: training on it as it is");
    // Its blocks were cut when it was prepared: a --block_size asking for another length would be ignored.
    if (d.block_size) {
      const int64_t wanted = clm_block_size(d, tok, max_position_embeddings);
      const std::string source = d.dataset_name ? *d.dataset_name : d.dataset_path ? *d.dataset_path
                                                                                   : d.train_file.value_or("");
      for (const auto& [name, ds] : raw) {
        if (ds.num_rows() == 0) continue;
        const Json ids = ds.row(0)["input_ids"];
        const int64_t have = ids.is_array() ? static_cast<int64_t>(ids.size()) : -1;
        if (have != wanted)
          throw InputError("--block_size", "the prepared " + name + " split of " + quote(source) +
                                               " holds blocks of " + std::to_string(have) + " tokens, not " +
                                               std::to_string(wanted) + ": prepare it again with --block_size " +
                                               std::to_string(wanted) + ", or leave --block_size out");
      }
    }
    return raw;
  }

  const int64_t block_size = clm_block_size(d, tok, max_position_embeddings);

  const auto& any = raw.count("train") ? raw.at("train") : raw.begin()->second;
  TokenizeOptions to;
  to.text_column = text_column_name(any.column_names());
  datasets::MapOptions mo;
  mo.batched = true;
  mo.num_proc = static_cast<int>(d.preprocessing_num_workers.value_or(1));
  mo.load_from_cache_file = !d.overwrite_cache;
  mo.remove_columns = any.column_names();
  mo.function_key = "run_clm.tokenize:" + tokenizer_hash(tokenizer_source(p.model_args)) + ":" + to.text_column;
  mo.desc = "Running tokenizer on dataset";  // run_clm.py's map descriptions
  auto tokenize = tokenize_function(tok.tokenizer(), to);

  datasets::MapOptions go = mo;
  go.remove_columns.clear();
  go.function_key = "run_clm.group_texts:" + std::to_string(block_size);
  go.desc = "Grouping texts in chunks of " + std::to_string(block_size);
  GroupTextsOptions gopt{block_size, /*add_labels=*/true};

  datasets::DatasetDict out;
  for (const auto& [split, ds] : raw) {
    log_info("Running tokenizer on dataset (" + split + ", " + std::to_string(ds.num_rows()) + " rows)");
    datasets::Dataset tokenized = ds.map(tokenize, mo);
    log_info("Grouping texts in chunks of " + std::to_string(block_size) + " (" + split + ")");
    out[split] = tokenized.map([gopt](const datasets::Batch& b) { return group_texts(b, gopt); }, go);
  }
  return out;
}

namespace {

// --streaming: the train file read lazily and mapped batch by batch (HF's IterableDataset.map), no cache: the
// map make_tokenize returns for the text column, then group_texts when `group` is set.
std::shared_ptr<const trainer::TrainerIterableDataset> train_stream(
    const args::ParsedArguments& p, const std::function<datasets::MapFunction(const std::string&)>& make_tokenize,
    const std::optional<GroupTextsOptions>& group) {
  const auto& d = p.data_args;
  datasets::LoadOptions lo;
  std::string source;
  if (auto files = dataset_name_source(p, /*announce=*/true).files) {
    // A folder's (or a downloaded Hub repository's) train files, streamed as HF's load_dataset(..., streaming=True).
    if (files->data_files.count("train") == 0)
      throw InputError("--dataset_name", *d.dataset_name + " has no train split to stream");
    lo = *files;
    source = *d.dataset_name;
  } else if (!d.train_file || is_saved_dataset(*d.train_file) || d.dataset_name || d.dataset_path) {
    throw InputError("--streaming", "streams a --train_file (.txt, .json, .jsonl, .csv or .parquet; text and JSON "
                                    "Lines also compressed) or the data files of "
                                    "a --dataset_name folder; saved dataset folders and datasets in the datasets "
                                    "cache are read through memory-mapped Arrow files instead, so drop --streaming");
  } else {
    lo.builder = datasets::builder_for_extension(*d.train_file);
    lo.data_files["train"] = {*d.train_file};
    lo.keep_linebreaks = d.keep_linebreaks;
    source = *d.train_file;
  }
  std::optional<datasets::IterableDataset> stream;
  try {
    stream = datasets::IterableDataset::from_files(lo, "train");
  } catch (const NotImplemented& e) {
    throw InputError("--streaming", source + ": " + e.what());
  }
  auto& raw = *stream;
  std::vector<std::string> columns;  // HF peeks at the first example for the column names
  raw.for_each_batch(1, [&](const datasets::Batch& b) {
    columns = b.names();
    return false;
  });
  if (columns.empty()) throw InputError(source, "the train data has no rows");
  datasets::MapOptions mo;
  mo.batched = true;
  mo.remove_columns = columns;
  auto tokenized = raw.map(make_tokenize(text_column_name(columns)), mo);
  if (!group) {  // token-id lists arrive as JSON arrays, which features_of_row reads as they are
    if (d.max_train_samples) tokenized = tokenized.take(*d.max_train_samples);
    return std::make_shared<StreamTrainerDataset>(tokenized);
  }
  datasets::MapOptions go;
  go.batched = true;
  tokenized.for_each_batch(1, [&](const datasets::Batch& b) {  // group_texts replaces every tokenized column
    go.remove_columns = b.names();
    return false;
  });
  // Between streamed stages, list columns travel as JSON values: make them token-id lists again for group_texts.
  auto as_id_lists = [](const datasets::Batch& b) {
    datasets::Batch out;
    for (const auto& name : b.names()) {
      const auto& col = b.at(name);
      if (!col.holds<datasets::Column::Jsons>()) {
        out[name] = col;
        continue;
      }
      datasets::Column::Int64Lists lists;
      for (size_t i = 0; i < col.size(); ++i) {
        const Json v = col.json(i);
        if (!v.is_array()) throw InputError("--streaming", "column \"" + name + "\": expected lists of token ids");
        lists.push_back(v.get<std::vector<int64_t>>());
      }
      out[name] = datasets::Column(std::move(lists));
    }
    return out;
  };
  const GroupTextsOptions gopt = *group;
  auto grouped = tokenized.map([gopt, as_id_lists](const datasets::Batch& b) { return group_texts(as_id_lists(b), gopt); }, go);
  if (d.max_train_samples) grouped = grouped.take(*d.max_train_samples);
  return std::make_shared<StreamTrainerDataset>(grouped);
}

std::shared_ptr<const trainer::TrainerIterableDataset> clm_train_stream(const args::ParsedArguments& p,
                                                                       const tokenizers::PreTrainedTokenizer& tok,
                                                                       int64_t max_position_embeddings) {
  auto make_tokenize = [&tok](const std::string& text_column) {
    TokenizeOptions to;
    to.text_column = text_column;
    return tokenize_function(tok.tokenizer(), to);
  };
  return train_stream(p, make_tokenize,
                      GroupTextsOptions{clm_block_size(p.data_args, tok, max_position_embeddings), /*add_labels=*/true});
}

// With --streaming and --do_eval the validation split is read and cached as usual (evaluation needs its length):
// the arguments without the train file, for building that split alone.
args::ParsedArguments validation_only(const args::ParsedArguments& p) {
  if (dataset_name_source(p).files) {  // its validation split (load_raw_datasets leaves the streamed train out)
    args::ParsedArguments q = p;
    q.training_args.do_train = false;
    return q;
  }
  if (!p.data_args.validation_file)
    throw InputError("--streaming", "with --do_eval, pass --validation_file: the train[:5%] split needs the "
                                    "stream's length");
  args::ParsedArguments q = p;
  q.data_args.train_file.reset();
  q.training_args.do_train = false;
  return q;
}

}  // namespace

void run_clm(args::ParsedArguments& p) {
  auto group = setup_distributed_and_logging(p.training_args);
  for (const auto& w : p.warnings) log_warning(w);
  auto& t = p.training_args;
  check_eval_on_start(t);
  auto output_lock = lock_output_dir(t, group);
  auto last_checkpoint = detect_last_checkpoint(t);
  torch::manual_seed(static_cast<uint64_t>(t.seed));

  auto tok = tokenizers::PreTrainedTokenizer::from_pretrained(tokenizer_source(p.model_args));
  auto config = resolve_config(p.model_args, /*causal=*/true);
  fit_vocab(p.model_args, tok, *config);
  auto model = build_model(p.model_args, *config, /*causal=*/true);
  resize_embeddings_to_tokenizer(*model, tok);
  place_model(model, t);

  std::shared_ptr<const trainer::TrainerIterableDataset> train_stream;
  Splits splits;
  if (p.data_args.streaming && t.do_train) {
    train_stream = clm_train_stream(p, tok, max_positions(*config));
    if (t.do_eval) {
      const args::ParsedArguments q = validation_only(p);
      auto dict = main_process_first(group, [&] { return prepare_clm_datasets(q, tok, max_positions(*config)); });
      splits = select_splits(q, dict);
    }
  } else {
    auto dict = main_process_first(group, [&] { return prepare_clm_datasets(p, tok, max_positions(*config)); });
    splits = select_splits(p, dict);
  }

  trainer::Trainer trainer(model, trainer_options_from_args(t), splits.train, splits.eval,
                           collators::DataCollator(collators::default_data_collator));
  if (train_stream) trainer.set_train_stream(train_stream);
  configure_trainer(trainer, p, clm_accuracy);
  train_and_evaluate(p, trainer, splits, last_checkpoint);
  write_report(t, trainer);
}

namespace {

// run_mlm's tokenization: the map for one text column (line_by_line: empty and whitespace-only lines dropped first),
// with the tokenizer already truncating (and padding) as the flags ask.
struct MlmTokenization {
  const tokenizers::PreTrainedTokenizer* tok = nullptr;
  TokenizeOptions options;  // everything but the text column
  bool line_by_line = false;
  std::string cache_key;     // what the map depends on, for the cache fingerprint: key:<text column><suffix>
  std::string cache_suffix;

  datasets::MapFunction tokenize(const std::string& text_column) const {
    TokenizeOptions to = options;
    to.text_column = text_column;
    return tokenize_function(tok->tokenizer(), to);
  }
  // For a stream (no filter there): the same rows as filter + tokenize on a cached split.
  datasets::MapFunction filter_and_tokenize(const std::string& text_column) const {
    auto fn = tokenize(text_column);
    if (!line_by_line) return fn;
    return [fn, text_column](const datasets::Batch& b) {
      const auto& texts = b.at(text_column);
      datasets::Column::Strings kept;
      for (size_t i = 0; i < texts.size(); ++i) {
        const Json v = texts.json(i);
        if (v.is_string() && !trim(v.get<std::string>()).empty()) kept.push_back(v.get<std::string>());
      }
      datasets::Batch lines;
      lines[text_column] = datasets::Column(std::move(kept));
      return fn(lines);
    };
  }
};

// run_mlm.py's datasets: tokenized (line by line, or grouped into max_seq_length chunks), cached.
datasets::DatasetDict mlm_datasets(const args::ParsedArguments& p, const MlmTokenization& mt, int64_t max_seq_length) {
  const auto& d = p.data_args;
  datasets::DatasetDict raw = load_raw_datasets(p);
  const auto& any = raw.count("train") ? raw.at("train") : raw.begin()->second;
  const std::string text_column = text_column_name(any.column_names());
  datasets::MapOptions mo;
  mo.batched = true;
  mo.num_proc = static_cast<int>(d.preprocessing_num_workers.value_or(1));
  mo.load_from_cache_file = !d.overwrite_cache;
  mo.remove_columns = any.column_names();
  mo.function_key = mt.cache_key + ":" + text_column + mt.cache_suffix;
  auto tokenize = mt.tokenize(text_column);
  datasets::DatasetDict dict;
  for (const auto& [split, ds] : raw) {
    datasets::Dataset input = ds;
    if (d.line_by_line) {
      // run_mlm drops empty and whitespace-only lines.
      input = ds.filter(
          [text_column](const datasets::Batch& b) {
            const auto& texts = b.at(text_column);
            std::vector<bool> keep(texts.size());
            for (size_t i = 0; i < texts.size(); ++i) {
              Json v = texts.json(i);  // null for a missing text in JSON data
              keep[i] = v.is_string() && !trim(v.get<std::string>()).empty();
            }
            return keep;
          },
          "run_mlm.nonempty_lines:" + text_column);
    }
    datasets::Dataset tokenized = input.map(tokenize, mo);
    if (!d.line_by_line) {
      datasets::MapOptions go = mo;
      go.remove_columns.clear();
      go.function_key = "run_mlm.group_texts:" + std::to_string(max_seq_length);
      GroupTextsOptions gopt{max_seq_length, /*add_labels=*/false};
      tokenized = tokenized.map([gopt](const datasets::Batch& b) { return group_texts(b, gopt); }, go);
    }
    dict[split] = tokenized;
  }
  return dict;
}

}  // namespace

void run_mlm(args::ParsedArguments& p) {
  auto group = setup_distributed_and_logging(p.training_args);
  for (const auto& w : p.warnings) log_warning(w);
  auto& t = p.training_args;
  const auto& d = p.data_args;
  check_eval_on_start(t);
  auto output_lock = lock_output_dir(t, group);
  auto last_checkpoint = detect_last_checkpoint(t);
  torch::manual_seed(static_cast<uint64_t>(t.seed));

  auto tok = tokenizers::PreTrainedTokenizer::from_pretrained(tokenizer_source(p.model_args));
  if (!tok.mask_token_id())
    throw InputError("--tokenizer_name", "this tokenizer has no mask token, which is necessary for masked language "
                                         "modeling");
  auto config = resolve_config(p.model_args, /*causal=*/false);
  fit_vocab(p.model_args, tok, *config);
  auto model = build_model(p.model_args, *config, /*causal=*/false);
  resize_embeddings_to_tokenizer(*model, tok);
  place_model(model, t);

  // max_seq_length: the tokenizer's model_max_length, capped at 1024 (run_mlm.py).
  int64_t max_seq_length = tok.model_max_length();
  if (!d.max_seq_length) {
    if (max_seq_length > 1024) {
      log_warning("The tokenizer picked seems to have a very large `model_max_length`; using max_seq_length=1024");
      max_seq_length = 1024;
    }
  } else {
    max_seq_length = std::min(*d.max_seq_length, tok.model_max_length());
  }
  max_seq_length = std::min(max_seq_length, max_positions(*config) - (config->model_type() == "roberta" ? 2 : 0));

  MlmTokenization mt;
  mt.tok = &tok;
  mt.options.return_special_tokens_mask = true;
  mt.options.return_token_type_ids = config->model_type() == "bert";
  mt.line_by_line = d.line_by_line;
  mt.cache_key = "run_mlm.tokenize:" + tokenizer_hash(tokenizer_source(p.model_args));
  if (d.line_by_line) {
    // One example per non-empty line, truncated (and padded when asked) to max_seq_length.
    tokenizers::TruncationParams trunc;
    trunc.max_length = static_cast<size_t>(max_seq_length);
    tok.tokenizer().set_truncation(trunc);
    if (d.pad_to_max_length) {
      tokenizers::PaddingParams pad;
      pad.strategy = tokenizers::PaddingStrategy::kFixed;
      pad.fixed_length = static_cast<size_t>(max_seq_length);
      pad.pad_id = tok.pad_token_id().value_or(0);
      pad.pad_token = tok.special_tokens().pad_token.value_or("[PAD]");
      tok.tokenizer().set_padding(pad);
    }
    mt.cache_suffix = ":line_by_line:" + std::to_string(max_seq_length) + (d.pad_to_max_length ? ":pad" : "");
  }

  std::shared_ptr<const trainer::TrainerIterableDataset> train_stream_ds;
  Splits splits;
  if (d.streaming && t.do_train) {
    // line_by_line: each non-empty line is one example; otherwise the lines are grouped into max_seq_length chunks.
    train_stream_ds = train_stream(
        p, [&mt](const std::string& column) { return mt.filter_and_tokenize(column); },
        d.line_by_line ? std::nullopt : std::optional<GroupTextsOptions>(GroupTextsOptions{max_seq_length, /*add_labels=*/false}));
    if (t.do_eval) {
      const args::ParsedArguments q = validation_only(p);
      auto dict = main_process_first(group, [&] { return mlm_datasets(q, mt, max_seq_length); });
      splits = select_splits(q, dict);
    }
  } else {
    // main_process_first: rank 0 builds the caches, the other ranks wait and then load them.
    auto dict = main_process_first(group, [&] { return mlm_datasets(p, mt, max_seq_length); });
    splits = select_splits(p, dict);
  }

  collators::LanguageModelingOptions lm;
  lm.mlm = true;
  lm.mlm_probability = d.mlm_probability;
  lm.pad_token_id = tok.pad_token_id() ? std::optional<int64_t>(*tok.pad_token_id()) : std::nullopt;
  lm.mask_token_id = static_cast<int64_t>(*tok.mask_token_id());
  // The Trainer drops the examples' special_tokens_mask (remove_unused_columns, as HF's): the collator then finds
  // special tokens by id, as HF's get_special_tokens_mask(already_has_special_tokens=True) does.
  std::set<int64_t> special_ids;
  for (uint32_t id : tok.all_special_ids()) special_ids.insert(static_cast<int64_t>(id));
  lm.is_special_token = [special_ids](int64_t id) { return special_ids.count(id) > 0; };
  lm.vocab_size = static_cast<int64_t>(tok.size());
  lm.padding_side = tok.padding_side() == "left" ? collators::PaddingSide::kLeft : collators::PaddingSide::kRight;
  if (d.line_by_line && t.fp16 && !d.pad_to_max_length) lm.pad_to_multiple_of = 8;
  // run_mlm.py's collator has no seed: its masks come from the global generator (seeded by the Trainer, shared with
  // dropout), drawn where accelerate's dataloader collates; with dataloader workers, from each worker's generator,
  // seeded as HF seeds its worker processes (the Trainer's worker generators).
  collators::DataCollatorForLanguageModeling collator(lm);

  trainer::Trainer trainer(model, trainer_options_from_args(t), splits.train, splits.eval, collator);
  if (train_stream_ds) trainer.set_train_stream(train_stream_ds);
  configure_trainer(trainer, p, mlm_accuracy);
  train_and_evaluate(p, trainer, splits, last_checkpoint);
  write_report(t, trainer);
}

}  // namespace tcpp::pipelines
