// Learning-rate schedules with Hugging Face's exact multipliers (as transformers' optimization.py get_scheduler,
// plus torch.optim.lr_scheduler.ReduceLROnPlateau).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tcpp/core/json.h"

namespace tcpp::trainer {

/// What get_scheduler needs: HF's lr_scheduler_type name, lr_scheduler_kwargs, warmup and total optimizer steps.
struct SchedulerOptions {
  std::string lr_scheduler_type = "linear";
  /// Extra arguments, as HF's lr_scheduler_kwargs: num_cycles, lr_end, power, timescale, min_lr, min_lr_rate,
  /// num_decay_steps, num_stable_steps, warmup_type, decay_type, min_lr_ratio; for reduce_lr_on_plateau: mode,
  /// factor, patience, threshold, threshold_mode, cooldown, min_lr, eps.
  Json lr_scheduler_kwargs = Json::object();
  int64_t num_warmup_steps = 0;
  int64_t num_training_steps = 0;
};

/// HF's warmup step count: warmup_steps if > 0, else ceil(num_training_steps * warmup_ratio) (transformers v4).
int64_t get_warmup_steps(int64_t warmup_steps, double warmup_ratio, int64_t num_training_steps);

/// The LambdaLR multiplier of a schedule as a function of the step (0-based).
/// Throws InputError naming "lr_scheduler_type" or "lr_scheduler_kwargs" for unknown names or missing/invalid
/// arguments (e.g. polynomial's lr_end >= learning_rate, cosine_with_min_lr without min_lr/min_lr_rate).
std::function<double(int64_t)> get_schedule_lambda(const SchedulerOptions& options, double base_lr);

/// Names accepted by lr_scheduler_type.
const std::vector<std::string>& scheduler_type_names();

/// A per-optimizer-step schedule (LambdaLR semantics) or ReduceLROnPlateau (stepped with an eval metric).
/// It computes learning rates only; the Trainer copies get_last_lr() into the optimizer's param groups.
class LRScheduler {
 public:
  /// Build the schedule for param groups whose initial LRs are base_lrs (HF: every group starts at learning_rate).
  static LRScheduler create(const SchedulerOptions& options, std::vector<double> base_lrs);

  bool is_reduce_on_plateau() const { return plateau_; }
  /// Advance one optimizer step (LambdaLR.step()); a no-op for reduce_lr_on_plateau.
  void step();
  /// Feed an eval metric to reduce_lr_on_plateau (ReduceLROnPlateau.step(metric)); a no-op for the others.
  void step_metric(double metric);
  /// The learning rate of each group for the next optimizer step.
  const std::vector<double>& get_last_lr() const { return last_lr_; }
  /// The number of step() calls so far (LambdaLR.last_epoch).
  int64_t last_epoch() const { return last_epoch_; }

  /// State as JSON (base_lrs, last_epoch, _last_lr and the plateau counters), for scheduler.json in a checkpoint.
  Json state_dict() const;
  /// Restore a state_dict(); throws InputError naming `where` when a key is missing or has the wrong type.
  void load_state_dict(const Json& state, const std::string& where);

 private:
  LRScheduler() = default;

  std::function<double(int64_t)> lambda_;
  std::vector<double> base_lrs_;
  std::vector<double> last_lr_;
  int64_t last_epoch_ = 0;

  // ReduceLROnPlateau (torch defaults).
  bool plateau_ = false;
  bool mode_max_ = false;
  bool threshold_abs_ = false;
  double factor_ = 0.1;
  int64_t patience_ = 10;
  double threshold_ = 1e-4;
  int64_t cooldown_ = 0;
  std::vector<double> min_lrs_;
  double eps_ = 1e-8;
  double best_ = 0.0;
  int64_t num_bad_epochs_ = 0;
  int64_t cooldown_counter_ = 0;
};

}  // namespace tcpp::trainer
