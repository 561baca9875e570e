// Tests for AdamW creation (HF weight-decay grouping), clipping and optimizer state files.
#include "tcpp/trainer/optimizer.h"

#include <cstdio>
#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tcpp/core/error.h"

namespace tcpp::trainer {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

struct RMSNormImpl : torch::nn::Module {
  RMSNormImpl() { weight = register_parameter("weight", torch::ones({4})); }
  torch::Tensor weight;
};
TORCH_MODULE(RMSNorm);

// Names as GPT-2 / Llama register them.
struct ToyImpl : torch::nn::Module {
  ToyImpl() {
    wte = register_module("wte", torch::nn::Embedding(10, 4));
    c_fc = register_module("c_fc", torch::nn::Linear(4, 4));
    ln_1 = register_module("ln_1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({4})));
    post = register_module("post_attention_layernorm", RMSNorm());
    norm = register_module("norm", RMSNorm());  // a plain-named norm module: "norm.weight"
    q_norm_w = register_parameter("q_norm", torch::ones({4}));
    frozen = register_parameter("frozen", torch::ones({4}), /*requires_grad=*/false);
    normal = register_parameter("normalizer", torch::ones({4}));  // "norm" inside a word: decayed
  }
  torch::nn::Embedding wte{nullptr};
  torch::nn::Linear c_fc{nullptr};
  torch::nn::LayerNorm ln_1{nullptr};
  RMSNorm post{nullptr}, norm{nullptr};
  torch::Tensor q_norm_w, frozen, normal;
};
TORCH_MODULE(Toy);

TEST(OptimizerTest, DecayGroupExcludesBiasesAndNormsButKeepsEmbeddings) {
  Toy model;
  EXPECT_THAT(get_decay_parameter_names(*model), ElementsAre("normalizer", "wte.weight", "c_fc.weight"));
}

TEST(OptimizerTest, AdamWHasDecayThenNoDecayGroupWithHfDefaults) {
  Toy model;
  OptimizerOptions options;
  options.weight_decay = 0.1;
  options.learning_rate = 1e-3;
  auto opt = create_adamw(*model, options);
  ASSERT_EQ(opt->param_groups().size(), 2u);
  const auto& g0 = static_cast<const torch::optim::AdamWOptions&>(opt->param_groups()[0].options());
  const auto& g1 = static_cast<const torch::optim::AdamWOptions&>(opt->param_groups()[1].options());
  EXPECT_EQ(opt->param_groups()[0].params().size(), 3u);
  EXPECT_EQ(opt->param_groups()[1].params().size(), 6u);  // c_fc.bias, ln_1 x2, post, norm, q_norm
  EXPECT_DOUBLE_EQ(g0.weight_decay(), 0.1);
  EXPECT_DOUBLE_EQ(g1.weight_decay(), 0.0);
  EXPECT_DOUBLE_EQ(g0.lr(), 1e-3);
  EXPECT_DOUBLE_EQ(std::get<0>(g0.betas()), 0.9);
  EXPECT_DOUBLE_EQ(std::get<1>(g0.betas()), 0.999);
  EXPECT_DOUBLE_EQ(g0.eps(), 1e-8);
}

TEST(OptimizerTest, SgdUsesHfGroupsAndOptimArgsAndStepsAsTorchSgd) {
  Toy model;
  OptimizerOptions options;
  options.optim = "sgd";
  options.optim_args = " momentum=0.5 , dampening=0";
  options.weight_decay = 0.1;
  options.learning_rate = 0.2;
  auto opt = create_optimizer(*model, options);
  ASSERT_NE(dynamic_cast<torch::optim::SGD*>(opt.get()), nullptr);
  ASSERT_EQ(opt->param_groups().size(), 2u);
  const auto& g0 = static_cast<const torch::optim::SGDOptions&>(opt->param_groups()[0].options());
  const auto& g1 = static_cast<const torch::optim::SGDOptions&>(opt->param_groups()[1].options());
  EXPECT_DOUBLE_EQ(g0.weight_decay(), 0.1);
  EXPECT_DOUBLE_EQ(g1.weight_decay(), 0.0);
  EXPECT_DOUBLE_EQ(g0.momentum(), 0.5);
  EXPECT_DOUBLE_EQ(g1.lr(), 0.2);
  // torch.optim.SGD: d = g + wd * p; buf = d (first step), then buf = m * buf + d; p -= lr * buf.
  torch::Tensor w = model->c_fc->weight;  // decayed
  const auto w0 = w.detach().clone();
  const auto g = torch::full_like(w, 0.5);
  for (int step = 0; step < 2; ++step) {
    for (auto& p : model->parameters()) p.mutable_grad() = torch::full_like(p, 0.5);
    opt->step();
  }
  const auto d1 = g + 0.1 * w0;
  const auto w1 = w0 - 0.2 * d1;
  const auto buf2 = 0.5 * d1 + (g + 0.1 * w1);
  EXPECT_TRUE(torch::allclose(w.detach(), w1 - 0.2 * buf2, 1e-6, 1e-7));
}

// adagrad and rmsprop: torch.optim's, over HF's groups, their optim_args as transformers' _get_adagrad/_get_rmsprop.
TEST(OptimizerTest, AdagradAndRmspropTakeHfGroupsAndOptimArgs) {
  Toy model;
  OptimizerOptions options;
  options.weight_decay = 0.1;
  options.learning_rate = 0.2;
  options.optim = "adagrad";
  options.optim_args = "lr_decay=0.01,eps=1e-6";
  auto adagrad = create_optimizer(*model, options);
  ASSERT_NE(dynamic_cast<torch::optim::Adagrad*>(adagrad.get()), nullptr);
  ASSERT_EQ(adagrad->param_groups().size(), 2u);
  const auto& a0 = static_cast<const torch::optim::AdagradOptions&>(adagrad->param_groups()[0].options());
  const auto& a1 = static_cast<const torch::optim::AdagradOptions&>(adagrad->param_groups()[1].options());
  EXPECT_DOUBLE_EQ(a0.weight_decay(), 0.1);
  EXPECT_DOUBLE_EQ(a1.weight_decay(), 0.0);
  EXPECT_DOUBLE_EQ(a0.lr_decay(), 0.01);
  EXPECT_DOUBLE_EQ(a0.eps(), 1e-6);
  EXPECT_DOUBLE_EQ(a1.lr(), 0.2);
  // torch.optim.Adagrad: d = g + wd * p; sum += d^2; p -= lr / (1 + (t - 1) * lr_decay) * d / (sqrt(sum) + eps).
  torch::Tensor w = model->c_fc->weight;  // decayed
  const auto w0 = w.detach().clone();
  const auto g = torch::full_like(w, 0.5);
  for (int step = 0; step < 2; ++step) {
    for (auto& p : model->parameters()) p.mutable_grad() = torch::full_like(p, 0.5);
    adagrad->step();
  }
  const auto d1 = g + 0.1 * w0;
  const auto w1 = w0 - 0.2 * d1 / (d1.abs() + 1e-6);
  const auto d2 = g + 0.1 * w1;
  const auto w2 = w1 - 0.2 / 1.01 * d2 / ((d1 * d1 + d2 * d2).sqrt() + 1e-6);
  EXPECT_TRUE(torch::allclose(w.detach(), w2, 1e-5, 1e-6));

  options.optim = "rmsprop";
  options.optim_args = "momentum=0.9,alpha=0.9,centered=yes";
  auto rmsprop = create_optimizer(*model, options);
  ASSERT_NE(dynamic_cast<torch::optim::RMSprop*>(rmsprop.get()), nullptr);
  const auto& r0 = static_cast<const torch::optim::RMSpropOptions&>(rmsprop->param_groups()[0].options());
  EXPECT_DOUBLE_EQ(r0.momentum(), 0.9);
  EXPECT_DOUBLE_EQ(r0.alpha(), 0.9);
  EXPECT_TRUE(r0.centered());
  EXPECT_DOUBLE_EQ(r0.weight_decay(), 0.1);
  EXPECT_DOUBLE_EQ(r0.eps(), 1e-8);  // torch's default
  options.optim_args = "lr_decay=0.1";
  EXPECT_THAT([&] { create_optimizer(*model, options); },
              ThrowsMessage<InputError>(HasSubstr("optim_args: rmsprop takes momentum, alpha, eps, weight_decay, "
                                                 "centered, got \"lr_decay\"")));
}

// A checkpoint of either continues bitwise; another optimizer's state, or a state of the wrong shape, is refused
// before a step uses it.
TEST(OptimizerTest, AdagradAndRmspropStatesResumeAndAreChecked) {
  for (const std::string optim : {"adagrad", "rmsprop"}) {
    SCOPED_TRACE(optim);
    torch::manual_seed(0);
    torch::nn::Linear a(3, 2), b(3, 2);
    OptimizerOptions options;
    options.optim = optim;
    options.learning_rate = 1e-2;
    if (optim == "rmsprop") options.optim_args = "momentum=0.5,centered=true";
    auto opt_a = create_optimizer(*a, options);
    auto x = torch::randn({4, 3});
    auto step = [&](torch::nn::Linear& m, torch::optim::Optimizer& opt) {
      opt.zero_grad();
      m(x).pow(2).sum().backward();
      opt.step();
    };
    for (int i = 0; i < 3; ++i) step(a, *opt_a);
    const auto path = (std::filesystem::temp_directory_path() / ("tcpp_optimizer_" + optim + ".pt")).string();
    save_optimizer(*opt_a, path);
    {
      torch::NoGradGuard no_grad;
      for (size_t i = 0; i < a->parameters().size(); ++i) b->parameters()[i].copy_(a->parameters()[i]);
    }
    auto opt_b = create_optimizer(*b, options);
    load_optimizer(*opt_b, path);
    step(a, *opt_a);
    step(b, *opt_b);
    for (size_t i = 0; i < a->parameters().size(); ++i)
      EXPECT_TRUE(torch::equal(a->parameters()[i], b->parameters()[i]));
    OptimizerOptions sgd;
    sgd.optim = "sgd";
    sgd.optim_args = "momentum=0.9";
    auto other = create_optimizer(*b, sgd);
    EXPECT_THAT([&] { load_optimizer(*other, path); }, ThrowsMessage<InputError>(HasSubstr(path)));
    torch::nn::Linear wide(4, 2);  // same parameter count, other shapes
    auto mismatched = create_optimizer(*wide, options);
    EXPECT_THAT([&] { load_optimizer(*mismatched, path); },
                ThrowsMessage<InputError>(AllOf(HasSubstr(path), HasSubstr("expected Float [2, 4]"))));
    std::remove(path.c_str());
  }
}

TEST(OptimizerTest, UnknownOptimizerOrSgdArgumentIsAnInputError) {
  Toy model;
  OptimizerOptions options;
  options.optim = "adafactor";
  EXPECT_THAT([&] { create_optimizer(*model, options); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("optim"), HasSubstr("adafactor"))));
  options.optim = "sgd";
  options.optim_args = "momentum=0.9,betas=0.1";
  EXPECT_THAT([&] { create_optimizer(*model, options); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("optim_args"), HasSubstr("betas"))));
  options.optim_args = "momentum=-1";
  EXPECT_THAT([&] { create_optimizer(*model, options); },
              ThrowsMessage<InputError>(HasSubstr("expected a finite number >= 0")));
  options.optim_args = "momentum=inf";
  EXPECT_THAT([&] { create_optimizer(*model, options); },
              ThrowsMessage<InputError>(HasSubstr("expected a finite number >= 0")));
  options.optim_args = "nesterov=true";
  EXPECT_THAT([&] { create_optimizer(*model, options); },
              ThrowsMessage<InputError>(HasSubstr("nesterov momentum requires a momentum")));
}

TEST(OptimizerTest, ClipReturnsPreClipNormAndScalesGradients) {
  auto a = torch::zeros({2}, torch::requires_grad());
  auto b = torch::zeros({1}, torch::requires_grad());
  a.mutable_grad() = torch::tensor({3.0f, 0.0f});
  b.mutable_grad() = torch::tensor({4.0f});
  auto norm = clip_grad_norm({a, b}, 1.0);
  ASSERT_TRUE(norm.has_value());
  EXPECT_NEAR(*norm, 5.0, 1e-6);
  EXPECT_NEAR(a.grad()[0].item<float>(), 0.6f, 1e-5);
  EXPECT_NEAR(b.grad()[0].item<float>(), 0.8f, 1e-5);
  EXPECT_FALSE(clip_grad_norm({a, b}, 0.0).has_value());
}

TEST(OptimizerTest, SavedStateContinuesBitwise) {
  torch::manual_seed(0);
  torch::nn::Linear a(3, 2), b(3, 2);
  {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < a->parameters().size(); ++i) b->parameters()[i].copy_(a->parameters()[i]);
  }
  OptimizerOptions options;
  options.learning_rate = 1e-2;
  auto opt_a = create_adamw(*a, options);
  auto x = torch::randn({4, 3});
  auto step = [&](torch::nn::Linear& m, torch::optim::AdamW& opt) {
    opt.zero_grad();
    m(x).pow(2).sum().backward();
    opt.step();
  };
  for (int i = 0; i < 3; ++i) step(a, *opt_a);
  const auto path = (std::filesystem::temp_directory_path() / "tcpp_optimizer_test.pt").string();
  save_optimizer(*opt_a, path);
  {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < a->parameters().size(); ++i) b->parameters()[i].copy_(a->parameters()[i]);
  }
  auto opt_b = create_adamw(*b, options);
  load_optimizer(*opt_b, path);
  std::remove(path.c_str());
  step(a, *opt_a);
  step(b, *opt_b);
  for (size_t i = 0; i < a->parameters().size(); ++i) EXPECT_TRUE(torch::equal(a->parameters()[i], b->parameters()[i]));
}

TEST(OptimizerTest, UnreadableStateNamesTheFile) {
  torch::nn::Linear a(3, 2);
  auto opt = create_adamw(*a, {});
  EXPECT_THAT([&] { load_optimizer(*opt, "/nonexistent/checkpoint-3/optimizer.pt"); },
              ThrowsMessage<InputError>(HasSubstr("/nonexistent/checkpoint-3/optimizer.pt")));
}

TEST(OptimizerTest, SetLearningRatesPerGroup) {
  Toy model;
  auto opt = create_adamw(*model, {});
  set_learning_rates(*opt, {0.5, 0.25});
  EXPECT_THAT(get_learning_rates(*opt), ElementsAre(0.5, 0.25));
}

}  // namespace
}  // namespace tcpp::trainer
