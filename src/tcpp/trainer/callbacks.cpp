// Trainer callbacks: events of the training loop, and EarlyStoppingCallback (as transformers' trainer_callback.py).
#include "tcpp/trainer/callbacks.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "tcpp/core/error.h"
#include "tcpp/core/logging.h"
#include "tcpp/core/strings.h"

namespace tcpp::trainer {

std::string eval_metric_key(const std::string& metric) {
  return starts_with(metric, "eval_") ? metric : "eval_" + metric;
}

void EarlyStoppingCallback::on_train_begin(const TrainerOptions& options, TrainerState&, TrainerControl&) {
  if (!options.load_best_model_at_end)
    throw InputError("load_best_model_at_end", "EarlyStoppingCallback requires load_best_model_at_end=true");
  if (!options.metric_for_best_model)
    throw InputError("metric_for_best_model", "EarlyStoppingCallback requires metric_for_best_model to be set");
  if (options.eval_strategy == "no")
    throw InputError("eval_strategy", "EarlyStoppingCallback requires an eval_strategy other than \"no\"");
}

void EarlyStoppingCallback::on_evaluate(const TrainerOptions& options, TrainerState& state, TrainerControl& control,
                                        const Metrics& metrics) {
  const std::string key = eval_metric_key(options.metric_for_best_model.value_or("loss"));
  auto it = metrics.find(key);
  if (it == metrics.end()) {
    log_warning("early stopping required metric_for_best_model, but did not find " + key +
                " so early stopping is disabled");
    return;
  }
  const double value = it->second;
  const bool greater = options.greater_is_better.value_or(!ends_with(key, "loss"));
  // As HF: compared with the best metric before this evaluation.
  const bool improved = !state.best_metric ||
                        ((greater ? value > *state.best_metric : value < *state.best_metric) &&
                         std::abs(value - *state.best_metric) > threshold_);
  counter_ = improved ? 0 : counter_ + 1;
  if (counter_ >= patience_) control.should_training_stop = true;
}

std::optional<Json> EarlyStoppingCallback::state() const {
  return Json{{"args", {{"early_stopping_patience", patience_}, {"early_stopping_threshold", threshold_}}},
              {"attributes", {{"early_stopping_patience_counter", counter_}}}};
}

void EarlyStoppingCallback::load_state(const Json& state) {
  if (state.contains("attributes") && state["attributes"].contains("early_stopping_patience_counter")) {
    const Json& v = state["attributes"]["early_stopping_patience_counter"];
    if (!v.is_number_integer())  // a float would convert with undefined behaviour when out of range
      throw InputError("trainer_state.json: \"stateful_callbacks\".\"EarlyStoppingCallback\"",
                       "\"early_stopping_patience_counter\" must be an integer, found " + v.dump());
    counter_ = v.get<int64_t>();
  }
}

std::string format_progress(int64_t step, int64_t max_steps, int64_t first_step, double elapsed_seconds,
                            std::optional<double> loss, std::optional<double> learning_rate) {
  std::string line = "step " + std::to_string(step) + "/" + std::to_string(max_steps);
  if (max_steps > 0) line += " (" + std::to_string(step * 100 / max_steps) + "%)";
  const int64_t done = step - first_step;
  if (done > 0 && elapsed_seconds > 0) {
    const double rate = static_cast<double>(done) / elapsed_seconds;
    const auto eta = static_cast<int64_t>(std::llround(static_cast<double>(std::max<int64_t>(max_steps - step, 0)) / rate));
    char buf[96];
    std::snprintf(buf, sizeof(buf), " | %.2f it/s | ETA %02lld:%02lld:%02lld", rate, static_cast<long long>(eta / 3600),
                  static_cast<long long>(eta / 60 % 60), static_cast<long long>(eta % 60));
    line += buf;
  }
  if (loss) line += " | loss " + python_float_repr(*loss);
  if (learning_rate) line += " | lr " + python_float_repr(*learning_rate);
  return line;
}

ProgressCallback::ProgressCallback(std::function<void(const std::string&)> sink, int64_t every_steps)
    : sink_(sink ? std::move(sink) : [](const std::string& line) { log_info(line); }), every_steps_(every_steps) {}

void ProgressCallback::on_train_begin(const TrainerOptions&, TrainerState& state, TrainerControl&) {
  first_step_ = state.global_step;
  start_ = std::chrono::steady_clock::now();
}

void ProgressCallback::on_step_end(const TrainerOptions&, TrainerState& state, TrainerControl&) {
  if (!state.is_world_process_zero) return;  // one progress line per job, not per rank
  const int64_t every = every_steps_ > 0 ? every_steps_ : std::max<int64_t>(1, state.max_steps / 20);
  if (state.global_step % every != 0 && state.global_step != state.max_steps) return;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  sink_(format_progress(state.global_step, state.max_steps, first_step_, elapsed, loss_, learning_rate_));
}

void ProgressCallback::on_log(const TrainerOptions&, TrainerState& state, TrainerControl&, const Json& logs) {
  if (logs.contains("loss")) loss_ = logs["loss"].get<double>();
  if (logs.contains("learning_rate")) learning_rate_ = logs["learning_rate"].get<double>();
  if (logs.contains("eval_loss") && state.is_world_process_zero) sink_(dump_json_python(logs, -1));
}

TerminalProgressCallback::TerminalProgressCallback(std::function<void(const std::string&)> write)
    : write_(write ? std::move(write) : [](const std::string& text) {
        std::fputs(text.c_str(), stderr);
        std::fflush(stderr);
      }) {}

TerminalProgressCallback::~TerminalProgressCallback() { release_sink(); }

void TerminalProgressCallback::release_sink() {
  bool was_active;
  {
    std::lock_guard<std::mutex> lock(mu_);
    was_active = active_;
    active_ = false;
  }
  if (was_active) set_log_sink(nullptr);
}

std::string TerminalProgressCallback::bar_line() const {
  constexpr int64_t kWidth = 30;
  const int64_t filled = max_steps_ > 0 ? std::min<int64_t>(kWidth, step_ * kWidth / max_steps_) : 0;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  return "\r[" + std::string(static_cast<size_t>(filled), '#') + std::string(static_cast<size_t>(kWidth - filled), '.') +
         "] " + format_progress(step_, max_steps_, first_step_, elapsed, loss_, learning_rate_) + "\x1b[K";
}

void TerminalProgressCallback::on_train_begin(const TrainerOptions&, TrainerState& state, TrainerControl&) {
  if (!state.is_world_process_zero) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    active_ = true;
    step_ = first_step_ = state.global_step;
    max_steps_ = state.max_steps;
    start_ = last_draw_ = std::chrono::steady_clock::now();
    write_(bar_line());
  }
  // Log lines clear the bar, print on their own line, and the bar is drawn again below them.
  set_log_sink([this](LogLevel level, const std::string& message) {
    static const char* names[] = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"};
    const int index = std::clamp(static_cast<int>(level) / 10 - 1, 0, 4);
    std::lock_guard<std::mutex> lock(mu_);
    write_(std::string("\r\x1b[K[") + names[index] + "] " + message + "\n" + (active_ ? bar_line() : ""));
  });
}

void TerminalProgressCallback::on_step_end(const TrainerOptions&, TrainerState& state, TrainerControl&) {
  if (!state.is_world_process_zero) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (!active_) return;
  step_ = state.global_step;
  const auto now = std::chrono::steady_clock::now();
  if (step_ != max_steps_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  write_(bar_line());
}

void TerminalProgressCallback::on_log(const TrainerOptions&, TrainerState&, TrainerControl&, const Json& logs) {
  std::lock_guard<std::mutex> lock(mu_);
  if (logs.contains("loss")) loss_ = logs["loss"].get<double>();
  if (logs.contains("learning_rate")) learning_rate_ = logs["learning_rate"].get<double>();
}

void TerminalProgressCallback::on_train_end(const TrainerOptions&, TrainerState& state, TrainerControl&) {
  if (!state.is_world_process_zero) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!active_) return;
    step_ = state.global_step;
    write_(bar_line() + "\n");
  }
  release_sink();
}

std::shared_ptr<TrainerCallback> make_progress_callback(bool disable_tqdm) {
  if (disable_tqdm) return nullptr;
  if (::isatty(2)) return std::make_shared<TerminalProgressCallback>();
  return std::make_shared<ProgressCallback>();
}

}  // namespace tcpp::trainer
