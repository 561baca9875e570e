// Autocast regions across LibTorch versions, and the fp16 loss scaler.
#include "tcpp/trainer/mixed_precision.h"

#include <cmath>

#include <ATen/autocast_mode.h>
#include <torch/torch.h>
#include <torch/version.h>

#include "tcpp/core/error.h"

// LibTorch 2.4 replaced the per-device functions (set_cpu_enabled, set_autocast_cpu_dtype, ...) by ones taking a
// device type.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define TCPP_AUTOCAST_BY_DEVICE 1
#endif

namespace tcpp::trainer {
namespace {

bool autocast_enabled(c10::DeviceType device) {
#ifdef TCPP_AUTOCAST_BY_DEVICE
  return at::autocast::is_autocast_enabled(device);
#else
  return device == c10::DeviceType::CPU ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled();
#endif
}

void set_autocast(c10::DeviceType device, bool enabled) {
#ifdef TCPP_AUTOCAST_BY_DEVICE
  at::autocast::set_autocast_enabled(device, enabled);
#else
  if (device == c10::DeviceType::CPU) at::autocast::set_cpu_enabled(enabled);
  else at::autocast::set_enabled(enabled);
#endif
}

c10::ScalarType autocast_dtype(c10::DeviceType device) {
#ifdef TCPP_AUTOCAST_BY_DEVICE
  return at::autocast::get_autocast_dtype(device);
#else
  return device == c10::DeviceType::CPU ? at::autocast::get_autocast_cpu_dtype() : at::autocast::get_autocast_gpu_dtype();
#endif
}

void set_autocast_dtype(c10::DeviceType device, c10::ScalarType dtype) {
#ifdef TCPP_AUTOCAST_BY_DEVICE
  at::autocast::set_autocast_dtype(device, dtype);
#else
  if (device == c10::DeviceType::CPU) at::autocast::set_autocast_cpu_dtype(dtype);
  else at::autocast::set_autocast_gpu_dtype(dtype);
#endif
}

}  // namespace

AutocastGuard::AutocastGuard(c10::DeviceType device, c10::ScalarType dtype, bool enabled)
    : enabled_(enabled), device_(device) {
  if (!enabled_) return;
  prev_enabled_ = autocast_enabled(device_);
  prev_dtype_ = autocast_dtype(device_);
  set_autocast(device_, true);
  set_autocast_dtype(device_, dtype);
  at::autocast::increment_nesting();
}

AutocastGuard::~AutocastGuard() {
  if (!enabled_) return;
  // Leaving the outermost region drops the cached low-precision weight copies (they change every step).
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  set_autocast(device_, prev_enabled_);
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
  scale_ = state["scale"].get<double>();
  growth_tracker_ = state["_growth_tracker"].get<int64_t>();
}

}  // namespace tcpp::trainer
