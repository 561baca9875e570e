// Causal self-attention computed block by block: no (T, T) probabilities kept for backward, no work above the diagonal.
#pragma once

#include <torch/types.h>

#include <cstdint>

namespace tcpp::models {

/// softmax(q k^T * scale + causal mask) v for self-attention without a cache (query i attends keys 0..i), the same
/// function eager_attention computes with attention_bias(causal), but:
/// - queries are taken in blocks of `block_rows`, and each block multiplies only the keys it may see, so the
///   products above the diagonal (~half of them for long sequences) are never computed;
/// - backward recomputes each block's probabilities from q, k and the saved row log-sum-exp (as FlashAttention),
///   so the (B, H, T, T) probabilities are not kept alive between forward and backward: at T = 1024 with 12 heads
///   that is 50 MB per layer.
/// The softmax runs in fp32; in bf16/fp16 (autocast or a low-precision model) the products run in q's dtype, as
/// eager_attention — except on the CPU, where float32 and bf16 take causal_attention_cpu.h's CBLAS kernel in float32
/// (bf16 values are exact in float32, so this is a bf16 product with float32 accumulation that also keeps the scores
/// and probabilities unrounded; the result is returned in q's dtype). No dropout: callers use eager_attention when
/// attention dropout is active.
/// q, k, v: (B, H, T, D) with the same T. Returns (B, H, T, D) in q's dtype. block_rows <= 0 picks a size.
torch::Tensor causal_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, double scale,
                               int64_t block_rows = 0);

/// Whether an attention_mask lets every key be seen (undefined, or all ones), so only the causal mask applies — as
/// transformers' check before it drops the mask for SDPA. Reads the mask's values (a device sync on GPUs).
bool attention_mask_is_all_ones(const torch::Tensor& attention_mask);

/// A decoder's attention bias: attention_bias(causal) — or undefined when the causal mask is all there is to apply
/// and causal_attention can stand for it: no cached keys before these queries, no padding in attention_mask, and no
/// attention dropout in this pass (`dropout_active`).
torch::Tensor decoder_attention_bias(const torch::Tensor& attention_mask, int64_t T, int64_t past_length,
                                     bool dropout_active, torch::Device device);

/// A decoder layer's attention given decoder_attention_bias's result: causal_attention when the bias was dropped
/// for it (undefined, queries and keys of one length above 1), eager_attention otherwise. Shapes as eager_attention.
torch::Tensor decoder_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                const torch::Tensor& bias, double scale, double dropout_p, bool training);

}  // namespace tcpp::models
