// transformers' Adafactor (transformers.optimization.Adafactor: factored second moments for matrices, update
// clipping, optional first moment), as a LibTorch optimizer; --optim adafactor builds it as the Trainer does.
#pragma once

#include <torch/torch.h>

namespace tcpp::trainer {

/// Adafactor's hyperparameters, HF's names and defaults (eps = (eps1, eps2); beta1 < 0 means None: no first moment).
struct AdafactorOptions : public torch::optim::OptimizerCloneableOptions<AdafactorOptions> {
  explicit AdafactorOptions(double lr = 1e-3) : lr_(lr) {}
  TORCH_ARG(double, lr) = 1e-3;
  TORCH_ARG(double, eps1) = 1e-30;
  TORCH_ARG(double, eps2) = 1e-3;
  TORCH_ARG(double, clip_threshold) = 1.0;
  TORCH_ARG(double, decay_rate) = -0.8;
  TORCH_ARG(double, beta1) = -1.0;
  TORCH_ARG(double, weight_decay) = 0.0;
  TORCH_ARG(bool, scale_parameter) = true;
  TORCH_ARG(bool, relative_step) = true;
  TORCH_ARG(bool, warmup_init) = false;

 public:
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
  double get_lr() const override { return lr(); }
  void set_lr(const double lr) override { this->lr(lr); }
};

/// Per parameter: the step count, the factored row/column second moments (2-D and up) or the full one, the first
/// moment when beta1 is set, and the parameter's last RMS.
struct AdafactorParamState : public torch::optim::OptimizerCloneableParamState<AdafactorParamState> {
  TORCH_ARG(int64_t, step) = 0;
  TORCH_ARG(torch::Tensor, exp_avg) = {};
  TORCH_ARG(torch::Tensor, exp_avg_sq_row) = {};
  TORCH_ARG(torch::Tensor, exp_avg_sq_col) = {};
  TORCH_ARG(torch::Tensor, exp_avg_sq) = {};
  TORCH_ARG(double, rms) = 0.0;

 public:
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
};

/// The shapes of a factored second moment for a gradient of shape `sizes` (2-D and up): its rows (the shape without
/// the last dimension) and its columns (without the next-to-last).
struct FactoredShapes {
  std::vector<int64_t> row, col;
};
FactoredShapes adafactor_factored_shapes(at::IntArrayRef sizes);

class Adafactor : public torch::optim::Optimizer {
 public:
  /// Throws InputError for HF's refused combinations (a manual lr with relative_step, warmup_init without it).
  Adafactor(std::vector<torch::optim::OptimizerParamGroup> param_groups, AdafactorOptions defaults);
  torch::Tensor step(LossClosure closure = nullptr) override;
  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;
};

}  // namespace tcpp::trainer
