// Fused LM head + cross-entropy: chunked logits, gradients made in the forward pass.
#include "tcpp/models/common/linear_cross_entropy.h"

#include <torch/autograd.h>
#include <torch/torch.h>

#include <algorithm>

#include "tcpp/models/common/modeling_utils.h"

namespace tcpp::models {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr int64_t kLogitsPerChunk = int64_t(1) << 24;  // 16M floats = 64 MB of logits per chunk

class LinearCrossEntropyFunction : public torch::autograd::Function<LinearCrossEntropyFunction> {
 public:
  // denominator: what the summed loss is divided by (count of labels, or num_items_in_batch).
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& hidden, const torch::Tensor& weight,
                               const torch::Tensor& labels, double denominator, int64_t chunk_rows) {
    const int64_t N = hidden.size(0);
    auto d_hidden = torch::empty_like(hidden);
    auto d_weight = torch::zeros_like(weight);
    auto loss_sum = torch::zeros({}, hidden.options());
    const double grad_scale = denominator > 0 ? 1.0 / denominator : 0.0;
    for (int64_t start = 0; start < N; start += chunk_rows) {
      const int64_t n = std::min(chunk_rows, N - start);
      auto h = hidden.narrow(0, start, n);
      auto y = labels.narrow(0, start, n);
      auto counted = y.ne(kIgnoreIndex).to(hidden.scalar_type()).unsqueeze(1);  // (n, 1)
      auto target = y.clamp_min(0).unsqueeze(1);                                 // (n, 1)
      auto logits = torch::mm(h, weight.t());                                    // (n, V)
      auto lse = torch::logsumexp(logits, 1, /*keepdim=*/true);                  // (n, 1)
      loss_sum.add_(((lse - logits.gather(1, target)) * counted).sum());
      // d loss_sum / d logits = softmax - one_hot(target) on counted rows; in place over the logits.
      logits.sub_(lse).exp_();
      logits.scatter_add_(1, target, -counted);
      logits.mul_(counted * grad_scale);
      auto dh = d_hidden.narrow(0, start, n);
      torch::mm_out(dh, logits, weight);  // (n, C)
      d_weight.addmm_(logits.t(), h);     // (V, C)
    }
    ctx->save_for_backward({d_hidden, d_weight});
    return loss_sum / denominator;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    auto saved = ctx->get_saved_variables();
    const auto& g = grad_outputs[0];  // scalar
    return {saved[0] * g, saved[1] * g, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor linear_cross_entropy(const torch::Tensor& hidden, const torch::Tensor& weight, const torch::Tensor& labels,
                                   std::optional<int64_t> num_items_in_batch, int64_t chunk_rows) {
  TORCH_CHECK(hidden.dim() == 2 && weight.dim() == 2 && hidden.size(1) == weight.size(1),
              "linear_cross_entropy: hidden (N, C) and weight (V, C) expected, got ", hidden.sizes(), " and ",
              weight.sizes());
  TORCH_CHECK(labels.dim() == 1 && labels.size(0) == hidden.size(0), "linear_cross_entropy: labels (N) expected, got ",
              labels.sizes());
  const int64_t V = weight.size(0);
  auto y = labels.to(hidden.device(), torch::kLong);
  auto counted = y.ne(kIgnoreIndex);
  // As nll_loss: a label outside [0, V) that is not ignored is an error, not a silent gather out of range.
  auto bad = counted.logical_and(y.lt(0).logical_or(y.ge(V)));
  TORCH_CHECK(!bad.any().item<bool>(), "Target ", y.masked_select(bad)[0].item<int64_t>(), " is out of bounds (vocab ",
              V, ")");
  const double denominator =
      num_items_in_batch ? static_cast<double>(*num_items_in_batch) : static_cast<double>(counted.sum().item<int64_t>());
  if (chunk_rows <= 0) chunk_rows = std::max<int64_t>(64, kLogitsPerChunk / std::max<int64_t>(V, 1));
  return LinearCrossEntropyFunction::apply(hidden, weight, y, denominator, chunk_rows);
}

torch::Tensor causal_lm_loss_from_hidden(const torch::Tensor& hidden, const torch::Tensor& weight,
                                         const torch::Tensor& labels, std::optional<int64_t> num_items_in_batch) {
  const int64_t C = hidden.size(-1);
  auto labels_on = labels.to(hidden.device(), torch::kLong);
  // As causal_lm_loss: pad with -100 and drop the first label, so position t is scored against label t + 1.
  auto shifted = torch::constant_pad_nd(labels_on, {0, 1}, kIgnoreIndex).slice(1, 1);
  return linear_cross_entropy(hidden.reshape({-1, C}), weight, shifted.reshape({-1}), num_items_in_batch);
}

bool use_fused_lm_loss(bool logits_optional, bool training, const torch::Tensor& labels, const torch::Tensor& hidden,
                       const torch::Tensor& weight) {
  return logits_optional && training && torch::GradMode::is_enabled() && labels.defined() &&
         hidden.scalar_type() == torch::kFloat32 && weight.scalar_type() == torch::kFloat32;
}

}  // namespace tcpp::models
