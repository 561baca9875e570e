// Fused LM head + cross-entropy: chunked logits, gradients made in the forward pass.
#include "tcpp/models/common/linear_cross_entropy.h"

#include <torch/autograd.h>
#include <c10/core/impl/LocalDispatchKeySet.h>
#include <torch/torch.h>

#include <algorithm>

#include "tcpp/models/common/autocast.h"
#include "tcpp/models/common/bf16_gemm.h"
#include "tcpp/models/common/modeling_utils.h"
#include "tcpp/models/common/softmax_cross_entropy_cpu.h"

namespace tcpp::models {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// At most 256 MB of logits per chunk (64M floats, 128M bf16): 1 or 2 chunks for issue #8's shapes (2048 or 1024
// rows of GPT-2's 50257). Each chunk packs the (V, C) weight for two GEMMs and adds into d_weight (V, C), so fewer
// chunks mean less of that traffic per row; the fused head's memory still stays below the unfused logits' (B*T, V)
// float32 tensor and its gradient.
constexpr int64_t kLogitsBytesPerChunk = int64_t(256) << 20;

// out = a @ b + beta * out in float32, for bfloat16 a and b: oneDNN's GEMM where it runs, else LibTorch's bfloat16 mm
// (its product rounded to bfloat16) upcast.
void mm_bf16_into_f32(const torch::Tensor& a, const torch::Tensor& b, torch::Tensor& out, float beta) {
  if (gemm_bf16_f32(a, b, out, beta)) return;
  if (beta == 0.0f) out.copy_(torch::mm(a, b));
  else out.add_(torch::mm(a, b));
}

class LinearCrossEntropyFunction : public torch::autograd::Function<LinearCrossEntropyFunction> {
 public:
  // denominator: what the summed loss is divided by (count of labels, or num_items_in_batch). compute: the dtype of
  // the head's matmuls (float32, or the autocast / model dtype); the logits are upcast to float32 for the loss, as
  // transformers' loss functions do, and their gradient is cast back to `compute` for the two backward matmuls.
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& hidden, const torch::Tensor& weight,
                               const torch::Tensor& labels, double denominator, int64_t chunk_rows,
                               c10::ScalarType compute) {
    // Every cast below is explicit; autocast must not re-cast the fp32 loss math or the out= matmuls.
    c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
    const int64_t N = hidden.size(0);
    const bool low = compute != torch::kFloat32;
    auto w = weight.to(compute);                                                   // cast once, as autocast's cache
    auto d_hidden = torch::empty_like(hidden);
    // Summed over chunks, written by the first; with no rows there is no chunk, and the gradient is zero.
    auto d_weight = N == 0 ? torch::zeros(weight.sizes(), weight.options().dtype(torch::kFloat32))
                           : torch::empty(weight.sizes(), weight.options().dtype(torch::kFloat32));
    auto loss_sum = torch::zeros({}, hidden.options().dtype(torch::kFloat32));
    const double grad_scale = denominator > 0 ? 1.0 / denominator : 0.0;
    // bfloat16 on the CPU with oneDNN's bf16 x bf16 -> f32 GEMM: up to 5x LibTorch's bfloat16 mm on the head's
    // shapes (50257 outputs per row), the whole head 1.4x (bench/lm_loss_bench --head 384 --bf16 1). The values stay
    // those of the bfloat16 ops: the logits are rounded to bfloat16 before the loss, d_hidden after its GEMM, and
    // d_weight once after the last chunk (as the unfused head's single bfloat16 GEMM over all rows; chunks add in
    // float32 in between).
    const bool f32_gemm = compute == torch::kBFloat16 && hidden.device().is_cpu() && bf16_gemm_available();
    for (int64_t start = 0; start < N; start += chunk_rows) {
      const int64_t n = std::min(chunk_rows, N - start);
      auto h = hidden.narrow(0, start, n).to(compute);
      auto y = labels.narrow(0, start, n);
      if (f32_gemm) {
        auto logits = torch::empty({n, w.size(0)}, hidden.options().dtype(torch::kFloat32));
        mm_bf16_into_f32(h, w.t(), logits, 0.0f);
        auto [loss, g] = softmax_cross_entropy_grad_bf16_from_f32_cpu(logits, y, grad_scale);  // g: bf16 view
        loss_sum.add_(loss);
        auto dh = d_hidden.narrow(0, start, n);
        auto dh32 = dh.scalar_type() == torch::kFloat32 ? dh
                                                        : torch::empty(dh.sizes(), dh.options().dtype(torch::kFloat32));
        mm_bf16_into_f32(g, w, dh32, 0.0f);
        dh.copy_(dh32.to(compute));  // the bfloat16 product, as mm's output
        mm_bf16_into_f32(g.t(), h, d_weight, start == 0 ? 0.0f : 1.0f);
        continue;
      }
      auto logits = torch::mm(h, w.t());                                    // (n, V)
      torch::Tensor g;
      if (softmax_cross_entropy_cpu_supports(logits)) {
        // One pass per row, in the logits' own dtype (bf16 logits are read as float32, as the upcast below does).
        loss_sum.add_(softmax_cross_entropy_grad_cpu(logits, y, grad_scale));
        g = logits;
      } else {
        auto counted = y.ne(kIgnoreIndex).to(torch::kFloat32).unsqueeze(1);  // (n, 1)
        auto target = y.clamp_min(0).unsqueeze(1);                            // (n, 1)
        if (low) logits = logits.to(torch::kFloat32);
        auto lse = torch::logsumexp(logits, 1, /*keepdim=*/true);  // (n, 1)
        loss_sum.add_(((lse - logits.gather(1, target)) * counted).sum());
        // d loss_sum / d logits = softmax - one_hot(target) on counted rows; in place over the logits.
        logits.sub_(lse).exp_();
        logits.scatter_add_(1, target, -counted);
        logits.mul_(counted * grad_scale);
        g = low ? logits.to(compute) : logits;
      }
      auto dh = d_hidden.narrow(0, start, n);
      if (dh.scalar_type() == compute) torch::mm_out(dh, g, w);  // (n, C)
      else dh.copy_(torch::mm(g, w));
      // (V, C): the first chunk writes d_weight, the others add to it; in low precision each chunk's product is
      // rounded to `compute`, then summed in float32.
      if (!low && start == 0) torch::mm_out(d_weight, g.t(), h);
      else if (!low) d_weight.addmm_(g.t(), h);
      else if (start == 0) d_weight.copy_(torch::mm(g.t(), h));
      else d_weight.add_(torch::mm(g.t(), h));
    }
    if (f32_gemm) d_weight = d_weight.to(compute);
    ctx->save_for_backward({d_hidden, d_weight.to(weight.scalar_type())});
    return loss_sum / denominator;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    auto saved = ctx->get_saved_variables();
    const auto& g = grad_outputs[0];  // scalar
    // loss.backward() sends 1: hand the saved gradients over as they are instead of allocating scaled copies (the
    // head's is vocab x hidden, 154 MB for GPT-2, at the moment activations peak). Checked on the CPU only, where
    // reading the value costs no device sync.
    if (g.device().is_cpu() && g.numel() == 1 && g.item<double>() == 1.0)
      return {saved[0], saved[1], torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
    return {saved[0] * g, saved[1] * g, torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

int64_t fused_head_chunk_rows(int64_t rows, int64_t vocab, int64_t logit_bytes) {
  const int64_t max_rows =
      std::max<int64_t>(64, kLogitsBytesPerChunk / (std::max<int64_t>(logit_bytes, 1) * std::max<int64_t>(vocab, 1)));
  if (rows <= max_rows) return std::max<int64_t>(rows, 1);
  const int64_t chunks = (rows + max_rows - 1) / max_rows;
  return (rows + chunks - 1) / chunks;  // as many chunks as the cap needs, of equal size: no short last chunk
}

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
  // As lm_head under autocast: the matmuls run in the autocast dtype; otherwise in the weight's own dtype.
  const auto compute = active_autocast_dtype(hidden.device().type()).value_or(weight.scalar_type());
  // The CPU kernel keeps bf16 logits as they are; elsewhere low-precision logits get a float32 copy as well.
  // With oneDNN's GEMM they are float32 as they come out of it.
  const bool bf16_logits = hidden.device().is_cpu() && compute == torch::kBFloat16 && !bf16_gemm_available();
  const int64_t logit_bytes = bf16_logits ? 2 : static_cast<int64_t>(sizeof(float));
  if (chunk_rows <= 0) chunk_rows = fused_head_chunk_rows(hidden.size(0), V, logit_bytes);
  return LinearCrossEntropyFunction::apply(hidden, weight, y, denominator, chunk_rows, compute);
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
         hidden.is_floating_point() && weight.is_floating_point();
}

}  // namespace tcpp::models
