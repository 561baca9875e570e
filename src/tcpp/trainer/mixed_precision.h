// Mixed precision as HF's Trainer gets it from accelerate: an autocast region around forward + loss (matmuls in
// bf16/fp16, master weights and optimizer state stay fp32), and for fp16 a dynamic loss scaler (torch.amp's
// GradScaler: scale the loss, unscale the gradients, skip the step and back off on inf/NaN, grow after a run of
// good steps).
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/DeviceType.h>
#include <c10/core/ScalarType.h>

#include "tcpp/core/json.h"

namespace tcpp::trainer {

/// Autocast on `device` at `dtype` while alive (nestable); a disabled guard does nothing. Works with the autocast
/// API of LibTorch 1.13 and 2.x. CPU autocast supports bf16; CUDA fp16 and bf16.
class AutocastGuard {
 public:
  AutocastGuard(c10::DeviceType device, c10::ScalarType dtype, bool enabled);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool enabled_;
  c10::DeviceType device_;
  bool prev_enabled_ = false;
  c10::ScalarType prev_dtype_ = c10::ScalarType::Undefined;
};

struct GradScalerOptions {
  double init_scale = 65536.0;
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  int64_t growth_interval = 2000;
};

/// torch.amp.GradScaler's algorithm on plain tensor ops (device-agnostic).
class GradScaler {
 public:
  explicit GradScaler(GradScalerOptions options = {});
  /// loss * scale.
  at::Tensor scale(const at::Tensor& loss) const;
  /// Divide every gradient by the scale; returns false when any gradient holds inf/NaN (the step must be skipped).
  bool unscale(const std::vector<at::Tensor>& params);
  /// After the step (or the skipped step): back off on inf/NaN, grow after growth_interval good steps.
  void update(bool found_inf);
  double get_scale() const { return scale_; }
  Json state_dict() const;
  void load_state_dict(const Json& state, const std::string& source);

 private:
  GradScalerOptions options_;
  double scale_;
  int64_t growth_tracker_ = 0;
};

}  // namespace tcpp::trainer
