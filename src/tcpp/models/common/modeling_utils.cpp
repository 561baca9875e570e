// Shared model pieces: Conv1D, initialisation, masks, eager attention, losses.
#include "tcpp/models/common/modeling_utils.h"

#include <limits>

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

torch::Tensor eager_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                              const torch::Tensor& bias, double scale, double dropout_p, bool training) {
  auto w = (torch::matmul(q, k.transpose(-1, -2)) * scale).to(torch::kFloat32);  // (B, H, T, S)
  if (bias.defined()) w = w + bias.to(torch::kFloat32);  // in fp32, so lowest + score cannot overflow to -inf
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
