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
#include "tcpp/core/progress.h"
#include "tcpp/trainer/trainer_options.h"
#include "tcpp/trainer/trainer_state.h"

namespace tcpp::trainer {

/// Metrics or log entries: name -> number (HF's logs dict; integer steps are stored as doubles).
using Metrics = std::map<std::string, double>;

/// Whether a metric is one of MemoryTracker's byte counts (HF's test: "_mem_" in the name).
inline bool is_memory_metric(const std::string& key) { return key.find("_mem_") != std::string::npos; }

/// Metrics as a JSON object; the memory figures (`*_mem_*`, byte counts) as integers, as HF writes them.
Json metrics_to_json(const Metrics& metrics);

/// What on_prediction_step reports: batch `step` (1-based) of the `num_batches` this process evaluates, and the
/// loop's description ("Evaluation" for evaluate(), "Prediction" for predict()).
struct PredictionStep {
  int64_t step = 0;
  int64_t num_batches = 0;
  std::string description;
};

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
  /// After each batch of evaluate()/predict().
  virtual void on_prediction_step(const TrainerOptions&, TrainerState&, TrainerControl&, const PredictionStep&) {}
  virtual void on_evaluate(const TrainerOptions&, TrainerState&, TrainerControl&, const Metrics& /*metrics*/) {}
  /// After predict() (HF on_predict).
  virtual void on_predict(const TrainerOptions&, TrainerState&, TrainerControl&, const Metrics& /*metrics*/) {}
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

/// HF's ProgressCallback on core/progress: a training bar "[#####.....] step 5/20 (25%) | 2.50 it/s | ETA 00:00:06 |
/// loss 1.2345 | lr 5e-05 | epoch 0.25 | 1234 tokens/s" (tokens/s with include_num_input_tokens_seen) and, while
/// evaluate()/predict() run, a bar over their batches ("Evaluation: [###...] 3/10 batches | ..."), erased when done
/// during training and left as a line otherwise (tqdm's leave). On a terminal the bars are redrawn in place at
/// most 10 times a second and log lines print above them (the console discipline of core/progress, shared with the
/// datasets' bars); with plain lines (not a terminal, --disable_tqdm) the training line comes every `every_steps`
/// steps (default max_steps / 20) and at the end, and the evaluation line at every 10% of its batches and at the
/// end. Only the main process (rank 0) shows anything.
class ProgressCallback : public TrainerCallback {
 public:
  struct Options {
    /// kAuto: core/progress's progress_style() (a bar on a terminal, plain lines otherwise, off on other ranks).
    ProgressStyle style = ProgressStyle::kAuto;
    /// Where plain lines go (default: log_info); bars are drawn on the console.
    std::function<void(const std::string&)> sink;
    int64_t every_steps = 0;
    /// The clock of the bars (tests inject one); default: steady_clock.
    std::function<Progress::Clock::time_point()> now;
  };
  explicit ProgressCallback(Options options);
  /// Plain lines to `sink` (default: log_info) every `every_steps` steps.
  explicit ProgressCallback(std::function<void(const std::string&)> sink = nullptr, int64_t every_steps = 0);
  ~ProgressCallback() override;
  std::string name() const override { return "ProgressCallback"; }
  void on_train_begin(const TrainerOptions& options, TrainerState& state, TrainerControl& control) override;
  void on_step_end(const TrainerOptions& options, TrainerState& state, TrainerControl& control) override;
  void on_log(const TrainerOptions& options, TrainerState& state, TrainerControl& control, const Json& logs) override;
  void on_train_end(const TrainerOptions& options, TrainerState& state, TrainerControl& control) override;
  void on_prediction_step(const TrainerOptions& options, TrainerState& state, TrainerControl& control,
                          const PredictionStep& step) override;
  void on_evaluate(const TrainerOptions& options, TrainerState& state, TrainerControl& control,
                   const Metrics& metrics) override;
  void on_predict(const TrainerOptions& options, TrainerState& state, TrainerControl& control,
                  const Metrics& metrics) override;

 private:
  Progress::Options progress_options() const;
  void update_postfix(const TrainerState& state);
  void close_prediction_bar();
  Options options_;
  std::unique_ptr<Progress> training_bar_, prediction_bar_;
  std::optional<double> loss_, learning_rate_;
  Progress::Clock::time_point train_start_;
  int64_t tokens_at_start_ = 0;
};

/// The ProgressCallback drawn as bars whatever stderr is (tests; make_progress_callback picks by itself).
class TerminalProgressCallback : public ProgressCallback {
 public:
  TerminalProgressCallback();
};

/// The console progress run_clm uses: bars on a terminal and plain lines otherwise, plain lines with
/// disable_tqdm (as the datasets' progress), nothing on ranks other than 0.
std::shared_ptr<TrainerCallback> make_progress_callback(bool disable_tqdm);

/// One progress line; elapsed_seconds covers the steps since first_step (steps before a resume are not timed).
std::string format_progress(int64_t step, int64_t max_steps, int64_t first_step, double elapsed_seconds,
                            std::optional<double> loss, std::optional<double> learning_rate);

/// "eval_" + name unless it already starts with "eval_" (HF's metric_for_best_model lookup).
std::string eval_metric_key(const std::string& metric_for_best_model);

}  // namespace tcpp::trainer
