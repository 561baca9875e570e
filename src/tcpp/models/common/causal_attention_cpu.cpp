// Block-causal attention's CPU kernel: float32 (CBLAS) or bf16 (oneDNN) products on cache-sized blocks, fused softmax.
#include "tcpp/models/common/causal_attention_cpu.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "tcpp/models/common/bf16_gemm.h"
#include "tcpp/models/common/vector_math_internal.h"

namespace tcpp::models {
namespace {

using namespace vec;  // NOLINT(build/namespaces): the helpers are this kernel's vocabulary

// CBLAS's row-major sgemm, found in the process (LibTorch links the system BLAS; we do not link one ourselves).
enum { kRowMajor = 101, kNoTrans = 111, kTrans = 112 };
using SgemmFn = void (*)(int order, int trans_a, int trans_b, int M, int N, int K, float alpha, const float* A,
                         int lda, const float* B, int ldb, float beta, float* C, int ldc);

SgemmFn sgemm() {
  static const SgemmFn fn = reinterpret_cast<SgemmFn>(::dlsym(RTLD_DEFAULT, "cblas_sgemm"));
  return fn;
}

inline int as_int(int64_t x) { return static_cast<int>(x); }

// C[M x N] = A[M x K] B[K x N] (+ beta C), with A or B read transposed; all row-major.
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
          int64_t ldb, float beta, float* C, int64_t ldc) {
  sgemm()(kRowMajor, trans_a ? kTrans : kNoTrans, trans_b ? kTrans : kNoTrans, as_int(M), as_int(N), as_int(K), 1.0f,
          A, as_int(lda), B, as_int(ldb), beta, C, as_int(ldc));
}

// The same product of bfloat16 operands (their 16 bits), summed and written in float32 by oneDNN's GEMM.
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const uint16_t* A, int64_t lda,
          const uint16_t* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  TORCH_CHECK(gemm_bf16_f32(trans_a, trans_b, M, N, K, A, lda, B, ldb, beta, C, ldc),
              "causal attention: oneDNN's bf16 GEMM is not available");
}

// The operand form of the first `cols` columns of n rows of a float32 block (row stride ld, a multiple of the
// vector width) for the next product: the block itself in float32, or those values rounded to bfloat16 (to nearest
// even, as eager attention's casts) into `buf` with the same row stride.
TCPP_INLINE const float* operand(const float* block, int64_t, int64_t, int64_t, std::vector<float>*) { return block; }
TCPP_INLINE const uint16_t* operand(const float* block, int64_t n, int64_t cols, int64_t ld,
                                    std::vector<uint16_t>* buf) {
  buf->resize(static_cast<size_t>(n * ld));
  const int64_t width = std::min(ld, (cols + vec::kLanes - 1) / vec::kLanes * vec::kLanes);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t j = 0; j < width; j += vec::kLanes)
      vec::store(buf->data() + r * ld + j, vec::load(block + r * ld + j));
  return buf->data();
}

int64_t round_up(int64_t x) { return (x + kLanes - 1) / kLanes * kLanes; }

TCPP_INLINE vf lane_index() {
  vf v;
  for (int l = 0; l < kLanes; ++l) v[l] = static_cast<float>(l);
  return v;
}

// Forward softmax of one score row in place: keys [0, count) scaled and softmaxed, keys [count, width) zeroed.
// Returns the row's log-sum-exp of the scaled scores. The row has room for round_up(count) floats.
TCPP_INLINE float softmax_row(float* row, int64_t count, int64_t width, float scale) {
  const float neg_inf = -std::numeric_limits<float>::infinity();
  const vf idx = lane_index(), vscale = splat(scale), vcount = splat(static_cast<float>(count));
  vf mx = splat(neg_inf);
  for (int64_t j = 0; j < count; j += kLanes) {
    vf x = load(row + j) * vscale;
    x = idx + static_cast<float>(j) < vcount ? x : splat(neg_inf);
    store(row + j, x);
    mx = x > mx ? x : mx;
  }
  const float m = hmax(mx);
  const vf vm = splat(m);
  vf sum = splat(0.0f);
  for (int64_t j = 0; j < count; j += kLanes) {
    vf e = vexp(load(row + j) - vm);  // masked lanes: exp(-inf) = 0
    store(row + j, e);
    sum += e;
  }
  const float total = hsum(sum);
  const vf inv = splat(1.0f / total);
  for (int64_t j = 0; j < count; j += kLanes) store(row + j, load(row + j) * inv);
  if (count < width) std::memset(row + count, 0, sizeof(float) * static_cast<size_t>(width - count));
  return m + std::log(total);
}

// Backward of one row: the probabilities rebuilt from the scores and lse into `p`, then dS = P (dP - delta) scale
// into `dp` (which holds dP). Keys [count, width) are zero in both.
TCPP_INLINE void softmax_backward_row(float* p, float* dp, int64_t count, int64_t width, float scale, float lse,
                                      float delta) {
  const vf idx = lane_index(), vscale = splat(scale), vcount = splat(static_cast<float>(count));
  const vf vlse = splat(lse), vdelta = splat(delta);
  for (int64_t j = 0; j < count; j += kLanes) {
    vi live = idx + static_cast<float>(j) < vcount;
    vf pr = vexp(load(p + j) * vscale - vlse);
    pr = live ? pr : splat(0.0f);
    store(p + j, pr);
    vf ds = pr * (load(dp + j) - vdelta) * vscale;
    store(dp + j, live ? ds : splat(0.0f));
  }
  if (count < width) {
    std::memset(p + count, 0, sizeof(float) * static_cast<size_t>(width - count));
    std::memset(dp + count, 0, sizeof(float) * static_cast<size_t>(width - count));
  }
}

struct Dims {
  int64_t T, D, Dv, block_rows;
};

// In: float (float32 inputs, sgemm) or uint16_t (bfloat16 inputs, oneDNN's bf16 GEMM with float32 results; the
// probabilities and dS are rounded to bfloat16 for the products that take them, as eager attention's bf16 matmuls).
template <typename In>
TCPP_INLINE void forward_heads_impl(const In* q, const In* k, const In* v, float* out, float* lse, int64_t begin,
                                    int64_t end, Dims d, float scale) {
  thread_local std::vector<float> scores;
  thread_local std::vector<In> p_in;
  const int64_t ld = round_up(d.T);
  scores.resize(static_cast<size_t>(d.block_rows * ld));
  for (int64_t bh = begin; bh < end; ++bh) {
    const In* qh = q + bh * d.T * d.D;
    const In* kh = k + bh * d.T * d.D;
    const In* vh = v + bh * d.T * d.Dv;
    float* oh = out + bh * d.T * d.Dv;
    float* lh = lse + bh * d.T;
    for (int64_t i0 = 0; i0 < d.T; i0 += d.block_rows) {
      const int64_t n = std::min(d.block_rows, d.T - i0), keys = i0 + n;
      gemm(false, true, n, keys, d.D, qh + i0 * d.D, d.D, kh, d.D, 0.0f, scores.data(), ld);
      for (int64_t r = 0; r < n; ++r) lh[i0 + r] = softmax_row(scores.data() + r * ld, i0 + r + 1, keys, scale);
      gemm(false, false, n, d.Dv, keys, operand(scores.data(), n, keys, ld, &p_in), ld, vh, d.Dv, 0.0f, oh + i0 * d.Dv,
           d.Dv);
    }
  }
}

template <typename In>
TCPP_INLINE void backward_heads_impl(const In* q, const In* k, const In* v, const float* out, const float* lse,
                                     const In* d_out, float* dq, float* dk, float* dv, int64_t begin, int64_t end,
                                     Dims d, float scale) {
  thread_local std::vector<float> p_buf, dp_buf;
  thread_local std::vector<In> p_in, ds_in;
  const int64_t ld = round_up(d.T);
  p_buf.resize(static_cast<size_t>(d.block_rows * ld));
  dp_buf.resize(static_cast<size_t>(d.block_rows * ld));
  for (int64_t bh = begin; bh < end; ++bh) {
    const In* qh = q + bh * d.T * d.D;
    const In* kh = k + bh * d.T * d.D;
    const In* vh = v + bh * d.T * d.Dv;
    const float* oh = out + bh * d.T * d.Dv;
    const In* doh = d_out + bh * d.T * d.Dv;
    const float* lh = lse + bh * d.T;
    float* dqh = dq + bh * d.T * d.D;
    float* dkh = dk + bh * d.T * d.D;
    float* dvh = dv + bh * d.T * d.Dv;
    std::memset(dkh, 0, sizeof(float) * static_cast<size_t>(d.T * d.D));
    std::memset(dvh, 0, sizeof(float) * static_cast<size_t>(d.T * d.Dv));
    for (int64_t i0 = 0; i0 < d.T; i0 += d.block_rows) {
      const int64_t n = std::min(d.block_rows, d.T - i0), keys = i0 + n;
      gemm(false, true, n, keys, d.D, qh + i0 * d.D, d.D, kh, d.D, 0.0f, p_buf.data(), ld);              // S
      gemm(false, true, n, keys, d.Dv, doh + i0 * d.Dv, d.Dv, vh, d.Dv, 0.0f, dp_buf.data(), ld);       // dP
      for (int64_t r = 0; r < n; ++r) {
        const int64_t i = i0 + r;
        float delta = 0;  // rowsum(dO * O): the softmax backward's row term
        for (int64_t c = 0; c < d.Dv; ++c) delta += load_scalar(doh + i * d.Dv + c) * oh[i * d.Dv + c];
        softmax_backward_row(p_buf.data() + r * ld, dp_buf.data() + r * ld, i + 1, keys, scale, lh[i], delta);
      }
      const auto* p = operand(p_buf.data(), n, keys, ld, &p_in);
      const auto* ds = operand(dp_buf.data(), n, keys, ld, &ds_in);
      gemm(true, false, keys, d.Dv, n, p, ld, doh + i0 * d.Dv, d.Dv, 1.0f, dvh, d.Dv);   // dV += P^T dO
      gemm(false, false, n, d.D, keys, ds, ld, kh, d.D, 0.0f, dqh + i0 * d.D, d.D);      // dQ = dS K
      gemm(true, false, keys, d.D, n, ds, ld, qh + i0 * d.D, d.D, 1.0f, dkh, d.D);       // dK += dS^T Q
    }
  }
}

TCPP_VECTOR_CLONES void forward_heads(const float* q, const float* k, const float* v, float* out, float* lse,
                                      int64_t begin, int64_t end, Dims d, float scale) {
  forward_heads_impl(q, k, v, out, lse, begin, end, d, scale);
}
TCPP_VECTOR_CLONES void forward_heads(const uint16_t* q, const uint16_t* k, const uint16_t* v, float* out, float* lse,
                                      int64_t begin, int64_t end, Dims d, float scale) {
  forward_heads_impl(q, k, v, out, lse, begin, end, d, scale);
}
TCPP_VECTOR_CLONES void backward_heads(const float* q, const float* k, const float* v, const float* out,
                                       const float* lse, const float* d_out, float* dq, float* dk, float* dv,
                                       int64_t begin, int64_t end, Dims d, float scale) {
  backward_heads_impl(q, k, v, out, lse, d_out, dq, dk, dv, begin, end, d, scale);
}
TCPP_VECTOR_CLONES void backward_heads(const uint16_t* q, const uint16_t* k, const uint16_t* v, const float* out,
                                       const float* lse, const uint16_t* d_out, float* dq, float* dk, float* dv,
                                       int64_t begin, int64_t end, Dims d, float scale) {
  backward_heads_impl(q, k, v, out, lse, d_out, dq, dk, dv, begin, end, d, scale);
}

bool is_cpu_contiguous_3d(const torch::Tensor& t, c10::ScalarType dtype) {
  return t.defined() && t.device().is_cpu() && t.scalar_type() == dtype && t.is_contiguous() && t.dim() == 3;
}

// The inputs' element type on the kernel's side: float32 needs CBLAS's sgemm, bfloat16 oneDNN's bf16 GEMM.
bool dtype_supported(c10::ScalarType dtype) {
  if (dtype == torch::kFloat32) return sgemm() != nullptr;
  return dtype == torch::kBFloat16 && bf16_gemm_available();
}

template <typename In>
const In* in_ptr(const torch::Tensor& t) {
  return static_cast<const In*>(t.data_ptr());
}

// Every (batch x head) of the forward / backward on LibTorch's intra-op threads, with inputs of element type In.
template <typename In>
void forward_all(const torch::Tensor& q3, const torch::Tensor& k3, const torch::Tensor& v3, float* o, float* l,
                 Dims d, float s) {
  const In *q = in_ptr<In>(q3), *k = in_ptr<In>(k3), *v = in_ptr<In>(v3);
  at::parallel_for(0, q3.size(0), /*grain_size=*/1,
                   [&](int64_t begin, int64_t end) { forward_heads(q, k, v, o, l, begin, end, d, s); });
}

template <typename In>
void backward_all(const torch::Tensor& q3, const torch::Tensor& k3, const torch::Tensor& v3, const float* o,
                  const float* l, const torch::Tensor& d_out, float* gq, float* gk, float* gv, Dims d, float s) {
  const In *q = in_ptr<In>(q3), *k = in_ptr<In>(k3), *v = in_ptr<In>(v3), *g = in_ptr<In>(d_out);
  at::parallel_for(0, q3.size(0), /*grain_size=*/1, [&](int64_t begin, int64_t end) {
    backward_heads(q, k, v, o, l, g, gq, gk, gv, begin, end, d, s);
  });
}

}  // namespace

bool causal_attention_cpu_supports(const torch::Tensor& q3, const torch::Tensor& k3, const torch::Tensor& v3) {
  if (!q3.defined()) return false;
  const auto dtype = q3.scalar_type();
  return is_cpu_contiguous_3d(q3, dtype) && is_cpu_contiguous_3d(k3, dtype) && is_cpu_contiguous_3d(v3, dtype) &&
         dtype_supported(dtype) && q3.size(1) < (int64_t(1) << 24) && q3.size(2) < (int64_t(1) << 24) &&
         v3.size(2) < (int64_t(1) << 24);
}

void causal_attention_cpu_forward(const torch::Tensor& q3, const torch::Tensor& k3, const torch::Tensor& v3,
                                  double scale, int64_t block_rows, torch::Tensor& out, torch::Tensor& lse) {
  TORCH_CHECK(causal_attention_cpu_supports(q3, k3, v3), "causal_attention_cpu_forward: unsupported inputs");
  const int64_t BH = q3.size(0);
  const Dims d{q3.size(1), q3.size(2), v3.size(2), std::min(block_rows, q3.size(1))};
  const auto f32 = q3.options().dtype(torch::kFloat32);
  out = torch::empty({BH, d.T, d.Dv}, f32);
  lse = torch::empty({BH, d.T, 1}, f32);
  float *o = out.data_ptr<float>(), *l = lse.data_ptr<float>();
  const float s = static_cast<float>(scale);
  if (q3.scalar_type() == torch::kBFloat16) forward_all<uint16_t>(q3, k3, v3, o, l, d, s);
  else forward_all<float>(q3, k3, v3, o, l, d, s);
}

void causal_attention_cpu_backward(const torch::Tensor& q3, const torch::Tensor& k3, const torch::Tensor& v3,
                                   const torch::Tensor& out, const torch::Tensor& lse, const torch::Tensor& d_out,
                                   double scale, int64_t block_rows, torch::Tensor& dq, torch::Tensor& dk,
                                   torch::Tensor& dv) {
  TORCH_CHECK(causal_attention_cpu_supports(q3, k3, v3) && is_cpu_contiguous_3d(out, torch::kFloat32) &&
                  is_cpu_contiguous_3d(d_out, q3.scalar_type()) && lse.is_contiguous() &&
                  lse.scalar_type() == torch::kFloat32,
              "causal_attention_cpu_backward: unsupported inputs");
  const Dims d{q3.size(1), q3.size(2), v3.size(2), std::min(block_rows, q3.size(1))};
  const auto f32 = q3.options().dtype(torch::kFloat32);
  dq = torch::empty(q3.sizes(), f32);
  dk = torch::empty(k3.sizes(), f32);
  dv = torch::empty(v3.sizes(), f32);
  const float *o = out.data_ptr<float>(), *l = lse.data_ptr<float>();
  float *gq = dq.data_ptr<float>(), *gk = dk.data_ptr<float>(), *gv = dv.data_ptr<float>();
  const float s = static_cast<float>(scale);
  if (q3.scalar_type() == torch::kBFloat16) backward_all<uint16_t>(q3, k3, v3, o, l, d_out, gq, gk, gv, d, s);
  else backward_all<float>(q3, k3, v3, o, l, d_out, gq, gk, gv, d, s);
}

}  // namespace tcpp::models
