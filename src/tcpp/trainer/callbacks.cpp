// Trainer callbacks: events of the training loop, and EarlyStoppingCallback (as transformers' trainer_callback.py).
#include "tcpp/trainer/callbacks.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "tcpp/core/error.h"
#include "tcpp/core/logging.h"
#include "tcpp/core/strings.h"

namespace tcpp::trainer {

Json metrics_to_json(const Metrics& metrics) {
  Json j = Json::object();
  for (const auto& [k, v] : metrics) {
    const bool bytes = is_memory_metric(k) && std::isfinite(v) && v == std::floor(v) &&
                       std::fabs(v) < 9e15;
    j[k] = bytes ? Json(static_cast<int64_t>(v)) : Json(v);
  }
  return j;
}

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

ProgressCallback::ProgressCallback(Options options) : options_(std::move(options)) {
  if (!options_.sink) options_.sink = [](const std::string& line) { log_info(line); };
}

ProgressCallback::ProgressCallback(std::function<void(const std::string&)> sink, int64_t every_steps)
    : ProgressCallback(Options{ProgressStyle::kLines, std::move(sink), every_steps, nullptr}) {}

ProgressCallback::~ProgressCallback() {
  // Bars still open (an exception ended training or evaluation) leave the console's line as they close.
  prediction_bar_.reset();
  training_bar_.reset();
}

Progress::Options ProgressCallback::progress_options() const {
  Progress::Options o;
  o.style = options_.style == ProgressStyle::kAuto ? progress_style() : options_.style;
  o.now = options_.now;
  // Plain lines through the sink (log_info by default, so they read as the other log lines); bars on the console.
  if (o.style == ProgressStyle::kLines)
    o.write = [sink = options_.sink](const std::string& text) {
      sink(!text.empty() && text.back() == '\n' ? text.substr(0, text.size() - 1) : text);
    };
  return o;
}

void ProgressCallback::on_train_begin(const TrainerOptions&, TrainerState& state, TrainerControl&) {
  if (!state.is_world_process_zero) return;  // one progress per job, not per rank
  loss_.reset();
  learning_rate_.reset();
  Progress::Options o = progress_options();
  o.unit = "steps";
  o.initial = state.global_step;  // after a resume, the rate and ETA count the steps of this run only
  o.line_every = options_.every_steps > 0 ? options_.every_steps : std::max<int64_t>(1, state.max_steps / 20);
  const int64_t first_step = state.global_step, max_steps = state.max_steps;
  o.format = [first_step, max_steps](int64_t step, double elapsed, bool) {
    return format_progress(step, max_steps, first_step, elapsed, std::nullopt, std::nullopt);
  };
  prediction_bar_.reset();
  training_bar_.reset();
  training_bar_ = std::make_unique<Progress>("", max_steps, std::move(o));
  train_start_ = options_.now ? options_.now() : Progress::Clock::now();
  tokens_at_start_ = state.num_input_tokens_seen;
}

void ProgressCallback::update_postfix(const TrainerState& state) {
  // After the step count, rate and ETA: "loss 1.2345 | lr 5e-05 | epoch 0.50 | 1234 tokens/s".
  std::vector<std::string> parts;
  if (loss_) parts.push_back("loss " + python_float_repr(*loss_));
  if (learning_rate_) parts.push_back("lr " + python_float_repr(*learning_rate_));
  char buf[64];
  if (state.epoch) {
    std::snprintf(buf, sizeof buf, "epoch %.2f", *state.epoch);
    parts.emplace_back(buf);
  }
  // Input tokens are counted when include_num_input_tokens_seen is on.
  const int64_t tokens = state.num_input_tokens_seen - tokens_at_start_;
  if (tokens > 0) {
    const auto now = options_.now ? options_.now() : Progress::Clock::now();
    const double elapsed = std::chrono::duration<double>(now - train_start_).count();
    if (elapsed > 0) {
      const double rate = static_cast<double>(tokens) / elapsed;
      std::snprintf(buf, sizeof buf, rate >= 100 ? "%.0f tokens/s" : "%.2f tokens/s", rate);
      parts.emplace_back(buf);
    }
  }
  training_bar_->set_postfix(join(parts, " | "));
}

void ProgressCallback::on_step_end(const TrainerOptions&, TrainerState& state, TrainerControl&) {
  if (!state.is_world_process_zero || !training_bar_) return;
  update_postfix(state);
  training_bar_->update(state.global_step - training_bar_->count());
}

void ProgressCallback::on_log(const TrainerOptions&, TrainerState& state, TrainerControl&, const Json& logs) {
  // The log line itself is printed by Trainer::log (above the bars); the bar shows the latest loss and lr.
  if (logs.contains("loss") && logs["loss"].is_number()) loss_ = logs["loss"].get<double>();
  if (logs.contains("learning_rate") && logs["learning_rate"].is_number())
    learning_rate_ = logs["learning_rate"].get<double>();
  if (training_bar_) update_postfix(state);
}

void ProgressCallback::on_train_end(const TrainerOptions&, TrainerState& state, TrainerControl&) {
  if (!training_bar_) return;
  training_bar_->update(state.global_step - training_bar_->count());
  training_bar_->close();
  training_bar_.reset();
}

void ProgressCallback::on_prediction_step(const TrainerOptions&, TrainerState& state, TrainerControl&,
                                          const PredictionStep& step) {
  if (!state.is_world_process_zero || step.num_batches <= 0) return;
  if (!prediction_bar_) {
    Progress::Options o = progress_options();
    o.unit = "batches";
    o.leave = training_bar_ == nullptr;  // as HF: erased when drawn over the training bar
    prediction_bar_ = std::make_unique<Progress>(step.description.empty() ? "Evaluation" : step.description,
                                                 step.num_batches, std::move(o));
  }
  prediction_bar_->update(1);
}

void ProgressCallback::close_prediction_bar() {
  if (!prediction_bar_) return;
  prediction_bar_->close();
  prediction_bar_.reset();
}

void ProgressCallback::on_evaluate(const TrainerOptions&, TrainerState&, TrainerControl&, const Metrics&) {
  close_prediction_bar();
}

void ProgressCallback::on_predict(const TrainerOptions&, TrainerState&, TrainerControl&, const Metrics&) {
  close_prediction_bar();
}

TerminalProgressCallback::TerminalProgressCallback()
    : ProgressCallback(Options{ProgressStyle::kBar, nullptr, 0, nullptr}) {}

std::shared_ptr<TrainerCallback> make_progress_callback(bool disable_tqdm) {
  // disable_tqdm: plain lines, as the datasets' progress under --disable_tqdm.
  return std::make_shared<ProgressCallback>(
      ProgressCallback::Options{disable_tqdm ? ProgressStyle::kLines : ProgressStyle::kAuto, nullptr, 0, nullptr});
}

}  // namespace tcpp::trainer
