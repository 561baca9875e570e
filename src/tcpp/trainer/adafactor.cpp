// Adafactor with transformers' arithmetic, step by step (Adafactor.step in transformers/optimization.py): the
// same operations in the same order, so a run matches the Python Trainer's to float rounding.
#include "tcpp/trainer/adafactor.h"

#include <torch/optim/serialize.h>

#include <algorithm>
#include <cmath>

#include "tcpp/core/error.h"
#include "tcpp/trainer/fused_adamw.h"

namespace tcpp::trainer {
namespace {

// Adafactor._rms: the L2 norm over sqrt(numel).
torch::Tensor rms(const torch::Tensor& t) { return t.norm(2) / std::sqrt(static_cast<double>(t.numel())); }

// Adafactor._get_lr.
double step_size(const AdafactorOptions& o, const AdafactorParamState& s) {
  double rel = o.lr();
  if (o.relative_step()) {
    const double min_step = o.warmup_init() ? 1e-6 * static_cast<double>(s.step()) : 1e-2;
    rel = std::min(min_step, 1.0 / std::sqrt(static_cast<double>(s.step())));
  }
  const double scale = o.scale_parameter() ? std::max(o.eps2(), s.rms()) : 1.0;
  return scale * rel;
}

// Adafactor._approx_sq_grad.
torch::Tensor approx_sq_grad(const torch::Tensor& row, const torch::Tensor& col) {
  auto r = (row / row.mean(-1, /*keepdim=*/true)).rsqrt_().unsqueeze(-1);
  auto c = col.unsqueeze(-2).rsqrt();
  return torch::mul(r, c);
}

}  // namespace

FactoredShapes adafactor_factored_shapes(at::IntArrayRef sizes) {
  FactoredShapes out{sizes.vec(), sizes.vec()};
  if (sizes.size() >= 2) {
    out.row.pop_back();
    out.col.erase(out.col.end() - 2);
  }
  return out;
}

void AdafactorOptions::serialize(torch::serialize::OutputArchive& archive) const {
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(lr);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(eps1);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(eps2);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(clip_threshold);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(decay_rate);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(beta1);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(weight_decay);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(scale_parameter);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(relative_step);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(warmup_init);
}

void AdafactorOptions::serialize(torch::serialize::InputArchive& archive) {
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, lr);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, eps1);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, eps2);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, clip_threshold);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, decay_rate);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, beta1);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, weight_decay);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(bool, scale_parameter);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(bool, relative_step);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(bool, warmup_init);
}

void AdafactorParamState::serialize(torch::serialize::OutputArchive& archive) const {
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(step);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(exp_avg);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(exp_avg_sq_row);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(exp_avg_sq_col);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(exp_avg_sq);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(rms);
}

void AdafactorParamState::serialize(torch::serialize::InputArchive& archive) {
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(int64_t, step);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(torch::Tensor, exp_avg);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(torch::Tensor, exp_avg_sq_row);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(torch::Tensor, exp_avg_sq_col);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(torch::Tensor, exp_avg_sq);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, rms);
}

Adafactor::Adafactor(std::vector<torch::optim::OptimizerParamGroup> param_groups, AdafactorOptions defaults)
    : torch::optim::Optimizer(param_groups, std::make_unique<AdafactorOptions>(defaults)) {
  // LibTorch >= 2.x merges each group's options with the defaults only for its own optimizer types and gives a
  // group of any other type the defaults: each group gets its own options back (a no-op on 1.13).
  for (size_t i = 0; i < param_groups.size(); ++i)
    if (param_groups[i].has_options())
      this->param_groups()[i].set_options(param_groups[i].options().clone());
  // HF: "Cannot combine manual `lr` and `relative_step=True` options" (it takes lr=None as no manual lr; here a
  // relative step ignores lr, so only the second check applies).
  if (defaults.warmup_init() && !defaults.relative_step())
    throw InputError("optim_args", "adafactor: warmup_init=True requires relative_step=True");
}

torch::Tensor Adafactor::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  torch::Tensor loss;
  if (closure) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }
  for (auto& group : param_groups()) {
    const auto& o = static_cast<const AdafactorOptions&>(group.options());
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      torch::Tensor grad = p.grad();
      if (grad.scalar_type() == torch::kFloat16 || grad.scalar_type() == torch::kBFloat16)
        grad = grad.to(torch::kFloat32);
      const bool factored = grad.dim() >= 2;
      const bool first_moment = o.beta1() >= 0;
      auto& states = state();
      const auto key = optimizer_state_key(states, p);
      auto it = states.find(key);
      if (it == states.end()) {
        auto s = std::make_unique<AdafactorParamState>();
        if (first_moment) s->exp_avg(torch::zeros_like(grad));
        if (factored) {
          const auto shapes = adafactor_factored_shapes(grad.sizes());
          s->exp_avg_sq_row(torch::zeros(shapes.row, grad.options()));
          s->exp_avg_sq_col(torch::zeros(shapes.col, grad.options()));
        } else {
          s->exp_avg_sq(torch::zeros_like(grad));
        }
        it = states.emplace(key, std::move(s)).first;
      }
      auto& s = static_cast<AdafactorParamState&>(*it->second);
      torch::Tensor p32 = p;
      const bool low = p.scalar_type() == torch::kFloat16 || p.scalar_type() == torch::kBFloat16;
      if (low) p32 = p.to(torch::kFloat32);
      s.step(s.step() + 1);
      s.rms(rms(p32).item<double>());
      const double lr = step_size(o, s);
      const double beta2t = 1.0 - std::pow(static_cast<double>(s.step()), o.decay_rate());
      torch::Tensor update = grad.pow(2) + o.eps1();
      if (factored) {
        s.exp_avg_sq_row().mul_(beta2t).add_(update.mean(-1), 1.0 - beta2t);
        s.exp_avg_sq_col().mul_(beta2t).add_(update.mean(-2), 1.0 - beta2t);
        update = approx_sq_grad(s.exp_avg_sq_row(), s.exp_avg_sq_col());
        update.mul_(grad);
      } else {
        s.exp_avg_sq().mul_(beta2t).add_(update, 1.0 - beta2t);
        update = s.exp_avg_sq().rsqrt().mul_(grad);
      }
      update.div_((rms(update) / o.clip_threshold()).clamp_(1.0));
      update.mul_(lr);
      if (first_moment) {
        s.exp_avg().mul_(o.beta1()).add_(update, 1.0 - o.beta1());
        update = s.exp_avg();
      }
      if (o.weight_decay() != 0) p32.add_(p32, -o.weight_decay() * lr);
      p32.add_(-update);
      if (low) p.copy_(p32);
    }
  }
  return loss;
}

void Adafactor::save(torch::serialize::OutputArchive& archive) const {
  torch::optim::serialize<AdafactorParamState, AdafactorOptions>(archive, *this);
}

void Adafactor::load(torch::serialize::InputArchive& archive) {
  torch::optim::serialize<AdafactorParamState, AdafactorOptions>(archive, *this);
}

}  // namespace tcpp::trainer
