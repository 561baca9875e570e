// One-pass AdamW over float32 CPU parameters.
#include "tcpp/trainer/fused_adamw.h"

#include <ATen/Parallel.h>

#include <cmath>

namespace tcpp::trainer {
namespace {

struct AdamWStep {
  float decay;          // 1 - lr * weight_decay
  float beta1, one_minus_beta1;
  float beta2, one_minus_beta2;
  float bias_correction2_sqrt;
  float eps;
  float neg_step_size;  // -lr / bias_correction1
};

// The element-wise order of torch.optim.AdamW's single-tensor update: p *= 1 - lr*wd; m = m*b1 + (1-b1)*g;
// v = v*b2 + (1-b2)*g*g; p += -step_size * m / (sqrt(v) / sqrt(bc2) + eps). Plain loops the compiler vectorises.
void update_range(const AdamWStep& s, float* __restrict p, const float* __restrict g, float* __restrict m,
                  float* __restrict v, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    const float gi = g[i];
    const float mi = m[i] * s.beta1 + s.one_minus_beta1 * gi;
    const float vi = v[i] * s.beta2 + s.one_minus_beta2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    const float denom = std::sqrt(vi) / s.bias_correction2_sqrt + s.eps;
    p[i] = p[i] * s.decay + s.neg_step_size * (mi / denom);
  }
}

bool fusable(const torch::Tensor& p, const torch::Tensor& g, const torch::Tensor& m, const torch::Tensor& v) {
  for (const auto* t : {&p, &g, &m, &v}) {
    if (!t->device().is_cpu() || t->scalar_type() != torch::kFloat32 || !t->is_contiguous() || t->is_sparse())
      return false;
  }
  return g.numel() == p.numel() && m.numel() == p.numel() && v.numel() == p.numel();
}

}  // namespace

torch::Tensor FusedAdamW::step(LossClosure closure) {
  for (const auto& group : param_groups_) {
    if (static_cast<const torch::optim::AdamWOptions&>(group.options()).amsgrad()) return AdamW::step(closure);
  }
  torch::NoGradGuard no_grad;
  torch::Tensor loss;
  if (closure != nullptr) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }
  std::vector<torch::Tensor> unfused;
  for (auto& group : param_groups_) {
    const auto& options = static_cast<const torch::optim::AdamWOptions&>(group.options());
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      const auto key = optimizer_state_key(state_, p);
      auto it = state_.find(key);
      if (it == state_.end()) {  // as LibTorch's AdamW: step 0 and zero moments on first use
        auto fresh = std::make_unique<torch::optim::AdamWParamState>();
        fresh->step(0);
        fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        it = state_.emplace(key, std::move(fresh)).first;
      }
      auto& state = static_cast<torch::optim::AdamWParamState&>(*it->second);
      const auto& grad = p.grad();
      const double lr = options.lr();
      const double beta1 = std::get<0>(options.betas());
      const double beta2 = std::get<1>(options.betas());
      state.step(state.step() + 1);
      const double bias_correction1 = 1.0 - std::pow(beta1, static_cast<double>(state.step()));
      const double bias_correction2 = 1.0 - std::pow(beta2, static_cast<double>(state.step()));
      if (!fusable(p, grad, state.exp_avg(), state.exp_avg_sq())) {
        // LibTorch's AdamW update, op by op (CUDA, half types, strided tensors).
        if (options.weight_decay() != 0) p.mul_(1 - lr * options.weight_decay());
        state.exp_avg().mul_(beta1).add_(grad, 1 - beta1);
        state.exp_avg_sq().mul_(beta2).addcmul_(grad, grad, 1 - beta2);
        auto denom = (state.exp_avg_sq().sqrt() / std::sqrt(bias_correction2)).add_(options.eps());
        p.addcdiv_(state.exp_avg(), denom, -lr / bias_correction1);
        continue;
      }
      AdamWStep s{};
      s.decay = static_cast<float>(1.0 - lr * options.weight_decay());
      s.beta1 = static_cast<float>(beta1);
      s.one_minus_beta1 = static_cast<float>(1.0 - beta1);
      s.beta2 = static_cast<float>(beta2);
      s.one_minus_beta2 = static_cast<float>(1.0 - beta2);
      s.bias_correction2_sqrt = static_cast<float>(std::sqrt(bias_correction2));
      s.eps = static_cast<float>(options.eps());
      s.neg_step_size = static_cast<float>(-lr / bias_correction1);
      float* pp = p.data_ptr<float>();
      const float* gp = grad.data_ptr<float>();
      float* mp = state.exp_avg().data_ptr<float>();
      float* vp = state.exp_avg_sq().data_ptr<float>();
      at::parallel_for(0, p.numel(), /*grain_size=*/1 << 15,
                       [&](int64_t begin, int64_t end) { update_range(s, pp, gp, mp, vp, begin, end); });
    }
  }
  return loss;
}

void zero_grad_set_to_none(torch::optim::Optimizer& optimizer) {
  for (auto& group : optimizer.param_groups()) {
    for (auto& p : group.params()) {
      if (p.grad().defined()) p.mutable_grad() = torch::Tensor();
    }
  }
}

}  // namespace tcpp::trainer
