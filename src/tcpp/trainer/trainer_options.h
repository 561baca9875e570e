// The TrainingArguments fields the Trainer reads, under Hugging Face's names and defaults (transformers v4.5x).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "tcpp/core/json.h"

namespace tcpp::trainer {

/// Plain options struct; the args module maps TrainingArguments onto it. Strings take HF's spellings.
struct TrainerOptions {
  std::string output_dir = "trainer_output";
  int64_t per_device_train_batch_size = 8;
  int64_t per_device_eval_batch_size = 8;
  int64_t gradient_accumulation_steps = 1;
  double learning_rate = 5e-5;
  double weight_decay = 0.0;
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.999;
  double adam_epsilon = 1e-8;
  double max_grad_norm = 1.0;  // <= 0 disables clipping (and the logged grad_norm)
  double num_train_epochs = 3.0;
  int64_t max_steps = -1;  // > 0 overrides num_train_epochs
  std::string lr_scheduler_type = "linear";
  Json lr_scheduler_kwargs = Json::object();
  double warmup_ratio = 0.0;
  int64_t warmup_steps = 0;
  std::string logging_strategy = "steps";  // no | steps | epoch
  double logging_steps = 500;              // < 1: a ratio of max_steps
  bool logging_first_step = false;
  bool logging_nan_inf_filter = true;
  /// "all" (input_ids.numel()), "non_padding" (attention_mask.sum()) or "no": count the input tokens trained on,
  /// summed over ranks, into TrainerState.num_input_tokens_seen and every log entry.
  std::string include_num_input_tokens_seen = "no";
  /// Add train_tokens_per_second to train()'s metrics: this process's input_ids.numel() over the batches it
  /// trained on in this run, per second of train_runtime (HF estimates the same count from the first batch).
  bool include_tokens_per_second = false;
  /// false: add HF's *_mem_cpu_alloc_delta / *_mem_cpu_peaked_delta (and before_init_mem_cpu; *_mem_gpu_* too on a
  /// GPU) to the metrics of train(), evaluate() and predict() (MemoryTracker).
  bool skip_memory_metrics = true;
  /// On running out of memory, train again from the start at 90% of the batch size (HF's auto_find_batch_size);
  /// a resume starts at the batch size its checkpoint's run trained with.
  bool auto_find_batch_size = false;
  /// Empty the accelerator's caching allocator before the backward of every micro-batch of each update whose
  /// global_step (updates done) is a multiple of this, as HF's training_step (nothing to empty on the CPU).
  std::optional<int64_t> torch_empty_cache_steps;
  /// group_by_length's precomputed lengths column (used only with remove_unused_columns off, as in HF).
  std::string length_column_name = "length";
  std::string eval_strategy = "no";  // no | steps | epoch
  std::optional<double> eval_steps;  // unset: logging_steps
  double eval_delay = 0;  // epochs or steps (by eval_strategy) before the first evaluation; may be fractional
  /// Evaluate once before the first training step (logged at the starting step), as a sanity check.
  bool eval_on_start = false;
  std::string save_strategy = "steps";  // no | steps | epoch | best
  double save_steps = 500;
  std::optional<int64_t> save_total_limit;
  bool save_only_model = false;
  /// Data parallelism over machines without a shared file system: the first process of every machine (LOCAL_RANK 0)
  /// writes checkpoints and the final model into its own output_dir (HF's should_save), and a resume reads its own.
  bool save_on_each_node = false;
  int64_t seed = 42;
  std::optional<int64_t> data_seed;  // unset: seed
  bool dataloader_drop_last = false;
  /// > 0: that many background threads read and collate batches ahead of the loop (HF's DataLoader workers are
  /// processes); the batches, their order and the collator's random draws are the same as with 0.
  int64_t dataloader_num_workers = 0;
  /// HF's persistent workers: the training DataLoader (for the whole of train()) and the evaluation DataLoader (for
  /// the Trainer's life) keep their workers, so after their first iterator no new base seed is drawn from the global
  /// generator and the workers' collator generators go on from where they were (HF: the same draws as its worker
  /// processes kept alive). Needs dataloader_num_workers > 0.
  bool dataloader_persistent_workers = false;
  /// Batches read ahead per worker (unset: 2, as torch's DataLoader).
  std::optional<int64_t> dataloader_prefetch_factor;
  /// Batch examples of similar length (HF's LengthGroupedSampler): epoch e's order is length_grouped_permutation of
  /// (seed, e), as HF draws it (data_seed plays no part, as in HF).
  bool group_by_length = false;
  /// The optimizer (create_optimizer): adamw_torch, adamw_torch_fused or sgd, with HF's optim_args string.
  std::string optim = "adamw_torch";
  std::string optim_args;
  /// transformers v5's train_sampling_strategy "sequential": every epoch in dataset order (HF's SequentialSampler).
  bool sequential_sampler = false;
  /// As HF: the examples lose the columns the model's forward does not take before the collator sees them
  /// (collators::remove_unused_columns), label_names kept. Among them special_tokens_mask, so the MLM collator
  /// finds special tokens by id, as HF's does.
  bool remove_unused_columns = true;
  std::vector<std::string> label_names;
  bool load_best_model_at_end = false;
  std::optional<std::string> metric_for_best_model;  // unset: "loss" when load_best_model_at_end
  std::optional<bool> greater_is_better;             // unset: !ends_with(metric, "loss")
  /// Mixed precision: forward and loss under autocast (bf16: CPU or CUDA; fp16: CUDA, with dynamic loss scaling);
  /// weights, gradients and optimizer state stay fp32.
  bool bf16 = false;
  bool fp16 = false;
  /// Cast the model itself to bfloat16 / float16 for an evaluate() or predict() called outside train() (HF: the
  /// cast stays, as nn.Module.to does). fp16_full_eval needs a CUDA device, as HF requires.
  bool bf16_full_eval = false;
  bool fp16_full_eval = false;
  /// TF32 matmuls and convolutions on CUDA (HF's --tf32): true needs a CUDA device; unset leaves LibTorch's default.
  std::optional<bool> tf32;
  /// HF's enable_full_determinism: deterministic algorithms (an error where an op has none), cuDNN deterministic
  /// and not benchmarking, CUBLAS_WORKSPACE_CONFIG=:16:8 and CUDA_LAUNCH_BLOCKING=1 (unless already set).
  bool full_determinism = false;
  /// Recompute each transformer block in backward instead of keeping its activations (less memory, ~30% slower).
  bool gradient_checkpointing = false;
  /// NEFTune: uniform noise of alpha / sqrt(T * C) on the input embeddings while training (HF's hook), >= 0.
  std::optional<double> neftune_noise_alpha;
  double label_smoothing_factor = 0.0;
  /// A checkpoint folder, or "true"/"latest" for the newest checkpoint-N in output_dir; empty: start fresh.
  std::string resume_from_checkpoint;
  bool ignore_data_skip = false;
  bool disable_tqdm = false;
  // Data-parallel training, used when the process runs under `tcpp launch` or torchrun with WORLD_SIZE > 1:
  std::optional<std::string> ddp_backend;  // unset: gloo on CPU, nccl on CUDA
  int64_t ddp_timeout = 1800;              // seconds: rendezvous and every collective
  std::optional<int64_t> ddp_bucket_cap_mb;  // unset: 25, as DistributedDataParallel
  /// Normalise the loss by the label tokens of all ranks (HF's default), so N ranks equal N accumulation steps.
  bool average_tokens_across_devices = true;
  // Extensions (not in TrainingArguments):
  /// What a NaN/inf training loss does: "stop" (throw naming the step) or "skip" (drop the window's update).
  std::string nan_inf_policy = "stop";
  /// Install SIGINT/SIGTERM handlers during train(): finish the step, save a checkpoint, return.
  bool handle_signals = true;
};

/// The options as JSON (training_args.json in each checkpoint; HF writes a pickled training_args.bin).
Json to_json(const TrainerOptions& options);

}  // namespace tcpp::trainer
