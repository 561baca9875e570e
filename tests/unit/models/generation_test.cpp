// Tests for models/generation: cached == uncached tokens, eos stop and padding, sampling filters, refusals.
#include "tcpp/models/generation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "tcpp/core/error.h"
#include "tcpp/models/auto.h"

namespace tcpp::models {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

PreTrainedModel tiny(const std::string& model_type, const std::string& overrides) {
  torch::manual_seed(0);
  auto config = AutoConfig::for_model(model_type);
  config->update_from_string(overrides);
  auto model = model_from_config(*config);
  torch::NoGradGuard no_grad;
  for (auto& p : model->parameters()) p.normal_(p.dim() == 1 ? 1.0 : 0.0, 0.5);  // peaked, distinct logits
  model->eval();
  return model;
}

const char* kGpt2 = "vocab_size=40,n_positions=64,n_embd=16,n_layer=2,n_head=2";
const char* kLlama = "vocab_size=40,hidden_size=16,intermediate_size=24,num_hidden_layers=2,num_attention_heads=4,"
                     "num_key_value_heads=2";

TEST(GenerationTest, CachedAndUncachedGreedySearchGiveTheSameTokens) {
  for (const auto& [type, overrides] : std::vector<std::pair<std::string, std::string>>{{"gpt2", kGpt2}, {"llama", kLlama}}) {
    auto model = tiny(type, overrides);
    // Row 1 is left-padded, as batched generation requires.
    auto ids = torch::tensor({{5, 9, 13, 2}, {0, 0, 17, 8}}, torch::kLong);
    auto mask = torch::tensor({{1, 1, 1, 1}, {0, 0, 1, 1}}, torch::kLong);
    GenerationConfig g;
    g.max_new_tokens = 12;
    auto cached = generate(*model, ids, mask, g);
    g.use_cache = false;
    auto uncached = generate(*model, ids, mask, g);
    EXPECT_EQ(cached.sizes(), (std::vector<int64_t>{2, 16})) << type;
    EXPECT_TRUE(torch::equal(cached, uncached)) << type << "\n" << cached << "\n" << uncached;
    EXPECT_TRUE(torch::equal(cached.slice(1, 0, 4), ids)) << type;
    // Left padding must not change a row's continuation.
    auto alone = generate(*model, ids.slice(0, 1, 2).slice(1, 2), torch::Tensor(), g);
    EXPECT_TRUE(torch::equal(alone.slice(1, 2), uncached.slice(0, 1, 2).slice(1, 4))) << type;
  }
}

TEST(GenerationTest, StopsAtEosAndPadsFinishedRows) {
  auto model = tiny("gpt2", kGpt2);
  GenerationConfig g;
  g.max_new_tokens = 6;
  // Find a second prompt whose first new token differs from row 0's, so that only row 0 stops.
  torch::Tensor ids, free_run;
  for (int64_t start = 1; start < 30; ++start) {
    ids = torch::tensor({{int64_t{5}, int64_t{9}, int64_t{13}, int64_t{2}}, {start, start + 7, int64_t{8}, int64_t{26}}});
    free_run = generate(*model, ids, torch::Tensor(), g);
    if (free_run[0][4].item<int64_t>() != free_run[1][4].item<int64_t>()) break;
  }
  // Make row 0's first new token the eos: row 0 is then padded while row 1 continues until its own eos or the limit.
  g.eos_token_ids = {free_run[0][4].item<int64_t>()};
  g.pad_token_id = 39;
  auto out = generate(*model, ids, torch::Tensor(), g);
  EXPECT_EQ(out[0][4].item<int64_t>(), g.eos_token_ids[0]);
  ASSERT_NE(free_run[1][4].item<int64_t>(), g.eos_token_ids[0]) << "pick another prompt: row 1 must go on";
  ASSERT_GT(out.size(1), 5);
  EXPECT_EQ(out[0][5].item<int64_t>(), 39);
  // When every row's first token is an eos, one step is all it takes.
  g.eos_token_ids = {free_run[0][4].item<int64_t>(), free_run[1][4].item<int64_t>()};
  EXPECT_EQ(generate(*model, ids, torch::Tensor(), g).size(1), 5);
}

TEST(GenerationTest, SamplingWithTopKOneOrTinyTopPIsGreedy) {
  auto model = tiny("llama", kLlama);
  auto ids = torch::tensor({{5, 9, 13}}, torch::kLong);
  GenerationConfig greedy;
  greedy.max_new_tokens = 8;
  auto expected = generate(*model, ids, torch::Tensor(), greedy);
  GenerationConfig k1 = greedy;
  k1.do_sample = true;
  k1.top_k = 1;
  k1.temperature = 0.7;
  EXPECT_TRUE(torch::equal(generate(*model, ids, torch::Tensor(), k1), expected));
  GenerationConfig p = greedy;
  p.do_sample = true;
  p.top_k = 0;
  p.top_p = 1e-6;
  EXPECT_TRUE(torch::equal(generate(*model, ids, torch::Tensor(), p), expected));
}

TEST(GenerationTest, SamplingDependsOnTheSeedAndStaysInVocabulary) {
  auto model = tiny("gpt2", kGpt2);
  auto ids = torch::tensor({{5, 9}}, torch::kLong);
  GenerationConfig g;
  g.max_new_tokens = 16;
  g.do_sample = true;
  g.temperature = 3.0;  // flatten the distribution so that seeds matter
  torch::manual_seed(1);
  auto a = generate(*model, ids, torch::Tensor(), g);
  torch::manual_seed(1);
  auto b = generate(*model, ids, torch::Tensor(), g);
  torch::manual_seed(2);
  auto c = generate(*model, ids, torch::Tensor(), g);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, c));
  EXPECT_LT(a.max().item<int64_t>(), 40);
}

TEST(GenerationTest, MaskedLanguageModelsCannotGenerate) {
  auto model = tiny("bert", "vocab_size=40,hidden_size=16,num_hidden_layers=1,num_attention_heads=2,intermediate_size=16");
  EXPECT_THAT([&] { generate(*model, torch::tensor({{1, 2}}, torch::kLong), torch::Tensor(), GenerationConfig{}); },
              ThrowsMessage<InputError>(HasSubstr("BertForMaskedLM is not a causal language model")));
}

TEST(GenerationTest, EosIdsComeFromTheModelConfig) {
  auto g = GenerationConfig::from_model_config(Json{{"eos_token_id", Json::array({128001, 128009})}, {"pad_token_id", 0}});
  EXPECT_EQ(g.eos_token_ids, (std::vector<int64_t>{128001, 128009}));
  EXPECT_EQ(g.pad_token_id, 0);
}

}  // namespace
}  // namespace tcpp::models
