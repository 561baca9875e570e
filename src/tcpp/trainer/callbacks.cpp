// Trainer callbacks: events of the training loop, and EarlyStoppingCallback (as transformers' trainer_callback.py).
#include "tcpp/trainer/callbacks.h"

#include <cmath>

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
  if (state.contains("attributes") && state["attributes"].contains("early_stopping_patience_counter"))
    counter_ = state["attributes"]["early_stopping_patience_counter"].get<int64_t>();
}

}  // namespace tcpp::trainer
