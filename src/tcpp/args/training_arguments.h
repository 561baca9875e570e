// TrainingArguments: every Trainer setting, with transformers 4.57's names, defaults and derived values
// (v5 spellings accepted as aliases). Saved as training_args.json in place of Python's training_args.bin.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tcpp/args/field.h"
#include "tcpp/core/json.h"

namespace tcpp::args {

struct TrainingArguments {
  // --- Output ---
  std::string output_dir = "trainer_output";
  bool overwrite_output_dir = false;
  // --- What to run (read by the scripts, not by Trainer) ---
  bool do_train = false;
  bool do_eval = false;
  bool do_predict = false;
  std::optional<std::string> resume_from_checkpoint;
  // --- Duration and batch size ---
  int64_t per_device_train_batch_size = 8;
  int64_t per_device_eval_batch_size = 8;
  int64_t gradient_accumulation_steps = 1;
  double num_train_epochs = 3.0;
  int64_t max_steps = -1;
  // --- Learning rate, schedule, optimizer ---
  double learning_rate = 5e-5;
  std::string lr_scheduler_type = "linear";
  Json lr_scheduler_kwargs = nullptr;
  double warmup_ratio = 0.0;
  double warmup_steps = 0;  // v5: a float in [0, 1) is a ratio of the total steps
  std::string optim = "adamw_torch";
  std::optional<std::string> optim_args;
  double weight_decay = 0.0;
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.999;
  double adam_epsilon = 1e-8;
  double max_grad_norm = 1.0;
  double label_smoothing_factor = 0.0;
  bool average_tokens_across_devices = true;
  // --- Precision and memory ---
  bool bf16 = false;
  bool fp16 = false;
  bool bf16_full_eval = false;
  bool fp16_full_eval = false;
  std::optional<bool> tf32;
  bool gradient_checkpointing = false;
  Json gradient_checkpointing_kwargs = nullptr;
  bool auto_find_batch_size = false;
  std::optional<int64_t> torch_empty_cache_steps;
  std::optional<double> neftune_noise_alpha;
  // --- Logging ---
  std::string logging_strategy = "steps";
  double logging_steps = 500;
  bool logging_first_step = false;
  bool logging_nan_inf_filter = true;
  std::string nan_inf_policy = "stop";  // trainer.cpp: "stop" | "skip" (TrainerOptions::nan_inf_policy)
  std::optional<std::string> logging_dir;
  std::string log_level = "passive";
  std::string log_level_replica = "warning";
  bool log_on_each_node = true;
  std::optional<bool> disable_tqdm;
  std::vector<std::string> report_to = {"all"};
  std::optional<std::string> run_name;
  std::string include_num_input_tokens_seen = "no";
  bool include_tokens_per_second = false;
  bool skip_memory_metrics = true;
  // --- Evaluation ---
  std::string eval_strategy = "no";
  std::optional<double> eval_steps;
  double eval_delay = 0;
  bool eval_on_start = false;
  bool prediction_loss_only = false;
  std::optional<int64_t> eval_accumulation_steps;
  bool eval_do_concat_batches = true;
  bool batch_eval_metrics = false;
  std::vector<std::string> include_for_metrics;
  // --- Saving ---
  std::string save_strategy = "steps";
  double save_steps = 500;
  std::optional<int64_t> save_total_limit;
  bool save_safetensors = true;
  bool save_on_each_node = false;
  bool save_only_model = false;
  bool restore_callback_states_from_checkpoint = false;
  // --- Best model ---
  bool load_best_model_at_end = false;
  std::optional<std::string> metric_for_best_model;
  std::optional<bool> greater_is_better;
  bool ignore_data_skip = false;
  // --- Reproducibility ---
  int64_t seed = 42;
  std::optional<int64_t> data_seed;
  bool full_determinism = false;
  // --- Hardware ---
  bool use_cpu = false;
  bool no_cuda = false;  // deprecated spelling of use_cpu
  // --- Data loading ---
  bool dataloader_drop_last = false;
  int64_t dataloader_num_workers = 0;
  bool dataloader_pin_memory = true;
  bool dataloader_persistent_workers = false;
  std::optional<int64_t> dataloader_prefetch_factor;
  bool remove_unused_columns = true;
  std::vector<std::string> label_names;
  bool group_by_length = false;
  /// transformers v5's spelling: "random" (default), "sequential" (examples in dataset order every epoch) or
  /// "group_by_length" (= group_by_length true).
  std::string train_sampling_strategy = "random";
  std::string length_column_name = "length";
  // --- Distributed ---
  int64_t local_rank = -1;
  std::optional<std::string> ddp_backend;
  int64_t ddp_timeout = 1800;
  std::optional<bool> ddp_find_unused_parameters;
  std::optional<int64_t> ddp_bucket_cap_mb;
  std::optional<bool> ddp_broadcast_buffers;
  // --- Accepted for compatibility; no effect in trainer.cpp (a warning says so when set) ---
  bool torch_compile = false;
  std::optional<std::string> torch_compile_backend;
  std::optional<std::string> torch_compile_mode;
  std::string fp16_opt_level = "O1";
  std::string half_precision_backend = "auto";
  std::string debug;
  std::string fsdp;
  Json fsdp_config = nullptr;
  Json deepspeed = nullptr;
  Json accelerator_config = nullptr;
  bool push_to_hub = false;
  std::optional<std::string> hub_model_id;
  std::string hub_strategy = "every_save";
  std::optional<std::string> hub_token;
  std::optional<bool> hub_private_repo;
  bool hub_always_push = false;
  std::optional<std::string> hub_revision;
  bool use_liger_kernel = false;
  bool use_mps_device = false;
  bool jit_mode_eval = false;
  bool use_ipex = false;
  std::optional<int64_t> tpu_num_cores;
  int64_t past_index = -1;
  std::string ray_scope = "last";
  bool use_legacy_prediction_loop = false;
  bool eval_use_gather_object = false;

  /// Every field bound to this instance, in declaration order.
  std::vector<FieldRef> fields();
  /// Validate and derive values as TrainingArguments.__post_init__ (4.57) does; throws InputError naming the flag.
  /// Returns warnings for the user (fields with no effect here, deprecated spellings).
  std::vector<std::string> post_init();

  /// Warmup steps for a run of num_training_steps: warmup_steps if >= 1, ceil(N * warmup_steps) if it is a v5 ratio
  /// in (0, 1), else ceil(N * warmup_ratio).
  int64_t get_warmup_steps(int64_t num_training_steps) const;
  /// "logging_steps" etc. resolved against the total steps: a value < 1 is a ratio, ceil(max_steps * r).
  static int64_t resolve_steps(double steps, int64_t max_steps);

  /// All fields as one JSON object (what training_args.json holds).
  Json to_json();
  /// Read a JSON object written by to_json (or by a Python user: TrainingArguments.to_dict()); unknown keys are
  /// reported as warnings, not errors, so files from newer versions still load. `where` names the file.
  static TrainingArguments from_json(const Json& j, const std::string& where, std::vector<std::string>* warnings);
};

/// The names of the HF scheduler types (SchedulerType) and optimizers (OptimizerNames) that --lr_scheduler_type and
/// --optim accept.
const std::vector<std::string>& scheduler_type_names();
const std::vector<std::string>& optimizer_names();
/// Optimizers trainer.cpp implements (others are rejected with a clear error).
const std::vector<std::string>& supported_optimizer_names();

}  // namespace tcpp::args
