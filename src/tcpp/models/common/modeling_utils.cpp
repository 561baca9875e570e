// Shared model pieces: Conv1D, initialisation, masks, eager attention, losses.
#include "tcpp/models/common/modeling_utils.h"

#include <cmath>
#include <limits>
#include <string>
#include <type_traits>

#include "tcpp/core/error.h"

namespace tcpp::models {

Conv1DImpl::Conv1DImpl(int64_t in_features, int64_t out_features) {
  weight = register_parameter("weight", torch::empty({in_features, out_features}));
  bias = register_parameter("bias", torch::zeros({out_features}));
  init_normal_(weight, 0.02);
}

torch::Tensor Conv1DImpl::forward(const torch::Tensor& x) {
  return torch::matmul(x, weight) + bias;  // (..., in) @ (in, out)
}

void init_normal_(const torch::Tensor& weight, double std) {
  torch::NoGradGuard no_grad;
  weight.normal_(0.0, std);
}

void init_linear_(torch::nn::Linear& linear, double std) {
  torch::NoGradGuard no_grad;
  linear->weight.normal_(0.0, std);
  if (linear->bias.defined()) linear->bias.zero_();
}

void init_conv1d_(Conv1D& conv, double std) {
  torch::NoGradGuard no_grad;
  conv->weight.normal_(0.0, std);
  conv->bias.zero_();
}

void init_embedding_(torch::nn::Embedding& embedding, double std) {
  torch::NoGradGuard no_grad;
  embedding->weight.normal_(0.0, std);
  if (auto pad = embedding->options.padding_idx()) embedding->weight[*pad].zero_();
}

namespace {

void check_num_tokens(int64_t new_num_tokens) {
  if (new_num_tokens < 1)
    throw InputError("resize_token_embeddings", "new_num_tokens must be at least 1, got " +
                                                    std::to_string(new_num_tokens));
}

// _init_added_embeddings_weights_with_mean: `added` rows for a (V, C) token matrix.
torch::Tensor added_rows_with_mean(const torch::Tensor& weight, int64_t added) {
  const int64_t V = weight.size(0), C = weight.size(1);
  auto w = weight.detach().to(torch::kFloat32);
  auto mean = w.mean(0);                                                     // (C)
  auto centered = w - mean;                                                  // (V, C)
  auto covariance = centered.t().matmul(centered) / static_cast<double>(V);  // (C, C)
  auto scaled = covariance * 1e-9;
  // torch.distributions.constraints.positive_definite: symmetric (isclose, atol 1e-6) and Cholesky succeeds.
  // With fewer rows than channels the covariance is singular and the rows are all the mean.
  const bool symmetric = torch::isclose(scaled, scaled.t(), /*rtol=*/1e-5, /*atol=*/1e-6).all().item<bool>();
  if (symmetric) {
    auto [scale_tril, info] = torch::linalg_cholesky_ex(scaled);
    if (info.item<int64_t>() == 0) {
      // MultivariateNormal(mean, scaled).sample((added,)): mean + L @ eps, eps ~ N(0, 1) drawn as (added, C) in fp32.
      auto eps = torch::empty({added, C}, w.options()).normal_();
      auto rows = mean + torch::matmul(scale_tril, eps.unsqueeze(-1)).squeeze(-1);
      return rows.to(weight.scalar_type());
    }
  }
  return mean.unsqueeze(0).repeat({added, 1}).to(weight.scalar_type());
}

// The first min(V, n) rows of `old`, then `added` rows (or nothing when shrinking).
torch::Tensor kept_then_added(const torch::Tensor& old, int64_t new_num_tokens, const torch::Tensor& added) {
  auto kept = old.detach().slice(0, 0, std::min(old.size(0), new_num_tokens));
  return added.defined() ? torch::cat({kept, added}, 0) : kept.clone();
}

void set_data(torch::Tensor& param, const torch::Tensor& values) {
  const bool requires_grad = param.requires_grad();
  param.set_data(values.contiguous());
  param.requires_grad_(requires_grad);
}

}  // namespace

void resize_embedding_(torch::nn::Embedding& embedding, int64_t new_num_tokens) {
  check_num_tokens(new_num_tokens);
  torch::NoGradGuard no_grad;
  auto& weight = embedding->weight;
  const int64_t V = weight.size(0), C = weight.size(1);
  if (V == new_num_tokens) return;
  // HF builds nn.Embedding(new_num_tokens, C), whose reset_parameters draws normal_ over it; the values are replaced.
  torch::empty({new_num_tokens, C}, weight.options()).normal_();
  torch::Tensor added;
  if (new_num_tokens > V) added = added_rows_with_mean(weight, new_num_tokens - V);
  set_data(weight, kept_then_added(weight, new_num_tokens, added));
  embedding->options.num_embeddings(new_num_tokens);
  if (auto pad = embedding->options.padding_idx(); pad && *pad > new_num_tokens - 1) {
    using PaddingIdx = std::decay_t<decltype(pad)>;  // c10::optional (LibTorch 1.x) or std::optional (2.x)
    embedding->options.padding_idx(PaddingIdx());
  }
}

void resize_lm_head_(torch::Tensor& weight, torch::Tensor* bias, int64_t new_num_tokens) {
  check_num_tokens(new_num_tokens);
  torch::NoGradGuard no_grad;
  const int64_t V = weight.size(0), C = weight.size(1);
  if (V == new_num_tokens) return;
  const bool has_bias = bias != nullptr && bias->defined();
  // HF builds nn.Linear(C, new_num_tokens, bias=has_bias): kaiming_uniform_ on the weight, uniform_ on the bias.
  torch::empty({new_num_tokens, C}, weight.options()).uniform_();
  if (has_bias) torch::empty({new_num_tokens}, bias->options()).uniform_();
  const int64_t added = new_num_tokens - V;
  torch::Tensor added_rows, added_bias;
  if (added > 0) {
    added_rows = added_rows_with_mean(weight, added);
    if (has_bias) {
      // _init_added_lm_head_bias_with_mean: normal(mean, 1e-9 * std) of the old bias (std unbiased, as torch.std).
      const double mean = bias->detach().to(torch::kFloat32).mean().item<double>();
      double std = bias->detach().std().to(torch::kFloat32).item<double>();
      if (!std::isfinite(std)) std = 0.0;  // one old entry: torch.std is nan; the new entries are then the mean
      added_bias = torch::empty({added}, bias->options()).normal_(mean, 1e-9 * std);
    }
  }
  set_data(weight, kept_then_added(weight, new_num_tokens, added_rows));
  if (has_bias) set_data(*bias, kept_then_added(*bias, new_num_tokens, added_bias));
}

void resize_tied_bias_(torch::Tensor& bias, int64_t new_num_tokens) {
  check_num_tokens(new_num_tokens);
  torch::NoGradGuard no_grad;
  const int64_t V = bias.size(0);
  if (V == new_num_tokens) return;
  torch::Tensor added;
  if (new_num_tokens > V) added = torch::zeros({new_num_tokens - V}, bias.options());
  set_data(bias, kept_then_added(bias, new_num_tokens, added));
}

torch::Tensor attention_bias(const torch::Tensor& attention_mask, int64_t T, int64_t past_length, bool causal,
                             torch::Dtype dtype, torch::Device device) {
  const int64_t S = past_length + T;
  torch::Tensor blocked;  // true = may not attend
  if (causal && T > 1) {
    auto q_pos = torch::arange(past_length, S, torch::TensorOptions().dtype(torch::kLong).device(device)).unsqueeze(1);
    auto k_pos = torch::arange(S, torch::TensorOptions().dtype(torch::kLong).device(device)).unsqueeze(0);
    blocked = (k_pos > q_pos).view({1, 1, T, S});
  }
  if (attention_mask.defined()) {
    TORCH_CHECK(attention_mask.dim() == 2 && attention_mask.size(1) == S, "attention_mask must be (B, ", S,
                "), got ", attention_mask.sizes());
    auto pad = (attention_mask.to(device) == 0).view({attention_mask.size(0), 1, 1, S});
    blocked = blocked.defined() ? torch::logical_or(blocked, pad) : pad;
  }
  if (!blocked.defined()) return {};
  auto opts = torch::TensorOptions().dtype(dtype).device(device);
  auto lowest = torch::scalar_tensor(std::numeric_limits<float>::lowest(), opts);
  if (dtype == torch::kFloat64) lowest = torch::scalar_tensor(std::numeric_limits<double>::lowest(), opts);
  if (dtype == torch::kBFloat16 || dtype == torch::kFloat16)
    lowest = torch::scalar_tensor(dtype == torch::kFloat16 ? -65504.0 : -3.3895313892515355e38, opts);
  return torch::where(blocked, lowest, torch::zeros({}, opts));
}

torch::Tensor add_neftune_noise(const torch::Tensor& embeds, double alpha) {
  TORCH_CHECK(embeds.dim() == 3, "NEFTune expects embeddings (B, T, C), got ", embeds.dim(), " dimensions");
  // The hook: dims = torch.tensor(T * C); mag_norm = alpha / torch.sqrt(dims), a float32 tensor (Python's
  // scalar / tensor is tensor.reciprocal() * scalar); noise = zeros_like(embeds).uniform_(-mag_norm, mag_norm).
  const float root = std::sqrt(static_cast<float>(embeds.size(1) * embeds.size(2)));
  const float mag = (1.0F / root) * static_cast<float>(alpha);
  return embeds + torch::zeros_like(embeds).uniform_(-static_cast<double>(mag), static_cast<double>(mag));
}

torch::Tensor layer_norm_in_weight_dtype(torch::nn::LayerNorm& norm, const torch::Tensor& x) {
  const auto dtype = norm->weight.defined() ? norm->weight.scalar_type() : x.scalar_type();
  return norm(x.scalar_type() == dtype ? x : x.to(dtype));
}

torch::Tensor eager_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                              const torch::Tensor& bias, double scale, double dropout_p, bool training) {
  torch::Tensor w;
  if (q.scalar_type() == torch::kFloat32) {
    // Scaled and masked in place: matmul's and add's gradients need neither result, so only softmax's output stays
    // alive for backward (one (B, H, T, S) tensor per layer instead of three).
    w = torch::matmul(q, k.transpose(-1, -2));  // (B, H, T, S)
    w.mul_(scale);
    if (bias.defined()) w.add_(bias.to(torch::kFloat32));
  } else {
    w = (torch::matmul(q, k.transpose(-1, -2)) * scale).to(torch::kFloat32);
    if (bias.defined()) w = w + bias.to(torch::kFloat32);  // in fp32, so lowest + score cannot overflow to -inf
  }
  w = torch::softmax(w, -1).to(q.scalar_type());
  if (dropout_p > 0 && training) w = torch::dropout(w, dropout_p, /*train=*/true);
  return torch::matmul(w, v);  // (B, H, T, D)
}

namespace {

torch::Tensor reduce_cross_entropy(const torch::Tensor& logits2d, const torch::Tensor& labels1d,
                                   std::optional<int64_t> num_items_in_batch) {
  namespace F = torch::nn::functional;
  if (num_items_in_batch) {
    auto sum = F::cross_entropy(logits2d, labels1d,
                                F::CrossEntropyFuncOptions().ignore_index(kIgnoreIndex).reduction(torch::kSum));
    return sum / static_cast<double>(*num_items_in_batch);
  }
  return F::cross_entropy(logits2d, labels1d,
                          F::CrossEntropyFuncOptions().ignore_index(kIgnoreIndex).reduction(torch::kMean));
}

}  // namespace

torch::Tensor causal_lm_loss(const torch::Tensor& logits, const torch::Tensor& labels,
                             std::optional<int64_t> num_items_in_batch) {
  const int64_t V = logits.size(-1);
  auto labels_on = labels.to(logits.device(), torch::kLong);
  // Pad with -100 and drop the first label: position t is scored against label t + 1; the last position against none.
  auto shifted = torch::constant_pad_nd(labels_on, {0, 1}, kIgnoreIndex).slice(1, 1);
  return reduce_cross_entropy(logits.to(torch::kFloat32).reshape({-1, V}), shifted.reshape({-1}), num_items_in_batch);
}

torch::Tensor masked_lm_loss(const torch::Tensor& logits, const torch::Tensor& labels,
                             std::optional<int64_t> num_items_in_batch) {
  const int64_t V = logits.size(-1);
  return reduce_cross_entropy(logits.to(torch::kFloat32).reshape({-1, V}),
                              labels.to(logits.device(), torch::kLong).reshape({-1}), num_items_in_batch);
}

}  // namespace tcpp::models
