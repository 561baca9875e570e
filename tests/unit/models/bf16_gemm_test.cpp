// oneDNN's bf16 x bf16 -> f32 GEMM (dnnl_gemm_bf16bf16f32) equals float32 matmul of the bfloat16 inputs: every
// transposed / strided layout, beta 0 and 1, empty sizes, and it declines (returns false) what it cannot take.
#include "tcpp/models/common/bf16_gemm.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

namespace tcpp::models {
namespace {

// A (rows, cols) bfloat16 matrix in the given layout: row-major with a leading dimension wider than cols, or the
// transposed view of such a matrix.
torch::Tensor matrix(int64_t rows, int64_t cols, bool transposed) {
  if (transposed) return torch::randn({cols, rows + 5}).to(torch::kBFloat16).narrow(1, 0, rows).t();
  return torch::randn({rows, cols + 3}).to(torch::kBFloat16).narrow(1, 0, cols);
}

TEST(Bf16GemmTest, EqualsFloat32MatmulOfTheBf16InputsInEveryLayout) {
  if (!bf16_gemm_available()) GTEST_SKIP() << "this LibTorch has no shared oneDNN with dnnl_gemm_bf16bf16f32";
  torch::manual_seed(0);
  const int64_t M = 37, K = 53, N = 29;
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      auto a = matrix(M, K, ta), b = matrix(K, N, tb);
      ASSERT_FALSE(a.is_contiguous() && b.is_contiguous());
      auto want = torch::mm(a.to(torch::kFloat32), b.to(torch::kFloat32));
      auto c = torch::full({M, N}, 7.0f);
      ASSERT_TRUE(gemm_bf16_f32(a, b, c, /*beta=*/0.0f));
      EXPECT_TRUE(torch::allclose(c, want, 1e-5, 1e-5)) << ta << tb << ": " << (c - want).abs().max().item<float>();
      auto c0 = torch::randn({M, N});
      auto acc = c0.clone();
      ASSERT_TRUE(gemm_bf16_f32(a, b, acc, /*beta=*/1.0f));
      EXPECT_TRUE(torch::allclose(acc, c0 + want, 1e-5, 1e-5)) << ta << tb;
    }
  }
  // c with a leading dimension wider than N: the columns past N stay as they were.
  auto a = matrix(M, K, false), b = matrix(K, N, false);
  auto wide_c = torch::full({M, N + 4}, 3.0f);
  auto c = wide_c.narrow(1, 0, N);
  ASSERT_TRUE(gemm_bf16_f32(a, b, c, 0.0f));
  EXPECT_TRUE(torch::allclose(c, torch::mm(a.to(torch::kFloat32), b.to(torch::kFloat32)), 1e-5, 1e-5));
  EXPECT_TRUE(torch::equal(wide_c.narrow(1, N, 4), torch::full({M, 4}, 3.0f)));
}

TEST(Bf16GemmTest, EmptySizes) {
  if (!bf16_gemm_available()) GTEST_SKIP() << "this LibTorch has no shared oneDNN with dnnl_gemm_bf16bf16f32";
  auto c = torch::full({3, 4}, 2.0f);
  ASSERT_TRUE(gemm_bf16_f32(torch::zeros({3, 0}, torch::kBFloat16), torch::zeros({0, 4}, torch::kBFloat16), c, 1.0f));
  EXPECT_TRUE(torch::equal(c, torch::full({3, 4}, 2.0f)));  // K = 0, beta 1: nothing added
  ASSERT_TRUE(gemm_bf16_f32(torch::zeros({3, 0}, torch::kBFloat16), torch::zeros({0, 4}, torch::kBFloat16), c, 0.0f));
  EXPECT_TRUE(torch::equal(c, torch::zeros({3, 4})));  // K = 0, beta 0: zeros
  auto none = torch::empty({0, 4});
  auto a = torch::zeros({0, 5}, torch::kBFloat16), b = torch::zeros({5, 4}, torch::kBFloat16);
  EXPECT_TRUE(gemm_bf16_f32(a, b, none, 0.0f));  // M = 0
}

TEST(Bf16GemmTest, DeclinesWhatItCannotTakeAndCanBeTurnedOff) {
  auto a = torch::randn({4, 6}).to(torch::kBFloat16), b = torch::randn({6, 5}).to(torch::kBFloat16);
  auto c = torch::full({4, 5}, 1.0f);
  EXPECT_FALSE(gemm_bf16_f32(a.to(torch::kFloat32), b, c, 0.0f));                        // float32 input
  auto c_bf16 = torch::empty({4, 5}, torch::kBFloat16);
  EXPECT_FALSE(gemm_bf16_f32(a, b, c_bf16, 0.0f));                                       // bf16 output
  auto every_other = torch::randn({4, 12}).to(torch::kBFloat16).slice(1, 0, 12, 2);     // no unit stride
  EXPECT_FALSE(gemm_bf16_f32(every_other, b, c, 0.0f));
  auto c_t = torch::empty({5, 4}).t();                                                   // c not row-major
  EXPECT_FALSE(gemm_bf16_f32(a, b, c_t, 0.0f));
  EXPECT_TRUE(torch::equal(c, torch::full({4, 5}, 1.0f)));  // declined calls leave c as it was
  if (bf16_gemm_available()) {
    EXPECT_THROW(gemm_bf16_f32(a, a, c, 0.0f), c10::Error) << "inner sizes 6 and 4 differ";
  }
  const bool available = bf16_gemm_available();
  const bool was_enabled = set_bf16_gemm_enabled(false);
  EXPECT_FALSE(bf16_gemm_available());
  EXPECT_FALSE(gemm_bf16_f32(a, b, c, 0.0f));
  EXPECT_FALSE(set_bf16_gemm_enabled(was_enabled));
  EXPECT_EQ(bf16_gemm_available(), available);
}

}  // namespace
}  // namespace tcpp::models
