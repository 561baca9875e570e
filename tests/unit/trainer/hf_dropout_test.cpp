// Dropout and NEFTune against the real Hugging Face Trainer: HF's global generator feeds both and every DataLoader's
// base seed, so a run with dropout matches HF's step for step only where ours draws the same, in the same order.
#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tcpp/core/error.h"
#include "tcpp/models/auto.h"
#include "tcpp/trainer/hf_checkpoint.h"
#include "tcpp/trainer/trainer.h"
#include "tiny_lm.h"

namespace tcpp::trainer {
namespace {

namespace fs = std::filesystem;
using namespace test_util;  // NOLINT: TempDir, VectorDataset, base_options, StopAt, the tiny model
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

constexpr int64_t kV = 64;
constexpr int64_t kT = 16;

// What HF's Trainer logged: each step's loss, grad norm and learning rate, and the evaluations' losses (steps 2, 4, 6).
struct HfLog {
  std::vector<double> loss, grad_norm, learning_rate, eval_loss;
};

const std::vector<double> kHfLearningRates = {0.0, 0.003, 0.0024000000000000002, 0.0018, 0.0012000000000000001,
                                              0.0006000000000000001};
// gen/dropout_trainer.py: the same model, weights, data and arguments on transformers 5.12.1 / torch 2.14.1.
const HfLog kHfDropout = {
    {4.47707986831665, 4.433865547180176, 4.45242166519165, 4.456512451171875, 4.2840776443481445, 4.175522804260254},
    {4.045228481292725, 6.361713886260986, 5.372131824493408, 3.8828728199005127, 2.769625186920166, 5.324374675750732},
    kHfLearningRates,
    {4.897802352905273, 4.756453037261963, 4.608493328094482}};
// The same with neftune_noise_alpha 5.
const HfLog kHfNeftune = {
    {4.356722831726074, 4.292427062988281, 4.106035232543945, 4.0982666015625, 3.969691038131714, 3.9824345111846924},
    {3.152388572692871, 2.428781747817993, 2.8616089820861816, 2.414778232574463, 2.619333505630493, 2.472501277923584},
    kHfLearningRates,
    {4.879879951477051, 4.411805152893066, 4.446735858917236}};

// The script's weights: a sine of the element index, phased by the parameter's name (norm weights around 1).
models::PreTrainedModel formula_gpt2() {
  auto config = models::AutoConfig::for_model("gpt2");
  config->update_from_string("vocab_size=64,n_positions=16,n_embd=32,n_layer=2,n_head=4,resid_pdrop=0.1,"
                             "embd_pdrop=0.1,attn_pdrop=0.1,bos_token_id=0,eos_token_id=0");
  auto model = models::model_from_config(*config, models::ModelTask::kCausalLM);
  torch::NoGradGuard no_grad;
  for (auto& item : model->named_parameters()) {
    const std::string& name = item.key();
    int key = 0;
    for (char c : name) key += static_cast<unsigned char>(c);
    key %= 97;
    const bool norm = item.value().dim() == 1 && name.size() >= 6 && name.compare(name.size() - 6, 6, "weight") == 0;
    std::vector<float> values(static_cast<size_t>(item.value().numel()));
    for (size_t i = 0; i < values.size(); ++i) {
      const double x = std::sin(0.37 * static_cast<double>(i) + 0.1 * key);
      values[i] = static_cast<float>(norm ? 1.0 + 0.05 * x : 0.08 * x);
    }
    item.value().copy_(torch::tensor(values).view(item.value().sizes()));
  }
  return model;
}

std::shared_ptr<VectorDataset> blocks(int64_t n, int64_t salt) {
  std::vector<collators::Features> out;
  for (int64_t b = 0; b < n; ++b) {
    collators::Features f;
    for (int64_t t = 0; t < kT; ++t) f.columns["input_ids"].push_back((b * 7 + t * t * 3 + (b * t) % 5 + salt) % kV);
    f.columns["labels"] = f.columns["input_ids"];
    out.push_back(f);
  }
  return std::make_shared<VectorDataset>(out);
}

TrainerOptions hf_arguments(const std::string& dir) {
  auto o = base_options(dir);
  o.per_device_train_batch_size = 4;
  o.per_device_eval_batch_size = 4;
  o.gradient_accumulation_steps = 2;
  o.num_train_epochs = 2;  // 24 blocks: 6 batches, 3 steps per epoch
  o.learning_rate = 3e-3;
  o.warmup_steps = 1;
  o.lr_scheduler_type = "linear";
  o.weight_decay = 0.1;
  o.max_grad_norm = 1.0;
  o.eval_strategy = "steps";
  o.eval_steps = 2;  // in the middle of both epochs, and at the end
  o.seed = 42;
  return o;
}

std::vector<double> logged(const TrainerState& state, const char* key) {
  std::vector<double> out;
  for (const auto& e : state.log_history)
    if (e.contains(key)) out.push_back(e[key].get<double>());
  return out;
}

void expect_hf_values(const TrainerState& state, const HfLog& hf) {
  const auto loss = logged(state, "loss"), norm = logged(state, "grad_norm");
  const auto lr = logged(state, "learning_rate"), eval = logged(state, "eval_loss");
  ASSERT_EQ(loss.size(), hf.loss.size());
  ASSERT_EQ(norm.size(), hf.grad_norm.size());
  ASSERT_EQ(lr.size(), hf.learning_rate.size());
  ASSERT_EQ(eval.size(), hf.eval_loss.size());
  for (size_t i = 0; i < loss.size(); ++i) {
    EXPECT_NEAR(loss[i], hf.loss[i], 1.01e-4) << "step " << i + 1;  // ours logs 4 decimals, as 4.57
    EXPECT_NEAR(norm[i], hf.grad_norm[i], 2e-5 * hf.grad_norm[i]) << "step " << i + 1;
    EXPECT_NEAR(lr[i], hf.learning_rate[i], 1e-12) << "step " << i + 1;
  }
  for (size_t i = 0; i < eval.size(); ++i)
    EXPECT_NEAR(eval[i], hf.eval_loss[i], 2e-5 * hf.eval_loss[i]) << "evaluation " << i;
}

TEST(HfDropoutTest, DropoutMasksFollowHfsGlobalGenerator) {
  TempDir dir;
  Trainer trainer(formula_gpt2(), hf_arguments(dir.path), blocks(24, 0), blocks(8, 11),
                  collators::DataCollator(collators::default_data_collator));
  trainer.train();
  expect_hf_values(trainer.state(), kHfDropout);
}

// NEFTune's noise on the input embeddings (HF's forward hook) draws from the same global generator, before each
// forward's dropout; evaluations run without it, and it is gone after train().
TEST(HfDropoutTest, NeftuneNoiseFollowsHfsHook) {
  TempDir dir;
  auto o = hf_arguments(dir.path);
  o.neftune_noise_alpha = 5.0;
  auto model = formula_gpt2();
  Trainer trainer(model, o, blocks(24, 0), blocks(8, 11), collators::DataCollator(collators::default_data_collator));
  trainer.train();
  expect_hf_values(trainer.state(), kHfNeftune);
  // train() took the noise off again: a train-mode forward draws as one with NEFTune off (dropout alone).
  models::ModelInputs in;
  in.input_ids = torch::arange(kT).unsqueeze(0);
  model->train();
  torch::NoGradGuard no_grad;
  torch::manual_seed(1);
  const auto after_training = model->forward(in).logits;
  model->set_neftune_noise_alpha(std::nullopt);
  torch::manual_seed(1);
  EXPECT_TRUE(torch::equal(model->forward(in).logits, after_training));
  model->set_neftune_noise_alpha(5.0);
  torch::manual_seed(1);
  EXPECT_FALSE(torch::equal(model->forward(in).logits, after_training));
}

TEST(HfDropoutTest, NeftuneNeedsANonNegativeAlphaAndAModelWithIt) {
  TempDir dir;
  auto o = hf_arguments(dir.path);
  o.neftune_noise_alpha = -1.0;
  EXPECT_THAT([&] { Trainer t(formula_gpt2(), o, blocks(8, 0), nullptr, collators::default_data_collator); },
              ThrowsMessage<InputError>(HasSubstr("neftune_noise_alpha: expected >= 0, got -1.0")));
  o.neftune_noise_alpha = 5.0;
  o.eval_strategy = "no";
  Trainer tiny(make_model(), o, counting_dataset(8), nullptr, collators::default_data_collator);
  EXPECT_THAT([&] { tiny.train(); }, ThrowsMessage<InputError>(HasSubstr("neftune_noise_alpha: ")));
}

// hf_arguments saving every 4 steps, trained until the checkpoint of step 4 (after its evaluation) and stopped.
TrainerOptions train_to_checkpoint_4(const std::string& dir) {
  auto o = hf_arguments(dir);
  o.save_strategy = "steps";
  o.save_steps = 4;
  Trainer first(formula_gpt2(), o, blocks(24, 0), blocks(8, 11),
                collators::DataCollator(collators::default_data_collator));
  first.add_callback(std::make_shared<StopAt>(4));
  first.train();
  return o;
}

// Stopped after the evaluation and the checkpoint of step 4 (the first step of epoch 2) and resumed there: the
// generator as the checkpoint left it, so steps 5 and 6 draw HF's masks too.
TEST(HfDropoutTest, ResumedRunKeepsHfsMasks) {
  TempDir dir;
  const TrainerOptions o = train_to_checkpoint_4(dir.path);
  ASSERT_TRUE(fs::exists(fs::path(dir.path) / "checkpoint-4"));
  torch::manual_seed(999);  // whatever the process drew since: the checkpoint's state wins
  Trainer resumed(formula_gpt2(), o, blocks(24, 0), blocks(8, 11),
                  collators::DataCollator(collators::default_data_collator));
  resumed.train(std::string("latest"));
  expect_hf_values(resumed.state(), kHfDropout);
}

// The same checkpoint with only the files transformers' Trainer writes (our scheduler.json, rng_state.pt and
// manifest removed): read as a checkpoint of Python's Trainer, it resumes to the same values.
TEST(HfDropoutTest, TheTrainersOwnFilesAloneResumeToHfsValues) {
  TempDir dir;
  const TrainerOptions o = train_to_checkpoint_4(dir.path);
  const fs::path ckpt = fs::path(dir.path) / "checkpoint-4";
  for (const char* ours : {"scheduler.json", "rng_state.pt", "checkpoint_manifest.json"})
    ASSERT_TRUE(fs::remove(ckpt / ours)) << ours;
  for (const char* theirs : {"optimizer.pt", "scheduler.pt", "rng_state.pth", "trainer_state.json"})
    ASSERT_TRUE(fs::exists(ckpt / theirs)) << theirs;
  ASSERT_TRUE(is_hf_checkpoint(ckpt.string()));
  torch::manual_seed(999);
  Trainer resumed(formula_gpt2(), o, blocks(24, 0), blocks(8, 11),
                  collators::DataCollator(collators::default_data_collator));
  resumed.train(ckpt.string());
  expect_hf_values(resumed.state(), kHfDropout);
}

}  // namespace
}  // namespace tcpp::trainer
