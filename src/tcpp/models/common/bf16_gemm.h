// bfloat16 GEMM with float32 accumulation and output through oneDNN's dnnl_gemm_bf16bf16f32, where the process has it.
#pragma once

#include <torch/types.h>

namespace tcpp::models {

/// Whether gemm_bf16_f32() runs: LibTorch was linked against a shared oneDNN that exports dnnl_gemm_bf16bf16f32
/// (Debian's LibTorch loads libdnnl.so.2; the PyTorch wheels link oneDNN in privately, and then this is false), and
/// neither TCPP_BF16_GEMM=0 nor set_bf16_gemm_enabled(false) turned it off.
bool bf16_gemm_available();

/// Turns the oneDNN path off or back on for this process (benchmarks and tests compare both paths in one process);
/// returns the previous setting.
bool set_bf16_gemm_enabled(bool enabled);

/// c = a @ b + beta * c with a (M, K) and b (K, N) bfloat16 CPU matrices and c (M, N) float32: products summed in
/// float32 and written as float32, where LibTorch's bfloat16 mm rounds its result to bfloat16. Each of a and b has
/// unit stride along one of its dimensions (row-major, or the transposed view of a row-major matrix, with any
/// leading dimension); c has unit column stride. Returns false and leaves c untouched when oneDNN's GEMM is not
/// available or a layout does not fit; the caller then takes LibTorch's ops. Runs on oneDNN's OpenMP threads (as
/// many as LibTorch's intra-op pool).
bool gemm_bf16_f32(const torch::Tensor& a, const torch::Tensor& b, torch::Tensor& c, float beta);

/// The same on row-major pointers (bfloat16 as its 16 bits; trans_* reads that operand transposed), for kernels
/// that call it per block. Returns false when oneDNN's GEMM is not available; throws when oneDNN fails.
bool gemm_bf16_f32(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const uint16_t* A, int64_t lda,
                   const uint16_t* B, int64_t ldb, float beta, float* C, int64_t ldc);

}  // namespace tcpp::models
