// Tests for AdamW creation (HF weight-decay grouping), clipping and optimizer state files.
#include "tcpp/trainer/optimizer.h"

#include <cmath>
#include <cstdio>
#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tcpp/core/error.h"
#include "tcpp/trainer/adafactor.h"

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

// Three steps of a Linear(3, 2) with `options`, a checkpoint, then one more step on it and on a copy that loaded the
// checkpoint: the two must be bitwise equal. Returns the checkpoint's path (the caller removes it).
std::string expect_checkpoint_continues_bitwise(const OptimizerOptions& options, const std::string& name) {
  torch::manual_seed(0);
  torch::nn::Linear a(3, 2), b(3, 2);
  auto opt_a = create_optimizer(*a, options);
  auto x = torch::randn({4, 3});
  auto step = [&](torch::nn::Linear& m, torch::optim::Optimizer& opt) {
    opt.zero_grad();
    m(x).pow(2).sum().backward();
    opt.step();
  };
  for (int i = 0; i < 3; ++i) step(a, *opt_a);
  const auto path = (std::filesystem::temp_directory_path() / ("tcpp_optimizer_" + name + ".pt")).string();
  save_optimizer(*opt_a, path);
  {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < a->parameters().size(); ++i) b->parameters()[i].copy_(a->parameters()[i]);
  }
  auto opt_b = create_optimizer(*b, options);
  load_optimizer(*opt_b, path);
  step(a, *opt_a);
  step(b, *opt_b);
  for (size_t i = 0; i < a->parameters().size(); ++i) EXPECT_TRUE(torch::equal(a->parameters()[i], b->parameters()[i]));
  return path;
}

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
  options.optim_args = "lr_decay=0.01,eps=1e-6,weight_decay=0.3";  // the groups' weight decay wins
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
    OptimizerOptions options;
    options.optim = optim;
    options.learning_rate = 1e-2;
    if (optim == "rmsprop") options.optim_args = "momentum=0.5,centered=true";
    const std::string path = expect_checkpoint_continues_bitwise(options, optim);
    torch::nn::Linear b(3, 2);
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

// adafactor as the Trainer makes it (scale_parameter and relative_step off, lr = learning_rate). Its first step is
// known in closed form for a constant gradient: beta2t = 0, so the second moment (factored for a matrix) is g^2 and
// the update sign(g), whose RMS 1 is not clipped: p <- p * (1 - lr * wd) - lr * sign(g).
TEST(OptimizerTest, AdafactorFirstStepAndResume) {
  Toy model;
  OptimizerOptions options;
  options.optim = "adafactor";
  options.learning_rate = 0.01;
  options.weight_decay = 0.1;
  auto opt = create_optimizer(*model, options);
  ASSERT_NE(dynamic_cast<Adafactor*>(opt.get()), nullptr);
  ASSERT_EQ(opt->param_groups().size(), 2u);
  const auto& o = static_cast<const AdafactorOptions&>(opt->param_groups()[0].options());
  EXPECT_FALSE(o.scale_parameter());
  EXPECT_FALSE(o.relative_step());
  EXPECT_DOUBLE_EQ(o.weight_decay(), 0.1);
  EXPECT_DOUBLE_EQ(static_cast<const AdafactorOptions&>(opt->param_groups()[1].options()).weight_decay(), 0.0);
  torch::Tensor w = model->c_fc->weight;  // a matrix, decayed
  torch::Tensor bias = model->c_fc->bias;  // a vector, not decayed
  const auto w0 = w.detach().clone(), b0 = bias.detach().clone();
  for (auto& p : model->parameters()) p.mutable_grad() = torch::full_like(p, -0.5);
  opt->step();
  EXPECT_TRUE(torch::allclose(w.detach(), w0 * (1 - 0.01 * 0.1) + 0.01, 1e-6, 1e-7));
  EXPECT_TRUE(torch::allclose(bias.detach(), b0 + 0.01, 1e-6, 1e-7));

  const std::string path = expect_checkpoint_continues_bitwise(options, "adafactor");
  // The factored moments follow the parameter's shape: a checkpoint of another shape is refused.
  torch::nn::Linear other(4, 2);
  auto opt_other = create_optimizer(*other, options);
  EXPECT_THAT([&] { load_optimizer(*opt_other, path); },
              ThrowsMessage<InputError>(AllOf(HasSubstr(path), HasSubstr("exp_avg_sq_col"))));
  std::remove(path.c_str());
}

// Four steps of transformers' own Adafactor on three parameters (matrix, vector, 3-D), printed by gen/adafactor.py
// in a chroot with transformers 5.12: as the Trainer makes it (weight decay on the first group, the learning rate
// changed between steps) and with its defaults plus beta1 (relative step, parameter scaling, first moment).
const std::vector<std::vector<double>> kTrainerLike = {
    {-0.031419698148965836, 0.6215189099311829, 0.9906259775161743, 0.8803986310958862, 0.3448406159877777,
      -0.3580739498138428, -0.877766489982605, -0.9748134016990662, -0.6221265196800232, 0.021600928157567978,
      0.650729238986969, 0.9802995324134827},
    {0.8172391653060913, 1.01201331615448, 0.7037937045097351, 0.05924541503190994, -0.6138439178466797},
    {0.9221005439758301, 0.45637261867523193, -0.23175251483917236, -0.81989985704422, -1.0094753503799438,
      -0.7105537056922913, -0.07495683431625366, 0.5855970978736877, 0.9614496231079102, 0.8908447027206421,
      0.40797942876815796, -0.2661677300930023, -0.82056725025177, -0.9994764924049377, -0.699464738368988,
      -0.06556316465139389, 0.6004607677459717, 0.9752918481826782, 0.8766194581985474, 0.36904698610305786,
      -0.3022701144218445, -0.8151420950889587, -0.9575925469398499, -0.6574300527572632},
};
const std::vector<std::vector<double>> kDefaultsWithBeta1 = {
    {-0.007938405498862267, 0.6379184126853943, 0.9834174513816833, 0.8643637895584106, 0.3359912931919098,
      -0.3494535982608795, -0.869466245174408, -0.978453516960144, -0.629723310470581, 0.018528355285525322,
      0.6583462953567505, 0.9891189336776733},
    {0.8351537585258484, 0.9921266436576843, 0.6826168894767761, 0.04775768890976906, -0.6078541278839111},
    {0.9131068587303162, 0.43449562788009644, -0.24844473600387573, -0.8144277930259705, -0.9946262240409851,
      -0.7051102519035339, -0.08255741745233536, 0.5792269706726074, 0.9681285619735718, 0.9010511636734009,
      0.4104648232460022, -0.2741774022579193, -0.828482449054718, -0.9962551593780518, -0.6950110197067261,
      -0.06763970851898193, 0.5888440012931824, 0.9678859114646912, 0.88930344581604, 0.39185869693756104,
      -0.28925466537475586, -0.8323559165000916, -0.984795331954956, -0.6733705997467041},
};

TEST(OptimizerTest, AdafactorStepsAsTransformersAdafactor) {
  auto make_params = [] {
    std::vector<torch::Tensor> ps;
    const std::vector<std::vector<int64_t>> shapes = {{3, 4}, {5}, {2, 3, 4}};
    for (size_t k = 0; k < shapes.size(); ++k) {
      const int64_t n = c10::multiply_integers(shapes[k]);
      std::vector<float> v;
      for (int64_t i = 0; i < n; ++i) v.push_back(static_cast<float>(std::sin(0.7 * i + k)));
      ps.push_back(torch::tensor(v).reshape(shapes[k]).requires_grad_(true));
    }
    return ps;
  };
  auto set_grads = [](std::vector<torch::Tensor>& ps, int step) {
    for (size_t k = 0; k < ps.size(); ++k) {
      std::vector<float> v;
      for (int64_t i = 0; i < ps[k].numel(); ++i)
        v.push_back(static_cast<float>(std::cos(0.3 * i * (step + 1) + k) * (0.5 + 0.1 * step)));
      ps[k].mutable_grad() = torch::tensor(v).reshape(ps[k].sizes());
    }
  };
  auto expect_params = [](const std::vector<torch::Tensor>& ps, const std::vector<std::vector<double>>& expected) {
    for (size_t k = 0; k < ps.size(); ++k) {
      auto flat = ps[k].detach().reshape(-1);
      ASSERT_EQ(flat.numel(), static_cast<int64_t>(expected[k].size()));
      for (int64_t i = 0; i < flat.numel(); ++i)
        EXPECT_NEAR(flat[i].item<double>(), expected[k][static_cast<size_t>(i)], 2e-6) << "param " << k << "[" << i << "]";
    }
  };
  {
    auto ps = make_params();
    AdafactorOptions base(1e-2);
    base.scale_parameter(false).relative_step(false);
    std::vector<torch::optim::OptimizerParamGroup> groups;
    auto decayed = std::make_unique<AdafactorOptions>(base);
    decayed->weight_decay(0.1);
    groups.emplace_back(std::vector<torch::Tensor>{ps[0], ps[2]}, std::move(decayed));
    groups.emplace_back(std::vector<torch::Tensor>{ps[1]}, std::make_unique<AdafactorOptions>(base));
    Adafactor opt(std::move(groups), base);
    for (int step = 0; step < 4; ++step) {
      set_learning_rates(opt, {1e-2 * (1 + step) / 4, 1e-2 * (1 + step) / 4});
      set_grads(ps, step);
      opt.step();
    }
    expect_params(ps, kTrainerLike);
  }
  {
    auto ps = make_params();
    AdafactorOptions defaults;
    defaults.beta1(0.9);
    Adafactor opt({torch::optim::OptimizerParamGroup(ps)}, defaults);
    for (int step = 0; step < 4; ++step) {
      set_grads(ps, step);
      opt.step();
    }
    expect_params(ps, kDefaultsWithBeta1);
  }
}

TEST(OptimizerTest, UnknownOptimizerOrSgdArgumentIsAnInputError) {
  Toy model;
  OptimizerOptions options;
  options.optim = "lion_8bit";
  EXPECT_THAT([&] { create_optimizer(*model, options); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("optim"), HasSubstr("lion_8bit"))));
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
  OptimizerOptions options;
  options.learning_rate = 1e-2;
  std::remove(expect_checkpoint_continues_bitwise(options, "adamw").c_str());
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
