// Block-causal attention's float32 CPU kernel: CBLAS products on cache-sized blocks, fused masked softmax.
#include "tcpp/models/common/causal_attention_cpu.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

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

TCPP_VECTOR_CLONES void forward_heads(const float* q, const float* k, const float* v, float* out, float* lse,
                                      int64_t begin, int64_t end, Dims d, float scale) {
  thread_local std::vector<float> scores;
  const int64_t ld = round_up(d.T);
  scores.resize(static_cast<size_t>(d.block_rows * ld));
  for (int64_t bh = begin; bh < end; ++bh) {
    const float* qh = q + bh * d.T * d.D;
    const float* kh = k + bh * d.T * d.D;
    const float* vh = v + bh * d.T * d.Dv;
    float* oh = out + bh * d.T * d.Dv;
    float* lh = lse + bh * d.T;
    for (int64_t i0 = 0; i0 < d.T; i0 += d.block_rows) {
      const int64_t n = std::min(d.block_rows, d.T - i0), keys = i0 + n;
      gemm(false, true, n, keys, d.D, qh + i0 * d.D, d.D, kh, d.D, 0.0f, scores.data(), ld);
      for (int64_t r = 0; r < n; ++r) lh[i0 + r] = softmax_row(scores.data() + r * ld, i0 + r + 1, keys, scale);
      gemm(false, false, n, d.Dv, keys, scores.data(), ld, vh, d.Dv, 0.0f, oh + i0 * d.Dv, d.Dv);
    }
  }
}

TCPP_VECTOR_CLONES void backward_heads(const float* q, const float* k, const float* v, const float* out,
                                       const float* lse, const float* d_out, float* dq, float* dk, float* dv,
                                       int64_t begin, int64_t end, Dims d, float scale) {
  thread_local std::vector<float> p_buf, dp_buf;
  const int64_t ld = round_up(d.T);
  p_buf.resize(static_cast<size_t>(d.block_rows * ld));
  dp_buf.resize(static_cast<size_t>(d.block_rows * ld));
  for (int64_t bh = begin; bh < end; ++bh) {
    const float* qh = q + bh * d.T * d.D;
    const float* kh = k + bh * d.T * d.D;
    const float* vh = v + bh * d.T * d.Dv;
    const float* oh = out + bh * d.T * d.Dv;
    const float* doh = d_out + bh * d.T * d.Dv;
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
        for (int64_t c = 0; c < d.Dv; ++c) delta += doh[i * d.Dv + c] * oh[i * d.Dv + c];
        softmax_backward_row(p_buf.data() + r * ld, dp_buf.data() + r * ld, i + 1, keys, scale, lh[i], delta);
      }
      gemm(true, false, keys, d.Dv, n, p_buf.data(), ld, doh + i0 * d.Dv, d.Dv, 1.0f, dvh, d.Dv);   // dV += P^T dO
      gemm(false, false, n, d.D, keys, dp_buf.data(), ld, kh, d.D, 0.0f, dqh + i0 * d.D, d.D);      // dQ = dS K
      gemm(true, false, keys, d.D, n, dp_buf.data(), ld, qh + i0 * d.D, d.D, 1.0f, dkh, d.D);       // dK += dS^T Q
    }
  }
}

bool is_f32_cpu_contiguous(const torch::Tensor& t) {
  return t.defined() && t.device().is_cpu() && t.scalar_type() == torch::kFloat32 && t.is_contiguous() &&
         t.dim() == 3;
}

}  // namespace

bool causal_attention_cpu_supports(const torch::Tensor& q3, const torch::Tensor& k3, const torch::Tensor& v3) {
  return is_f32_cpu_contiguous(q3) && is_f32_cpu_contiguous(k3) && is_f32_cpu_contiguous(v3) && sgemm() != nullptr &&
         q3.size(1) < (int64_t(1) << 24) && q3.size(2) < (int64_t(1) << 24) && v3.size(2) < (int64_t(1) << 24);
}

void causal_attention_cpu_forward(const torch::Tensor& q3, const torch::Tensor& k3, const torch::Tensor& v3,
                                  double scale, int64_t block_rows, torch::Tensor& out, torch::Tensor& lse) {
  TORCH_CHECK(causal_attention_cpu_supports(q3, k3, v3), "causal_attention_cpu_forward: unsupported inputs");
  const int64_t BH = q3.size(0);
  const Dims d{q3.size(1), q3.size(2), v3.size(2), std::min(block_rows, q3.size(1))};
  out = torch::empty({BH, d.T, d.Dv}, v3.options());
  lse = torch::empty({BH, d.T, 1}, q3.options());
  const float *q = q3.data_ptr<float>(), *k = k3.data_ptr<float>(), *v = v3.data_ptr<float>();
  float *o = out.data_ptr<float>(), *l = lse.data_ptr<float>();
  const float s = static_cast<float>(scale);
  at::parallel_for(0, BH, /*grain_size=*/1,
                   [&](int64_t begin, int64_t end) { forward_heads(q, k, v, o, l, begin, end, d, s); });
}

void causal_attention_cpu_backward(const torch::Tensor& q3, const torch::Tensor& k3, const torch::Tensor& v3,
                                   const torch::Tensor& out, const torch::Tensor& lse, const torch::Tensor& d_out,
                                   double scale, int64_t block_rows, torch::Tensor& dq, torch::Tensor& dk,
                                   torch::Tensor& dv) {
  TORCH_CHECK(causal_attention_cpu_supports(q3, k3, v3) && is_f32_cpu_contiguous(out) &&
                  is_f32_cpu_contiguous(d_out) && lse.is_contiguous() && lse.scalar_type() == torch::kFloat32,
              "causal_attention_cpu_backward: unsupported inputs");
  const int64_t BH = q3.size(0);
  const Dims d{q3.size(1), q3.size(2), v3.size(2), std::min(block_rows, q3.size(1))};
  dq = torch::empty_like(q3);
  dk = torch::empty_like(k3);
  dv = torch::empty_like(v3);
  const float *q = q3.data_ptr<float>(), *k = k3.data_ptr<float>(), *v = v3.data_ptr<float>();
  const float *o = out.data_ptr<float>(), *l = lse.data_ptr<float>(), *g = d_out.data_ptr<float>();
  float *gq = dq.data_ptr<float>(), *gk = dk.data_ptr<float>(), *gv = dv.data_ptr<float>();
  const float s = static_cast<float>(scale);
  at::parallel_for(0, BH, /*grain_size=*/1, [&](int64_t begin, int64_t end) {
    backward_heads(q, k, v, o, l, g, gq, gk, gv, begin, end, d, s);
  });
}

}  // namespace tcpp::models
