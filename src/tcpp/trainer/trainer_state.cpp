// Trainer state and control flags, serialised exactly as transformers' TrainerState (trainer_state.json).
#include "tcpp/trainer/trainer_state.h"

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "tcpp/core/error.h"
#include "tcpp/core/file.h"
#include "tcpp/trainer/trainer_options.h"

namespace tcpp::trainer {
namespace {

template <typename T>
Json optional_json(const std::optional<T>& v) {
  return v ? Json(*v) : Json(nullptr);
}

}  // namespace

Json TrainerState::to_json() const {
  Json j = Json::object();
  j["best_global_step"] = optional_json(best_global_step);
  j["best_metric"] = optional_json(best_metric);
  j["best_model_checkpoint"] = optional_json(best_model_checkpoint);
  j["epoch"] = optional_json(epoch);
  j["eval_steps"] = eval_steps;
  j["global_step"] = global_step;
  j["is_hyper_param_search"] = false;
  j["is_local_process_zero"] = is_local_process_zero;
  j["is_world_process_zero"] = is_world_process_zero;
  j["log_history"] = log_history;
  j["logging_steps"] = logging_steps;
  j["max_steps"] = max_steps;
  j["num_input_tokens_seen"] = num_input_tokens_seen;
  j["num_train_epochs"] = num_train_epochs;
  j["save_steps"] = save_steps;
  j["stateful_callbacks"] = stateful_callbacks;
  j["total_flos"] = total_flos;
  j["train_batch_size"] = train_batch_size;
  j["trial_name"] = nullptr;
  j["trial_params"] = nullptr;
  return j;
}

TrainerState TrainerState::from_json(const Json& j, const std::string& where) {
  if (!j.is_object()) throw InputError(where, "expected a JSON object, got " + std::string(j.type_name()));
  TrainerState s;
  auto get = [&](const char* key, auto& out) {
    using T = std::decay_t<decltype(out)>;
    if (!j.contains(key)) throw InputError(where, std::string("missing \"") + key + "\" (written by an older version?)");
    const Json& v = j.at(key);
    // A count must be a whole number that fits: converting 1e300 (or 2^64 - 1) to int64 is undefined behaviour.
    if constexpr (std::is_same_v<T, int64_t>) {
      const bool fits = v.is_number_unsigned()  ? v.get<uint64_t>() <= uint64_t{INT64_MAX}
                        : v.is_number_integer() ? true
                        : v.is_number_float()   ? std::isfinite(v.get<double>()) && std::trunc(v.get<double>()) == v.get<double>() &&
                                                    std::fabs(v.get<double>()) < 9.2e18
                                                : false;
      if (!fits) throw InputError(where, std::string("\"") + key + "\" must be an integer, found " + v.dump());
    }
    try {
      out = v.get<T>();
    } catch (const Json::exception&) {
      throw InputError(where, std::string("\"") + key + "\" has the wrong type: " + v.dump());
    }
  };
  auto get_optional = [&](const char* key, auto& out) {
    if (!j.contains(key) || j.at(key).is_null()) return;
    typename std::decay_t<decltype(out)>::value_type v;
    get(key, v);
    out = v;
  };
  get("global_step", s.global_step);
  get_optional("epoch", s.epoch);
  get("max_steps", s.max_steps);
  get("log_history", s.log_history);
  if (j.contains("logging_steps")) get("logging_steps", s.logging_steps);
  if (j.contains("eval_steps")) get("eval_steps", s.eval_steps);
  if (j.contains("save_steps")) get("save_steps", s.save_steps);
  if (j.contains("train_batch_size") && !j.at("train_batch_size").is_null()) get("train_batch_size", s.train_batch_size);
  if (j.contains("num_train_epochs")) get("num_train_epochs", s.num_train_epochs);
  if (j.contains("num_input_tokens_seen")) get("num_input_tokens_seen", s.num_input_tokens_seen);
  if (j.contains("total_flos")) get("total_flos", s.total_flos);
  get_optional("best_metric", s.best_metric);
  get_optional("best_global_step", s.best_global_step);
  get_optional("best_model_checkpoint", s.best_model_checkpoint);
  if (j.contains("stateful_callbacks")) s.stateful_callbacks = j.at("stateful_callbacks");
  return s;
}

void TrainerState::save_to_json(const std::string& path) const {
  write_file_atomic(path, dump_json_python(to_json(), 2) + "\n");
}

TrainerState TrainerState::load_from_json(const std::string& path) { return from_json(read_json_file(path), path); }

Json to_json(const TrainerOptions& o) {
  auto opt = [](const auto& v) { return v ? Json(*v) : Json(nullptr); };
  return Json{{"output_dir", o.output_dir},
              {"per_device_train_batch_size", o.per_device_train_batch_size},
              {"per_device_eval_batch_size", o.per_device_eval_batch_size},
              {"gradient_accumulation_steps", o.gradient_accumulation_steps},
              {"learning_rate", o.learning_rate},
              {"weight_decay", o.weight_decay},
              {"adam_beta1", o.adam_beta1},
              {"adam_beta2", o.adam_beta2},
              {"adam_epsilon", o.adam_epsilon},
              {"max_grad_norm", o.max_grad_norm},
              {"num_train_epochs", o.num_train_epochs},
              {"max_steps", o.max_steps},
              {"lr_scheduler_type", o.lr_scheduler_type},
              {"lr_scheduler_kwargs", o.lr_scheduler_kwargs},
              {"warmup_ratio", o.warmup_ratio},
              {"warmup_steps", o.warmup_steps},
              {"logging_strategy", o.logging_strategy},
              {"logging_steps", o.logging_steps},
              {"logging_first_step", o.logging_first_step},
              {"logging_nan_inf_filter", o.logging_nan_inf_filter},
              {"include_num_input_tokens_seen", o.include_num_input_tokens_seen},
              {"include_tokens_per_second", o.include_tokens_per_second},
              {"skip_memory_metrics", o.skip_memory_metrics},
              {"length_column_name", o.length_column_name},
              {"eval_strategy", o.eval_strategy},
              {"eval_steps", opt(o.eval_steps)},
              {"eval_delay", o.eval_delay},
              {"eval_on_start", o.eval_on_start},
              {"save_strategy", o.save_strategy},
              {"save_steps", o.save_steps},
              {"save_total_limit", opt(o.save_total_limit)},
              {"save_only_model", o.save_only_model},
              {"seed", o.seed},
              {"data_seed", opt(o.data_seed)},
              {"dataloader_drop_last", o.dataloader_drop_last},
              {"dataloader_num_workers", o.dataloader_num_workers},
              {"dataloader_persistent_workers", o.dataloader_persistent_workers},
              {"dataloader_prefetch_factor", opt(o.dataloader_prefetch_factor)},
              {"group_by_length", o.group_by_length},
              {"optim", o.optim},
              {"optim_args", o.optim_args.empty() ? Json(nullptr) : Json(o.optim_args)},
              {"train_sampling_strategy",
               o.group_by_length ? "group_by_length" : o.sequential_sampler ? "sequential" : "random"},
              {"remove_unused_columns", o.remove_unused_columns},
              {"load_best_model_at_end", o.load_best_model_at_end},
              {"metric_for_best_model", opt(o.metric_for_best_model)},
              {"greater_is_better", opt(o.greater_is_better)},
              {"bf16", o.bf16},
              {"fp16", o.fp16},
              {"bf16_full_eval", o.bf16_full_eval},
              {"tf32", opt(o.tf32)},
              {"full_determinism", o.full_determinism},
              {"fp16_full_eval", o.fp16_full_eval},
              {"gradient_checkpointing", o.gradient_checkpointing},
              {"neftune_noise_alpha", opt(o.neftune_noise_alpha)},
              {"label_smoothing_factor", o.label_smoothing_factor},
              {"resume_from_checkpoint", o.resume_from_checkpoint.empty() ? Json(nullptr) : Json(o.resume_from_checkpoint)},
              {"ignore_data_skip", o.ignore_data_skip},
              {"disable_tqdm", o.disable_tqdm},
              {"nan_inf_policy", o.nan_inf_policy},
              {"handle_signals", o.handle_signals}};
}

}  // namespace tcpp::trainer
