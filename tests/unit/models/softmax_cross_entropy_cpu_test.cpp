// The row-wise CPU cross-entropy kernel equals logsumexp / gather / exp / scatter_add in float32: every vector tail
// length, ignored rows, bf16 logits (rounded as Tensor::to), extreme and non-finite logits, any thread count.
#include "tcpp/models/common/softmax_cross_entropy_cpu.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

namespace tcpp::models {
namespace {

struct Reference {
  double loss;
  torch::Tensor grad;  // float32
};

// The ops the kernel replaces, in float32 (bf16 logits upcast first, as the fused head did).
Reference reference(const torch::Tensor& logits, const torch::Tensor& targets, double scale) {
  auto x = logits.to(torch::kFloat32);
  auto counted = targets.ne(-100).to(torch::kFloat32).unsqueeze(1);
  auto t = targets.clamp_min(0).unsqueeze(1);
  auto lse = torch::logsumexp(x, 1, /*keepdim=*/true);
  double loss = ((lse - x.gather(1, t)) * counted).sum().item<double>();
  auto g = (x - lse).exp();
  g.scatter_add_(1, t, -counted);
  g.mul_(counted * scale);
  return {loss, g};
}

void expect_matches(const torch::Tensor& logits0, const torch::Tensor& targets, double scale, double grad_tol) {
  auto logits = logits0.clone();
  Reference ref = reference(logits0, targets, scale);
  double loss = softmax_cross_entropy_grad_cpu(logits, targets, scale);
  EXPECT_NEAR(loss, ref.loss, 1e-5 * std::max(1.0, std::abs(ref.loss))) << logits0.sizes() << " " << logits0.scalar_type();
  auto want = logits0.scalar_type() == torch::kBFloat16 ? ref.grad.to(torch::kBFloat16).to(torch::kFloat32) : ref.grad;
  auto got = logits.to(torch::kFloat32);
  double err = (got - want).abs().max().item<double>();
  EXPECT_LE(err, grad_tol * scale) << logits0.sizes() << " " << logits0.scalar_type();
}

TEST(SoftmaxCrossEntropyCpu, EqualsTheUnfusedOpsForEveryTailLength) {
  torch::manual_seed(0);
  for (int64_t V : {1, 2, 15, 16, 17, 31, 33, 100, 1000, 50257}) {
    auto logits = torch::randn({7, V}) * 3.0;
    auto targets = torch::randint(0, V, {7}, torch::kLong);
    targets[2] = -100;  // an ignored row
    expect_matches(logits, targets, 0.25, 1e-6);
  }
}

TEST(SoftmaxCrossEntropyCpu, TargetInTheTailAndAtTheEnds) {
  torch::manual_seed(1);
  const int64_t V = 37;  // 32 in vector blocks + a 5-value tail
  auto logits = torch::randn({4, V});
  auto targets = torch::tensor({int64_t(0), int64_t(V - 1), int64_t(33), int64_t(16)});
  expect_matches(logits, targets, 1.0, 1e-6);
}

TEST(SoftmaxCrossEntropyCpu, IgnoredRowsBecomeZerosAndAddNoLoss) {
  auto logits = torch::randn({3, 40});
  auto targets = torch::full({3}, int64_t(-100));
  double loss = softmax_cross_entropy_grad_cpu(logits, targets, 1.0);
  EXPECT_EQ(loss, 0.0);
  EXPECT_EQ(logits.abs().max().item<float>(), 0.0f);
}

TEST(SoftmaxCrossEntropyCpu, Bf16LogitsGiveTheBf16RoundedGradient) {
  torch::manual_seed(2);
  for (int64_t V : {17, 1000, 50257}) {
    auto logits = (torch::randn({5, V}) * 4.0).to(torch::kBFloat16);
    auto targets = torch::randint(0, V, {5}, torch::kLong);
    // Rounding to bf16 can land one step apart where the float32 values sit near a rounding midpoint: allow one
    // bf16 step of the largest gradient (2^-8 relative), no more.
    expect_matches(logits, targets, 0.5, 1.0 / 256);
  }
}

TEST(SoftmaxCrossEntropyCpu, LargeLogitsStayFinite) {
  // Logits far apart: exp underflows to zero for most of the row, the loss is exact in float32.
  auto logits = torch::tensor({{1000.0f, -1000.0f, 0.0f, 999.0f, -5e4f, 3e4f, 2.5f, -88.0f, -87.0f, 1.0f, 2.0f, 3.0f,
                                4.0f, 5.0f, 6.0f, 7.0f, 8.0f, 9.0f}});
  auto targets = torch::tensor({int64_t(3)});
  auto copy = logits.clone();
  double loss = softmax_cross_entropy_grad_cpu(copy, targets, 1.0);
  EXPECT_TRUE(std::isfinite(loss));
  EXPECT_TRUE(torch::isfinite(copy).all().item<bool>());
  expect_matches(logits, targets, 1.0, 1e-6);
}

TEST(SoftmaxCrossEntropyCpu, NonFiniteLogitsMakeTheLossNonFiniteAsTheOpsDo) {
  for (float bad : {std::nanf(""), INFINITY}) {
    auto logits = torch::randn({2, 40});
    logits[0][7] = bad;
    auto targets = torch::tensor({int64_t(1), int64_t(2)});
    Reference ref = reference(logits, targets, 1.0);
    auto copy = logits.clone();
    double loss = softmax_cross_entropy_grad_cpu(copy, targets, 1.0);
    EXPECT_FALSE(std::isfinite(loss)) << bad;  // the ops give NaN for NaN and inf for +inf; we give NaN for both
    EXPECT_FALSE(std::isfinite(ref.loss)) << bad;
  }
}

TEST(SoftmaxCrossEntropyCpu, SameResultOnOneAndSeveralThreads) {
  torch::manual_seed(3);
  auto logits = torch::randn({64, 1003});
  auto targets = torch::randint(0, 1003, {64}, torch::kLong);
  int threads = torch::get_num_threads();
  auto a = logits.clone(), b = logits.clone();
  torch::set_num_threads(1);
  double la = softmax_cross_entropy_grad_cpu(a, targets, 1.0);
  torch::set_num_threads(std::max(2, threads));
  double lb = softmax_cross_entropy_grad_cpu(b, targets, 1.0);
  torch::set_num_threads(threads);
  EXPECT_EQ(la, lb);
  EXPECT_TRUE(torch::equal(a, b));
}

// Float32 logits from a bf16 -> f32 GEMM: rounded to bf16 in place, then the bf16 kernel. The same loss and the same
// bf16 gradient bits as the kernel on logits.to(bf16), for every tail length and with ignored rows, written over the
// front half of each row's own memory (a view with row stride 2V), on one thread and on several.
TEST(SoftmaxCrossEntropyCpu, Bf16FromFloat32EqualsTheBf16KernelOnRoundedLogits) {
  torch::manual_seed(5);
  const int threads = torch::get_num_threads();
  for (int64_t V : {1, 2, 15, 16, 17, 31, 53, 1003}) {
    for (int nthreads : {1, std::max(2, threads)}) {
      torch::set_num_threads(nthreads);
      const int64_t n = 9;
      auto logits = torch::randn({n, V}) * 4.0;
      auto targets = torch::randint(0, V, {n}, torch::kLong);
      targets.index_put_({torch::tensor({1, 6})}, -100);
      auto want = logits.to(torch::kBFloat16);
      const double want_loss = softmax_cross_entropy_grad_cpu(want, targets, 0.25);
      auto consumed = logits.clone();
      auto [loss, grad] = softmax_cross_entropy_grad_bf16_from_f32_cpu(consumed, targets, 0.25);
      EXPECT_EQ(loss, want_loss) << "V " << V;
      ASSERT_EQ(grad.scalar_type(), torch::kBFloat16);
      ASSERT_EQ(grad.sizes(), (std::vector<int64_t>{n, V}));
      EXPECT_EQ(grad.stride(0), 2 * V);
      EXPECT_EQ(grad.data_ptr(), consumed.data_ptr());  // in place: no second buffer
      EXPECT_TRUE(torch::equal(grad, want)) << "V " << V << " on " << nthreads << " threads";
    }
  }
  torch::set_num_threads(threads);
  auto empty = torch::randn({0, 7});
  auto [loss, grad] = softmax_cross_entropy_grad_bf16_from_f32_cpu(empty, torch::zeros({0}, torch::kLong), 1.0);
  EXPECT_EQ(loss, 0.0);
  EXPECT_EQ(grad.sizes(), (std::vector<int64_t>{0, 7}));
  auto bf16 = torch::randn({2, 3}).to(torch::kBFloat16);
  EXPECT_THROW(softmax_cross_entropy_grad_bf16_from_f32_cpu(bf16, torch::tensor({0, 1}), 1.0), c10::Error);
  auto wide = torch::randn({2, 3});
  EXPECT_THROW(softmax_cross_entropy_grad_bf16_from_f32_cpu(wide, torch::tensor({0, 3}), 1.0), c10::Error);
}

TEST(SoftmaxCrossEntropyCpu, RejectsWhatItCannotTake) {
  auto targets = torch::tensor({int64_t(0)});
  auto strided = torch::randn({4, 2}).t();
  EXPECT_FALSE(softmax_cross_entropy_cpu_supports(strided));
  EXPECT_FALSE(softmax_cross_entropy_cpu_supports(torch::randn({2, 2}, torch::kFloat64)));
  EXPECT_TRUE(softmax_cross_entropy_cpu_supports(torch::randn({2, 2}, torch::kBFloat16)));
  auto logits = torch::randn({1, 5});
  EXPECT_THROW(softmax_cross_entropy_grad_cpu(logits, torch::tensor({int64_t(5)}), 1.0), c10::Error);
  EXPECT_THROW(softmax_cross_entropy_grad_cpu(logits, torch::tensor({int64_t(-3)}), 1.0), c10::Error);
  EXPECT_THROW(softmax_cross_entropy_grad_cpu(strided, targets, 1.0), c10::Error);
}

}  // namespace
}  // namespace tcpp::models
