// Cross-entropy loss and its logits gradient in one row-wise CPU pass (the elementwise half of the fused LM head).
#include "tcpp/models/common/softmax_cross_entropy_cpu.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "tcpp/models/common/vector_math_internal.h"

namespace tcpp::models {
namespace {

using namespace vec;  // NOLINT(build/namespaces): the helpers are this kernel's vocabulary

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

// Rounds a float32 row to bfloat16 (to nearest even) into the front half of its own memory, front to back: each
// store lands on bytes whose float32 values were loaded before it. Memory is only touched through memcpy (load and
// store), so no type-based aliasing assumption can reorder the float32 reads past the bfloat16 writes.
TCPP_INLINE void round_row_to_bf16_in_place(char* row, int64_t V) {
  const int64_t body = V - V % kLanes;
  for (int64_t j = 0; j < body; j += kLanes) {
    float lanes[kLanes];
    std::memcpy(lanes, row + 4 * j, sizeof lanes);
    store(reinterpret_cast<uint16_t*>(row + 2 * j), load(lanes));
  }
  if (body < V) {
    float lanes[kLanes] = {};
    uint16_t out[kLanes];
    std::memcpy(lanes, row + 4 * body, sizeof(float) * static_cast<size_t>(V - body));
    store(out, load(lanes));
    std::memcpy(row + 2 * body, out, sizeof(uint16_t) * static_cast<size_t>(V - body));
  }
}

// Rows [begin, end) of `data`, row i starting at data + i * ld (ld >= V elements of T). round_from_f32: T is
// bfloat16 and each row still holds V float32 values (ld = 2V), rounded to bfloat16 in place first.
template <typename T>
TCPP_INLINE void rows_grad(T* data, int64_t ld, int64_t begin, int64_t end, int64_t V, const int64_t* targets,
                           float scale, float* losses, bool round_from_f32 = false) {
  thread_local std::vector<float> scratch;
  scratch.resize(static_cast<size_t>(V - V % kLanes + kLanes));
  for (int64_t i = begin; i < end; ++i) {
    T* row = data + i * ld;
    if (targets[i] < 0) {  // ignored (-100): no loss, no gradient
      std::memset(row, 0, sizeof(T) * V);
      losses[i] = 0;
    } else {
      if (round_from_f32) round_row_to_bf16_in_place(reinterpret_cast<char*>(row), V);
      losses[i] = row_grad(row, V, targets[i], scale, scratch.data());
    }
  }
}

TCPP_VECTOR_CLONES void rows_grad_f32(float* data, int64_t begin, int64_t end, int64_t V, const int64_t* targets,
                                      float scale, float* losses) {
  rows_grad(data, V, begin, end, V, targets, scale, losses);
}
TCPP_VECTOR_CLONES void rows_grad_bf16(uint16_t* data, int64_t begin, int64_t end, int64_t V, const int64_t* targets,
                                       float scale, float* losses) {
  rows_grad(data, V, begin, end, V, targets, scale, losses);
}
TCPP_VECTOR_CLONES void rows_grad_bf16_from_f32(float* data, int64_t begin, int64_t end, int64_t V,
                                                const int64_t* targets, float scale, float* losses) {
  rows_grad(reinterpret_cast<uint16_t*>(data), 2 * V, begin, end, V, targets, scale, losses, /*round_from_f32=*/true);
}

// The targets as a contiguous int64 CPU tensor, each checked to be -100 or in [0, V).
torch::Tensor checked_targets(const torch::Tensor& targets, int64_t n, int64_t V) {
  auto t = targets.to(torch::kCPU, torch::kLong).contiguous();
  TORCH_CHECK(t.dim() == 1 && t.size(0) == n, "softmax_cross_entropy_grad_cpu: targets (", n, ") expected, got ",
              t.sizes());
  const int64_t* tp = t.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i)
    TORCH_CHECK(tp[i] == -100 || (tp[i] >= 0 && tp[i] < V), "softmax_cross_entropy_grad_cpu: target ", tp[i],
                " of row ", i, " is out of bounds (vocab ", V, ")");
  return t;
}

double sum_in_row_order(const std::vector<float>& losses) {
  double total = 0;
  for (float l : losses) total += l;  // in row order: the same sum on any number of threads
  return total;
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
  auto t = checked_targets(targets, n, V);
  const int64_t* tp = t.data_ptr<int64_t>();
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
  return sum_in_row_order(losses);
}

std::pair<double, torch::Tensor> softmax_cross_entropy_grad_bf16_from_f32_cpu(torch::Tensor& logits,
                                                                               const torch::Tensor& targets,
                                                                               double scale) {
  TORCH_CHECK(logits.device().is_cpu() && logits.dim() == 2 && logits.is_contiguous() &&
                  logits.scalar_type() == torch::kFloat32,
              "softmax_cross_entropy_grad_bf16_from_f32_cpu: contiguous (n, V) float32 CPU logits expected, got ",
              logits.sizes(), " ", logits.scalar_type(), " on ", logits.device());
  const int64_t n = logits.size(0), V = logits.size(1);
  auto t = checked_targets(targets, n, V);
  const int64_t* tp = t.data_ptr<int64_t>();
  // Row i's gradient: the first V bfloat16 values of the row's own 4V bytes.
  auto grad = logits.view(torch::kBFloat16).narrow(1, 0, V);
  if (n == 0 || V == 0) return {0.0, grad};
  std::vector<float> losses(static_cast<size_t>(n));
  float* data = logits.data_ptr<float>();
  const float s = static_cast<float>(scale);
  at::parallel_for(0, n, /*grain_size=*/1, [&](int64_t begin, int64_t end) {
    rows_grad_bf16_from_f32(data, begin, end, V, tp, s, losses.data());
  });
  return {sum_in_row_order(losses), grad};
}

}  // namespace tcpp::models
