// Block-causal attention's CPU kernel: float32 (CBLAS) or bf16 (oneDNN) products on cache-sized blocks, fused softmax.
#pragma once

#include <torch/types.h>

namespace tcpp::models {

/// Whether causal_attention_cpu_forward/backward can take these (B*H, T, D) tensors: contiguous, on the CPU, all
/// float32 with a CBLAS sgemm in the process (LibTorch's BLAS: OpenBLAS in Debian's build), or all bfloat16 with
/// oneDNN's bf16 GEMM (bf16_gemm_available()). Otherwise causal_attention upcasts bf16 to float32 for the kernel, or
/// runs its LibTorch-op path. With bf16 inputs the products are summed and written in float32, and the
/// probabilities and dS are rounded to bf16 for the products that take them (as eager attention's bf16 matmuls);
/// out, lse and the gradients are float32 for either input type.
bool causal_attention_cpu_supports(const torch::Tensor& q3, const torch::Tensor& k3, const torch::Tensor& v3);

/// out (BH, T, Dv) and lse (BH, T, 1) of causal attention, as CausalAttentionFunction::forward computes them: each
/// (batch x head) runs on one of LibTorch's intra-op threads, one block of `block_rows` queries at a time: scores
/// q_blk k^T by GEMM into a per-thread buffer, then scale, causal mask, softmax and the row log-sum-exp in one
/// pass per row in cache, then p v by GEMM. No (T, T) tensor and no per-op dispatch.
void causal_attention_cpu_forward(const torch::Tensor& q3, const torch::Tensor& k3, const torch::Tensor& v3,
                                  double scale, int64_t block_rows, torch::Tensor& out, torch::Tensor& lse);

/// The gradients dq, dk, dv (shapes of q3, k3, v3) from d_out (BH, T, Dv) and the forward's out and lse:
/// probabilities rebuilt per block from lse, dS = P * (dP - delta) * scale with delta = rowsum(d_out * out), and the
/// four products by GEMM (dk and dv accumulated over query blocks with beta = 1).
void causal_attention_cpu_backward(const torch::Tensor& q3, const torch::Tensor& k3, const torch::Tensor& v3,
                                   const torch::Tensor& out, const torch::Tensor& lse, const torch::Tensor& d_out,
                                   double scale, int64_t block_rows, torch::Tensor& dq, torch::Tensor& dk,
                                   torch::Tensor& dv);

}  // namespace tcpp::models
