// The fused chunked LM head + cross-entropy equals the unfused ops: loss and both gradients, mean and
// num_items_in_batch reductions, ignored labels, chunk edges; and the causal LMs use it only when asked.
#include "tcpp/models/common/linear_cross_entropy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "tcpp/models/auto.h"

namespace tcpp::models {
namespace {

namespace F = torch::nn::functional;

struct Grads {
  torch::Tensor loss, d_hidden, d_weight;
};

Grads run(bool fused, const torch::Tensor& hidden0, const torch::Tensor& weight0, const torch::Tensor& labels,
          std::optional<int64_t> num_items, int64_t chunk_rows) {
  auto hidden = hidden0.clone().requires_grad_(true);
  auto weight = weight0.clone().requires_grad_(true);
  torch::Tensor loss;
  if (fused) {
    loss = linear_cross_entropy(hidden, weight, labels, num_items, chunk_rows);
  } else {
    auto logits = torch::mm(hidden, weight.t());
    auto o = F::CrossEntropyFuncOptions().ignore_index(-100);
    loss = num_items ? F::cross_entropy(logits, labels, o.reduction(torch::kSum)) / static_cast<double>(*num_items)
                     : F::cross_entropy(logits, labels, o.reduction(torch::kMean));
  }
  (loss * 3.0).backward();  // an upstream gradient other than 1 must scale both gradients
  return {loss.detach(), hidden.grad(), weight.grad()};
}

TEST(LinearCrossEntropyTest, EqualsTheUnfusedOpsInLossAndGradients) {
  torch::manual_seed(0);
  const int64_t N = 37, C = 16, V = 53;
  auto hidden = torch::randn({N, C});
  auto weight = torch::randn({V, C}) * 0.5;
  auto labels = torch::randint(V, {N}, torch::kLong);
  labels.index_put_({torch::tensor({0, 5, 36})}, -100);
  for (std::optional<int64_t> num_items : {std::optional<int64_t>(), std::optional<int64_t>(50)}) {
    for (int64_t chunk : {int64_t(0), int64_t(1), int64_t(8), int64_t(37), int64_t(100)}) {
      auto want = run(/*fused=*/false, hidden, weight, labels, num_items, chunk);
      auto got = run(/*fused=*/true, hidden, weight, labels, num_items, chunk);
      EXPECT_NEAR(got.loss.item<double>(), want.loss.item<double>(), 1e-5) << "chunk " << chunk;
      EXPECT_TRUE(torch::allclose(got.d_hidden, want.d_hidden, 1e-5, 1e-6)) << "chunk " << chunk;
      EXPECT_TRUE(torch::allclose(got.d_weight, want.d_weight, 1e-5, 1e-6)) << "chunk " << chunk;
    }
  }
}

TEST(LinearCrossEntropyTest, OutOfRangeLabelIsAnError) {
  auto hidden = torch::randn({4, 8});
  auto weight = torch::randn({10, 8});
  EXPECT_THAT([&] { linear_cross_entropy(hidden, weight, torch::tensor({1, 2, 10, -100}), std::nullopt); },
              ::testing::ThrowsMessage<c10::Error>(::testing::HasSubstr("Target 10 is out of bounds")));
  EXPECT_THAT([&] { linear_cross_entropy(hidden, weight, torch::tensor({1, -3, 2, 3}), std::nullopt); },
              ::testing::ThrowsMessage<c10::Error>(::testing::HasSubstr("Target -3 is out of bounds")));
}

// GPT-2 and Llama (tied and untied heads): logits_optional in training gives the same loss and parameter gradients
// without logits; in eval, or without the flag, logits are still returned.
TEST(LinearCrossEntropyTest, CausalLmsTakeTheFusedPathOnlyWhenAsked) {
  for (const std::string family : {"gpt2", "llama"}) {
    for (const std::string tie : {"true", "false"}) {
      auto config = AutoConfig::for_model(family);
      config->update_from_string(family == "gpt2"
                                     ? "n_layer=2,n_embd=32,n_head=2,vocab_size=50,n_positions=16,resid_pdrop=0.0,"
                                       "embd_pdrop=0.0,attn_pdrop=0.0,tie_word_embeddings=" + tie
                                     : "num_hidden_layers=2,hidden_size=32,intermediate_size=64,num_attention_heads=2,"
                                       "num_key_value_heads=2,vocab_size=50,max_position_embeddings=16,"
                                       "tie_word_embeddings=" + tie);
      torch::manual_seed(1);
      auto model = model_from_config(*config, ModelTask::kCausalLM);
      model->train();
      ModelInputs in;
      in.input_ids = torch::randint(50, {3, 12}, torch::kLong);
      in.labels = in.input_ids.clone();
      in.labels.index_put_({0, torch::indexing::Slice(0, 4)}, -100);
      in.num_items_in_batch = 30;
      auto grads_of = [&](bool logits_optional) {
        model->zero_grad();
        in.logits_optional = logits_optional;
        auto out = model->forward(in);
        EXPECT_EQ(out.logits.defined(), !logits_optional) << family;
        out.loss.backward();
        std::vector<torch::Tensor> g{out.loss.detach()};
        for (const auto& p : model->parameters()) g.push_back(p.grad().clone());
        return g;
      };
      auto want = grads_of(false);
      auto got = grads_of(true);
      ASSERT_EQ(got.size(), want.size());
      for (size_t i = 0; i < got.size(); ++i)
        EXPECT_TRUE(torch::allclose(got[i], want[i], 1e-4, 1e-6)) << family << " tie=" << tie << " tensor " << i;
      model->eval();
      in.logits_optional = true;
      EXPECT_TRUE(model->forward(in).logits.defined()) << "eval keeps the logits";
    }
  }
}

}  // namespace
}  // namespace tcpp::models
