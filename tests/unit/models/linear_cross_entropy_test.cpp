// The fused chunked LM head + cross-entropy equals the unfused ops: loss and both gradients, mean and
// num_items_in_batch reductions, ignored labels, chunk edges; and the causal LMs use it only when asked.
#include "tcpp/models/common/linear_cross_entropy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "tcpp/models/auto.h"
#include "tcpp/models/common/autocast.h"
#include "tcpp/models/common/bf16_gemm.h"

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

// got within 1% of want's largest magnitude, element by element: a few bf16 steps at the tensor's scale.
void expect_close_in_bf16(const torch::Tensor& got, const torch::Tensor& want, const std::string& what) {
  const double scale = want.to(torch::kFloat32).abs().max().item<double>();
  const double diff = (got.to(torch::kFloat32) - want.to(torch::kFloat32)).abs().max().item<double>();
  EXPECT_LE(diff, 1e-2 * scale) << what << ": max diff " << diff << " of max " << scale;
}

// CPU autocast at bf16 for one scope, as the Trainer's --bf16 (restores the previous state).
class CpuAutocastBf16 {
 public:
  CpuAutocastBf16() : prev_enabled_(autocast_enabled(c10::DeviceType::CPU)), prev_dtype_(autocast_dtype(c10::DeviceType::CPU)) {
    set_autocast_enabled(c10::DeviceType::CPU, true);
    set_autocast_dtype(c10::DeviceType::CPU, torch::kBFloat16);
  }
  ~CpuAutocastBf16() {
    set_autocast_enabled(c10::DeviceType::CPU, prev_enabled_);
    set_autocast_dtype(c10::DeviceType::CPU, prev_dtype_);
  }

 private:
  bool prev_enabled_;
  c10::ScalarType prev_dtype_;
};

// The loss followed by every parameter's gradient of one forward + backward (optionally under bf16 autocast),
// checking that logits come back exactly when the caller did not declare them optional.
std::vector<torch::Tensor> loss_and_grads(PreTrainedModel& model, ModelInputs& in, bool logits_optional, bool bf16,
                                          const std::string& family) {
  model->zero_grad();
  in.logits_optional = logits_optional;
  ModelOutput out;
  {
    std::optional<CpuAutocastBf16> autocast;
    if (bf16) autocast.emplace();
    out = model->forward(in);
  }
  EXPECT_EQ(out.logits.defined(), !logits_optional) << family;
  EXPECT_EQ(out.loss.scalar_type(), torch::kFloat32) << family;
  out.loss.backward();
  std::vector<torch::Tensor> g{out.loss.detach()};
  for (const auto& p : model->parameters()) g.push_back(p.grad().clone());
  return g;
}

TEST(LinearCrossEntropyTest, DefaultChunksAreTheFewestWithin256MBAndEven) {
  const int64_t kCap = int64_t(256) << 20;
  // GPT-2's vocabulary: issue #8's small shape (2048 rows) takes two chunks in float32 and one in bf16; the 124M
  // shape (1024 rows) one.
  EXPECT_EQ(fused_head_chunk_rows(2048, 50257, 4), 1024);
  EXPECT_EQ(fused_head_chunk_rows(2048, 50257, 2), 2048);
  EXPECT_EQ(fused_head_chunk_rows(1024, 50257, 4), 1024);
  EXPECT_EQ(fused_head_chunk_rows(0, 50257, 4), 1);
  // A vocabulary so large that not even 64 rows fit: 64-row chunks all the same.
  EXPECT_EQ(fused_head_chunk_rows(1000, int64_t(1) << 24, 4), 63);  // 16 chunks of 63 (the 64-row floor, even)
  for (int64_t rows : {1, 63, 64, 65, 1335, 1336, 2048, 4097, 100003}) {
    for (int64_t vocab : {1, 53, 32000, 50257, 128256}) {
      for (int64_t bytes : {2, 4}) {
        const int64_t chunk = fused_head_chunk_rows(rows, vocab, bytes);
        const int64_t max_rows = std::max<int64_t>(64, kCap / (bytes * vocab));
        const int64_t chunks = (rows + chunk - 1) / chunk;
        ASSERT_GE(chunk, 1);
        EXPECT_LE(chunk, max_rows) << rows << " x " << vocab;
        EXPECT_EQ(chunks, (rows + max_rows - 1) / max_rows) << rows << " x " << vocab << ": not the fewest chunks";
        EXPECT_GT(rows - (chunks - 1) * chunk, chunk - chunks) << rows << " x " << vocab << ": uneven";
        EXPECT_GT(rows - (chunks - 1) * chunk, 0) << rows << " x " << vocab << ": an empty last chunk";
      }
    }
  }
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

// No rows (an empty batch after filtering): no chunk runs, yet both gradients exist, sized, and are zero, as the
// unfused ops give (whose mean loss over nothing is NaN, as here).
TEST(LinearCrossEntropyTest, NoRowsGiveZeroGradients) {
  const int64_t C = 8, V = 11;
  auto hidden = torch::randn({0, C});
  auto weight = torch::randn({V, C});
  auto labels = torch::zeros({0}, torch::kLong);
  for (std::optional<int64_t> num_items : {std::optional<int64_t>(), std::optional<int64_t>(4)}) {
    auto want = run(/*fused=*/false, hidden, weight, labels, num_items, 0);
    auto got = run(/*fused=*/true, hidden, weight, labels, num_items, 0);
    EXPECT_EQ(std::isnan(got.loss.item<double>()), std::isnan(want.loss.item<double>()));
    ASSERT_TRUE(got.d_weight.defined());
    EXPECT_EQ(got.d_weight.sizes(), weight.sizes());
    EXPECT_TRUE(torch::equal(got.d_weight, torch::zeros_like(weight)));
    EXPECT_TRUE(torch::equal(got.d_weight, want.d_weight));
    EXPECT_EQ(got.d_hidden.sizes(), hidden.sizes());
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
      auto want = loss_and_grads(model, in, /*logits_optional=*/false, /*bf16=*/false, family);
      auto got = loss_and_grads(model, in, /*logits_optional=*/true, /*bf16=*/false, family);
      ASSERT_EQ(got.size(), want.size());
      for (size_t i = 0; i < got.size(); ++i)
        EXPECT_TRUE(torch::allclose(got[i], want[i], 1e-4, 1e-6)) << family << " tie=" << tie << " tensor " << i;
      model->eval();
      in.logits_optional = true;
      EXPECT_TRUE(model->forward(in).logits.defined()) << "eval keeps the logits";
    }
  }
}


// bf16 weights and hidden states (a model loaded in bf16): the matmuls run in bf16, the loss on logits upcast to
// float32, as transformers; the result equals those unfused ops, and gradients come back in bf16.
TEST(LinearCrossEntropyTest, Bf16TensorsMatchTheUnfusedOpsWithUpcastLogits) {
  torch::manual_seed(2);
  const int64_t N = 29, C = 32, V = 41;
  auto hidden = torch::randn({N, C}).to(torch::kBFloat16);
  auto weight = (torch::randn({V, C}) * 0.3).to(torch::kBFloat16);
  auto labels = torch::randint(V, {N}, torch::kLong);
  labels.index_put_({torch::tensor({3, 7})}, -100);
  auto fused = run(/*fused=*/true, hidden, weight, labels, std::nullopt, 8);
  auto h = hidden.clone().requires_grad_(true);
  auto w = weight.clone().requires_grad_(true);
  auto loss = F::cross_entropy(torch::mm(h, w.t()).to(torch::kFloat32), labels,
                               F::CrossEntropyFuncOptions().ignore_index(-100));
  (loss * 3.0).backward();
  EXPECT_EQ(fused.loss.scalar_type(), torch::kFloat32);
  EXPECT_EQ(fused.d_hidden.scalar_type(), torch::kBFloat16);
  EXPECT_EQ(fused.d_weight.scalar_type(), torch::kBFloat16);
  EXPECT_NEAR(fused.loss.item<double>(), loss.item<double>(), 1e-5);
  // bf16 keeps 8 bits: the summed weight gradient is rounded once per chunk here and once in the unfused matmul, so
  // elements may differ by a few bf16 steps of the tensor's scale.
  expect_close_in_bf16(fused.d_hidden, h.grad(), "d_hidden");
  expect_close_in_bf16(fused.d_weight, w.grad(), "d_weight");
}

// Under bf16 autocast with float32 master weights (the Trainer's --bf16): the head through oneDNN's bf16 -> f32 GEMM
// (where the process has it) and through LibTorch's bf16 mm both equal the unfused autocast ops (bf16 matmul,
// logits upcast for the loss): one chunk, several, and chunks with a short tail; and the two paths agree.
TEST(LinearCrossEntropyTest, Bf16AutocastHeadEqualsTheUnfusedOpsWithAndWithoutOneDnn) {
  torch::manual_seed(4);
  const int64_t N = 70, C = 48, V = 83;
  auto hidden = torch::randn({N, C});
  auto weight = torch::randn({V, C}) * 0.3;
  auto labels = torch::randint(V, {N}, torch::kLong);
  labels.index_put_({torch::tensor({0, 33, 69})}, -100);
  Grads want;
  {
    CpuAutocastBf16 autocast;
    auto h = hidden.clone().requires_grad_(true);
    auto w = weight.clone().requires_grad_(true);
    auto logits = torch::mm(h, w.t());  // bf16 under autocast
    EXPECT_EQ(logits.scalar_type(), torch::kBFloat16);
    auto loss = F::cross_entropy(logits.to(torch::kFloat32), labels, F::CrossEntropyFuncOptions().ignore_index(-100));
    (loss * 3.0).backward();
    want = {loss.detach(), h.grad(), w.grad()};
  }
  // Elements may differ by a bf16 step or two of the tensor's scale: the products are summed in another order, and
  // with several chunks LibTorch's path rounds each chunk's weight gradient.
  std::vector<Grads> paths;
  for (bool onednn : {false, true}) {
    const bool was = set_bf16_gemm_enabled(onednn);
    for (int64_t chunk : {int64_t(0), int64_t(16), int64_t(70)}) {
      Grads got;
      {
        CpuAutocastBf16 autocast;
        got = run(/*fused=*/true, hidden, weight, labels, std::nullopt, chunk);
      }
      const std::string what = std::string(onednn ? "oneDNN" : "LibTorch") + ", chunk " + std::to_string(chunk);
      EXPECT_EQ(got.d_hidden.scalar_type(), torch::kFloat32) << what;
      EXPECT_EQ(got.d_weight.scalar_type(), torch::kFloat32) << what;
      EXPECT_NEAR(got.loss.item<double>(), want.loss.item<double>(), 1e-4) << what;
      expect_close_in_bf16(got.d_hidden, want.d_hidden, what + " d_hidden");
      expect_close_in_bf16(got.d_weight, want.d_weight, what + " d_weight");
      // Every value is a bf16 number (the gradient of a bf16 matmul, upcast) times run()'s upstream 3, exactly;
      // except LibTorch's weight gradient over several chunks, a float32 sum of bf16-rounded chunk products.
      auto is_bf16 = [](const torch::Tensor& g) { return torch::equal(g, g.to(torch::kBFloat16).to(torch::kFloat32)); };
      EXPECT_TRUE(is_bf16(got.d_hidden / 3.0)) << what;
      if (onednn || chunk == 0 || chunk >= N) {
        EXPECT_TRUE(is_bf16(got.d_weight / 3.0)) << what;
      }
      if (chunk == 0) paths.push_back(got);
    }
    set_bf16_gemm_enabled(was);
  }
  ASSERT_EQ(paths.size(), 2u);
  EXPECT_NEAR(paths[0].loss.item<double>(), paths[1].loss.item<double>(), 1e-4);
}

// Under bf16 autocast (the Trainer's --bf16) the causal LMs take the fused path too: same loss as the unfused head
// (both round the logits to bf16 and upcast them), gradients within bf16 rounding, and no (B, T, V) logits.
TEST(LinearCrossEntropyTest, CausalLmsUnderBf16AutocastMatchTheUnfusedHead) {
  for (const std::string family : {"gpt2", "llama"}) {
    auto config = AutoConfig::for_model(family);
    config->update_from_string(family == "gpt2"
                                   ? "n_layer=2,n_embd=32,n_head=2,vocab_size=60,n_positions=16,resid_pdrop=0.0,"
                                     "embd_pdrop=0.0,attn_pdrop=0.0"
                                   : "num_hidden_layers=2,hidden_size=32,intermediate_size=64,num_attention_heads=2,"
                                     "num_key_value_heads=1,vocab_size=60,max_position_embeddings=16");
    torch::manual_seed(3);
    auto model = model_from_config(*config, ModelTask::kCausalLM);
    model->train();
    ModelInputs in;
    in.input_ids = torch::randint(60, {2, 16}, torch::kLong);
    in.labels = in.input_ids.clone();
    auto want = loss_and_grads(model, in, /*logits_optional=*/false, /*bf16=*/true, family);
    auto got = loss_and_grads(model, in, /*logits_optional=*/true, /*bf16=*/true, family);
    ASSERT_EQ(got.size(), want.size());
    EXPECT_NEAR(got[0].item<double>(), want[0].item<double>(), 1e-4) << family;
    for (size_t i = 1; i < got.size(); ++i) {
      EXPECT_EQ(got[i].scalar_type(), torch::kFloat32) << family << " tensor " << i;
      EXPECT_TRUE(torch::allclose(got[i], want[i], 5e-2, 2e-3)) << family << " tensor " << i << ": max diff "
                                                                 << (got[i] - want[i]).abs().max().item<double>();
    }
  }
}

}  // namespace
}  // namespace tcpp::models

namespace tcpp::models {
namespace {

// BERT and RoBERTa train under bf16 autocast (run_mlm --bf16): their MLM heads' LayerNorm gets a bf16 activation that
// no residual sum promoted, next to fp32 weights — LibTorch 1.13 refused it ("expected scalar type BFloat16 but found
// Float") at the first step. The loss now comes back finite, close to the fp32 loss, with every gradient defined.
TEST(LinearCrossEntropyTest, MaskedLmsTrainUnderBf16Autocast) {
  for (const std::string family : {"bert", "roberta"}) {
    auto config = AutoConfig::for_model(family);
    config->update_from_string("hidden_size=32,num_hidden_layers=2,num_attention_heads=2,intermediate_size=64,"
                               "vocab_size=60,max_position_embeddings=40,hidden_dropout_prob=0.0,"
                               "attention_probs_dropout_prob=0.0");
    torch::manual_seed(3);
    auto model = model_from_config(*config, ModelTask::kMaskedLM);
    model->train();
    ModelInputs in;
    in.input_ids = torch::randint(5, 60, {2, 12}, torch::kLong);
    in.labels = torch::full({2, 12}, -100, torch::kLong);
    in.labels.index_put_({torch::indexing::Slice(), torch::indexing::Slice(2, 6)}, 7);
    auto fp32 = loss_and_grads(model, in, /*logits_optional=*/false, /*bf16=*/false, family);
    auto bf16 = loss_and_grads(model, in, /*logits_optional=*/false, /*bf16=*/true, family);
    ASSERT_EQ(bf16.size(), fp32.size());
    EXPECT_TRUE(std::isfinite(bf16[0].item<double>())) << family;
    EXPECT_NEAR(bf16[0].item<double>(), fp32[0].item<double>(), 0.05 * fp32[0].item<double>()) << family;
    for (size_t i = 1; i < bf16.size(); ++i) EXPECT_TRUE(bf16[i].defined()) << family << " gradient " << i;
  }
}

}  // namespace
}  // namespace tcpp::models
