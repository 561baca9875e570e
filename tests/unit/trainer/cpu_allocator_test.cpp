// The caching CPU allocator: blocks come back to the next tensor of the same size, large ones 2 MiB aligned,
// contents intact, small ones left to malloc, and the cache bounded.
#include "tcpp/trainer/cpu_allocator.h"

#include <gtest/gtest.h>
#include <c10/core/CPUAllocator.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>
#include <torch/torch.h>

#include "tcpp/trainer/torch_runtime.h"

namespace tcpp::trainer {
namespace {

TEST(CpuAllocatorTest, ReusesBlocksOfTheSameSize) {
  ASSERT_TRUE(install_caching_cpu_allocator());
  empty_cpu_cache();
  void* first = nullptr;
  {
    auto t = torch::empty({3, 1000, 1000});  // 12 MB
    first = t.data_ptr();
    EXPECT_EQ(reinterpret_cast<uintptr_t>(first) % (2u << 20), 0u) << "large blocks start on a huge page";
    t.fill_(1.5f);
  }
  const auto before = cpu_allocator_stats();
  EXPECT_GE(before.cached_bytes, 12000000);
  auto again = torch::empty({3, 1000, 1000});
  EXPECT_EQ(again.data_ptr(), first);
  const auto after = cpu_allocator_stats();
  EXPECT_EQ(after.num_reuses, before.num_reuses + 1);
  EXPECT_EQ(after.num_maps, before.num_maps);
  // A slightly smaller request (within 1/8) takes the same block; a much larger one maps a new block.
  again = torch::Tensor();
  auto smaller = torch::empty({3, 990, 1000});
  EXPECT_EQ(smaller.data_ptr(), first);
  auto larger = torch::empty({8, 1000, 1000});
  EXPECT_NE(larger.data_ptr(), first);
  EXPECT_EQ(cpu_allocator_stats().num_maps, after.num_maps + 1);
}

// Blocks are sized to the next 64 KiB, not to a coarse class: a 3.1 MB activation (GPT-2 124M's (1024, 768) fp32)
// holds 3.1 MB, not 4 MB, for the whole run.
TEST(CpuAllocatorTest, BlocksAreRoundedTo64KiBOnly) {
  ASSERT_TRUE(install_caching_cpu_allocator());
  empty_cpu_cache();
  const auto before = cpu_allocator_stats();
  auto t = torch::empty({1024, 768});  // 3,145,728 bytes = 48 x 64 KiB
  EXPECT_EQ(cpu_allocator_stats().allocated_bytes - before.allocated_bytes, 3145728);
  auto u = torch::empty({1024 * 768 + 1});  // one float more: one more 64 KiB
  EXPECT_EQ(cpu_allocator_stats().allocated_bytes - before.allocated_bytes, 3145728 + 3145728 + 65536);
}

// Random lifetimes and sizes (256 KiB to 40 MB, across segment boundaries): live blocks never overlap, every block
// keeps what was written to it, the counters add up, and once all are freed the segments merge whole and go back.
TEST(CpuAllocatorTest, SplitAndMergedBlocksNeverOverlapAndKeepTheirContents) {
  ASSERT_TRUE(install_caching_cpu_allocator());
  empty_cpu_cache();
  const auto start = cpu_allocator_stats();
  std::mt19937 rng(7);
  std::vector<std::pair<torch::Tensor, float>> live;
  auto check_all = [&] {
    std::vector<std::pair<uintptr_t, uintptr_t>> spans;
    int64_t bytes = 0;
    for (auto& [t, v] : live) {
      const auto begin = reinterpret_cast<uintptr_t>(t.data_ptr());
      spans.emplace_back(begin, begin + t.nbytes());
      bytes += static_cast<int64_t>((t.nbytes() + 65535) / 65536 * 65536);
      ASSERT_EQ(t[0].item<float>(), v);
      ASSERT_EQ(t[t.numel() - 1].item<float>(), v);
    }
    std::sort(spans.begin(), spans.end());
    for (size_t i = 1; i < spans.size(); ++i) ASSERT_LE(spans[i - 1].second, spans[i].first) << "overlap";
    // Each block is its request rounded to 64 KiB, or up to 256 KiB more when the rest was too small to split off.
    const int64_t allocated = cpu_allocator_stats().allocated_bytes - start.allocated_bytes;
    ASSERT_GE(allocated, bytes);
    ASSERT_LE(allocated, bytes + static_cast<int64_t>(live.size()) * (256 << 10));
  };
  for (int round = 0; round < 400; ++round) {
    if (!live.empty() && (rng() % 3 == 0 || live.size() > 24)) {
      live.erase(live.begin() + static_cast<long>(rng() % live.size()));
    } else {
      const int64_t floats = 65536 + static_cast<int64_t>(rng() % 10000000);  // 256 KiB .. 40 MB
      const float v = static_cast<float>(round);
      live.emplace_back(torch::full({floats}, v), v);
    }
    if (round % 20 == 0) check_all();
  }
  check_all();
  live.clear();
  EXPECT_EQ(cpu_allocator_stats().allocated_bytes, start.allocated_bytes);
  empty_cpu_cache();
  EXPECT_EQ(cpu_allocator_stats().cached_bytes, 0) << "every segment merged back whole and was unmapped";
}

// Freed neighbours merge: two 10 MB tensors side by side, once freed, hold a 20 MB one without a new mapping.
TEST(CpuAllocatorTest, FreedNeighboursServeALargerRequest) {
  ASSERT_TRUE(install_caching_cpu_allocator());
  empty_cpu_cache();
  auto a = torch::empty({10 << 18}), b = torch::empty({10 << 18});  // 10 MiB each, one segment
  EXPECT_EQ(static_cast<char*>(b.data_ptr()) - static_cast<char*>(a.data_ptr()), 10 << 20);
  const auto before = cpu_allocator_stats();
  a = torch::Tensor();
  b = torch::Tensor();
  auto c = torch::empty({20 << 18});
  EXPECT_EQ(cpu_allocator_stats().num_maps, before.num_maps);
}

TEST(CpuAllocatorTest, ContentsSurviveAndSmallTensorsBypassTheCache) {
  ASSERT_TRUE(install_caching_cpu_allocator());
  const auto before = cpu_allocator_stats();
  auto small = torch::arange(1000, torch::kFloat32);  // 4 KB: malloc
  EXPECT_EQ(cpu_allocator_stats().allocated_bytes, before.allocated_bytes);
  auto big = torch::arange(4 << 20, torch::kFloat32);  // 16 MB
  auto y = big * 2 + 1;
  EXPECT_EQ(y[12345].item<float>(), 12345.0f * 2 + 1);
  EXPECT_EQ(small[999].item<float>(), 999.0f);
  EXPECT_GT(cpu_allocator_stats().allocated_bytes, before.allocated_bytes);
}

// oneDNN-backed ops (BERT's GELU) allocate through raw_allocate()/raw_deallocate(), which need context == data and
// a raw deleter: a run_mlm crash when the allocator returned none.
TEST(CpuAllocatorTest, RawAllocateAndDeallocateWork) {
  ASSERT_TRUE(install_caching_cpu_allocator());
  auto* allocator = c10::GetCPUAllocator();
  ASSERT_NE(allocator->raw_deleter(), nullptr);
  for (size_t n : {size_t(100), size_t(8) << 20}) {
    void* p = allocator->raw_allocate(n);
    std::memset(p, 7, n);
    allocator->raw_deallocate(p);
  }
  auto x = torch::randn({64, 4096});  // 1 MB: a cached block through GELU and its gradient
  x.requires_grad_(true);
  auto y = torch::gelu(x);
  y.sum().backward();
  const auto want = 0.5 * x.detach() * (1 + torch::erf(x.detach() / std::sqrt(2.0)));
  EXPECT_LT((y.detach() - want).abs().max().item<double>(), 1e-5);
}

TEST(CpuAllocatorTest, CacheStaysBoundedByThePeakWorkingSet) {
  ASSERT_TRUE(install_caching_cpu_allocator());
  empty_cpu_cache();
  // Sizes that grow every time (as a KV cache during generation) cannot reuse the blocks before them; the cache
  // must not keep them all.
  for (int64_t n = 1; n <= 40; ++n) {
    auto t = torch::empty({n * (1 << 20)}, torch::kUInt8);  // 1..40 MiB, one at a time
    t.fill_(1);
  }
  const auto s = cpu_allocator_stats();
  EXPECT_LE(s.cached_bytes, s.peak_allocated_bytes + s.peak_allocated_bytes / 4);
  empty_cpu_cache();
  EXPECT_EQ(cpu_allocator_stats().cached_bytes, 0);
}

TEST(CpuAllocatorTest, TrainingStepsStopMappingAfterTheFirst) {
  prepare_torch_runtime();
  torch::manual_seed(0);
  auto w = torch::randn({512, 512}, torch::requires_grad());
  auto step = [&] {
    auto x = torch::randn({2048, 512});
    auto loss = torch::relu(x.mm(w)).mm(w).pow(2).mean();
    loss.backward();
    w.grad().zero_();
  };
  step();
  step();
  const int64_t maps = cpu_allocator_stats().num_maps;
  for (int i = 0; i < 5; ++i) step();
  EXPECT_EQ(cpu_allocator_stats().num_maps, maps) << "steady-state steps should only reuse cached blocks";
}

}  // namespace
}  // namespace tcpp::trainer
