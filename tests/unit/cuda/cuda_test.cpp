// The CUDA paths of issues #5 (models on the GPU), #6 (bf16/fp16 autocast and the fp16 loss scaler) and #9 (NCCL).
// Every test skips without a CUDA device, so CI (no GPU) builds them and skips them; scripts/gpu_check.sh runs them
// on a GPU machine.
#include <gtest/gtest.h>

#include <chrono>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>
#include <torch/version.h>

#include "tcpp/distributed/process_group.h"
#include "tcpp/models/auto.h"
#include "tcpp/models/common/autocast.h"
#include "tcpp/trainer/fused_adamw.h"
#include "tcpp/trainer/memory_metrics.h"
#include "tcpp/trainer/mixed_precision.h"

#include "../distributed/free_port.h"

namespace tcpp {
namespace {

#define TCPP_REQUIRE_CUDA()                                                                                      \
  if (!torch::cuda::is_available())                                                                             \
  GTEST_SKIP() << "no CUDA device (LibTorch " TORCH_VERSION "); scripts/gpu_check.sh runs this on a GPU machine"

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.cpu().to(torch::kFloat64) - b.cpu().to(torch::kFloat64)).abs().max().item<double>();
}

models::ModelInputs to_cuda(models::ModelInputs in) {
  for (auto* t : {&in.input_ids, &in.attention_mask, &in.token_type_ids, &in.position_ids, &in.labels})
    if (t->defined()) *t = t->to(torch::kCUDA);
  return in;
}

TEST(CudaTest, AutocastRunsCudaMatmulsInFp16AndBf16AndRestoresTheState) {
  TCPP_REQUIRE_CUDA();
  auto a = torch::randn({8, 8}, torch::kCUDA), b = torch::randn({8, 8}, torch::kCUDA);
  for (auto dtype : {torch::kHalf, torch::kBFloat16}) {
    {
      trainer::AutocastGuard guard(c10::DeviceType::CUDA, dtype, /*enabled=*/true);
      EXPECT_EQ(torch::matmul(a, b).scalar_type(), dtype);
      EXPECT_EQ(models::active_autocast_dtype(c10::DeviceType::CUDA).value_or(torch::kFloat32), dtype);
      EXPECT_EQ(torch::matmul(a.cpu(), b.cpu()).scalar_type(), torch::kFloat32);  // CPU autocast untouched
    }
    EXPECT_EQ(torch::matmul(a, b).scalar_type(), torch::kFloat32);
    EXPECT_FALSE(models::active_autocast_dtype(c10::DeviceType::CUDA).has_value());
  }
}

TEST(CudaTest, GradScalerUnscalesCudaGradientsAndBacksOffOnInf) {
  TCPP_REQUIRE_CUDA();
  trainer::GradScaler scaler;  // init_scale 65536, as torch.amp.GradScaler
  auto p = torch::zeros({3}, torch::TensorOptions().device(torch::kCUDA).requires_grad(true));
  auto w = torch::tensor({1.0F, 2.0F, 3.0F}).to(torch::kCUDA);
  {
    trainer::AutocastGuard guard(c10::DeviceType::CUDA, torch::kHalf, true);
    scaler.scale((p * w).sum()).backward();
  }
  EXPECT_EQ(p.grad().scalar_type(), torch::kFloat32);
  EXPECT_TRUE(scaler.unscale({p}));
  EXPECT_LT(max_abs_diff(p.grad(), w), 1e-6);
  scaler.update(false);
  EXPECT_EQ(scaler.get_scale(), 65536.0);
  p.mutable_grad().fill_(std::numeric_limits<float>::infinity());
  EXPECT_FALSE(scaler.unscale({p}));
  scaler.update(true);
  EXPECT_EQ(scaler.get_scale(), 32768.0);
}

using Family = std::pair<const char*, const char*>;  // model_type, config_overrides

class CudaModelTest : public ::testing::TestWithParam<Family> {};

// fp32 on the GPU gives the CPU's logits, loss and gradients (TF32 is off by default for matmuls); the bf16/fp16
// autocast forward gives finite logits close to them.
TEST_P(CudaModelTest, LogitsLossAndGradientsOnCudaMatchTheCpu) {
  TCPP_REQUIRE_CUDA();
  const auto [model_type, overrides] = GetParam();
  torch::manual_seed(0);
  auto config = models::AutoConfig::for_model(model_type);
  config->update_from_string(overrides);
  auto model = models::model_from_config(*config);
  model->eval();
  models::ModelInputs in;
  in.input_ids = torch::tensor({{5, 9, 13, 2, 44, 7, 31, 3}, {3, 17, 8, 26, 1, 1, 1, 1}}, torch::kLong);
  in.attention_mask = torch::tensor({{1, 1, 1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 0, 0, 0, 0}}, torch::kLong);
  in.labels = torch::tensor({{5, 9, 13, 2, 44, 7, 31, 3}, {3, 17, 8, 26, -100, -100, -100, -100}}, torch::kLong);

  auto cpu = model->forward(in);
  cpu.loss.backward();
  std::vector<std::pair<std::string, torch::Tensor>> cpu_grads;
  for (const auto& p : model->named_parameters()) {
    if (p.value().grad().defined()) cpu_grads.emplace_back(p.key(), p.value().grad().clone());
  }
  ASSERT_FALSE(cpu_grads.empty());
  for (auto& p : model->parameters()) p.mutable_grad() = torch::Tensor();  // no CPU gradients left to accumulate into

  model->to(torch::kCUDA);
  const auto gin = to_cuda(in);
  auto gpu = model->forward(gin);
  ASSERT_TRUE(gpu.logits.is_cuda());
  gpu.loss.backward();
  EXPECT_LT(max_abs_diff(gpu.logits, cpu.logits), 1e-4) << model_type;
  EXPECT_LT(std::abs(gpu.loss.item<double>() - cpu.loss.item<double>()), 1e-4) << model_type;
  const auto params = model->named_parameters();
  for (const auto& [name, grad] : cpu_grads) {
    const auto& g = params[name].grad();
    ASSERT_TRUE(g.defined()) << name;
    EXPECT_LT(max_abs_diff(g, grad), 1e-4) << model_type << " " << name;
  }

  torch::NoGradGuard no_grad;
  for (auto dtype : {torch::kBFloat16, torch::kHalf}) {
    trainer::AutocastGuard guard(c10::DeviceType::CUDA, dtype, true);
    auto low = model->forward(gin);
    EXPECT_TRUE(torch::isfinite(low.logits).all().item<bool>()) << model_type << " " << dtype;
    EXPECT_LT(max_abs_diff(low.logits, cpu.logits), 0.1) << model_type << " " << dtype;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Families, CudaModelTest,
    ::testing::Values(
        Family{"gpt2", "vocab_size=50,n_positions=16,n_embd=16,n_layer=2,n_head=2,resid_pdrop=0,embd_pdrop=0,attn_pdrop=0"},
        Family{"bert", "vocab_size=50,hidden_size=16,num_hidden_layers=2,num_attention_heads=2,intermediate_size=24,"
                       "max_position_embeddings=20,hidden_dropout_prob=0,attention_probs_dropout_prob=0"},
        Family{"roberta", "vocab_size=50,hidden_size=16,num_hidden_layers=2,num_attention_heads=2,intermediate_size=24,"
                          "max_position_embeddings=20,hidden_dropout_prob=0,attention_probs_dropout_prob=0"},
        Family{"llama", "vocab_size=50,hidden_size=16,intermediate_size=24,num_hidden_layers=2,num_attention_heads=4,"
                        "num_key_value_heads=2,rope_theta=500.0,max_position_embeddings=32"}),
    [](const ::testing::TestParamInfo<Family>& info) { return std::string(info.param.first); });

// CUDA parameters take LibTorch's own AdamW step inside FusedAdamW: same results as torch::optim::AdamW.
TEST(CudaTest, FusedAdamWOnCudaParametersMatchesAdamW) {
  TCPP_REQUIRE_CUDA();
  torch::manual_seed(1);
  auto p1 = torch::randn({5, 7}, torch::kCUDA).requires_grad_();
  auto p2 = p1.detach().clone().requires_grad_();
  torch::optim::AdamWOptions o(1e-2);
  o.weight_decay(0.1);
  torch::optim::AdamW reference(std::vector<torch::Tensor>{p1}, o);
  trainer::FusedAdamW fused(std::vector<torch::Tensor>{p2}, o);
  for (int step = 0; step < 3; ++step) {
    auto g = torch::randn({5, 7}, torch::kCUDA);
    p1.mutable_grad() = g.clone();
    p2.mutable_grad() = g.clone();
    reference.step();
    fused.step();
  }
  EXPECT_LT(max_abs_diff(p1, p2), 1e-6);
}

// skip_memory_metrics=False on a GPU: HF's *_mem_gpu_* keys from the caching allocator (LibTorch >= 2.9).
TEST(CudaTest, MemoryTrackerReportsGpuAllocationsAndPeaks) {
  TCPP_REQUIRE_CUDA();
  if (!trainer::device_memory_metrics_available())
    GTEST_SKIP() << "LibTorch " TORCH_VERSION " has no at::accelerator memory API (2.9 and later)";
  trainer::MemoryTracker t(/*skip=*/false);
  ASSERT_TRUE(t.start("init"));
  trainer::Metrics init;
  t.stop_and_update_metrics("init", init);
  ASSERT_TRUE(t.start("train"));
  constexpr int64_t kKept = 4 << 20, kTemporary = 64 << 20;  // bytes
  const auto kept = torch::ones({kKept / 4}, torch::kCUDA);
  {
    const auto temporary = torch::ones({kTemporary / 4}, torch::kCUDA);
    EXPECT_EQ(temporary.sum().item<float>(), kTemporary / 4);
  }
  trainer::Metrics m;
  t.stop_and_update_metrics("train", m);
  EXPECT_GE(m.at("train_mem_gpu_alloc_delta"), kKept);  // plus any small block the sum left cached for reuse
  EXPECT_LT(m.at("train_mem_gpu_alloc_delta"), kKept + (1 << 20));
  EXPECT_GE(m.at("train_mem_gpu_peaked_delta"), kTemporary);
  EXPECT_TRUE(m.count("init_mem_gpu_alloc_delta") && m.count("before_init_mem_gpu"));
  EXPECT_GE(m.at("train_mem_cpu_peaked_delta"), 0);
  EXPECT_TRUE(trainer::empty_accelerator_cache());  // --torch_empty_cache_steps' call
}

// One rank is all a single GPU allows NCCL (it refuses two ranks on one device): every collective the Trainer uses,
// on CUDA tensors and on the CPU tensors of its bookkeeping (staged through the device and copied back).
TEST(CudaTest, NcclProcessGroupOfOneRankRunsEveryCollective) {
  TCPP_REQUIRE_CUDA();
  if (!distributed::backend_available("nccl")) GTEST_SKIP() << "this build has no NCCL (needs a CUDA LibTorch and nccl.h)";
  distributed::DistributedEnvironment env;
  env.master_port = tcpp::distributed::testing::free_port();
  distributed::ProcessGroupOptions o;
  o.backend = "nccl";
  o.device = "cuda:0";
  o.timeout = std::chrono::seconds(120);
  auto pg = distributed::ProcessGroup::create(env, o);
  ASSERT_TRUE(pg);
  EXPECT_EQ(pg->backend(), "nccl");
  EXPECT_EQ(pg->world_size(), 1);

  auto t = torch::arange(4, torch::TensorOptions().dtype(torch::kFloat32).device(torch::kCUDA));
  pg->all_reduce(t);
  EXPECT_TRUE(torch::equal(t.cpu(), torch::arange(4).to(torch::kFloat32)));
  pg->all_reduce_async(t)->wait();
  pg->broadcast(t, 0);
  EXPECT_TRUE(torch::equal(t.cpu(), torch::arange(4).to(torch::kFloat32)));
  const auto parts = pg->all_gather(t);
  ASSERT_EQ(parts.size(), 1U);
  EXPECT_TRUE(parts[0].is_cuda());

  auto mean = torch::tensor({2.5}, torch::kFloat64);  // Trainer::mean_over_ranks
  pg->all_reduce(mean);
  EXPECT_TRUE(mean.device().is_cpu());
  EXPECT_EQ(mean.item<double>(), 2.5);
  auto tokens = torch::tensor({int64_t{96}}, torch::kInt64);  // count_input_tokens
  pg->all_reduce_async(tokens)->wait();
  EXPECT_EQ(tokens.item<int64_t>(), 96);
  auto flags = torch::tensor({0.0F, 1.0F});  // the NaN/stop verdict
  pg->all_reduce_max(flags);
  EXPECT_EQ(flags[1].item<float>(), 1.0F);
  EXPECT_EQ(pg->all_gather_bytes("rng state"), std::vector<std::string>{"rng state"});
  EXPECT_EQ(pg->broadcast_bytes("checkpoint-2", 0), "checkpoint-2");
  const auto padded = pg->all_gather_padded(torch::ones({2, 3}, torch::kCUDA), -100.0);
  EXPECT_EQ(padded.sizes().vec(), (std::vector<int64_t>{2, 3}));
  pg->barrier();
}

}  // namespace
}  // namespace tcpp
