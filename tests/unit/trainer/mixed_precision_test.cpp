// Autocast regions (LibTorch 1.13 / 2.x API) and the fp16 loss scaler's algorithm (torch.amp.GradScaler).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include <torch/torch.h>

#include "tcpp/core/error.h"
#include "tcpp/trainer/mixed_precision.h"

namespace tcpp::trainer {
namespace {

TEST(AutocastGuardTest, CpuMatmulRunsInBf16InsideAndFp32Outside) {
  auto a = torch::randn({4, 4}), b = torch::randn({4, 4});
  {
    AutocastGuard guard(c10::DeviceType::CPU, torch::kBFloat16, /*enabled=*/true);
    EXPECT_EQ(torch::matmul(a, b).scalar_type(), torch::kBFloat16);
    {
      AutocastGuard nested(c10::DeviceType::CPU, torch::kBFloat16, true);
      EXPECT_EQ(torch::mm(a, b).scalar_type(), torch::kBFloat16);
    }
    EXPECT_EQ(torch::mm(a, b).scalar_type(), torch::kBFloat16);  // still inside the outer region
  }
  EXPECT_EQ(torch::matmul(a, b).scalar_type(), torch::kFloat32);
  AutocastGuard off(c10::DeviceType::CPU, torch::kBFloat16, /*enabled=*/false);
  EXPECT_EQ(torch::matmul(a, b).scalar_type(), torch::kFloat32);
}

TEST(AutocastGuardTest, GradientsOfFp32WeightsStayFp32) {
  auto w = torch::randn({4, 3}, torch::requires_grad());
  auto x = torch::randn({2, 4});
  torch::Tensor loss;
  {
    AutocastGuard guard(c10::DeviceType::CPU, torch::kBFloat16, true);
    loss = torch::matmul(x, w).sum();
  }
  loss.backward();
  EXPECT_EQ(w.grad().scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::allclose(w.grad(), x.sum(0).unsqueeze(1).expand({4, 3}), 1e-2, 1e-2));
}

TEST(GradScalerTest, ScalesUnscalesAndDetectsOverflow) {
  GradScalerOptions o;
  o.init_scale = 1024;
  GradScaler scaler(o);
  auto p = torch::ones({3}, torch::requires_grad());
  scaler.scale((p * 2).sum()).backward();
  EXPECT_TRUE(torch::equal(p.grad(), torch::full({3}, 2048.0)));
  EXPECT_TRUE(scaler.unscale({p}));
  EXPECT_TRUE(torch::equal(p.grad(), torch::full({3}, 2.0)));
  p.mutable_grad()[1] = std::numeric_limits<float>::infinity();
  EXPECT_FALSE(scaler.unscale({p}));
}

TEST(GradScalerTest, BacksOffOnOverflowAndGrowsAfterTheInterval) {
  GradScalerOptions o;
  o.init_scale = 8;
  o.growth_interval = 3;
  GradScaler scaler(o);
  scaler.update(/*found_inf=*/true);
  EXPECT_EQ(scaler.get_scale(), 4);
  scaler.update(false);
  scaler.update(false);
  EXPECT_EQ(scaler.get_scale(), 4);
  scaler.update(false);  // third good step in a row
  EXPECT_EQ(scaler.get_scale(), 8);
  scaler.update(false);
  scaler.update(true);  // an overflow resets the run of good steps
  scaler.update(false);
  scaler.update(false);
  EXPECT_EQ(scaler.get_scale(), 4);
}

TEST(GradScalerTest, StateRoundTripsAndBadStateNamesTheFile) {
  GradScaler a;
  a.update(true);
  a.update(false);
  GradScaler b;
  b.load_state_dict(a.state_dict(), "scaler.json");
  EXPECT_EQ(b.get_scale(), 32768);
  EXPECT_EQ(b.state_dict(), a.state_dict());
  EXPECT_THAT([&] { b.load_state_dict(Json::object(), "ckpt/scaler.json"); },
              ::testing::ThrowsMessage<InputError>(::testing::HasSubstr("ckpt/scaler.json")));
}

}  // namespace
}  // namespace tcpp::trainer
