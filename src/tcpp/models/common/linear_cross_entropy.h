// Fused LM head + cross-entropy for training (the idea of Liger-Kernel's FusedLinearCrossEntropy, done with LibTorch
// ops): logits are made a chunk of rows at a time and turned into gradients at once, so the (B*T, V) logits, their
// log-softmax and its gradient (3 x 411 MB for GPT-2 at batch 8 x 256) never exist together.
#pragma once

#include <optional>

#include <torch/types.h>

namespace tcpp::models {

/// cross_entropy(hidden @ weight.T, labels) with labels == -100 ignored, reduced as transformers does: the mean over
/// counted labels, or sum / num_items_in_batch when given. hidden (N, C) and weight (V, C) floating point; labels (N)
/// int64. The matmuls run in the autocast dtype when autocast is on for hidden's device (as lm_head would under
/// autocast), else in the weight's dtype; logits are upcast to float32 for the loss, as transformers does, and the
/// loss is float32. Differentiable in hidden and weight: both gradients are computed during the forward pass (the loss is
/// the graph's end) and scaled by the incoming gradient in backward. Rows are processed `chunk_rows` at a time (0:
/// fused_head_chunk_rows). Same values as the unfused ops up to float rounding.
torch::Tensor linear_cross_entropy(const torch::Tensor& hidden, const torch::Tensor& weight, const torch::Tensor& labels,
                                   std::optional<int64_t> num_items_in_batch, int64_t chunk_rows = 0);

/// The default rows per chunk of linear_cross_entropy for `rows` rows of `vocab` logits of `logit_bytes` each: the
/// fewest chunks that keep each chunk's logits within 256 MB (at least 64 rows a chunk), split evenly.
int64_t fused_head_chunk_rows(int64_t rows, int64_t vocab, int64_t logit_bytes);

/// causal_lm_loss() of logits = hidden @ weight.T without materialising the logits: hidden (B, T, C), labels (B, T)
/// shifted inside (position t predicts label t + 1).
torch::Tensor causal_lm_loss_from_hidden(const torch::Tensor& hidden, const torch::Tensor& weight,
                                         const torch::Tensor& labels, std::optional<int64_t> num_items_in_batch);

/// Whether a causal LM's forward may take the fused path: the caller said it needs no logits, the model trains with
/// autograd on, labels are given and the hidden states and head weight are floating point (float32, or bf16/fp16
/// and autocast regions: the Trainer's --bf16 / --fp16).
bool use_fused_lm_loss(bool logits_optional, bool training, const torch::Tensor& labels, const torch::Tensor& hidden,
                       const torch::Tensor& weight);

}  // namespace tcpp::models
