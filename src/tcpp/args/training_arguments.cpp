// TrainingArguments: field table (names, help, choices, aliases) and __post_init__'s derivations and checks.
#include "tcpp/args/training_arguments.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <sstream>

#include "tcpp/core/error.h"
#include "tcpp/core/strings.h"

namespace tcpp::args {
namespace {

const std::vector<std::string> kIntervalStrategies = {"no", "steps", "epoch"};
const std::vector<std::string> kSaveStrategies = {"no", "steps", "epoch", "best"};
const std::vector<std::string> kLogLevels = {"debug", "info", "warning", "error", "critical", "passive"};
// Integrations that "--report_to all" expands to (HF 4.57: every installed one; ours are built in). trainer.cpp
// also writes its own JSON Lines log always.
const std::vector<std::string> kAvailableIntegrations = {"tensorboard"};
const std::vector<std::string> kKnownIntegrations = {
    "azure_ml", "clearml", "codecarbon", "comet_ml", "dagshub", "dvclive", "flyte", "mlflow", "neptune",
    "swanlab", "tensorboard", "trackio", "wandb", "all", "none"};

std::string default_logdir() {
  // As transformers' default_logdir(): runs/<%b%d_%H-%M-%S>_<hostname>.
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::localtime_r(&now, &tm);
  char stamp[64];
  std::strftime(stamp, sizeof stamp, "%b%d_%H-%M-%S", &tm);
  return std::string("runs/") + stamp + "_" + host;
}

std::string expand_user(const std::string& path) {
  if (path.empty() || path[0] != '~') return path;
  if (path.size() > 1 && path[1] != '/') return path;
  const char* home = std::getenv("HOME");
  return home ? std::string(home) + path.substr(1) : path;
}

[[noreturn]] void fail(const std::string& flag, const std::string& message) { throw InputError("--" + flag, message); }

}  // namespace

const std::vector<std::string>& scheduler_type_names() {
  static const std::vector<std::string> names = {
      "linear",        "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup",
      "inverse_sqrt",  "reduce_lr_on_plateau", "cosine_with_min_lr", "cosine_warmup_with_min_lr",
      "warmup_stable_decay"};
  return names;
}

const std::vector<std::string>& optimizer_names() {
  static const std::vector<std::string> names = {
      "adamw_torch", "adamw_torch_fused", "adamw_torch_xla", "adamw_torch_npu_fused", "adamw_apex_fused",
      "adafactor", "adamw_anyprecision", "adamw_torch_4bit", "adamw_torch_8bit", "ademamix", "sgd", "adagrad",
      "adamw_bnb_8bit", "adamw_8bit", "ademamix_8bit", "lion_8bit", "lion_32bit", "paged_adamw_32bit",
      "paged_adamw_8bit", "paged_ademamix_32bit", "paged_ademamix_8bit", "paged_lion_32bit", "paged_lion_8bit",
      "rmsprop", "rmsprop_bnb", "rmsprop_bnb_8bit", "rmsprop_bnb_32bit", "galore_adamw", "galore_adamw_8bit",
      "galore_adafactor", "galore_adamw_layerwise", "galore_adamw_8bit_layerwise", "galore_adafactor_layerwise",
      "lomo", "adalomo", "grokadamw", "schedule_free_radam", "schedule_free_adamw", "schedule_free_sgd",
      "apollo_adamw", "apollo_adamw_layerwise", "stable_adamw"};
  return names;
}

const std::vector<std::string>& supported_optimizer_names() {
  static const std::vector<std::string> names = {"adamw_torch", "adamw_torch_fused", "sgd", "adagrad", "rmsprop",
                                                 "adafactor"};
  return names;
}

std::vector<FieldRef> TrainingArguments::fields() {
  using S = FieldSpec;
  const auto N = ValueType::kNumber;
  return {
      bind(output_dir, S("output_dir", "The output directory where the model predictions and checkpoints will be "
                                       "written. Defaults to 'trainer_output' if not provided.")),
      bind(overwrite_output_dir, S("overwrite_output_dir",
                                   "Overwrite the content of the output directory. Use this to continue training if "
                                   "output_dir points to a checkpoint directory.")),
      bind(do_train, S("do_train", "Whether to run training.")),
      bind(do_eval, S("do_eval", "Whether to run eval on the dev set.")),
      bind(do_predict, S("do_predict", "Whether to run predictions on the test set.")),
      bind(resume_from_checkpoint,
           S("resume_from_checkpoint", "The path to a folder with a valid checkpoint for your model, or 'true' for "
                                       "the latest checkpoint-N in output_dir.")),
      bind(per_device_train_batch_size,
           S("per_device_train_batch_size", "Batch size per device accelerator core/CPU for training.")
               .with_alias("per_gpu_train_batch_size")),
      bind(per_device_eval_batch_size,
           S("per_device_eval_batch_size", "Batch size per device accelerator core/CPU for evaluation.")
               .with_alias("per_gpu_eval_batch_size")),
      bind(gradient_accumulation_steps,
           S("gradient_accumulation_steps",
             "Number of updates steps to accumulate before performing a backward/update pass.")),
      bind(num_train_epochs, S("num_train_epochs", "Total number of training epochs to perform.")),
      bind(max_steps, S("max_steps", "If > 0: set total number of training steps to perform. Override "
                                     "num_train_epochs.")),
      bind(learning_rate, S("learning_rate", "The initial learning rate for AdamW.")),
      bind(lr_scheduler_type,
           S("lr_scheduler_type", "The scheduler type to use.").with_choices(scheduler_type_names())),
      bind_dict(lr_scheduler_kwargs,
                S("lr_scheduler_kwargs", "Extra parameters for the lr_scheduler such as {'num_cycles': 1} for the "
                                         "cosine with hard restarts.")),
      bind(warmup_ratio, S("warmup_ratio", "Linear warmup over warmup_ratio fraction of total steps.")),
      bind(warmup_steps, S("warmup_steps", "Linear warmup over warmup_steps. A float in [0, 1) is a ratio of the "
                                           "total training steps (transformers v5)."),
           N),
      bind(optim, S("optim", "The optimizer to use.").with_choices(optimizer_names())),
      bind(optim_args, S("optim_args", "Optional arguments to supply to optimizer.")),
      bind(weight_decay, S("weight_decay", "Weight decay for AdamW if we apply some.")),
      bind(adam_beta1, S("adam_beta1", "Beta1 for AdamW optimizer")),
      bind(adam_beta2, S("adam_beta2", "Beta2 for AdamW optimizer")),
      bind(adam_epsilon, S("adam_epsilon", "Epsilon for AdamW optimizer.")),
      bind(max_grad_norm, S("max_grad_norm", "Max gradient norm.")),
      bind(label_smoothing_factor,
           S("label_smoothing_factor", "The label smoothing epsilon to apply (zero means no label smoothing).")),
      bind(average_tokens_across_devices,
           S("average_tokens_across_devices",
             "Whether or not to average tokens across devices. If enabled, will use all_reduce to synchronize "
             "num_tokens_in_batch for precise loss calculation.")),
      bind(bf16, S("bf16", "Whether to use bf16 (mixed) precision instead of 32-bit.")),
      bind(fp16, S("fp16", "Whether to use fp16 (mixed) precision instead of 32-bit (CUDA only).")),
      bind(bf16_full_eval, S("bf16_full_eval", "Whether to use full bfloat16 evaluation instead of 32-bit.")),
      bind(fp16_full_eval, S("fp16_full_eval", "Whether to use full float16 evaluation instead of 32-bit.")),
      bind(tf32, S("tf32", "Whether to enable tf32 mode, available in Ampere and newer GPU architectures.")),
      bind(gradient_checkpointing,
           S("gradient_checkpointing",
             "If True, use gradient checkpointing to save memory at the expense of slower backward pass.")),
      bind_dict(gradient_checkpointing_kwargs,
                S("gradient_checkpointing_kwargs", "Gradient checkpointing key word arguments.")
               .unsupported("trainer.cpp recomputes blocks itself; use_reentrant has no meaning")),
      bind(auto_find_batch_size,
           S("auto_find_batch_size",
             "Whether to automatically decrease the batch size in half and rerun the training loop again each time "
             "a CUDA Out-of-Memory was reached")),
      bind(torch_empty_cache_steps,
           S("torch_empty_cache_steps",
             "Number of steps to wait before calling `torch.<device>.empty_cache()`.")),
      bind(neftune_noise_alpha,
           S("neftune_noise_alpha", "Activates neftune noise embeddings into the model.")),
      bind(logging_strategy,
           S("logging_strategy", "The logging strategy to use.").with_choices(kIntervalStrategies)),
      bind(logging_steps, S("logging_steps", "Log every X updates steps. Should be an integer or a float in range "
                                             "`[0,1)`. If smaller than 1, will be interpreted as ratio of total "
                                             "training steps."),
           N),
      bind(logging_first_step, S("logging_first_step", "Log the first global_step")),
      bind(logging_nan_inf_filter, S("logging_nan_inf_filter", "Filter nan and inf losses for logging.")),
      bind(nan_inf_policy, S("nan_inf_policy", "trainer.cpp: what to do when the training loss, or the gradient norm "
                                               "under a finite loss, is NaN or inf: `stop` raises an error naming "
                                               "the step; `skip` drops that update (no optimizer step) and goes on.")
                               .with_choices({"stop", "skip"})),
      bind(logging_dir, S("logging_dir", "Tensorboard log dir.")),
      bind(log_level, S("log_level", "Logger log level to use on the main node.").with_choices(kLogLevels)),
      bind(log_level_replica,
           S("log_level_replica", "Logger log level to use on replica nodes.").with_choices(kLogLevels)),
      bind(log_on_each_node,
           S("log_on_each_node", "When doing a multinode distributed training, whether to log once per node or "
                                 "just once on the main node.")),
      bind(disable_tqdm, S("disable_tqdm", "Whether or not to disable the tqdm progress bars.")),
      bind(report_to, S("report_to", "The list of integrations to report the results and logs to.")
                          .with_choices(kKnownIntegrations)),
      bind(run_name, S("run_name", "An optional descriptor for the run.")
               .unsupported("no supported integration reads it")),
      bind(include_num_input_tokens_seen,
           S("include_num_input_tokens_seen",
             "Whether to track the number of input tokens seen. Must be one of [`all`, `non_padding`, `no`] or a "
             "boolean value which map to `all` or `no`")),
      bind(include_tokens_per_second,
           S("include_tokens_per_second", "If set to `True`, the speed metrics will include `tgs` (tokens per "
                                          "second per device).")),
      bind(skip_memory_metrics,
           S("skip_memory_metrics", "Whether or not to skip adding of memory profiler reports to metrics.")),
      bind(eval_strategy, S("eval_strategy", "The evaluation strategy to use.")
                              .with_choices(kIntervalStrategies)
                              .with_alias("evaluation_strategy")),
      bind(eval_steps, S("eval_steps", "Run an evaluation every X steps. Should be an integer or a float in range "
                                       "`[0,1)`. If smaller than 1, will be interpreted as ratio of total training "
                                       "steps."),
           N),
      bind(eval_delay, S("eval_delay", "Number of epochs or steps to wait for before the first evaluation can be "
                                       "performed, depending on the eval_strategy.")),
      bind(eval_on_start, S("eval_on_start", "Whether to run through the entire `evaluation` step at the very "
                                             "beginning of training as a sanity check.")),
      bind(prediction_loss_only,
           S("prediction_loss_only", "When performing evaluation and predictions, only returns the loss.")),
      bind(eval_accumulation_steps,
           S("eval_accumulation_steps", "Number of predictions steps to accumulate before moving the tensors to "
                                        "the CPU.").unsupported("predictions are gathered batch by batch already")),
      bind(eval_do_concat_batches,
           S("eval_do_concat_batches", "Whether to recursively concat inputs/losses/labels/predictions across "
                                       "batches.").unsupported("predictions are always concatenated")),
      bind(batch_eval_metrics,
           S("batch_eval_metrics", "Break eval metrics calculation into batches to save memory.")
               .unsupported("compute_metrics runs once over the whole evaluation")),
      bind(include_for_metrics,
           S("include_for_metrics", "List of strings to specify additional data to include in the "
                                    "`compute_metrics` function. Options: 'inputs', 'loss'.")
               .unsupported("compute_metrics gets predictions and labels only")
               .with_choices({"inputs", "loss"})),
      bind(save_strategy,
           S("save_strategy", "The checkpoint save strategy to use.").with_choices(kSaveStrategies)),
      bind(save_steps, S("save_steps", "Save checkpoint every X updates steps. Should be an integer or a float in "
                                       "range `[0,1)`. If smaller than 1, will be interpreted as ratio of total "
                                       "training steps."),
           N),
      bind(save_total_limit,
           S("save_total_limit", "If a value is passed, will limit the total amount of checkpoints. Deletes the "
                                 "older checkpoints in `output_dir`. The best checkpoint is always kept.")),
      bind(save_safetensors, S("save_safetensors", "Use safetensors saving and loading for state dicts instead "
                                                   "of default torch.load and torch.save.")),
      bind(save_on_each_node,
           S("save_on_each_node", "When doing multi-node distributed training, whether to save models and "
                                  "checkpoints on each node, or only on the main one")),
      bind(save_only_model,
           S("save_only_model", "When checkpointing, whether to only save the model, or also the optimizer, "
                                "scheduler & rng state. Note that when this is true, you won't be able to resume "
                                "training from checkpoint.")),
      bind(restore_callback_states_from_checkpoint,
           S("restore_callback_states_from_checkpoint",
             "Whether to restore the callback states from the checkpoint. If `True`, will override callbacks "
             "passed to the `Trainer` if they exist in the checkpoint.")),
      bind(load_best_model_at_end,
           S("load_best_model_at_end", "Whether or not to load the best model found during training at the end of "
                                       "training. When this option is enabled, the best checkpoint will always be "
                                       "saved.")),
      bind(metric_for_best_model,
           S("metric_for_best_model", "The metric to use to compare two different models.")),
      bind(greater_is_better,
           S("greater_is_better", "Whether the `metric_for_best_model` should be maximized or not.")),
      bind(ignore_data_skip,
           S("ignore_data_skip", "When resuming training, whether or not to skip the first epochs and batches to "
                                 "get to the same training data.")),
      bind(seed, S("seed", "Random seed that will be set at the beginning of training.")),
      bind(data_seed, S("data_seed", "Random seed to be used with data samplers.")),
      bind(full_determinism,
           S("full_determinism", "Whether to call enable_full_determinism instead of set_seed for reproducibility "
                                 "in distributed training.")),
      bind(use_cpu, S("use_cpu", "Whether or not to use cpu. If left to False, we will use the available torch "
                                 "device/backend (cuda/mps/xpu/hpu etc.)")),
      bind(no_cuda, S("no_cuda", "This argument is deprecated. It will be removed in version 5.0 of 🤗 "
                                 "Transformers. Use use_cpu instead.")),
      bind(dataloader_drop_last,
           S("dataloader_drop_last", "Drop the last incomplete batch if it is not divisible by the batch size.")),
      bind(dataloader_num_workers,
           S("dataloader_num_workers", "Number of subprocesses to use for data loading (PyTorch only). 0 means "
                                       "that the data will be loaded in the main process. In trainer.cpp: "
                                       "background threads that prepare batches.")),
      bind(dataloader_pin_memory, S("dataloader_pin_memory", "Whether or not to pin memory for DataLoader.")
               .unsupported("batches are collated straight into the tensors the model reads")),
      bind(dataloader_persistent_workers,
           S("dataloader_persistent_workers", "If True, the data loader will not shut down the worker processes "
                                              "after a dataset has been consumed once. This allows to maintain the "
                                              "workers Dataset instances alive. Can potentially speed up training, "
                                              "but will increase RAM usage.")),
      bind(dataloader_prefetch_factor,
           S("dataloader_prefetch_factor", "Number of batches loaded in advance by each worker.")),
      bind(remove_unused_columns,
           S("remove_unused_columns", "Remove columns not required by the model when using an nlp.Dataset.")),
      bind(label_names, S("label_names", "The list of keys in your dictionary of inputs that correspond to the "
                                         "labels.")),
      bind(group_by_length, S("group_by_length", "Whether or not to group samples of roughly the same length "
                                                 "together when batching.")),
      bind(train_sampling_strategy,
           S("train_sampling_strategy", "Sampler for training: 'random' (default), 'sequential', or "
                                        "'group_by_length' (transformers v5; group_by_length in v4).")
               .with_choices({"random", "sequential", "group_by_length"})),
      bind(length_column_name,
           S("length_column_name", "Column name with precomputed lengths to use when grouping by length.")),
      bind(local_rank, S("local_rank", "For distributed training: local_rank")
               .unsupported("LOCAL_RANK from the environment decides, as tcpp launch and torchrun set it")),
      bind(ddp_backend, S("ddp_backend", "The backend to be used for distributed training")
                            .with_choices({"nccl", "gloo", "mpi", "ccl", "hccl", "cncl", "mccl", "xccl"})),
      bind(ddp_timeout, S("ddp_timeout", "Overrides the default timeout for distributed training (value should be "
                                         "given in seconds).")),
      bind(ddp_find_unused_parameters,
           S("ddp_find_unused_parameters", "When using distributed training, the value of the flag "
                                           "`find_unused_parameters` passed to `DistributedDataParallel`.")
               .unsupported("gradients are reduced in buckets whatever parameters get one")),
      bind(ddp_bucket_cap_mb,
           S("ddp_bucket_cap_mb", "When using distributed training, the value of the flag `bucket_cap_mb` passed "
                                  "to `DistributedDataParallel`.")),
      bind(ddp_broadcast_buffers,
           S("ddp_broadcast_buffers", "When using distributed training, the value of the flag "
                                      "`broadcast_buffers` passed to `DistributedDataParallel`.")
               .unsupported("the models have no buffers that training changes")),
      bind(torch_compile, S("torch_compile", "If set to `True`, the model will be wrapped in `torch.compile`.")
                              .unsupported()),
      bind(torch_compile_backend,
           S("torch_compile_backend", "Which backend to use with `torch.compile`.").unsupported()),
      bind(torch_compile_mode, S("torch_compile_mode", "Which mode to use with `torch.compile`.").unsupported()),
      bind(fp16_opt_level, S("fp16_opt_level", "For fp16: Apex AMP optimization level selected in ['O0', 'O1', "
                                               "'O2', and 'O3'].")
                               .unsupported()),
      bind(half_precision_backend,
           S("half_precision_backend", "The backend to be used for half precision.")
               .with_choices({"auto", "apex", "cpu_amp"})
               .unsupported()),
      bind(debug, S("debug",
                    "Whether or not to enable debug mode. Current options: `underflow_overflow` (Detect underflow and "
                    "overflow in activations and weights), `tpu_metrics_debug` (print debug metrics on TPU). In "
                    "trainer.cpp neither is implemented; --log_level debug shows more detail in the logs.")
                      .unsupported()),
      bind(fsdp, S("fsdp", "Whether or not to use PyTorch Fully Sharded Data Parallel (FSDP) training.")
                     .unsupported()),
      bind_dict(fsdp_config, S("fsdp_config", "Config to be used with FSDP.").unsupported()),
      bind_dict(deepspeed, S("deepspeed", "Enable deepspeed and pass the path to deepspeed json config file.")
                               .unsupported()),
      bind_dict(accelerator_config,
                S("accelerator_config", "Config to be used with the internal Accelerator object initialization.")
                    .unsupported()),
      bind(push_to_hub, S("push_to_hub", "Whether or not to upload the trained model to the model hub after "
                                         "training.")
                            .unsupported()),
      bind(hub_model_id, S("hub_model_id", "The name of the repository to keep in sync with the local "
                                           "`output_dir`.")
                             .unsupported()),
      bind(hub_strategy, S("hub_strategy", "The hub strategy to use when `--push_to_hub` is activated.")
                             .with_choices({"end", "every_save", "checkpoint", "all_checkpoints"})
                             .unsupported()),
      bind(hub_token, S("hub_token", "The token to use to push to the Model Hub.").unsupported()),
      bind(hub_private_repo, S("hub_private_repo", "Whether to make the repo private.").unsupported()),
      bind(hub_always_push,
           S("hub_always_push", "Unless `True`, the Trainer will skip pushes if the previous one wasn't finished "
                                "yet.")
               .unsupported()),
      bind(hub_revision, S("hub_revision", "The revision to use when pushing to the Hub.").unsupported()),
      bind(use_liger_kernel, S("use_liger_kernel", "Whether or not to enable the Liger Kernel for model "
                                                   "training.")
                                 .unsupported()),
      bind(use_mps_device, S("use_mps_device", "This argument is deprecated.").unsupported()),
      bind(jit_mode_eval, S("jit_mode_eval", "Whether or not to use PyTorch jit trace for inference").unsupported()),
      bind(use_ipex, S("use_ipex", "Use Intel extension for PyTorch when it is available.").unsupported()),
      bind(tpu_num_cores, S("tpu_num_cores", "TPU: Number of TPU cores.").unsupported()),
      bind(past_index, S("past_index", "If >=0, uses the corresponding part of the output as the past state for "
                                       "next step.")
                           .unsupported()),
      bind(ray_scope, S("ray_scope", "The scope to use when doing hyperparameter search with Ray.").unsupported()),
      bind(use_legacy_prediction_loop,
           S("use_legacy_prediction_loop", "Whether or not to use the legacy prediction_loop in the Trainer.")
               .unsupported()),
      bind(eval_use_gather_object,
           S("eval_use_gather_object", "Whether to run recursively gather object in a nested "
                                       "list/tuple/dictionary of objects from all devices.")
               .unsupported("evaluation results are tensors gathered with c10d")),
  };
}

int64_t TrainingArguments::resolve_steps(double steps, int64_t max_steps) {
  if (steps > 0 && steps < 1) return static_cast<int64_t>(std::ceil(static_cast<double>(max_steps) * steps));
  return static_cast<int64_t>(steps);
}

int64_t TrainingArguments::get_warmup_steps(int64_t num_training_steps) const {
  if (warmup_steps >= 1) return static_cast<int64_t>(warmup_steps);
  if (warmup_steps > 0) return static_cast<int64_t>(std::ceil(static_cast<double>(num_training_steps) * warmup_steps));
  return static_cast<int64_t>(std::ceil(static_cast<double>(num_training_steps) * warmup_ratio));
}

std::vector<std::string> TrainingArguments::post_init() {
  std::vector<std::string> warnings;
  // Fields accepted for compatibility that have no effect here: say so when the user changed them.
  {
    TrainingArguments defaults;
    auto mine = fields();
    auto base = defaults.fields();
    for (size_t i = 0; i < mine.size(); ++i)
      if (mine[i].spec.name == "debug") mine[i].spec.supported = true;  // checked below, with its own explanation
    warnings = no_effect_warnings(mine, base);
  }

  output_dir = expand_user(output_dir);
  if (output_dir.empty()) fail("output_dir", "must not be empty");
  // v5's train_sampling_strategy and v4's group_by_length name the same sampler.
  if (train_sampling_strategy == "group_by_length") group_by_length = true;
  if (train_sampling_strategy == "sequential" && group_by_length)
    fail("train_sampling_strategy", "\"sequential\" contradicts --group_by_length true; give one of them");
  if (!logging_dir) logging_dir = output_dir + "/" + default_logdir();
  logging_dir = expand_user(*logging_dir);
  if (!disable_tqdm) disable_tqdm = false;  // HF: logger level > WARN, which is not the default.
  // --debug is HF's list of DebugOption values, not a verbosity switch: validate it as HF does, and explain.
  std::istringstream debug_options(debug);
  for (std::string option; debug_options >> option;) {
    if (option == "underflow_overflow")
      warnings.push_back("--debug underflow_overflow (HF's DebugUnderflowOverflow: report the first inf/nan in "
                         "activations and weights) is not implemented in trainer.cpp and has no effect; for more "
                         "detail in the logs use --log_level debug");
    else if (option == "tpu_metrics_debug")
      warnings.push_back("--debug tpu_metrics_debug applies to TPUs only and has no effect in trainer.cpp; for more "
                         "detail in the logs use --log_level debug");
    else
      fail("debug", "expected options from underflow_overflow, tpu_metrics_debug (space-separated), got " +
                        quote(option) + "; for more detail in the logs use --log_level debug");
  }

  if (no_cuda) {
    warnings.push_back("--no_cuda is deprecated; use --use_cpu");
    use_cpu = true;
  }
  {
    std::string v = to_lower(include_num_input_tokens_seen);
    if (auto b = parse_bool(v)) v = *b ? "all" : "no";
    if (v != "all" && v != "non_padding" && v != "no")
      fail("include_num_input_tokens_seen",
           "expected one of all, non_padding, no (or a boolean), got " + quote(include_num_input_tokens_seen));
    include_num_input_tokens_seen = v;
  }

  if (!do_eval && eval_strategy != "no") do_eval = true;
  if (eval_strategy == "steps" && (!eval_steps || *eval_steps == 0)) {
    if (logging_steps > 0) {
      eval_steps = logging_steps;
    } else {
      fail("eval_steps", "evaluation strategy steps requires either non-zero --eval_steps or --logging_steps");
    }
  }
  if (logging_strategy == "steps" && logging_steps == 0)
    fail("logging_steps", "logging strategy steps requires non-zero --logging_steps");
  auto check_whole = [](const char* name, double v) {
    if (v > 1 && v != std::floor(v)) fail(name, "must be an integer if bigger than 1, got " + python_float_repr(v));
    if (v < 0) fail(name, "must not be negative, got " + python_float_repr(v));
  };
  if (logging_strategy == "steps") check_whole("logging_steps", logging_steps);
  if (eval_strategy == "steps") check_whole("eval_steps", *eval_steps);
  if (save_strategy == "steps") check_whole("save_steps", save_steps);

  if (load_best_model_at_end && save_strategy != "best") {
    if (eval_strategy != save_strategy)
      fail("load_best_model_at_end",
           "requires the save and eval strategy to match (unless --save_strategy best), but found eval_strategy " +
               quote(eval_strategy) + " and save_strategy " + quote(save_strategy));
    if (eval_strategy == "steps") {
      double e = *eval_steps, s = save_steps;
      if ((e < 1) != (s < 1))
        fail("load_best_model_at_end",
             "requires the saving steps to be a multiple of the evaluation steps, which cannot be guaranteed when "
             "mixing ratio and absolute steps (save_steps " + python_float_repr(s) + ", eval_steps " +
                 python_float_repr(e) + ")");
      long long se = std::llround(s * 1e6), ee = std::llround(e * 1e6);
      if (ee == 0 || se % ee != 0)
        fail("load_best_model_at_end", "requires --save_steps (" + python_float_repr(s) +
                                           ") to be a round multiple of --eval_steps (" + python_float_repr(e) + ")");
    }
  }
  if ((load_best_model_at_end || lr_scheduler_type == "reduce_lr_on_plateau") && !metric_for_best_model)
    metric_for_best_model = "loss";
  if (!greater_is_better && metric_for_best_model) greater_is_better = !ends_with(*metric_for_best_model, "loss");
  if (save_strategy == "best" && !metric_for_best_model)
    fail("save_strategy", "\"best\" needs --metric_for_best_model (the metric that decides which checkpoint is best)");
  if (lr_scheduler_type == "reduce_lr_on_plateau") {
    if (eval_strategy == "no")
      fail("lr_scheduler_type", "reduce_lr_on_plateau requires an eval strategy (--eval_strategy steps|epoch)");
  }

  // report_to: "all" → every integration available here, "none" → none.
  {
    std::vector<std::string> resolved;
    for (const auto& r : report_to) {
      if (r == "all") {
        for (const auto& a : kAvailableIntegrations)
          if (std::find(resolved.begin(), resolved.end(), a) == resolved.end()) resolved.push_back(a);
      } else if (std::find(kAvailableIntegrations.begin(), kAvailableIntegrations.end(), r) !=
                 kAvailableIntegrations.end()) {
        if (std::find(resolved.begin(), resolved.end(), r) == resolved.end()) resolved.push_back(r);
      } else if (r != "none") {
        resolved.push_back(r);
        warnings.push_back("--report_to " + r + ": this integration is not available in trainer.cpp; logs go to "
                           "trainer_state.json and the JSON Lines log in output_dir");
      }
    }
    report_to = resolved;
  }

  if (fp16 && bf16) fail("bf16", "at most one of fp16 and bf16 can be True, but not both");
  if (fp16_full_eval && bf16_full_eval)
    fail("bf16_full_eval", "at most one of fp16 and bf16 can be True for full eval, but not both");
  if (warmup_ratio < 0 || warmup_ratio > 1) fail("warmup_ratio", "must lie in range [0,1], got " + python_float_repr(warmup_ratio));
  if (warmup_steps < 0) fail("warmup_steps", "must not be negative, got " + python_float_repr(warmup_steps));
  if (warmup_ratio > 0 && warmup_steps > 0)
    warnings.push_back("both warmup_ratio and warmup_steps given, warmup_steps will override any effect of "
                       "warmup_ratio during training");
  if (per_device_train_batch_size < 1)
    fail("per_device_train_batch_size", "must be at least 1, got " + std::to_string(per_device_train_batch_size));
  if (per_device_eval_batch_size < 1)
    fail("per_device_eval_batch_size", "must be at least 1, got " + std::to_string(per_device_eval_batch_size));
  if (gradient_accumulation_steps < 1)
    fail("gradient_accumulation_steps", "must be at least 1, got " + std::to_string(gradient_accumulation_steps));
  if (torch_empty_cache_steps && *torch_empty_cache_steps <= 0)
    fail("torch_empty_cache_steps", "must be an integer bigger than 0, got " + std::to_string(*torch_empty_cache_steps));
  if (dataloader_num_workers < 0)
    fail("dataloader_num_workers", "must not be negative, got " + std::to_string(dataloader_num_workers));
  if (dataloader_persistent_workers && dataloader_num_workers == 0)  // torch's DataLoader refuses it
    fail("dataloader_persistent_workers", "needs --dataloader_num_workers > 0 (persistent_workers option needs "
                                          "num_workers > 0)");
  if (dataloader_prefetch_factor && dataloader_num_workers == 0)
    fail("dataloader_prefetch_factor", "can only be set when --dataloader_num_workers > 1");
  if (std::find(supported_optimizer_names().begin(), supported_optimizer_names().end(), optim) ==
      supported_optimizer_names().end())
    fail("optim", quote(optim) + " is a transformers optimizer that trainer.cpp does not implement; use one of " +
                      join(supported_optimizer_names(), ", "));
  if ((torch_compile_mode || torch_compile_backend) && !torch_compile) torch_compile = true;
  if (use_cpu) dataloader_pin_memory = false;
  return warnings;
}

Json TrainingArguments::to_json() {
  Json j = Json::object();
  for (auto& f : fields()) j[f.spec.name] = f.get();
  return j;
}

TrainingArguments TrainingArguments::from_json(const Json& j, const std::string& where,
                                               std::vector<std::string>* warnings) {
  if (!j.is_object()) throw InputError(where, "expected a JSON object of TrainingArguments fields");
  TrainingArguments out;
  auto refs = out.fields();
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool found = false;
    for (auto& f : refs) {
      bool match = f.spec.name == it.key();
      for (const auto& a : f.spec.aliases) match = match || a == it.key();
      if (!match) continue;
      f.set(it.value(), where + ": \"" + it.key() + "\"");
      found = true;
      break;
    }
    if (!found && warnings) warnings->push_back(where + ": ignoring unknown TrainingArguments key \"" + it.key() + "\"");
  }
  return out;
}

}  // namespace tcpp::args
