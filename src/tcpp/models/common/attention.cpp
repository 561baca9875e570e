// Block-causal self-attention with a recomputing backward (see attention.h).
#include "tcpp/models/common/attention.h"

#include <c10/core/impl/LocalDispatchKeySet.h>
#include <torch/autograd.h>
#include <torch/torch.h>

#include <algorithm>
#include <limits>

#include "tcpp/models/common/autocast.h"
#include "tcpp/models/common/causal_attention_cpu.h"
#include "tcpp/models/common/modeling_utils.h"

namespace tcpp::models {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

int64_t pick_block_rows(int64_t T) {
  if (T <= 128) return T;
  return T >= 512 ? 128 : 64;
}

// Scores of queries [i0, i0 + n) against keys [0, i0 + n) in fp32, scaled, keys after each query set to the lowest
// float (exp gives 0, as eager attention's additive bias). q, k: (BH, T, D) contiguous; tri: (n0, n0) bool, true
// above the diagonal.
torch::Tensor block_scores(const torch::Tensor& q, const torch::Tensor& k, int64_t i0, int64_t n, double scale,
                           const torch::Tensor& tri) {
  const int64_t end = i0 + n;
  auto s = torch::bmm(q.narrow(1, i0, n), k.narrow(1, 0, end).transpose(1, 2));  // (BH, n, end)
  if (s.scalar_type() == torch::kFloat32) {
    s.mul_(scale);
  } else {
    s = (s * scale).to(torch::kFloat32);  // scaled in the low dtype, then upcast: eager_attention's order
  }
  s.narrow(2, i0, n).masked_fill_(tri.narrow(0, 0, n).narrow(1, 0, n), std::numeric_limits<float>::lowest());
  return s;
}

torch::Tensor upper_triangle(int64_t n, const torch::Device& device) {
  return torch::ones({n, n}, torch::TensorOptions().dtype(torch::kBool).device(device)).triu(1);
}

class CausalAttentionFunction : public torch::autograd::Function<CausalAttentionFunction> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& v, double scale, int64_t block_rows) {
    c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);  // dtypes are chosen below
    const int64_t B = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3), Dv = v.size(3);
    auto q3 = q.reshape({B * H, T, D}).contiguous();
    auto k3 = k.reshape({B * H, T, D}).contiguous();
    auto v3 = v.reshape({B * H, T, Dv}).contiguous();
    torch::Tensor out, lse;
    // float32 and bf16 on the CPU: the kernel. bf16 inputs as they are where oneDNN's bf16 GEMM runs (scores summed
    // in float32; the probabilities and dS rounded to bf16 for the products that take them, as eager attention's bf16
    // matmuls), else upcast to float32 for the CBLAS kernel (exact; then nothing is rounded to bf16 on the way).
    const bool kernel_dtype = q3.device().is_cpu() &&
                              (q3.scalar_type() == torch::kFloat32 || q3.scalar_type() == torch::kBFloat16);
    torch::Tensor qk, kk, vk;  // q, k, v in the kernel's input dtype (the same tensors when they already are)
    if (kernel_dtype) {
      const bool as_is = causal_attention_cpu_supports(q3, k3, v3);
      qk = as_is ? q3 : q3.to(torch::kFloat32);
      kk = as_is ? k3 : k3.to(torch::kFloat32);
      vk = as_is ? v3 : v3.to(torch::kFloat32);
    }
    if (kernel_dtype && causal_attention_cpu_supports(qk, kk, vk)) {
      torch::Tensor out32;
      causal_attention_cpu_forward(qk, kk, vk, scale, block_rows, out32, lse);
      out = out32.to(v3.scalar_type());
      ctx->save_for_backward({qk, kk, vk, out32, lse});
      ctx->saved_data["cpu_kernel_dtype"] = static_cast<int64_t>(q3.scalar_type());
    } else {
      forward_with_ops(q3, k3, v3, scale, block_rows, out, lse);
      ctx->save_for_backward({q3, k3, v3, out, lse});
    }
    ctx->saved_data["scale"] = scale;
    ctx->saved_data["block_rows"] = block_rows;
    ctx->saved_data["heads"] = H;
    return out.view({B, H, T, Dv});
  }

  // The same forward with LibTorch ops (any device and dtype).
  static void forward_with_ops(const torch::Tensor& q3, const torch::Tensor& k3, const torch::Tensor& v3, double scale,
                               int64_t block_rows, torch::Tensor& out, torch::Tensor& lse) {
    const int64_t BH = q3.size(0), T = q3.size(1), Dv = v3.size(2);
    const bool low = q3.scalar_type() != torch::kFloat32;
    out = torch::empty({BH, T, Dv}, v3.options());
    lse = torch::empty({BH, T, 1}, q3.options().dtype(torch::kFloat32));
    const auto tri = upper_triangle(std::min(block_rows, T), q3.device());
    for (int64_t i0 = 0; i0 < T; i0 += block_rows) {
      const int64_t n = std::min(block_rows, T - i0);
      auto s = block_scores(q3, k3, i0, n, scale, tri);
      auto m = std::get<0>(s.max(2, /*keepdim=*/true));
      s.sub_(m).exp_();
      auto sum = s.sum(2, /*keepdim=*/true);
      s.div_(sum);                                    // the probabilities, exactly softmax's arithmetic
      lse.narrow(1, i0, n).copy_(m.add_(sum.log_()));  // what backward needs to rebuild them
      auto p = low ? s.to(v3.scalar_type()) : s;
      out.narrow(1, i0, n).copy_(torch::bmm(p, v3.narrow(1, 0, i0 + n)));
    }
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
    const auto saved = ctx->get_saved_variables();
    const auto &q3 = saved[0], &k3 = saved[1], &v3 = saved[2], &out = saved[3], &lse = saved[4];
    const double scale = ctx->saved_data["scale"].toDouble();
    const int64_t block_rows = ctx->saved_data["block_rows"].toInt();
    const int64_t BH = q3.size(0), T = q3.size(1), D = q3.size(2), Dv = v3.size(2);
    const bool low = q3.scalar_type() != torch::kFloat32;
    const int64_t H = ctx->saved_data["heads"].toInt();
    if (ctx->saved_data.count("cpu_kernel_dtype")) {  // q, k, v saved in the kernel's input dtype, out in float32
      const auto dtype = static_cast<c10::ScalarType>(ctx->saved_data["cpu_kernel_dtype"].toInt());
      torch::Tensor dq, dk, dv;
      auto d_in = grad_outputs[0].reshape({BH, T, Dv}).to(q3.scalar_type()).contiguous();  // the kernel's input dtype
      causal_attention_cpu_backward(q3, k3, v3, out, lse, d_in, scale, block_rows, dq, dk, dv);
      return {dq.to(dtype).view({BH / H, H, T, D}), dk.to(dtype).view({BH / H, H, T, D}),
              dv.to(dtype).view({BH / H, H, T, Dv}), torch::Tensor(), torch::Tensor()};
    }
    auto d_out = grad_outputs[0].reshape({BH, T, Dv}).to(out.scalar_type()).contiguous();
    // delta_i = sum_j P_ij dP_ij = dO_i . O_i: the softmax backward's row term, from the outputs alone.
    auto delta = (d_out.to(torch::kFloat32) * out.to(torch::kFloat32)).sum(2, /*keepdim=*/true);  // (BH, T, 1)
    auto dq = torch::empty_like(q3);
    auto f32 = q3.options().dtype(torch::kFloat32);
    auto dk = torch::zeros({BH, T, D}, low ? f32 : q3.options());  // summed over query blocks (fp32 when low)
    auto dv = torch::zeros({BH, T, Dv}, low ? f32 : v3.options());
    const auto tri = upper_triangle(std::min(block_rows, T), q3.device());
    for (int64_t i0 = 0; i0 < T; i0 += block_rows) {
      const int64_t n = std::min(block_rows, T - i0), end = i0 + n;
      auto p = block_scores(q3, k3, i0, n, scale, tri);
      p.sub_(lse.narrow(1, i0, n)).exp_();  // (BH, n, end): the forward's probabilities
      auto d_out_b = d_out.narrow(1, i0, n);
      auto p_c = low ? p.to(v3.scalar_type()) : p;
      auto dv_b = dv.narrow(1, 0, end);
      if (low) dv_b.add_(torch::bmm(p_c.transpose(1, 2), d_out_b));
      else dv_b.baddbmm_(p_c.transpose(1, 2), d_out_b);
      auto ds = torch::bmm(d_out_b, v3.narrow(1, 0, end).transpose(1, 2));  // dP
      if (low) ds = ds.to(torch::kFloat32);
      ds.sub_(delta.narrow(1, i0, n)).mul_(p).mul_(scale);  // dS = P * (dP - delta), through the scale
      auto ds_c = low ? ds.to(q3.scalar_type()) : ds;
      dq.narrow(1, i0, n).copy_(torch::bmm(ds_c, k3.narrow(1, 0, end)));
      auto dk_b = dk.narrow(1, 0, end);
      if (low) dk_b.add_(torch::bmm(ds_c.transpose(1, 2), q3.narrow(1, i0, n)));
      else dk_b.baddbmm_(ds_c.transpose(1, 2), q3.narrow(1, i0, n));
    }
    if (low) {
      dk = dk.to(k3.scalar_type());
      dv = dv.to(v3.scalar_type());
    }
    return {dq.view({BH / H, H, T, D}), dk.view({BH / H, H, T, D}), dv.view({BH / H, H, T, Dv}), torch::Tensor(),
            torch::Tensor()};
  }
};

}  // namespace

torch::Tensor causal_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, double scale,
                               int64_t block_rows) {
  TORCH_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4, "causal_attention: q, k, v must be (B, H, T, D), got ",
              q.sizes(), ", ", k.sizes(), ", ", v.sizes());
  TORCH_CHECK(k.sizes() == q.sizes() && v.sizes().slice(0, 3) == q.sizes().slice(0, 3),
              "causal_attention: q, k, v must share (B, H, T) and q, k their head size, got ", q.sizes(), ", ",
              k.sizes(), ", ", v.sizes());
  if (block_rows <= 0) block_rows = pick_block_rows(q.size(2));
  // Under autocast the products run in its dtype, as eager attention's matmuls would (the function itself is
  // excluded from autocast, so the casts are made here, where autograd sees them).
  if (auto dtype = active_autocast_dtype(q.device().type()); dtype && q.is_floating_point())
    return CausalAttentionFunction::apply(q.to(*dtype), k.to(*dtype), v.to(*dtype), scale, block_rows);
  TORCH_CHECK(q.scalar_type() == k.scalar_type() && q.scalar_type() == v.scalar_type(),
              "causal_attention: q, k, v must share a dtype, got ", q.scalar_type(), ", ", k.scalar_type(), ", ",
              v.scalar_type());
  return CausalAttentionFunction::apply(q, k, v, scale, block_rows);
}

bool attention_mask_is_all_ones(const torch::Tensor& attention_mask) {
  return !attention_mask.defined() || attention_mask.numel() == 0 || attention_mask.eq(1).all().item<bool>();
}

torch::Tensor decoder_attention_bias(const torch::Tensor& attention_mask, int64_t T, int64_t past_length,
                                     bool dropout_active, torch::Device device) {
  if (past_length == 0 && !dropout_active && attention_mask_is_all_ones(attention_mask)) return {};
  return attention_bias(attention_mask, T, past_length, /*causal=*/true, torch::kFloat32, device);
}

torch::Tensor decoder_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                const torch::Tensor& bias, double scale, double dropout_p, bool training) {
  const bool dropout_active = dropout_p > 0 && training;
  if (!bias.defined() && q.size(2) > 1 && q.size(2) == k.size(2) && !dropout_active)
    return causal_attention(q, k, v, scale);
  return eager_attention(q, k, v, bias, scale, dropout_p, training);
}

}  // namespace tcpp::models
