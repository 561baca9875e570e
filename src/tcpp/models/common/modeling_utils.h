// Pieces every family shares (as transformers' modeling_utils / pytorch_utils / loss_utils): GPT-2's Conv1D,
// HF weight initialisation, attention masks, eager attention, and the causal / masked LM losses.
#pragma once

#include <cstdint>
#include <optional>

#include <torch/torch.h>

namespace tcpp::models {

/// GPT-2's Conv1D: a linear layer whose weight is stored transposed, (in_features, out_features), as HF checkpoints
/// hold it. y = x @ weight + bias.
class Conv1DImpl : public torch::nn::Module {
 public:
  Conv1DImpl(int64_t in_features, int64_t out_features);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight;  // (in, out)
  torch::Tensor bias;    // (out)
};
TORCH_MODULE(Conv1D);

/// HF's _init_weights: weight ~ normal(0, std), bias zero.
void init_normal_(const torch::Tensor& weight, double std);
void init_linear_(torch::nn::Linear& linear, double std);
void init_conv1d_(Conv1D& conv, double std);
/// normal(0, std) and the padding row (if any) zeroed, as HF does for nn.Embedding.
void init_embedding_(torch::nn::Embedding& embedding, double std);

// Vocabulary resizing, as transformers' resize_token_embeddings(new_num_tokens) with its default mean_resizing=True.
// Rows (tokens) [0, min(V, new_num_tokens)) are kept, rows past new_num_tokens dropped. Added rows are drawn from
// N(mean, 1e-9 * covariance) of the old rows (computed in fp32) when that covariance is positive definite, and set to
// the mean otherwise. The draws use torch's default generator of the weight's device in HF's order, including the
// initialisation of the fresh nn.Embedding / nn.Linear that HF builds and then overwrites, so that the same seed gives
// the same rows as Python. Parameters change in place (Python's `param.data = ...`): modules keep holding them.

/// _get_resized_embeddings: resize an input embedding (V, C) to (new_num_tokens, C); padding_idx is dropped when it
/// no longer fits. Throws InputError when new_num_tokens < 1.
void resize_embedding_(torch::nn::Embedding& embedding, int64_t new_num_tokens);
/// _get_resized_lm_head for an untied nn.Linear head: weight (V, C) -> (new_num_tokens, C) and, when given, its bias
/// (V) with added entries ~ normal(mean, 1e-9 * std) of the old ones.
void resize_lm_head_(torch::Tensor& weight, torch::Tensor* bias, int64_t new_num_tokens);
/// _tie_or_clone_weights for a tied head's bias (BERT, RoBERTa): zero-padded or truncated to new_num_tokens.
void resize_tied_bias_(torch::Tensor& bias, int64_t new_num_tokens);

/// Additive attention bias (B or 1, 1, T, T_past + T): 0 where a query may attend, the dtype's lowest value where it
/// may not (future keys when causal; keys whose attention_mask is 0). Undefined when nothing is masked.
/// attention_mask: (B, T_past + T) of 0/1, or undefined.
torch::Tensor attention_bias(const torch::Tensor& attention_mask, int64_t T, int64_t past_length, bool causal,
                             torch::Dtype dtype, torch::Device device);

/// softmax(q k^T * scale + bias) v with dropout on the weights in training (eager attention, as transformers).
/// q: (B, H, T, D); k, v: (B, H, S, D); bias: broadcastable to (B, H, T, S) or undefined. The softmax runs in fp32.
torch::Tensor eager_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                              const torch::Tensor& bias, double scale, double dropout_p, bool training);

/// NEFTune (transformers' neftune_post_forward_hook, which the Trainer puts on the input embedding for
/// neftune_noise_alpha): embeds (B, T, C) plus uniform noise in [-m, m], m = alpha / sqrt(T * C) computed in float32
/// as the hook does, drawn from the default generator of the embeddings' device (HF's global one).
torch::Tensor add_neftune_noise(const torch::Tensor& embeds, double alpha);

/// A LayerNorm applied in its weight's dtype: under bf16 autocast an activation that no residual sum promoted (BERT's
/// and RoBERTa's MLM head: LayerNorm(gelu(dense(h)))) reaches it in bf16 next to fp32 weights, which LibTorch 1.13's
/// CPU kernel refuses; autocast runs layer_norm in fp32 there in later versions, as this does.
torch::Tensor layer_norm_in_weight_dtype(torch::nn::LayerNorm& norm, const torch::Tensor& x);

/// Ignored label value, as PyTorch's CrossEntropyLoss default and the collators.
constexpr int64_t kIgnoreIndex = -100;

/// transformers' ForCausalLMLoss: labels shifted left inside (position t predicts label t+1), -100 ignored,
/// cross-entropy on logits.float(); mean, or sum / num_items_in_batch when given. logits (B, T, V), labels (B, T).
torch::Tensor causal_lm_loss(const torch::Tensor& logits, const torch::Tensor& labels,
                             std::optional<int64_t> num_items_in_batch);

/// transformers' ForMaskedLMLoss: no shift, -100 ignored, same reductions.
torch::Tensor masked_lm_loss(const torch::Tensor& logits, const torch::Tensor& labels,
                             std::optional<int64_t> num_items_in_batch);

}  // namespace tcpp::models
