// Tests for MemoryTracker (skip_memory_metrics=false): HF's keys, init reported once, nested stages not measured.
#include "tcpp/trainer/memory_metrics.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cstring>

namespace tcpp::trainer {
namespace {

constexpr size_t kBlock = 64u << 20;

// 64 MiB of touched anonymous memory, unmapped (returned to the kernel) by release().
struct Touched {
  void* p = ::mmap(nullptr, kBlock, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  Touched() { std::memset(p, 1, kBlock); }
  void release() {
    if (p != nullptr) ::munmap(p, kBlock);
    p = nullptr;
  }
  ~Touched() { release(); }
};

TEST(MemoryTrackerTest, SkippingAddsNothing) {
  MemoryTracker t(/*skip=*/true);
  EXPECT_FALSE(t.start("train"));
  Metrics m;
  t.stop_and_update_metrics("train", m);
  EXPECT_TRUE(m.empty());
}

TEST(MemoryTrackerTest, StageReportsItsGrowthAndInitGoesIntoTheFirstStageOnly) {
  if (resident_bytes() < 0) GTEST_SKIP() << "no /proc/self/status";
  MemoryTracker t(/*skip=*/false);
  ASSERT_TRUE(t.start("init"));
  Metrics none;
  t.stop_and_update_metrics("init", none);
  EXPECT_TRUE(none.empty());  // init is reported with the next stage

  ASSERT_TRUE(t.start("train"));
  Touched kept;
  EXPECT_FALSE(t.start("eval"));  // nested: not measured
  Metrics nested;
  t.stop_and_update_metrics("eval", nested);
  EXPECT_TRUE(nested.empty());
  Metrics train;
  t.stop_and_update_metrics("train", train);
  EXPECT_GE(train.at("train_mem_cpu_alloc_delta"), 0.9 * kBlock);
  EXPECT_GE(train.at("train_mem_cpu_peaked_delta"), 0);
  EXPECT_TRUE(train.count("init_mem_cpu_alloc_delta") && train.count("init_mem_cpu_peaked_delta") &&
              train.count("before_init_mem_cpu"));
  EXPECT_GT(train.at("before_init_mem_cpu"), 0);

  ASSERT_TRUE(t.start("eval"));
  Metrics eval;
  t.stop_and_update_metrics("eval", eval);
  EXPECT_TRUE(eval.count("eval_mem_cpu_alloc_delta"));
  EXPECT_FALSE(eval.count("init_mem_cpu_alloc_delta"));  // once only
}

// HF reports *_mem_gpu_* only where an accelerator is (cuda_test checks them on a GPU).
TEST(MemoryTrackerTest, GpuKeysOnlyWithAnAccelerator) {
  MemoryTracker t(/*skip=*/false);
  ASSERT_TRUE(t.start("eval"));
  Metrics m;
  t.stop_and_update_metrics("eval", m);
  EXPECT_TRUE(m.count("eval_mem_cpu_alloc_delta"));
  EXPECT_EQ(m.count("eval_mem_gpu_alloc_delta") + m.count("eval_mem_gpu_peaked_delta"),
            device_memory_metrics_available() ? 2u : 0u);
  EXPECT_EQ(empty_accelerator_cache(), device_memory_metrics_available());  // nothing to empty on the CPU
}

TEST(MemoryTrackerTest, MemoryFreedWithinTheStageShowsAsPeak) {
  if (resident_bytes() < 0) GTEST_SKIP() << "no /proc/self/status";
  MemoryTracker t(/*skip=*/false);
  ASSERT_TRUE(t.start("test"));
  {
    Touched temporary;
  }
  Metrics m;
  t.stop_and_update_metrics("test", m);
  EXPECT_LT(m.at("test_mem_cpu_alloc_delta"), 0.5 * kBlock);
  EXPECT_GE(m.at("test_mem_cpu_peaked_delta"), 0.9 * kBlock);
}

TEST(MemoryTrackerTest, AbandonedStageLetsTheNextOneRun) {
  MemoryTracker t(/*skip=*/false);
  ASSERT_TRUE(t.start("train"));
  t.abandon("train");
  EXPECT_TRUE(t.start("eval"));
}

TEST(MemoryTrackerTest, MemoryFiguresAreWrittenAsIntegers) {
  const Json j = metrics_to_json({{"train_mem_cpu_alloc_delta", 1048576.0}, {"train_loss", 2.0}});
  EXPECT_TRUE(j["train_mem_cpu_alloc_delta"].is_number_integer());
  EXPECT_TRUE(j["train_loss"].is_number_float());
}

}  // namespace
}  // namespace tcpp::trainer
