// Block-causal attention's float32 CPU kernel: CBLAS products on cache-sized blocks, fused masked softmax.
#pragma once

#include <torch/types.h>

namespace tcpp::models {

/// Whether causal_attention_cpu_forward/backward can take these (B*H, T, D) tensors: float32, contiguous, on the CPU,
/// and the process has a CBLAS sgemm (LibTorch's BLAS: OpenBLAS in Debian's build). Otherwise the LibTorch-op path
/// of causal_attention runs.
bool causal_attention_cpu_supports(const torch::Tensor& q3, const torch::Tensor& k3, const torch::Tensor& v3);

/// out (BH, T, Dv) and lse (BH, T, 1) of causal attention, as CausalAttentionFunction::forward computes them: each
/// (batch x head) runs on one of LibTorch's intra-op threads, one block of `block_rows` queries at a time: scores
/// q_blk k^T by sgemm into a per-thread buffer, then scale, causal mask, softmax and the row log-sum-exp in one
/// pass per row in cache, then p v by sgemm. No (T, T) tensor and no per-op dispatch.
void causal_attention_cpu_forward(const torch::Tensor& q3, const torch::Tensor& k3, const torch::Tensor& v3,
                                  double scale, int64_t block_rows, torch::Tensor& out, torch::Tensor& lse);

/// The gradients dq, dk, dv (shapes of q3, k3, v3) from d_out (BH, T, Dv) and the forward's out and lse:
/// probabilities rebuilt per block from lse, dS = P * (dP - delta) * scale with delta = rowsum(d_out * out), and the
/// four products by sgemm (dk and dv accumulated over query blocks with beta = 1).
void causal_attention_cpu_backward(const torch::Tensor& q3, const torch::Tensor& k3, const torch::Tensor& v3,
                                   const torch::Tensor& out, const torch::Tensor& lse, const torch::Tensor& d_out,
                                   double scale, int64_t block_rows, torch::Tensor& dq, torch::Tensor& dk,
                                   torch::Tensor& dv);

}  // namespace tcpp::models
