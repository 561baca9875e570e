// Cross-entropy loss and its logits gradient in one row-wise CPU pass (the elementwise half of the fused LM head).
#include "tcpp/models/common/softmax_cross_entropy_cpu.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

namespace tcpp::models {
namespace {

// GCC/Clang vector extensions: 16 float lanes, lowered to one AVX-512 register, two AVX2 or four SSE registers by
// the target each clone is compiled for.
constexpr int kLanes = 16;
using vf = float __attribute__((vector_size(64)));
using vi = int32_t __attribute__((vector_size(64)));
using vu = uint32_t __attribute__((vector_size(64)));
using vh = uint16_t __attribute__((vector_size(32)));

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define TCPP_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define TCPP_VECTOR_CLONES
#endif
#define TCPP_INLINE inline __attribute__((always_inline))

// Vectors pass between always-inlined helpers only, so the ABI note GCC gives for 64-byte vectors does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"

TCPP_INLINE vf splat(float x) { return vf{} + x; }

// exp(x) for float lanes: x = n ln2 + r with |r| <= ln2/2, exp(r) by Cephes' degree-6 polynomial (~1 ulp), 2^n put
// into the exponent. Below -87.34 (where floats turn denormal) the result is 0; NaN stays NaN.
TCPP_INLINE vf vexp(vf x) {
  const vf lo = splat(-87.33654475f), hi = splat(88.3762626647949f);
  vi nan = x != x;
  vi under = x < lo;
  vf c = x < lo ? lo : (x > hi ? hi : x);
  c = nan ? splat(0.0f) : c;
  const vf magic = splat(12582912.0f);  // 1.5 * 2^23: adding and subtracting it rounds to an integer
  vf n = (c * splat(1.44269504088896341f) + magic) - magic;
  vf r = c - n * splat(0.693359375f);
  r = r - n * splat(-2.12194440e-4f);
  vf p = splat(1.9875691500e-4f);
  p = p * r + splat(1.3981999507e-3f);
  p = p * r + splat(8.3334519073e-3f);
  p = p * r + splat(4.1665795894e-2f);
  p = p * r + splat(1.6666665459e-1f);
  p = p * r + splat(5.0000001201e-1f);
  vf y = p * r * r + r + splat(1.0f);
  vu bits = (vu)y + ((vu)__builtin_convertvector(n, vi) << 23);
  vf out = (vf)bits;
  out = under ? splat(0.0f) : out;
  return nan ? x : out;
}

TCPP_INLINE vf load(const float* p) {
  vf v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
TCPP_INLINE vf load(const uint16_t* p) {  // bfloat16: the upper half of a float
  vh h;
  std::memcpy(&h, p, sizeof h);
  vu u = __builtin_convertvector(h, vu) << 16;
  return (vf)u;
}
TCPP_INLINE void store(float* p, vf v) { std::memcpy(p, &v, sizeof v); }
TCPP_INLINE void store(uint16_t* p, vf v) {  // round to nearest even, NaN kept quiet (c10::BFloat16's rounding)
  vu u = (vu)v;
  vu rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  rounded = v != v ? vu{} + 0x7fc0u : rounded;
  vh h = __builtin_convertvector(rounded, vh);
  std::memcpy(p, &h, sizeof h);
}

TCPP_INLINE float load_scalar(const float* p) { return *p; }
TCPP_INLINE float load_scalar(const uint16_t* p) {
  uint32_t u = uint32_t(*p) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
TCPP_INLINE void store_scalar(float* p, float x) { *p = x; }
TCPP_INLINE void store_scalar(uint16_t* p, float x) {
  float lanes[kLanes] = {x};
  uint16_t out[kLanes];
  store(out, load(lanes));
  *p = out[0];
}

TCPP_INLINE float hmax(vf v) {
  float m = v[0];
  for (int l = 1; l < kLanes; ++l) m = v[l] > m ? v[l] : m;
  return m;
}
TCPP_INLINE float hsum(vf v) {
  float s = 0;
  for (int l = 0; l < kLanes; ++l) s += v[l];
  return s;
}

// One row: returns logsumexp(row) - row[target] and leaves (softmax(row) - one_hot(target)) * scale in the row.
// Three passes: the row's maximum (the only read from memory), exp(x - max) into `scratch` (float32, kept in cache)
// with their sum, then the gradient from the scratch values, so each value takes one exponential. The tail (V % 16
// values) goes through a padded lane buffer so every value takes the same vector arithmetic; scratch holds V
// rounded up to 16 floats.
template <typename T>
TCPP_INLINE float row_grad(T* row, int64_t V, int64_t target, float scale, float* scratch) {
  const int64_t body = V - V % kLanes;
  const float neg_inf = -std::numeric_limits<float>::infinity();
  float tail_in[kLanes];
  for (int l = 0; l < kLanes; ++l) tail_in[l] = neg_inf;
  for (int64_t j = body; j < V; ++j) tail_in[j - body] = load_scalar(row + j);
  const vf tail = load(tail_in);

  vf mx = splat(neg_inf);
  for (int64_t j = 0; j < body; j += kLanes) {
    vf x = load(row + j);
    mx = x > mx ? x : mx;
  }
  mx = tail > mx ? tail : mx;
  const float m = hmax(mx);
  const float x_target = load_scalar(row + target);

  const vf vm = splat(m);
  vf sum = splat(0.0f);
  for (int64_t j = 0; j < body; j += kLanes) {
    vf e = vexp(load(row + j) - vm);
    store(scratch + j, e);
    sum += e;
  }
  {
    vf e = vexp(tail - vm);  // padding lanes: exp(-inf) = 0
    store(scratch + body, e);
    sum += e;
  }
  const float total = hsum(sum);
  const vf vscale = splat(scale / total);  // softmax = e / total
  for (int64_t j = 0; j < body; j += kLanes) store(row + j, load(scratch + j) * vscale);
  if (body < V) {
    float tail_out[kLanes];
    store(tail_out, load(scratch + body) * vscale);
    for (int64_t j = body; j < V; ++j) store_scalar(row + j, tail_out[j - body]);
  }
  store_scalar(row + target, (scratch[target] / total - 1.0f) * scale);
  return m + std::log(total) - x_target;
}

template <typename T>
TCPP_INLINE void rows_grad(T* data, int64_t begin, int64_t end, int64_t V, const int64_t* targets, float scale,
                           float* losses) {
  thread_local std::vector<float> scratch;
  scratch.resize(static_cast<size_t>(V - V % kLanes + kLanes));
  for (int64_t i = begin; i < end; ++i) {
    T* row = data + i * V;
    if (targets[i] < 0) {  // ignored (-100): no loss, no gradient
      std::memset(row, 0, sizeof(T) * V);
      losses[i] = 0;
    } else {
      losses[i] = row_grad(row, V, targets[i], scale, scratch.data());
    }
  }
}

TCPP_VECTOR_CLONES void rows_grad_f32(float* data, int64_t begin, int64_t end, int64_t V, const int64_t* targets,
                                      float scale, float* losses) {
  rows_grad(data, begin, end, V, targets, scale, losses);
}
TCPP_VECTOR_CLONES void rows_grad_bf16(uint16_t* data, int64_t begin, int64_t end, int64_t V, const int64_t* targets,
                                       float scale, float* losses) {
  rows_grad(data, begin, end, V, targets, scale, losses);
}

}  // namespace

bool softmax_cross_entropy_cpu_supports(const torch::Tensor& logits) {
  return logits.device().is_cpu() && logits.dim() == 2 && logits.is_contiguous() &&
         (logits.scalar_type() == torch::kFloat32 || logits.scalar_type() == torch::kBFloat16);
}

double softmax_cross_entropy_grad_cpu(torch::Tensor& logits, const torch::Tensor& targets, double scale) {
  TORCH_CHECK(softmax_cross_entropy_cpu_supports(logits),
              "softmax_cross_entropy_grad_cpu: contiguous (n, V) float32 or bfloat16 CPU logits expected, got ",
              logits.sizes(), " ", logits.scalar_type(), " on ", logits.device());
  const int64_t n = logits.size(0), V = logits.size(1);
  auto t = targets.to(torch::kCPU, torch::kLong).contiguous();
  TORCH_CHECK(t.dim() == 1 && t.size(0) == n, "softmax_cross_entropy_grad_cpu: targets (", n, ") expected, got ",
              t.sizes());
  const int64_t* tp = t.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i)
    TORCH_CHECK(tp[i] == -100 || (tp[i] >= 0 && tp[i] < V), "softmax_cross_entropy_grad_cpu: target ", tp[i],
                " of row ", i, " is out of bounds (vocab ", V, ")");
  if (n == 0 || V == 0) return 0.0;
  std::vector<float> losses(static_cast<size_t>(n));
  const bool bf16 = logits.scalar_type() == torch::kBFloat16;
  void* data = logits.data_ptr();
  const float s = static_cast<float>(scale);
  at::parallel_for(0, n, /*grain_size=*/1, [&](int64_t begin, int64_t end) {
    if (bf16)
      rows_grad_bf16(static_cast<uint16_t*>(data), begin, end, V, tp, s, losses.data());
    else
      rows_grad_f32(static_cast<float*>(data), begin, end, V, tp, s, losses.data());
  });
  double total = 0;
  for (float l : losses) total += l;  // in row order: the same sum on any number of threads
  return total;
}

}  // namespace tcpp::models
