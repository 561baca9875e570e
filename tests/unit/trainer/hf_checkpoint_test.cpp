// Reading transformers' Trainer checkpoint pickles (optimizer.pt, scheduler.pt, rng_state.pth), written here by
// ref/write_hf_checkpoint.py with Debian's PyTorch; skipped when /usr/bin/python3 has no torch.
#include "tcpp/trainer/hf_checkpoint.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <iterator>
#include <memory>

#include "tcpp/core/error.h"
#include "tcpp/core/json.h"
#include "tcpp/models/pytorch_bin.h"
#include "tcpp/trainer/adafactor.h"
#include "tcpp/trainer/checkpoint.h"
#include "tcpp/trainer/fused_adamw.h"
#include "tiny_lm.h"

namespace tcpp::trainer {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;
using test_util::TempDir;

const std::vector<std::vector<int64_t>> kShapes = {{3, 4}, {5}, {2, 2}};

class HfCheckpointTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    fs::create_directories(dir_->path);
    const std::string cmd = std::string("OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 ") + TCPP_SOURCE_DIR +
                            "/tests/unit/trainer/ref/write_hf_checkpoint.py " + dir_->path + " 2>" + dir_->path +
                            "/py.log";
    const int rc = std::system(cmd.c_str());
    available_ = WIFEXITED(rc) && WEXITSTATUS(rc) == 0;
    // 3: the script found no torch or numpy; 127: the shell found no /usr/bin/python3.
    python_missing_ = WIFEXITED(rc) && (WEXITSTATUS(rc) == 3 || WEXITSTATUS(rc) == 127);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    if (python_missing_)
      GTEST_SKIP() << "/usr/bin/python3 with torch and numpy is not available (apt-get install python3-torch)";
    ASSERT_TRUE(available_) << "write_hf_checkpoint.py failed; see its log in " << dir_->path;
  }
  static std::string file(const std::string& name) { return (fs::path(dir_->path) / name).string(); }

  // The script's parameters (after its two steps), with the gradients of its step 3, in the Trainer's two groups.
  static std::vector<torch::Tensor> params_after_two_steps(const std::string& optim) {
    std::vector<torch::Tensor> out;
    for (auto& [name, t] : models::load_pytorch_bin(file(optim + "/params.bin")))
      out.push_back(t.clone().set_requires_grad(true));
    for (size_t k = 0; k < out.size(); ++k) {
      const int64_t n = out[k].numel();
      std::vector<float> g(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) g[static_cast<size_t>(i)] = static_cast<float>(std::cos(0.3 * i * 3 + k));
      out[k].mutable_grad() = torch::tensor(g).view(kShapes[k]);
    }
    return out;
  }
  static void expect_third_step(const std::string& optim, const std::vector<torch::Tensor>& ps) {
    const auto expected = models::load_pytorch_bin(file(optim + "/expected.bin"));
    ASSERT_EQ(expected.size(), ps.size());
    for (size_t k = 0; k < ps.size(); ++k)
      EXPECT_TRUE(torch::allclose(ps[k].detach(), expected[k].second, 1e-6, 1e-7))
          << optim << " parameter " << k << ": " << (ps[k].detach() - expected[k].second).abs().max().item<float>();
  }

  static TempDir* dir_;
  static bool available_;
  static bool python_missing_;
};
TempDir* HfCheckpointTest::dir_ = nullptr;
bool HfCheckpointTest::available_ = false;
bool HfCheckpointTest::python_missing_ = false;

std::vector<torch::optim::OptimizerParamGroup> trainer_groups(const std::vector<torch::Tensor>& ps,
                                                              const torch::optim::OptimizerOptions& decay,
                                                              const torch::optim::OptimizerOptions& no_decay) {
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::vector<torch::Tensor>{ps[0], ps[2]}, decay.clone());
  groups.emplace_back(std::vector<torch::Tensor>{ps[1]}, no_decay.clone());
  return groups;
}

// The moments, step counts and hyperparameters of torch.optim.AdamW's state_dict: the step after loading is the
// one PyTorch takes (our options start elsewhere: the file's win).
TEST_F(HfCheckpointTest, AdamWStateContinuesAsPyTorchsOptimizer) {
  auto ps = params_after_two_steps("adamw");
  FusedAdamW optimizer(trainer_groups(ps, torch::optim::AdamWOptions(0.5).weight_decay(0.1),
                                      torch::optim::AdamWOptions(0.5).weight_decay(0.0)),
                       torch::optim::AdamWOptions(0.5));
  load_hf_optimizer(optimizer, file("adamw/optimizer.pt"));
  const Json sched = hf_scheduler_state(file("adamw/scheduler.pt"),
                                        Json{{"base_lrs", {0.5, 0.5}}, {"last_epoch", 0}, {"_last_lr", {0.5, 0.5}}});
  EXPECT_EQ(sched["last_epoch"], 2);
  EXPECT_EQ(sched["base_lrs"], Json({0.01, 0.01}));
  EXPECT_EQ(sched["_last_lr"], Json({0.01, 0.01}));  // min(1, 3/2) * 0.01
  auto& o = static_cast<torch::optim::AdamWOptions&>(optimizer.param_groups()[0].options());
  EXPECT_EQ(std::get<0>(o.betas()), 0.8);
  EXPECT_EQ(o.eps(), 1e-6);
  EXPECT_EQ(o.weight_decay(), 0.1);
  for (auto& g : optimizer.param_groups()) g.options().set_lr(0.01);  // the scheduler's rate for step 3
  optimizer.step();
  expect_third_step("adamw", ps);
}

TEST_F(HfCheckpointTest, SgdMomentumContinuesAsPyTorchsOptimizer) {
  auto ps = params_after_two_steps("sgd");
  torch::optim::SGD optimizer(trainer_groups(ps, torch::optim::SGDOptions(0.5).weight_decay(0.1),
                                             torch::optim::SGDOptions(0.5).weight_decay(0.0)),
                              torch::optim::SGDOptions(0.5));
  load_hf_optimizer(optimizer, file("sgd/optimizer.pt"));
  auto& o = static_cast<torch::optim::SGDOptions&>(optimizer.param_groups()[0].options());
  EXPECT_EQ(o.momentum(), 0.9);
  EXPECT_TRUE(o.nesterov());
  for (auto& g : optimizer.param_groups()) g.options().set_lr(0.1);
  optimizer.step();
  expect_third_step("sgd", ps);
}

TEST_F(HfCheckpointTest, AdagradAndRmspropStatesContinueAsPyTorchsOptimizers) {
  {
    auto ps = params_after_two_steps("adagrad");
    torch::optim::Adagrad optimizer(trainer_groups(ps, torch::optim::AdagradOptions(0.5).weight_decay(0.1),
                                                   torch::optim::AdagradOptions(0.5)),
                                    torch::optim::AdagradOptions(0.5));
    load_hf_optimizer(optimizer, file("adagrad/optimizer.pt"));
    EXPECT_EQ(static_cast<torch::optim::AdagradOptions&>(optimizer.param_groups()[0].options()).lr_decay(), 0.01);
    for (auto& g : optimizer.param_groups()) g.options().set_lr(0.1);
    optimizer.step();
    expect_third_step("adagrad", ps);
  }
  auto ps = params_after_two_steps("rmsprop");
  torch::optim::RMSprop optimizer(trainer_groups(ps, torch::optim::RMSpropOptions(0.5).weight_decay(0.1),
                                                 torch::optim::RMSpropOptions(0.5)),
                                  torch::optim::RMSpropOptions(0.5));
  load_hf_optimizer(optimizer, file("rmsprop/optimizer.pt"));
  const auto& o = static_cast<torch::optim::RMSpropOptions&>(optimizer.param_groups()[0].options());
  EXPECT_TRUE(o.centered());
  EXPECT_EQ(o.momentum(), 0.5);
  for (auto& g : optimizer.param_groups()) g.options().set_lr(0.01);
  optimizer.step();
  expect_third_step("rmsprop", ps);
}

// transformers' Adafactor (its optimizer.pt written where /usr/bin/python3 has transformers: the Debian unstable
// chroot of scripts/libtorch2_check.sh), as the Trainer makes it and with a first moment and parameter scaling.
TEST_F(HfCheckpointTest, AdafactorStateContinuesAsTransformersAdafactor) {
  if (!fs::exists(file("adafactor/optimizer.pt")))
    GTEST_SKIP() << "/usr/bin/python3 has no transformers to write Adafactor's state with";
  for (const std::string name : {"adafactor", "adafactor_beta1"}) {
    auto ps = params_after_two_steps(name);
    Adafactor optimizer(trainer_groups(ps, AdafactorOptions(0.5).weight_decay(0.1), AdafactorOptions(0.5)),
                        AdafactorOptions(0.5));
    load_hf_optimizer(optimizer, file(name + "/optimizer.pt"));
    const auto& o = static_cast<const AdafactorOptions&>(optimizer.param_groups()[0].options());
    EXPECT_FALSE(o.relative_step());
    EXPECT_EQ(o.weight_decay(), 0.1);
    EXPECT_EQ(o.eps1(), 1e-30);
    EXPECT_EQ(o.beta1(), name == "adafactor" ? -1.0 : 0.9);
    EXPECT_EQ(o.scale_parameter(), name != "adafactor");
    EXPECT_EQ(o.clip_threshold(), name == "adafactor" ? 1.0 : 0.5);
    const auto& s = static_cast<const AdafactorParamState&>(
        *optimizer.state().at(optimizer_state_key(optimizer.state(), ps[0])));
    EXPECT_EQ(s.step(), 2);
    EXPECT_GT(s.rms(), 0.0);
    for (auto& g : optimizer.param_groups()) g.options().set_lr(0.01);
    optimizer.step();
    expect_third_step(name, ps);
  }
}

TEST_F(HfCheckpointTest, RngStateRestoresTheGlobalGenerator) {
  torch::manual_seed(7);
  load_hf_rng_state(file("rng_state.pth"));  // its numpy arrays and Python tuples are read, not used
  const auto next = torch::rand({5});
  const Json expected = read_json_file(file("rng.json"))["next"];
  for (int64_t i = 0; i < 5; ++i) EXPECT_FLOAT_EQ(next[i].item<float>(), expected[i].get<float>()) << i;
}

TEST_F(HfCheckpointTest, StatesThatDoNotFitAreRefusedNamingTheFile) {
  // Another model: shapes differ.
  std::vector<torch::Tensor> other = {torch::zeros({4, 3}, torch::requires_grad()), torch::zeros({5}),
                                      torch::zeros({2, 2})};
  FusedAdamW a(trainer_groups(other, torch::optim::AdamWOptions(0.5), torch::optim::AdamWOptions(0.5)),
               torch::optim::AdamWOptions(0.5));
  const std::string path = file("adamw/optimizer.pt");
  EXPECT_THAT([&] { load_hf_optimizer(a, path); },
              ThrowsMessage<InputError>(HasSubstr(path + ": state[0].exp_avg: a tensor of shape [3, 4] for a "
                                                         "parameter of shape [4, 3]")));
  // One group instead of two.
  auto ps = params_after_two_steps("adamw");
  FusedAdamW one(std::vector<torch::Tensor>(ps), torch::optim::AdamWOptions(0.5));
  EXPECT_THAT([&] { load_hf_optimizer(one, path); },
              ThrowsMessage<InputError>(HasSubstr("param_groups: 2 groups, but this optimizer has 1")));
  // Another optimizer.
  torch::optim::SGD sgd(trainer_groups(ps, torch::optim::SGDOptions(0.5), torch::optim::SGDOptions(0.5)),
                        torch::optim::SGDOptions(0.5));
  EXPECT_THAT([&] { load_hf_optimizer(sgd, path); },
              ThrowsMessage<InputError>(HasSubstr("the checkpoint's optimizer is another one than this run's")));
  // Not a pickle of the right thing.
  EXPECT_THAT([&] { load_hf_rng_state(file("adamw/optimizer.pt")); },
              ThrowsMessage<InputError>(HasSubstr("RNG state: missing \"cpu\"")));
  EXPECT_THAT([&] { load_hf_rng_state(file("rng.json")); }, ThrowsMessage<InputError>(HasSubstr("not a zip archive")));
}

// The other way: what we write for Python's Trainer (torch.optim's state_dicts, LambdaLR's, _save_rng_state's) is
// loaded by PyTorch with weights_only=True and goes on as PyTorch's own run (ref/check_hf_checkpoint.py).
TEST_F(HfCheckpointTest, WhatWeWriteResumesInPyTorch) {
  const std::string ours = file("ours");
  for (const std::string optim : {"adamw", "sgd", "adagrad", "rmsprop"}) {
    fs::create_directories(fs::path(ours) / optim);
    auto ps = params_after_two_steps(optim);
    std::unique_ptr<torch::optim::Optimizer> opt;
    if (optim == "adamw") {
      opt = std::make_unique<FusedAdamW>(trainer_groups(ps, torch::optim::AdamWOptions(0.5),
                                                        torch::optim::AdamWOptions(0.5)),
                                         torch::optim::AdamWOptions(0.5));
    } else if (optim == "sgd") {
      opt = std::make_unique<torch::optim::SGD>(trainer_groups(ps, torch::optim::SGDOptions(0.5),
                                                               torch::optim::SGDOptions(0.5)),
                                                torch::optim::SGDOptions(0.5));
    } else if (optim == "adagrad") {
      opt = std::make_unique<torch::optim::Adagrad>(trainer_groups(ps, torch::optim::AdagradOptions(0.5),
                                                                   torch::optim::AdagradOptions(0.5)),
                                                    torch::optim::AdagradOptions(0.5));
    } else {
      opt = std::make_unique<torch::optim::RMSprop>(trainer_groups(ps, torch::optim::RMSpropOptions(0.5),
                                                                   torch::optim::RMSpropOptions(0.5)),
                                                    torch::optim::RMSpropOptions(0.5));
    }
    load_hf_optimizer(*opt, file(optim + "/optimizer.pt"));
    const double base = optim == "adamw" ? 0.01 : optim == "rmsprop" ? 0.01 : 0.1;
    const auto state = hf_optimizer_state(*opt, {base, base});
    ASSERT_TRUE(state.has_value());
    models::save_torch_pickle(ours + "/" + optim + "/optimizer.pt", *state);
    EXPECT_TRUE(is_torch_save_pickle(ours + "/" + optim + "/optimizer.pt"));
    models::save_torch_pickle(ours + "/" + optim + "/scheduler.pt",
                              hf_scheduler_state_dict(Json{{"base_lrs", {base, base}}, {"last_epoch", 2},
                                                           {"_last_lr", {base, base}}}));
  }
  torch::manual_seed(42);
  torch::rand({7});
  models::save_torch_pickle(ours + "/rng_state.pth",
                            hf_rng_state_dict(42, at::detail::getDefaultCPUGenerator().get_state()));
  // Adafactor: transformers' state from its files where it wrote them, else two steps of ours as the Trainer makes it.
  for (const std::string name : {"adafactor", "adafactor_beta1"}) {
    fs::create_directories(fs::path(ours) / name);
    const bool from_transformers = fs::exists(file(name + "/optimizer.pt"));
    if (!from_transformers && name != "adafactor") continue;
    auto ps = from_transformers ? params_after_two_steps(name) : params_after_two_steps("adamw");
    const auto trainers = AdafactorOptions(0.01).scale_parameter(false).relative_step(false);
    Adafactor opt(trainer_groups(ps, AdafactorOptions(trainers).weight_decay(0.1), trainers), trainers);
    if (from_transformers) {
      load_hf_optimizer(opt, file(name + "/optimizer.pt"));
    } else {
      opt.step();
      opt.step();
    }
    const auto state = hf_optimizer_state(opt, {0.01, 0.01});
    ASSERT_TRUE(state.has_value());
    models::save_torch_pickle(ours + "/" + name + "/optimizer.pt", *state);
    models::save_torch_pickle(ours + "/" + name + "/scheduler.pt",
                              hf_scheduler_state_dict(Json{{"base_lrs", {0.01, 0.01}}, {"last_epoch", 2},
                                                           {"_last_lr", {0.01, 0.01}}}));
  }
  const std::string cmd = std::string("OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 ") + TCPP_SOURCE_DIR +
                          "/tests/unit/trainer/ref/check_hf_checkpoint.py " + dir_->path + " " + ours + " 2>" +
                          dir_->path + "/check.log";
  const int rc = std::system(cmd.c_str());
  std::ifstream log(dir_->path + "/check.log");
  const std::string message((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0) << message;
}

// Adafactor's state through the pickle and back: the next step is the same, bit for bit; a moment of the wrong
// shape is refused naming the file and the entry.
TEST(HfCheckpointAdafactorTest, OurPickleRoundTripsBitwise) {
  TempDir d;
  fs::create_directories(d.path);
  auto make = [] {
    std::vector<torch::Tensor> ps;
    for (size_t k = 0; k < kShapes.size(); ++k)
      ps.push_back(torch::linspace(-1.0, 1.0 + static_cast<double>(k), c10::multiply_integers(kShapes[k]))
                       .view(kShapes[k])
                       .set_requires_grad(true));
    return ps;
  };
  auto grads = [](std::vector<torch::Tensor>& ps, int step) {
    for (size_t k = 0; k < ps.size(); ++k) ps[k].mutable_grad() = torch::cos(ps[k].detach() * (step + 1.0));
  };
  const auto options = AdafactorOptions(0.05).beta1(0.9).relative_step(false);
  auto a = make(), b = make();
  Adafactor opt_a(trainer_groups(a, AdafactorOptions(options).weight_decay(0.1), options), options);
  for (int step = 0; step < 3; ++step) {
    grads(a, step);
    opt_a.step();
  }
  const std::string path = d.path + "/optimizer.pt";
  models::save_torch_pickle(path, *hf_optimizer_state(opt_a, {0.05, 0.05}));
  {
    torch::NoGradGuard no_grad;
    for (size_t k = 0; k < a.size(); ++k) b[k].copy_(a[k]);
  }
  Adafactor opt_b(trainer_groups(b, AdafactorOptions(1.0), AdafactorOptions(1.0)), AdafactorOptions(1.0));
  load_hf_optimizer(opt_b, path);
  grads(a, 3);
  grads(b, 3);
  opt_a.step();
  opt_b.step();
  for (size_t k = 0; k < a.size(); ++k) EXPECT_TRUE(torch::equal(a[k], b[k])) << "parameter " << k;
  // Another model whose first matrix is 4 x 3: its factored rows do not fit.
  std::vector<torch::Tensor> other = {torch::zeros({4, 3}, torch::requires_grad()), torch::zeros({5}),
                                      torch::zeros({2, 2})};
  Adafactor wrong(trainer_groups(other, options, options), options);
  EXPECT_THAT([&] { load_hf_optimizer(wrong, path); },
              ThrowsMessage<InputError>(HasSubstr(path + ": state[0].exp_avg: a tensor of shape [3, 4] where a "
                                                         "parameter of shape [4, 3] needs [4, 3]")));
  // An AdamW run cannot take it.
  FusedAdamW adamw(trainer_groups(b, torch::optim::AdamWOptions(0.5), torch::optim::AdamWOptions(0.5)),
                   torch::optim::AdamWOptions(0.5));
  EXPECT_THAT([&] { load_hf_optimizer(adamw, path); },
              ThrowsMessage<InputError>(HasSubstr("the checkpoint's optimizer is another one than this run's")));
}

TEST_F(HfCheckpointTest, AFolderWithTheTrainersPicklesIsRecognised) {
  TempDir d, ranks;
  fs::create_directories(d.path);
  fs::create_directories(ranks.path);
  EXPECT_FALSE(is_hf_checkpoint(d.path));
  std::ofstream(fs::path(d.path) / "scheduler.pt") << "x";
  EXPECT_TRUE(is_hf_checkpoint(d.path));
  std::ofstream(fs::path(d.path) / kSchedulerFile) << "{}";
  EXPECT_FALSE(is_hf_checkpoint(d.path));  // ours (scheduler.json) wins
  EXPECT_EQ(hf_saved_world_size(ranks.path), 0);
  std::ofstream(fs::path(ranks.path) / "rng_state_0.pth") << "x";
  std::ofstream(fs::path(ranks.path) / "rng_state_1.pth") << "x";
  EXPECT_EQ(hf_saved_world_size(ranks.path), 2);
  EXPECT_EQ(hf_rng_state_file(1, 2), "rng_state_1.pth");
  EXPECT_EQ(hf_rng_state_file(0, 1), "rng_state.pth");
}

}  // namespace
}  // namespace tcpp::trainer
