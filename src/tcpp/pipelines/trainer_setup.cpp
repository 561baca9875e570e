// Glue between the argument structs, the Arrow datasets and the Trainer.
#include "tcpp/pipelines/trainer_setup.h"

#include <algorithm>

#include "tcpp/core/error.h"

namespace tcpp::pipelines {

trainer::TrainerOptions trainer_options_from_args(const args::TrainingArguments& a) {
  trainer::TrainerOptions o;
  o.output_dir = a.output_dir;
  o.per_device_train_batch_size = a.per_device_train_batch_size;
  o.per_device_eval_batch_size = a.per_device_eval_batch_size;
  o.gradient_accumulation_steps = a.gradient_accumulation_steps;
  o.learning_rate = a.learning_rate;
  o.weight_decay = a.weight_decay;
  o.adam_beta1 = a.adam_beta1;
  o.adam_beta2 = a.adam_beta2;
  o.adam_epsilon = a.adam_epsilon;
  o.max_grad_norm = a.max_grad_norm;
  o.num_train_epochs = a.num_train_epochs;
  o.max_steps = a.max_steps;
  o.lr_scheduler_type = a.lr_scheduler_type;
  o.lr_scheduler_kwargs = a.lr_scheduler_kwargs.is_object() ? a.lr_scheduler_kwargs : Json::object();
  // v5's float warmup_steps in (0, 1) is a ratio; 4.57's warmup_ratio otherwise.
  if (a.warmup_steps > 0 && a.warmup_steps < 1) {
    o.warmup_ratio = a.warmup_steps;
    o.warmup_steps = 0;
  } else {
    o.warmup_ratio = a.warmup_ratio;
    o.warmup_steps = static_cast<int64_t>(a.warmup_steps);
  }
  o.logging_strategy = a.logging_strategy;
  o.logging_steps = a.logging_steps;
  o.logging_first_step = a.logging_first_step;
  o.logging_nan_inf_filter = a.logging_nan_inf_filter;
  o.nan_inf_policy = a.nan_inf_policy;
  o.include_tokens_per_second = a.include_tokens_per_second;
  o.skip_memory_metrics = a.skip_memory_metrics;
  o.torch_empty_cache_steps = a.torch_empty_cache_steps;
  o.auto_find_batch_size = a.auto_find_batch_size;
  o.length_column_name = a.length_column_name;
  o.include_num_input_tokens_seen = a.include_num_input_tokens_seen;  // post_init made it all | non_padding | no
  o.eval_strategy = a.eval_strategy;
  o.eval_steps = a.eval_steps;
  o.eval_delay = a.eval_delay;
  o.eval_on_start = a.eval_on_start;
  o.save_strategy = a.save_strategy;
  o.save_steps = a.save_steps;
  o.save_total_limit = a.save_total_limit;
  o.save_only_model = a.save_only_model;
  o.save_on_each_node = a.save_on_each_node;
  o.seed = a.seed;
  o.data_seed = a.data_seed;
  o.dataloader_drop_last = a.dataloader_drop_last;
  o.group_by_length = a.group_by_length;
  o.optim = a.optim;
  o.optim_args = a.optim_args.value_or("");
  o.sequential_sampler = a.train_sampling_strategy == "sequential";
  o.remove_unused_columns = a.remove_unused_columns;
  o.label_names = a.label_names;
  o.dataloader_num_workers = a.dataloader_num_workers;
  o.dataloader_persistent_workers = a.dataloader_persistent_workers;
  o.dataloader_prefetch_factor = a.dataloader_prefetch_factor;
  o.load_best_model_at_end = a.load_best_model_at_end;
  o.metric_for_best_model = a.metric_for_best_model;
  o.greater_is_better = a.greater_is_better;
  o.bf16 = a.bf16;
  o.fp16 = a.fp16;
  o.bf16_full_eval = a.bf16_full_eval;
  o.tf32 = a.tf32;
  o.full_determinism = a.full_determinism;
  o.fp16_full_eval = a.fp16_full_eval;
  o.gradient_checkpointing = a.gradient_checkpointing;
  o.neftune_noise_alpha = a.neftune_noise_alpha;
  o.label_smoothing_factor = a.label_smoothing_factor;
  o.resume_from_checkpoint = a.resume_from_checkpoint.value_or("");
  o.ignore_data_skip = a.ignore_data_skip;
  o.disable_tqdm = a.disable_tqdm.value_or(false);
  o.ddp_backend = a.ddp_backend;
  o.ddp_timeout = a.ddp_timeout;
  o.ddp_bucket_cap_mb = a.ddp_bucket_cap_mb;
  o.average_tokens_across_devices = a.average_tokens_across_devices;
  return o;
}

ArrowTrainerDataset::ArrowTrainerDataset(datasets::Dataset dataset) : dataset_(std::move(dataset)) {}

int64_t ArrowTrainerDataset::size() const { return dataset_.num_rows(); }

collators::Features features_of_row(const datasets::Batch& batch, size_t row) {
  using datasets::Column;
  collators::Features f;
  for (const auto& name : batch.names()) {
    const Column& col = batch.at(name);
    if (col.holds<Column::Int32Lists>()) {
      const auto& v = col.as<Column::Int32Lists>()[row];
      f.columns[name].assign(v.begin(), v.end());
    } else if (col.holds<Column::Int64Lists>()) {
      const auto& v = col.as<Column::Int64Lists>()[row];
      f.columns[name].assign(v.begin(), v.end());
    } else if (col.holds<Column::Int64s>()) {
      f.scalars[name] = col.as<Column::Int64s>()[row];
    } else if (!col.holds<Column::Strings>()) {
      const Json v = col.json(row);
      if (v.is_array() && std::all_of(v.begin(), v.end(), [](const Json& x) { return x.is_number_integer(); }))
        f.columns[name] = v.get<std::vector<int64_t>>();
      else if (v.is_number_integer())
        f.scalars[name] = v.get<int64_t>();
    }
  }
  return f;
}

void StreamTrainerDataset::for_each(int64_t /*epoch*/, const std::function<bool(collators::Features&&)>& fn) const {
  // No shuffle buffer (run_clm.py does not shuffle a streamed dataset), so every pass has the same order.
  bool go = true;
  stream_.for_each_batch(1000, [&](const datasets::Batch& b) {
    for (size_t i = 0; i < b.num_rows() && go; ++i) go = fn(features_of_row(b, i));
    return go;
  });
}

collators::Features ArrowTrainerDataset::get(int64_t index) const {
  return features_of_row(dataset_.batch(index, index + 1), 0);
}

}  // namespace tcpp::pipelines
