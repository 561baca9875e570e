// Block-causal attention equals eager attention under the causal bias (values and gradients, fp32 and bf16, every
// block size and a sequence that is not a multiple of it), and the decoders take it exactly when only the causal mask
// applies (no padding, no cache, no attention dropout).
#include "tcpp/models/common/attention.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>
#include <string>
#include <unordered_set>

#include "tcpp/models/auto.h"
#include "tcpp/models/common/autocast.h"
#include "tcpp/models/common/bf16_gemm.h"
#include "tcpp/models/common/causal_attention_cpu.h"
#include "tcpp/models/common/modeling_utils.h"

namespace tcpp::models {
namespace {

struct Result {
  torch::Tensor out, dq, dk, dv;
};

Result run(bool blocked, const torch::Tensor& q0, const torch::Tensor& k0, const torch::Tensor& v0,
           const torch::Tensor& d_out, double scale, int64_t block_rows) {
  auto q = q0.clone().requires_grad_(true), k = k0.clone().requires_grad_(true), v = v0.clone().requires_grad_(true);
  const int64_t T = q.size(2);
  torch::Tensor out;
  if (blocked) {
    out = causal_attention(q, k, v, scale, block_rows);
  } else {
    auto bias = attention_bias({}, T, 0, /*causal=*/true, torch::kFloat32, q.device());
    out = eager_attention(q, k, v, bias, scale, 0.0, false);
  }
  out.backward(d_out.to(out.scalar_type()));
  return {out.detach(), q.grad(), k.grad(), v.grad()};
}

void expect_close(const torch::Tensor& a, const torch::Tensor& b, double atol, const std::string& what) {
  ASSERT_EQ(a.sizes(), b.sizes()) << what;
  ASSERT_EQ(a.scalar_type(), b.scalar_type()) << what;
  const double diff = (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
  EXPECT_LE(diff, atol) << what;
}

void expect_all_close(const Result& got, const Result& want, double out_tol, double grad_tol, const std::string& what) {
  expect_close(got.out, want.out, out_tol, what + " out");
  expect_close(got.dq, want.dq, grad_tol, what + " dq");
  expect_close(got.dk, want.dk, grad_tol, what + " dk");
  expect_close(got.dv, want.dv, grad_tol, what + " dv");
}

TEST(CausalAttention, EqualsEagerAttentionFp32ForEveryBlockSize) {
  torch::manual_seed(0);
  for (int64_t T : {1, 2, 5, 64, 130}) {
    const int64_t B = 2, H = 3, D = 8;
    auto q = torch::randn({B, H, T, D}), k = torch::randn({B, H, T, D}), v = torch::randn({B, H, T, D});
    auto d_out = torch::randn({B, H, T, D});
    const auto ref = run(false, q, k, v, d_out, 0.35, 0);
    for (int64_t block : {int64_t(0), int64_t(1), int64_t(7), int64_t(64), T}) {
      const auto got = run(true, q, k, v, d_out, 0.35, block);
      expect_all_close(got, ref, 1e-5, 1e-5, "T=" + std::to_string(T) + " block=" + std::to_string(block));
    }
  }
}

// fp32 on the CPU runs the CBLAS kernel (causal_attention_cpu.cpp) whenever the process has cblas_sgemm, as
// Debian's LibTorch does: the tests above then check that kernel. Here also peaked scores (one key takes almost all
// the weight, most exponentials underflow) and a head size that is not a multiple of the vector width.
TEST(CausalAttention, CpuKernelTakesFp32AndMatchesEagerOnPeakedScores) {
  auto q3 = torch::randn({2, 5, 8}), v3 = torch::randn({2, 5, 8});
  if (!causal_attention_cpu_supports(q3, q3, v3)) GTEST_SKIP() << "no cblas_sgemm in this process: the op path runs";
  // bf16 as it is only with oneDNN's bf16 GEMM (otherwise causal_attention upcasts to float32 for this kernel).
  EXPECT_EQ(causal_attention_cpu_supports(q3.to(torch::kBFloat16), q3.to(torch::kBFloat16), v3.to(torch::kBFloat16)),
            bf16_gemm_available());
  EXPECT_FALSE(causal_attention_cpu_supports(q3.transpose(1, 2), q3.transpose(1, 2), v3.transpose(1, 2)));
  torch::manual_seed(4);
  const int64_t B = 1, H = 2, T = 37, D = 13;
  auto q = torch::randn({B, H, T, D}) * 6.0, k = torch::randn({B, H, T, D}) * 6.0, v = torch::randn({B, H, T, 5});
  auto d_out = torch::randn({B, H, T, 5});
  const auto ref = run(false, q, k, v, d_out, 1.0, 0);
  for (int64_t block : {int64_t(3), int64_t(16), T})
    expect_all_close(run(true, q, k, v, d_out, 1.0, block), ref, 2e-5, 1e-4, "peaked block=" + std::to_string(block));
}

TEST(CausalAttention, NonContiguousInputsAndSeparateValueWidth) {
  torch::manual_seed(1);
  const int64_t B = 2, T = 33, H = 4, D = 6;
  auto qkv = torch::randn({B, T, 3 * H * D}).split(H * D, 2);  // as a model's fused projection, viewed per head
  auto view = [&](const torch::Tensor& t) { return t.view({B, T, H, D}).transpose(1, 2); };
  auto d_out = torch::randn({B, H, T, D});
  const auto ref = run(false, view(qkv[0]), view(qkv[1]), view(qkv[2]), d_out, 0.5, 0);
  const auto got = run(true, view(qkv[0]), view(qkv[1]), view(qkv[2]), d_out, 0.5, 8);
  expect_all_close(got, ref, 1e-5, 1e-5, "views");
}

TEST(CausalAttention, Bf16InputsCloseToEagerAndKeepTheirDtype) {
  torch::manual_seed(2);
  const int64_t B = 1, H = 2, T = 70, D = 16;
  auto q = torch::randn({B, H, T, D}).to(torch::kBFloat16), k = torch::randn({B, H, T, D}).to(torch::kBFloat16);
  auto v = torch::randn({B, H, T, D}).to(torch::kBFloat16);
  auto d_out = torch::randn({B, H, T, D});
  const auto ref = run(false, q, k, v, d_out, 0.25, 0);
  // The kernel on bf16 inputs with oneDNN's bf16 GEMM (probabilities and dS rounded to bf16 for their products, as
  // eager's bf16 matmuls), and on float32 copies with it turned off; both close to eager.
  for (bool onednn : {true, false}) {
    const bool was = set_bf16_gemm_enabled(onednn);
    for (int64_t block : {int64_t(16), int64_t(7), T}) {
      const auto got = run(true, q, k, v, d_out, 0.25, block);
      expect_all_close(got, ref, 3e-2, 6e-2,
                       std::string(onednn ? "bf16 oneDNN" : "bf16 upcast") + " block=" + std::to_string(block));
    }
    set_bf16_gemm_enabled(was);
  }
}

TEST(CausalAttention, RunsInTheAutocastDtypeLikeEagerMatmuls) {
  torch::manual_seed(3);
  auto q = torch::randn({1, 2, 20, 8}), k = torch::randn({1, 2, 20, 8}), v = torch::randn({1, 2, 20, 8});
  const bool prev_enabled = autocast_enabled(c10::DeviceType::CPU);
  const auto prev_dtype = autocast_dtype(c10::DeviceType::CPU);
  set_autocast_enabled(c10::DeviceType::CPU, true);
  set_autocast_dtype(c10::DeviceType::CPU, torch::kBFloat16);
  auto out = causal_attention(q.requires_grad_(true), k, v, 0.3);
  out.sum().backward();
  set_autocast_enabled(c10::DeviceType::CPU, prev_enabled);
  set_autocast_dtype(c10::DeviceType::CPU, prev_dtype);
  EXPECT_EQ(out.scalar_type(), torch::kBFloat16);
  ASSERT_TRUE(q.grad().defined());
  EXPECT_EQ(q.grad().scalar_type(), torch::kFloat32);  // the cast back to the fp32 leaf goes through autograd
  auto ref = eager_attention(q.detach(), k, v, attention_bias({}, 20, 0, true, torch::kFloat32, q.device()), 0.3, 0,
                             false);
  expect_close(out.to(torch::kFloat32), ref, 3e-2, "autocast out");
}

TEST(CausalAttention, DecoderBiasIsDroppedOnlyWhenCausalityIsAllThatApplies) {
  auto ones = torch::ones({2, 6}, torch::kLong);
  auto padded = ones.clone();
  padded[1][0] = 0;
  const auto cpu = torch::Device(torch::kCPU);
  EXPECT_FALSE(decoder_attention_bias({}, 6, 0, false, cpu).defined());
  EXPECT_FALSE(decoder_attention_bias(ones, 6, 0, false, cpu).defined());
  EXPECT_TRUE(decoder_attention_bias(padded, 6, 0, false, cpu).defined());
  EXPECT_TRUE(decoder_attention_bias(ones, 6, 0, /*dropout_active=*/true, cpu).defined());
  EXPECT_TRUE(decoder_attention_bias({}, 3, /*past_length=*/3, false, cpu).defined());
  EXPECT_TRUE(attention_mask_is_all_ones({}));
  EXPECT_FALSE(attention_mask_is_all_ones(padded));
}

// Whether the autograd graph behind `t` holds a node whose name contains `name`.
bool graph_has(const torch::Tensor& t, const std::string& name) {
  std::unordered_set<torch::autograd::Node*> seen;
  std::function<bool(torch::autograd::Node*)> visit = [&](torch::autograd::Node* node) {
    if (node == nullptr || !seen.insert(node).second) return false;
    if (node->name().find(name) != std::string::npos) return true;
    for (const auto& edge : node->next_edges())
      if (visit(edge.function.get())) return true;
    return false;
  };
  return visit(t.grad_fn().get());
}

TEST(CausalAttention, DecodersTakeItWithoutPaddingOrDropoutAndMatchTheMaskedPath) {
  for (const std::string family : {"gpt2", "llama"}) {
    torch::manual_seed(4);
    const std::string overrides = family == "gpt2"
                                      ? "n_embd=32,n_layer=2,n_head=4,vocab_size=50,n_positions=64,attn_pdrop=0.0,"
                                        "resid_pdrop=0.0,embd_pdrop=0.0"
                                      : "hidden_size=32,intermediate_size=64,num_hidden_layers=2,num_attention_heads=4,"
                                        "num_key_value_heads=2,vocab_size=50,max_position_embeddings=64";
    auto config = AutoConfig::for_model(family);
    config->update_from_string(overrides);
    auto model = model_from_config(*config, ModelTask::kCausalLM);
    model->train();
    ModelInputs in;
    in.input_ids = torch::randint(0, 50, {2, 40}, torch::kLong);
    in.labels = in.input_ids;
    auto fused = model->forward(in);
    EXPECT_TRUE(graph_has(fused.loss, "CausalAttention")) << family;
    // A padding mask with nothing padded but the first token of row 1 forces the masked (eager) path; compare the
    // rows that both paths see alike: row 0 (nothing padded).
    ModelInputs masked = in;
    masked.attention_mask = torch::ones({2, 40}, torch::kLong);
    masked.attention_mask[1][0] = 0;
    masked.logits_optional = false;
    in.logits_optional = false;
    auto a = model->forward(in), b = model->forward(masked);
    EXPECT_FALSE(graph_has(b.logits, "CausalAttention")) << family;
    expect_close(a.logits[0], b.logits[0], 1e-4, family + " logits row 0");
  }
}

}  // namespace
}  // namespace tcpp::models
