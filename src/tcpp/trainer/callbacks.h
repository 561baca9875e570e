// Trainer callbacks: events of the training loop, and EarlyStoppingCallback (as transformers' trainer_callback.py).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "tcpp/core/json.h"
#include "tcpp/trainer/trainer_options.h"
#include "tcpp/trainer/trainer_state.h"

namespace tcpp::trainer {

/// Metrics or log entries: name -> number (HF's logs dict; integer steps are stored as doubles).
using Metrics = std::map<std::string, double>;

/// Override the events you need; each may change `control` (e.g. set should_training_stop).
class TrainerCallback {
 public:
  virtual ~TrainerCallback() = default;
  /// Name under which state() is stored in trainer_state.json's stateful_callbacks.
  virtual std::string name() const { return "TrainerCallback"; }
  virtual void on_train_begin(const TrainerOptions&, TrainerState&, TrainerControl&) {}
  virtual void on_train_end(const TrainerOptions&, TrainerState&, TrainerControl&) {}
  virtual void on_epoch_begin(const TrainerOptions&, TrainerState&, TrainerControl&) {}
  virtual void on_epoch_end(const TrainerOptions&, TrainerState&, TrainerControl&) {}
  virtual void on_step_begin(const TrainerOptions&, TrainerState&, TrainerControl&) {}
  virtual void on_step_end(const TrainerOptions&, TrainerState&, TrainerControl&) {}
  virtual void on_log(const TrainerOptions&, TrainerState&, TrainerControl&, const Json& /*logs*/) {}
  virtual void on_evaluate(const TrainerOptions&, TrainerState&, TrainerControl&, const Metrics& /*metrics*/) {}
  virtual void on_save(const TrainerOptions&, TrainerState&, TrainerControl&) {}
  /// {"args": {...}, "attributes": {...}} to store in checkpoints, or nullopt for a stateless callback.
  virtual std::optional<Json> state() const { return std::nullopt; }
  /// Restore what state() returned (on resume).
  virtual void load_state(const Json& /*state*/) {}
};

/// Stop training when metric_for_best_model has not improved by more than threshold for `patience` evaluations.
class EarlyStoppingCallback : public TrainerCallback {
 public:
  explicit EarlyStoppingCallback(int64_t early_stopping_patience = 1, double early_stopping_threshold = 0.0)
      : patience_(early_stopping_patience), threshold_(early_stopping_threshold) {}
  std::string name() const override { return "EarlyStoppingCallback"; }
  /// Throws InputError unless load_best_model_at_end, metric_for_best_model and an eval_strategy are set (as HF).
  void on_train_begin(const TrainerOptions& options, TrainerState& state, TrainerControl& control) override;
  void on_evaluate(const TrainerOptions& options, TrainerState& state, TrainerControl& control,
                   const Metrics& metrics) override;
  std::optional<Json> state() const override;
  void load_state(const Json& state) override;
  int64_t patience_counter() const { return counter_; }

 private:
  int64_t patience_;
  double threshold_;
  int64_t counter_ = 0;
};

/// Console progress as plain lines (what HF's tqdm bar shows, for logs and non-TTY runs): every `every_steps`
/// optimizer steps (default: max_steps / 20) and at the last step, "step 5/20 (25%) | 2.50 it/s | ETA 00:00:06 |
/// loss 1.2345 | lr 5e-05", plus one line per eval log. Lines go to `sink` (default: log_info).
class ProgressCallback : public TrainerCallback {
 public:
  explicit ProgressCallback(std::function<void(const std::string&)> sink = nullptr, int64_t every_steps = 0);
  std::string name() const override { return "ProgressCallback"; }
  void on_train_begin(const TrainerOptions& options, TrainerState& state, TrainerControl& control) override;
  void on_step_end(const TrainerOptions& options, TrainerState& state, TrainerControl& control) override;
  void on_log(const TrainerOptions& options, TrainerState& state, TrainerControl& control, const Json& logs) override;

 private:
  std::function<void(const std::string&)> sink_;
  int64_t every_steps_;
  int64_t first_step_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::optional<double> loss_;
  std::optional<double> learning_rate_;
};

/// A progress bar redrawn in place on a terminal, as HF's tqdm bar: "[#####.....] step 5/20 (25%) | 2.50 it/s |
/// ETA 00:00:06 | loss 1.2345 | lr 5e-05", at most 10 redraws a second. While training runs it owns the log sink, so
/// log lines are printed above the bar instead of through it (the default stderr sink is restored at the end).
/// Rank 0 only. `write` receives the raw terminal text (default: stderr).
class TerminalProgressCallback : public TrainerCallback {
 public:
  explicit TerminalProgressCallback(std::function<void(const std::string&)> write = nullptr);
  ~TerminalProgressCallback() override;
  std::string name() const override { return "TerminalProgressCallback"; }
  void on_train_begin(const TrainerOptions& options, TrainerState& state, TrainerControl& control) override;
  void on_step_end(const TrainerOptions& options, TrainerState& state, TrainerControl& control) override;
  void on_log(const TrainerOptions& options, TrainerState& state, TrainerControl& control, const Json& logs) override;
  void on_train_end(const TrainerOptions& options, TrainerState& state, TrainerControl& control) override;

 private:
  std::string bar_line() const;
  void release_sink();
  std::function<void(const std::string&)> write_;
  std::mutex mu_;
  bool active_ = false;
  int64_t step_ = 0, max_steps_ = 0, first_step_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
  std::optional<double> loss_, learning_rate_;
};

/// The console progress run_clm uses: a TerminalProgressCallback when stderr is a terminal, else the plain
/// lines of ProgressCallback; null with disable_tqdm.
std::shared_ptr<TrainerCallback> make_progress_callback(bool disable_tqdm);

/// One progress line; elapsed_seconds covers the steps since first_step (steps before a resume are not timed).
std::string format_progress(int64_t step, int64_t max_steps, int64_t first_step, double elapsed_seconds,
                            std::optional<double> loss, std::optional<double> learning_rate);

/// "eval_" + name unless it already starts with "eval_" (HF's metric_for_best_model lookup).
std::string eval_metric_key(const std::string& metric_for_best_model);

}  // namespace tcpp::trainer
