// Tests for resize_token_embeddings (as transformers' with mean_resizing=True): shapes and config for every family and
// head, old rows and old logits unchanged, added rows at the old mean, tied heads staying tied, biases, shrinking,
// save/load, training after a resize, and the added rows equal to PyTorch's for the same seed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "test_util.h"
#include "tcpp/core/error.h"
#include "tcpp/core/file.h"
#include "tcpp/models/auto.h"
#include "tcpp/models/common/modeling_utils.h"
#include "tcpp/models/safetensors.h"

namespace tcpp::models {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;
using testing::TempDir;

constexpr const char* kTinyGpt2 =
    "vocab_size=50,n_positions=16,n_embd=16,n_layer=1,n_head=2,resid_pdrop=0,embd_pdrop=0,attn_pdrop=0";
constexpr const char* kTinyBert =
    "vocab_size=50,hidden_size=16,num_hidden_layers=1,num_attention_heads=2,intermediate_size=24,"
    "max_position_embeddings=20,hidden_dropout_prob=0,attention_probs_dropout_prob=0";
constexpr const char* kTinyLlama =
    "vocab_size=50,hidden_size=16,intermediate_size=24,num_hidden_layers=1,num_attention_heads=4,"
    "num_key_value_heads=2,max_position_embeddings=32";

struct Case {
  const char* model_type;
  std::string overrides;
  const char* head_weight;  // the output head's parameter name
  const char* head_bias;    // its bias, or nullptr
};

std::vector<Case> all_cases() {
  std::vector<Case> out;
  for (const char* tie : {"true", "false"}) {
    std::string t = std::string(",tie_word_embeddings=") + tie;
    out.push_back({"gpt2", kTinyGpt2 + t, "lm_head.weight", nullptr});
    out.push_back({"llama", kTinyLlama + t, "lm_head.weight", nullptr});
    out.push_back({"bert", kTinyBert + t, "cls.predictions.decoder.weight", "cls.predictions.bias"});
    out.push_back({"roberta", kTinyBert + t + ",pad_token_id=1", "lm_head.decoder.weight", "lm_head.bias"});
  }
  return out;
}

std::string label(const Case& c) { return std::string(c.model_type) + " (" + c.overrides + ")"; }

PreTrainedModel tiny(const Case& c, uint64_t seed = 0) {
  torch::manual_seed(seed);
  auto config = AutoConfig::for_model(c.model_type);
  config->update_from_string(c.overrides);
  auto model = model_from_config(*config);
  model->eval();
  // Spread the biases too, so that kept and added bias entries are distinguishable from zero.
  torch::NoGradGuard no_grad;
  for (auto& p : model->named_parameters())
    if (c.head_bias && p.key() == c.head_bias) p.value().normal_(0.5, 0.1);
  return model;
}

std::map<std::string, torch::Tensor> params(const PreTrainedModelImpl& model) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& [name, t] : state_dict(model)) out[name] = t.detach().clone();
  return out;
}

ModelInputs batch() {
  ModelInputs in;
  in.input_ids = torch::tensor({{5, 9, 13, 2, 44, 7}, {3, 17, 8, 26, 1, 1}}, torch::kLong);
  in.attention_mask = torch::tensor({{1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 0, 0}}, torch::kLong);
  return in;
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

TEST(ResizeTest, GrowingKeepsOldRowsAndLogitsAndAddsRowsAtTheMeanForEveryFamilyAndHead) {
  for (const auto& c : all_cases()) {
    SCOPED_TRACE(label(c));
    auto model = tiny(c);
    const bool tied = c.overrides.find("tie_word_embeddings=true") != std::string::npos;
    auto before = params(*model);
    auto logits_before = model->forward(batch()).logits.detach();
    const std::string emb_name = [&] {
      for (auto& p : model->named_parameters())
        if (p.value().is_same(model->get_input_embeddings()->weight)) return p.key();
      return std::string();
    }();
    ASSERT_FALSE(emb_name.empty());

    model->resize_token_embeddings(60);

    auto after = params(*model);
    EXPECT_EQ(after.size(), before.size()) << "a resize must not add or drop tensors";
    EXPECT_EQ(model->config_json()["vocab_size"], 60);
    EXPECT_EQ(model->get_input_embeddings()->weight.sizes(), torch::IntArrayRef({60, 16}));
    EXPECT_EQ(model->get_input_embeddings()->options.num_embeddings(), 60);
    const auto& emb = after.at(emb_name);
    EXPECT_TRUE(torch::equal(emb.slice(0, 0, 50), before.at(emb_name))) << "old embedding rows changed";
    // Added rows: N(mean, 1e-9 cov) of the old rows (50 rows > 16 channels, so the covariance is positive definite).
    auto mean = before.at(emb_name).mean(0);
    auto added = emb.slice(0, 50);
    EXPECT_LT(max_abs_diff(added, mean.expand_as(added)), 1e-4);
    EXPECT_FALSE(torch::equal(added[0], added[1])) << "added rows should be sampled, not all the mean";
    if (tied) {
      EXPECT_EQ(after.count(c.head_weight), 0u) << "a tied head must stay tied (not stored)";
    } else {
      const auto& head = after.at(c.head_weight);
      EXPECT_EQ(head.sizes(), torch::IntArrayRef({60, 16}));
      EXPECT_TRUE(torch::equal(head.slice(0, 0, 50), before.at(c.head_weight)));
      auto head_mean = before.at(c.head_weight).mean(0);
      EXPECT_LT(max_abs_diff(head.slice(0, 50), head_mean.expand({10, 16})), 1e-4);
    }
    if (c.head_bias) {
      const auto& bias = after.at(c.head_bias);
      ASSERT_EQ(bias.size(0), 60);
      EXPECT_TRUE(torch::equal(bias.slice(0, 0, 50), before.at(c.head_bias)));
      if (tied) {
        EXPECT_TRUE(torch::equal(bias.slice(0, 50), torch::zeros({10}))) << "a tied head's bias is zero-padded";
      } else {
        EXPECT_LT(max_abs_diff(bias.slice(0, 50), before.at(c.head_bias).mean().expand({10})), 1e-6);
      }
    }
    // Every other tensor is untouched, and the logits over the old vocabulary are the same.
    for (const auto& [name, t] : before) {
      if (name != emb_name && name != c.head_weight && !(c.head_bias && name == c.head_bias)) {
        EXPECT_TRUE(torch::equal(after.at(name), t)) << name;
      }
    }
    auto logits_after = model->forward(batch()).logits.detach();
    ASSERT_EQ(logits_after.size(-1), 60);
    EXPECT_LT(max_abs_diff(logits_after.slice(-1, 0, 50), logits_before), 1e-5);
  }
}

TEST(ResizeTest, TiedHeadFollowsTheEmbeddingDuringTraining) {
  for (const char* type : {"gpt2", "llama"}) {
    SCOPED_TRACE(type);
    Case c{type, std::string(type == std::string("gpt2") ? kTinyGpt2 : kTinyLlama) + ",tie_word_embeddings=true",
           "lm_head.weight", nullptr};
    auto model = tiny(c);
    model->resize_token_embeddings(64);
    model->train();
    torch::optim::SGD sgd(model->parameters(), torch::optim::SGDOptions(0.5));
    auto in = batch();
    in.input_ids[0][0] = 63;  // an added token, as input and as label
    in.labels = in.input_ids.clone();
    auto w = model->get_input_embeddings()->weight;
    auto row_before = w[63].detach().clone();
    auto out = model->forward(in);
    ASSERT_EQ(out.logits.size(-1), 64);
    out.loss.backward();
    ASSERT_EQ(w.grad().sizes(), w.sizes());
    sgd.step();
    EXPECT_FALSE(torch::equal(w[63], row_before)) << "the added row did not train";
    // Tied: the logits are h @ wte^T, so changing the embedding row changes the added token's logit.
    model->eval();
    torch::NoGradGuard no_grad;
    auto logits = model->forward(batch()).logits;
    EXPECT_TRUE(torch::isfinite(logits).all().item<bool>());
  }
}

TEST(ResizeTest, ShrinkingDropsTheLastRowsAndAPaddingIndexThatNoLongerFits) {
  Case c{"bert", std::string(kTinyBert) + ",tie_word_embeddings=false,pad_token_id=45",
         "cls.predictions.decoder.weight", "cls.predictions.bias"};
  auto model = tiny(c);
  auto before = params(*model);
  ASSERT_EQ(model->get_input_embeddings()->options.padding_idx(), 45);
  model->resize_token_embeddings(40);
  auto after = params(*model);
  EXPECT_EQ(model->config_json()["vocab_size"], 40);
  const char* emb = "bert.embeddings.word_embeddings.weight";
  EXPECT_TRUE(torch::equal(after.at(emb), before.at(emb).slice(0, 0, 40)));
  EXPECT_TRUE(torch::equal(after.at(c.head_weight), before.at(c.head_weight).slice(0, 0, 40)));
  EXPECT_TRUE(torch::equal(after.at(c.head_bias), before.at(c.head_bias).slice(0, 0, 40)));
  EXPECT_FALSE(model->get_input_embeddings()->options.padding_idx().has_value());
  auto in = batch();
  in.input_ids = in.input_ids.clamp_max(39);
  EXPECT_EQ(model->forward(in).logits.size(-1), 40);
}

TEST(ResizeTest, FewerRowsThanChannelsGivesExactlyTheMean) {
  // 8 rows in 16 channels: the covariance is singular, so HF falls back to the mean.
  torch::manual_seed(0);
  torch::nn::Embedding emb(8, 16);
  auto old = emb->weight.detach().clone();
  resize_embedding_(emb, 11);
  auto mean = old.mean(0);
  for (int64_t i = 8; i < 11; ++i) EXPECT_TRUE(torch::allclose(emb->weight[i], mean, 0, 1e-7));
  EXPECT_TRUE(torch::equal(emb->weight.slice(0, 0, 8), old));
}

TEST(ResizeTest, ResizedModelSavesAndLoadsWithTheNewVocabulary) {
  Case c{"bert", std::string(kTinyBert) + ",tie_word_embeddings=false", "cls.predictions.decoder.weight",
         "cls.predictions.bias"};
  auto model = tiny(c);
  model->resize_token_embeddings(57);
  TempDir tmp;
  save_pretrained(*model, tmp.path());
  EXPECT_EQ(read_json_file(tmp.file("config.json"))["vocab_size"], 57);
  LoadOptions strict;
  strict.strict = true;
  auto loaded = AutoModelForMaskedLM::from_pretrained(tmp.path(), strict);
  loaded->eval();
  EXPECT_TRUE(torch::equal(model->forward(batch()).logits, loaded->forward(batch()).logits));
}

TEST(ResizeTest, SameSizeIsANoOpAndZeroTokensIsAnError) {
  Case c{"gpt2", kTinyGpt2, "lm_head.weight", nullptr};
  auto model = tiny(c);
  auto before = params(*model);
  model->resize_token_embeddings(50);
  for (const auto& [name, t] : params(*model)) EXPECT_TRUE(torch::equal(t, before.at(name))) << name;
  EXPECT_THAT([&] { model->resize_token_embeddings(0); },
              ThrowsMessage<InputError>(HasSubstr("new_num_tokens must be at least 1")));
}

// Runs ref/resize_reference.py; nothing when torch is missing.
std::optional<NamedTensors> python_resize(const TempDir& tmp, const NamedTensors& in, uint64_t seed, int64_t n,
                                          const char* kind) {
  save_safetensors(tmp.file("in.safetensors"), in);
  std::string cmd = std::string("OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 ") + TCPP_SOURCE_DIR + "/tests/unit/models/ref/resize_reference.py " +
                    tmp.file("in.safetensors") + " " + tmp.file("out.safetensors") + " " + std::to_string(seed) + " " +
                    std::to_string(n) + " " + kind + " 2>" + tmp.file("ref.log");
  int rc = std::system(cmd.c_str());
  if (WIFEXITED(rc) && WEXITSTATUS(rc) == 3) return std::nullopt;
  EXPECT_EQ(rc, 0) << "reference failed: " << read_file(tmp.file("ref.log"));
  if (rc != 0) return NamedTensors{};
  NamedTensors out;
  for (auto& [name, t] : load_safetensors(tmp.file("out.safetensors"))) out.emplace_back(name, t.clone());
  return out;
}

// Same seed, same added rows as PyTorch (the same generator draws in the same order); 1e-6 absolute, as the
// Cholesky factor and the matmul may round differently.
TEST(ResizeTest, AddedRowsEqualPyTorchsForTheSameSeed) {
  TempDir tmp;
  torch::manual_seed(11);
  auto weight = torch::randn({40, 8}) * 0.3 + 0.1;
  auto bias = torch::randn({40});
  {
    torch::nn::Embedding emb(40, 8);
    {
      torch::NoGradGuard no_grad;
      emb->weight.copy_(weight);
    }
    torch::manual_seed(5);
    resize_embedding_(emb, 47);
    auto ref = python_resize(tmp, {{"weight", weight}}, 5, 47, "embedding");
    if (!ref) GTEST_SKIP() << "/usr/bin/python3 with torch is not available";
    ASSERT_EQ(ref->size(), 1u);
    EXPECT_LT(max_abs_diff(emb->weight, ref->at(0).second), 1e-6);
  }
  {
    auto w = weight.clone().requires_grad_(true);
    auto b = bias.clone().requires_grad_(true);
    torch::manual_seed(6);
    resize_lm_head_(w, &b, 45);
    EXPECT_TRUE(w.requires_grad() && b.requires_grad());
    auto ref = python_resize(tmp, {{"weight", weight}, {"bias", bias}}, 6, 45, "linear");
    ASSERT_TRUE(ref && ref->size() == 2u);
    for (const auto& [name, t] : *ref) EXPECT_LT(max_abs_diff(name == "bias" ? b : w, t), 1e-6) << name;
  }
}

}  // namespace
}  // namespace tcpp::models
