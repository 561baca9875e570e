// bfloat16 GEMM with float32 accumulation and output through oneDNN's dnnl_gemm_bf16bf16f32, where the process has it.
#include "tcpp/models/common/bf16_gemm.h"

#include <dlfcn.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace tcpp::models {
namespace {

// oneDNN's C API (dnnl.h, oneDNN 1.x-3.x): row-major C := alpha * op(A) * op(B) + beta * C, dnnl_dim_t = int64_t,
// bfloat16 passed as its 16 bits, 0 = dnnl_success. Declared here because no oneDNN header is installed.
using GemmBf16Fn = int (*)(char transa, char transb, int64_t M, int64_t N, int64_t K, float alpha, const uint16_t* A,
                           int64_t lda, const uint16_t* B, int64_t ldb, float beta, float* C, int64_t ldc);

GemmBf16Fn resolve() {
  // Looked up among the libraries already loaded (LibTorch's own oneDNN); nothing is loaded for it.
  static const GemmBf16Fn fn = reinterpret_cast<GemmBf16Fn>(::dlsym(RTLD_DEFAULT, "dnnl_gemm_bf16bf16f32"));
  return fn;
}

std::atomic<bool>& enabled() {
  static std::atomic<bool> on{[] {
    const char* env = std::getenv("TCPP_BF16_GEMM");
    return env == nullptr || std::strcmp(env, "0") != 0;
  }()};
  return on;
}

// op(X) for a row-major GEMM: 'N' with the row stride as leading dimension, or 'T' for a transposed view.
bool layout(const torch::Tensor& x, char* trans, int64_t* ld) {
  const int64_t rows = x.size(0), cols = x.size(1);
  if (x.stride(1) == 1 && x.stride(0) >= std::max<int64_t>(cols, 1)) {
    *trans = 'N';
    *ld = x.stride(0);
    return true;
  }
  if (x.stride(0) == 1 && x.stride(1) >= std::max<int64_t>(rows, 1)) {
    *trans = 'T';
    *ld = x.stride(1);
    return true;
  }
  return false;
}

}  // namespace

bool bf16_gemm_available() { return enabled().load(std::memory_order_relaxed) && resolve() != nullptr; }

bool set_bf16_gemm_enabled(bool on) { return enabled().exchange(on, std::memory_order_relaxed); }

bool gemm_bf16_f32(const torch::Tensor& a, const torch::Tensor& b, torch::Tensor& c, float beta) {
  if (!bf16_gemm_available()) return false;
  if (a.dim() != 2 || b.dim() != 2 || c.dim() != 2 || !a.device().is_cpu() || !b.device().is_cpu() ||
      !c.device().is_cpu() || a.scalar_type() != torch::kBFloat16 || b.scalar_type() != torch::kBFloat16 ||
      c.scalar_type() != torch::kFloat32)
    return false;
  const int64_t M = a.size(0), K = a.size(1), N = b.size(1);
  TORCH_CHECK(b.size(0) == K && c.size(0) == M && c.size(1) == N, "gemm_bf16_f32: shapes ", a.sizes(), " @ ",
              b.sizes(), " -> ", c.sizes(), " do not match");
  if (M == 0 || N == 0) return true;
  char ta = 'N', tb = 'N';
  int64_t lda = 0, ldb = 0;
  if (!layout(a, &ta, &lda) || !layout(b, &tb, &ldb) || c.stride(1) != 1 || c.stride(0) < N) return false;
  if (K == 0) {  // nothing to sum: C = beta * C, which oneDNN may not accept with empty operands
    if (beta == 0.0f) c.zero_(); else c.mul_(beta);
    return true;
  }
  return gemm_bf16_f32(ta == 'T', tb == 'T', M, N, K, static_cast<const uint16_t*>(a.data_ptr()), lda,
                       static_cast<const uint16_t*>(b.data_ptr()), ldb, beta, c.data_ptr<float>(), c.stride(0));
}

bool gemm_bf16_f32(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const uint16_t* A, int64_t lda,
                   const uint16_t* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (!bf16_gemm_available()) return false;
  const int status = resolve()(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
  TORCH_CHECK(status == 0, "gemm_bf16_f32: dnnl_gemm_bf16bf16f32 failed with status ", status, " on ", M, " x ", K,
              " @ ", K, " x ", N);
  return true;
}

}  // namespace tcpp::models
