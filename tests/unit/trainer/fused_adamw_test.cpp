// FusedAdamW against LibTorch's AdamW (the arithmetic of torch.optim.AdamW) on the same parameters and gradients.
#include "tcpp/trainer/fused_adamw.h"

#include <gtest/gtest.h>

#include <vector>

namespace tcpp::trainer {
namespace {

std::vector<torch::optim::OptimizerParamGroup> groups_of(std::vector<torch::Tensor> decay, std::vector<torch::Tensor> rest) {
  auto options = [](double wd) {
    return std::make_unique<torch::optim::AdamWOptions>(
        torch::optim::AdamWOptions(3e-3).betas({0.9, 0.98}).eps(1e-6).weight_decay(wd));
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::move(decay), options(0.1));
  groups.emplace_back(std::move(rest), options(0.0));
  return groups;
}

// Five steps over parameters of several shapes — one large enough to be split over threads, one strided (the
// op-by-op path), one that gets no gradient in some steps — give LibTorch AdamW's parameters and moments.
TEST(FusedAdamWTest, MatchesLibTorchAdamWOverSeveralSteps) {
  torch::manual_seed(0);
  std::vector<torch::Tensor> init = {torch::randn({300, 257}), torch::randn({7}), torch::randn({16, 8}).t(),
                                     torch::randn({5, 3})};
  auto make = [&] {
    std::vector<torch::Tensor> ps;
    for (const auto& t : init) ps.push_back(t.clone().requires_grad_(true));
    return ps;
  };
  auto a = make();
  auto b = make();
  for (size_t i : {size_t(2)}) {  // keep the transposed (non-contiguous) layout in both copies
    a[i] = init[i].t().clone().t().requires_grad_(true);
    b[i] = init[i].t().clone().t().requires_grad_(true);
  }
  ASSERT_FALSE(b[2].is_contiguous());
  torch::optim::AdamW reference(groups_of({a[0], a[2]}, {a[1], a[3]}), torch::optim::AdamWOptions(3e-3));
  FusedAdamW fused(groups_of({b[0], b[2]}, {b[1], b[3]}), torch::optim::AdamWOptions(3e-3));
  for (int step = 0; step < 5; ++step) {
    for (size_t i = 0; i < init.size(); ++i) {
      const bool no_grad = i == 3 && step % 2 == 1;
      auto g = torch::randn(init[i].sizes()) * static_cast<double>(i + 1);
      a[i].mutable_grad() = no_grad ? torch::Tensor() : g.clone();
      b[i].mutable_grad() = no_grad ? torch::Tensor() : g.clone();
    }
    reference.step();
    fused.step();
  }
  for (size_t i = 0; i < init.size(); ++i) {
    EXPECT_TRUE(torch::allclose(b[i], a[i], 1e-5, 1e-6)) << "parameter " << i << ": max diff "
                                                         << (b[i] - a[i]).abs().max().item<double>();
    const auto& sa = static_cast<const torch::optim::AdamWParamState&>(
        *reference.state().at(optimizer_state_key(reference.state(), a[i])));
    const auto& sb = static_cast<const torch::optim::AdamWParamState&>(
        *fused.state().at(optimizer_state_key(fused.state(), b[i])));
    EXPECT_EQ(sb.step(), sa.step()) << "parameter " << i;
    EXPECT_EQ(sb.step(), i == 3 ? 3 : 5) << "steps without a gradient are skipped";
    EXPECT_TRUE(torch::allclose(sb.exp_avg(), sa.exp_avg(), 1e-5, 1e-7)) << "parameter " << i;
    EXPECT_TRUE(torch::allclose(sb.exp_avg_sq(), sa.exp_avg_sq(), 1e-5, 1e-9)) << "parameter " << i;
  }
  // The moved parameters really moved (the comparison above is not of untouched tensors).
  EXPECT_GT((b[0] - init[0]).abs().max().item<double>(), 1e-3);
}

TEST(FusedAdamWTest, ZeroGradSetToNoneLeavesGradientsUndefined) {
  auto p = torch::randn({3}).requires_grad_(true);
  (p * 2).sum().backward();
  ASSERT_TRUE(p.grad().defined());
  FusedAdamW optimizer(std::vector<torch::Tensor>{p}, torch::optim::AdamWOptions(1e-3));
  zero_grad_set_to_none(optimizer);
  EXPECT_FALSE(p.grad().defined());
  const auto before = p.clone();
  optimizer.step();  // nothing to do without a gradient
  EXPECT_TRUE(torch::equal(p, before));
}

}  // namespace
}  // namespace tcpp::trainer
