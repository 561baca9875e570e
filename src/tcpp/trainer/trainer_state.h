// Trainer state and control flags, serialised exactly as transformers' TrainerState (trainer_state.json).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tcpp/core/json.h"

namespace tcpp::trainer {

inline constexpr const char* kTrainerStateFile = "trainer_state.json";

/// As transformers' TrainerControl: what the loop does after the current step.
struct TrainerControl {
  bool should_training_stop = false;
  bool should_epoch_stop = false;
  bool should_save = false;
  bool should_evaluate = false;
  bool should_log = false;
};

/// As transformers' TrainerState; to_json() writes HF's keys.
struct TrainerState {
  std::optional<double> epoch;  // unset until training starts (HF: None)
  int64_t global_step = 0;
  int64_t max_steps = 0;
  int64_t logging_steps = 500;
  int64_t eval_steps = 500;
  int64_t save_steps = 500;
  int64_t train_batch_size = 0;
  int64_t num_train_epochs = 0;
  int64_t num_input_tokens_seen = 0;
  double total_flos = 0.0;
  std::vector<Json> log_history;
  std::optional<double> best_metric;
  std::optional<int64_t> best_global_step;
  std::optional<std::string> best_model_checkpoint;
  bool is_local_process_zero = true;
  bool is_world_process_zero = true;
  /// Callback name -> {"args": {...}, "attributes": {...}}, as HF's stateful_callbacks.
  Json stateful_callbacks = Json::object();

  Json to_json() const;
  /// Parse HF's trainer_state.json; throws InputError("<where>: missing \"global_step\" ...") on bad input.
  static TrainerState from_json(const Json& j, const std::string& where);
  /// Write json.dumps(asdict(state), indent=2, sort_keys=True) + "\n" atomically.
  void save_to_json(const std::string& path) const;
  static TrainerState load_from_json(const std::string& path);
};

}  // namespace tcpp::trainer
