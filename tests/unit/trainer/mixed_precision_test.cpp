// Autocast regions (LibTorch 1.13 / 2.x API) and the fp16 loss scaler's algorithm (torch.amp.GradScaler).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

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

// issue #10 (resume_state fuzz target): a tracker at or past growth_interval never equals it again, so update()
// counted on until it overflowed; a scale that is not a positive finite number would poison every step.
TEST(GradScalerTest, StateOutOfRangeIsAnInputError) {
  GradScaler a;
  for (const char* bad : {"2000", "9223372036854775807", "18446744073709551615", "-1"}) {
    Json state = a.state_dict();
    state["_growth_tracker"] = Json::parse(bad);
    EXPECT_THAT([&] { a.load_state_dict(state, "ckpt/scaler.json"); },
                ::testing::ThrowsMessage<InputError>(::testing::HasSubstr(
                    std::string("ckpt/scaler.json: \"_growth_tracker\" must be from 0 to growth_interval - 1 (1999), "
                                "found ") + bad)));
  }
  for (const Json& bad : {Json(0), Json(-2.0), Json(std::numeric_limits<double>::infinity()),
                          Json(std::numeric_limits<double>::quiet_NaN())}) {
    Json state = a.state_dict();
    state["scale"] = bad;
    EXPECT_THAT([&] { a.load_state_dict(state, "ckpt/scaler.json"); },
                ::testing::ThrowsMessage<InputError>(::testing::HasSubstr("\"scale\" must be a positive finite number")))
        << bad.dump();
  }
  Json state = a.state_dict();
  state["_growth_tracker"] = 1999;
  a.load_state_dict(state, "ckpt/scaler.json");
  a.update(false);  // the 2000th good step grows the scale
  EXPECT_EQ(a.get_scale(), 131072);
}

}  // namespace
}  // namespace tcpp::trainer
