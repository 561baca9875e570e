// The training loop: train / evaluate / predict with Hugging Face's step counting, loss normalisation, logging,
// evaluation, checkpointing and exact resume (as transformers' Trainer).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "tcpp/collators/data_collator.h"
#include "tcpp/distributed/process_group.h"
#include "tcpp/models/pretrained_model.h"
#include "tcpp/trainer/callbacks.h"
#include "tcpp/trainer/checkpoint.h"
#include "tcpp/trainer/data_loader.h"
#include "tcpp/trainer/memory_metrics.h"
#include "tcpp/trainer/mixed_precision.h"
#include "tcpp/trainer/schedulers.h"
#include "tcpp/trainer/trainer_options.h"
#include "tcpp/trainer/trainer_state.h"

namespace tcpp::trainer {
namespace detail {
struct MemoryStage;
}

/// How checkpoints store the model weights. The models module's save_pretrained / from_pretrained plug in here.
struct ModelIO {
  std::function<void(const models::PreTrainedModelImpl&, const std::string& dir)> save;
  std::function<void(models::PreTrainedModelImpl&, const std::string& dir)> load;
};

/// Stopgap until the Trainer is wired to models::save_pretrained: every parameter and buffer by name in
/// dir/model.pt (a torch::save archive) plus config.json. load() throws InputError naming the file.
ModelIO torch_archive_model_io();

/// compute_metrics(predictions, label_ids) -> metrics (prefixed with "eval_" by evaluate()).
using ComputeMetricsFn = std::function<Metrics(const torch::Tensor& predictions, const torch::Tensor& label_ids)>;
/// preprocess_logits_for_metrics(logits, labels): reduce (B, T, V) logits per batch (e.g. argmax) before they are kept.
using PreprocessLogitsFn = std::function<torch::Tensor(const torch::Tensor& logits, const torch::Tensor& labels)>;

struct TrainOutput {
  int64_t global_step = 0;
  double training_loss = 0.0;
  /// train_runtime, train_samples_per_second, train_steps_per_second, total_flos, train_loss, epoch.
  Metrics metrics;
  /// True when SIGINT/SIGTERM (or request_stop()) ended training early after saving a checkpoint.
  bool interrupted = false;
};

struct PredictionOutput {
  torch::Tensor predictions;  // concatenated over batches, padded with -100 along dim 1; undefined when not kept
  torch::Tensor label_ids;
  Metrics metrics;            // test_loss, test_runtime, ...
};

/// Trains a PreTrainedModel as transformers' Trainer does.
///
///   Trainer trainer(model, options, train_ds, eval_ds, collators::default_data_collator);
///   trainer.add_callback(std::make_shared<EarlyStoppingCallback>(3));
///   auto result = trainer.train();   // options.resume_from_checkpoint honoured
///   auto metrics = trainer.evaluate();
class Trainer {
 public:
  /// Validates the options (throws InputError naming the field; fp16 needs a CUDA model). Datasets may be null
  /// when not used (train() needs a train dataset, evaluation an eval dataset).
  Trainer(models::PreTrainedModel model, TrainerOptions options, std::shared_ptr<const TrainerDataset> train_dataset,
          std::shared_ptr<const TrainerDataset> eval_dataset, collators::DataCollator data_collator);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  void add_callback(std::shared_ptr<TrainerCallback> callback);
  void set_model_io(ModelIO io) { model_io_ = std::move(io); }
  void set_compute_metrics(ComputeMetricsFn fn) { compute_metrics_ = std::move(fn); }
  void set_preprocess_logits_for_metrics(PreprocessLogitsFn fn) { preprocess_logits_ = std::move(fn); }
  /// Called with each checkpoint folder and save_model() folder after the model is written (tokenizer files).
  void set_save_extra(std::function<void(const std::string& dir)> fn) { save_extra_ = std::move(fn); }
  /// What training_args.json holds (run_clm passes the full TrainingArguments); default: the TrainerOptions.
  void set_training_args_json(Json args) { training_args_json_ = std::move(args); }
  /// Train on a stream instead (run_clm --streaming; the constructor's train dataset must be null): needs
  /// max_steps; each epoch is one pass, read ahead on a background thread; resume replays the trained windows.
  void set_train_stream(std::shared_ptr<const TrainerIterableDataset> stream) { train_stream_ = std::move(stream); }

  /// Train; resume_from_checkpoint (a folder, or "true"/"latest") overrides options.resume_from_checkpoint.
  /// Throws tcpp::Error naming the step when the loss becomes NaN/inf (nan_inf_policy "stop").
  TrainOutput train(const std::optional<std::string>& resume_from_checkpoint = std::nullopt);
  /// Evaluate on the eval dataset (or `dataset`): <prefix>_loss (sample-weighted mean of batch losses, as HF),
  /// runtime and throughput, compute_metrics, epoch; also logged. The returned metrics add "perplexity".
  Metrics evaluate(std::shared_ptr<const TrainerDataset> dataset = nullptr, const std::string& metric_key_prefix = "eval");
  PredictionOutput predict(const TrainerDataset& dataset, const std::string& metric_key_prefix = "test");
  /// Write the model (ModelIO), save_extra files and training_args.json into dir (default output_dir).
  void save_model(const std::string& dir = "");
  /// Write trainer_state.json into output_dir (HF's save_state).
  void save_state();

  const TrainerState& state() const { return state_; }
  /// This process's rank and the number of processes (0 and 1 unless run under `tcpp launch`/torchrun).
  int rank() const { return rank_; }
  int world_size() const { return world_; }
  bool is_world_process_zero() const { return rank_ == 0; }
  /// HF's args.should_save: this process writes checkpoints and the model (rank 0; with save_on_each_node, the first
  /// process of each machine).
  bool should_save() const { return options_.save_on_each_node ? local_rank_ == 0 : rank_ == 0; }
  const TrainerOptions& options() const { return options_; }
  models::PreTrainedModel model() const { return model_; }
  /// The optimizer and scheduler of the last train() (null before).
  torch::optim::Optimizer* optimizer() { return optimizer_.get(); }
  const LRScheduler* lr_scheduler() const { return scheduler_ ? &*scheduler_ : nullptr; }

  /// Ask every running train() to finish its current step, save a checkpoint and return (what the SIGINT/SIGTERM
  /// handler does; async-signal-safe).
  static void request_stop();

 private:
  /// The checkpoint folder to resume from ("" for none): "true"/"latest" resolved to the newest in output_dir.
  std::string resolve_resume(const std::optional<std::string>& resume_from_checkpoint) const;
  /// One run of the training loop at this per-device batch size (train() retries it with auto_find_batch_size).
  TrainOutput train_loop(const std::string& resume, int64_t batch_size, detail::MemoryStage& memory_stage);
  struct EvalLoopOutput;
  /// description: "Evaluation" or "Prediction" (HF's), what on_prediction_step reports.
  /// persistent: the DataLoader is the evaluation one HF keeps with persistent workers (not predict()'s).
  EvalLoopOutput evaluation_loop(const TrainerDataset& dataset, const std::string& prefix, bool keep_predictions,
                                 const std::string& description, bool persistent = false);
  models::ModelInputs collate(const TrainerDataset& dataset, const std::vector<int64_t>& indices);
  models::ModelInputs collate_features(const std::vector<collators::Features>& features);
  /// Collated CPU tensors onto the model's device.
  models::ModelInputs to_model_device(models::ModelInputs batch) const;
  /// evaluate(), with the reduce_lr_on_plateau step left out for eval_on_start (HF's skip_scheduler).
  Metrics evaluate_impl(std::shared_ptr<const TrainerDataset> dataset, const std::string& metric_key_prefix,
                        bool step_scheduler);
  /// Add a window's input tokens (include_num_input_tokens_seen), summed over ranks, to the state.
  void count_input_tokens(const std::vector<models::ModelInputs>& batches);
  /// Whether epoch `epoch` makes a new training DataLoader iterator (a base seed from the global generator): always,
  /// except after the first epoch of a persistent DataLoader.
  bool new_train_iterator(int64_t epoch) const;
  /// Drop the batches read ahead and put the collator's generator back as of the last batch trained on.
  void rewind_prefetch();
  /// Each example's length as group_by_length's samplers see it.
  std::vector<int64_t> sampler_lengths(const TrainerDataset& dataset) const;
  /// What epoch `epoch`'s DataLoader iterator draws from HF's global generator: a base seed, then with
  /// group_by_length HF's length-grouped permutation (returned; empty otherwise). Resumed inside the epoch: the
  /// order the checkpoint's run drew, with the global generator left as the checkpoint restored it.
  std::vector<int64_t> epoch_start_draws(const std::vector<int64_t>& lengths, int64_t batch_size, int64_t epoch,
                                         bool resumed_inside);
  /// The collator draws from the global generator (HF's DataCollatorForLanguageModeling without a seed): without
  /// worker generators its batches are collated where HF's are, on this thread, never read ahead by workers.
  bool collator_draws_from_global() const;
  /// With dataloader_num_workers, batches are collated as in HF's worker processes, each drawing from a generator
  /// of its own: the collator draws random numbers (unseeded, or from its own seed) and can draw from another
  /// generator (DataCollator::with_generator).
  bool uses_worker_generators() const;
  /// The generators of one DataLoader iterator's workers, seeded as HF's are: a seeded collator's worker w from
  /// seed + w, an unseeded one's from torch's worker seed (training: reseeded by HF's seed_worker).
  std::vector<at::Generator> worker_generators(int64_t base_seed, bool training) const;
  /// The collate streams of those workers for a BatchPrefetcher.
  std::vector<CollateStream> worker_streams(const std::vector<at::Generator>& generators) const;
  torch::Tensor compute_loss(const models::ModelInputs& inputs, const models::ModelOutput& outputs,
                             std::optional<int64_t> num_items_in_batch) const;
  void log(Json logs);
  void maybe_log_save_evaluate(torch::Tensor& tr_loss, std::optional<double> grad_norm, double learning_rate);
  void save_checkpoint();
  void load_checkpoint(const std::string& dir);
  bool determine_best_metric(const Metrics& metrics);
  void store_flos();
  /// The batches this process trains on in `epoch` (its shard under data parallelism).
  std::vector<std::vector<int64_t>> epoch_batches(const std::vector<int64_t>& order, int64_t batch_size) const;
  /// The mean over ranks of a scalar (itself for a single process).
  double mean_over_ranks(double value);
  c10::DeviceType model_device_type() const;
  /// The autocast dtype of --bf16 / --fp16.
  c10::ScalarType mixed_precision_dtype() const;
  template <typename Fn>
  void for_each_callback(Fn&& fn);

  models::PreTrainedModel model_;
  TrainerOptions options_;
  std::shared_ptr<const TrainerDataset> train_dataset_;
  std::shared_ptr<const TrainerDataset> eval_dataset_;
  std::shared_ptr<const TrainerIterableDataset> train_stream_;
  collators::DataCollator data_collator_;
  std::vector<std::shared_ptr<TrainerCallback>> callbacks_;
  ModelIO model_io_;
  ComputeMetricsFn compute_metrics_;
  PreprocessLogitsFn preprocess_logits_;
  std::function<void(const std::string&)> save_extra_;
  Json training_args_json_;

  TrainerState state_;
  TrainerControl control_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::optional<LRScheduler> scheduler_;
  std::unique_ptr<BatchPrefetcher> prefetcher_;  // this epoch's batches read ahead (dataloader_num_workers > 0)
  std::optional<models::ModelInputs> lookahead_;  // the next training batch, collated early (accelerate's lookahead)
  torch::Tensor lookahead_state_;         // the collator's generator state before lookahead_ was collated
  RngExtras resumed_rng_;  // from the checkpoint being resumed: the lookahead's and the epoch start's states
  // HF's global generator (seeded with `seed` as Trainer.__init__'s set_seed) also feeds its DataLoaders: each
  // training epoch and each evaluation takes a base seed from it, and with group_by_length a permutation. Ours
  // draws the same, so dropout (and an unseeded collator) meet it where HF's do. Its state when the current
  // epoch's iterator was made is kept for checkpoints (a resume inside the epoch redraws the order from it).
  torch::Tensor sampler_epoch_start_;
  int64_t sampler_epoch_ = -1;
  int64_t epoch_base_seed_ = 0;  // the base seed the current epoch's iterator drew (its workers' generators' seeds)
  // dataloader_persistent_workers: HF's DataLoaders that keep their iterator and workers, the training one for a
  // train() call, the evaluation one (per eval dataset) for the Trainer's life. After their first iterator they draw
  // no base seed, and their workers' collator generators go on (the next iterator deals from worker 0 again).
  struct PersistentLoader {
    int64_t start_epoch = -1;            // training: the epoch whose start made the iterator; -1 before
    bool live = false;                   // evaluation: the iterator was made
    std::vector<at::Generator> workers;  // the workers' collator generators (empty without worker generators)
  };
  PersistentLoader persistent_train_;
  std::map<const TrainerDataset*, PersistentLoader> persistent_eval_;
  bool warned_token_count_ = false;
  int64_t globalstep_last_logged_ = 0;
  double total_loss_scalar_ = 0.0;
  double current_flos_ = 0.0;
  int64_t non_embedding_params_ = 0;
  std::optional<GradScaler> scaler_;                   // fp16 only
  bool in_train_ = false;                              // inside train() (HF's is_in_train)
  MemoryTracker memory_{true};                         // skip_memory_metrics=false: RSS around each stage
  std::shared_ptr<distributed::ProcessGroup> group_;  // null for a single process
  int rank_ = 0;
  int world_ = 1;
  int local_rank_ = 0;  // LOCAL_RANK: this process's place on its machine
};

/// The schedule train() builds for `max_steps` optimizer steps from the options' type, kwargs and warmup.
SchedulerOptions scheduler_options(const TrainerOptions& options, int64_t max_steps);

/// Python's round(x, ndigits) (correctly rounded, ties to even on the exact binary value).
double python_round(double x, int ndigits);

}  // namespace tcpp::trainer
