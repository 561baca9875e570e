// Autocast regions across LibTorch versions, and the fp16 loss scaler.
#include "tcpp/trainer/mixed_precision.h"

#include <cmath>

#include <ATen/autocast_mode.h>
#include <torch/torch.h>

#include "tcpp/core/error.h"
#include "tcpp/models/common/autocast.h"

namespace tcpp::trainer {

using models::autocast_dtype;
using models::autocast_enabled;
using models::set_autocast_dtype;

AutocastGuard::AutocastGuard(c10::DeviceType device, c10::ScalarType dtype, bool enabled)
    : enabled_(enabled), device_(device) {
  if (!enabled_) return;
  prev_enabled_ = autocast_enabled(device_);
  prev_dtype_ = autocast_dtype(device_);
  models::set_autocast_enabled(device_, true);
  set_autocast_dtype(device_, dtype);
  at::autocast::increment_nesting();
}

AutocastGuard::~AutocastGuard() {
  if (!enabled_) return;
  // Leaving the outermost region drops the cached low-precision weight copies (they change every step).
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  models::set_autocast_enabled(device_, prev_enabled_);
  set_autocast_dtype(device_, prev_dtype_);
}

GradScaler::GradScaler(GradScalerOptions options) : options_(options), scale_(options.init_scale) {}

at::Tensor GradScaler::scale(const at::Tensor& loss) const { return loss * scale_; }

bool GradScaler::unscale(const std::vector<at::Tensor>& params) {
  torch::NoGradGuard no_grad;
  const double inv = 1.0 / scale_;
  bool finite = true;
  std::vector<at::Tensor> checks;
  for (const auto& p : params) {
    if (!p.grad().defined()) continue;
    p.mutable_grad().mul_(inv);
    checks.push_back(torch::isfinite(p.grad()).all());
  }
  // One device sync for all parameters.
  if (!checks.empty()) finite = torch::stack(checks).all().item<bool>();
  return finite;
}

void GradScaler::update(bool found_inf) {
  if (found_inf) {
    scale_ *= options_.backoff_factor;
    growth_tracker_ = 0;
    return;
  }
  if (++growth_tracker_ == options_.growth_interval) {
    const double grown = scale_ * options_.growth_factor;
    if (std::isfinite(grown)) scale_ = grown;
    growth_tracker_ = 0;
  }
}

Json GradScaler::state_dict() const {
  return {{"scale", scale_},
          {"growth_factor", options_.growth_factor},
          {"backoff_factor", options_.backoff_factor},
          {"growth_interval", options_.growth_interval},
          {"_growth_tracker", growth_tracker_}};
}

void GradScaler::load_state_dict(const Json& state, const std::string& source) {
  if (!state.is_object() || !state.contains("scale") || !state["scale"].is_number() ||
      !state.contains("_growth_tracker") || !state["_growth_tracker"].is_number_integer())
    throw InputError(source, "expected a GradScaler state with \"scale\" and \"_growth_tracker\"");
  const double scale = state["scale"].get<double>();
  if (!(scale > 0) || !std::isfinite(scale))
    throw InputError(source, "\"scale\" must be a positive finite number, found " + state["scale"].dump());
  // update() counts good steps up to growth_interval: a tracker outside [0, growth_interval) never reaches it and
  // would count on until it overflowed.
  const Json& tracker = state["_growth_tracker"];
  if (tracker.is_number_unsigned() ? tracker.get<uint64_t>() >= static_cast<uint64_t>(options_.growth_interval)
                                   : tracker.get<int64_t>() < 0 || tracker.get<int64_t>() >= options_.growth_interval)
    throw InputError(source, "\"_growth_tracker\" must be from 0 to growth_interval - 1 (" +
                                 std::to_string(options_.growth_interval - 1) + "), found " + tracker.dump());
  scale_ = scale;
  growth_tracker_ = tracker.get<int64_t>();
}

}  // namespace tcpp::trainer
