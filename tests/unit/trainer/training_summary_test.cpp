// Tests for the startup summary: HF's "***** Running training *****" lines and the OpenBLAS kernel warning.
#include "tcpp/trainer/training_summary.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tcpp::trainer {
namespace {

using ::testing::HasSubstr;

TEST(TrainingSummaryTest, LinesFollowHfWithThousandsSeparators) {
  TrainingSummary s;
  s.num_examples = 1234567;
  s.num_epochs = 3;
  s.per_device_train_batch_size = 8;
  s.world_size = 2;
  s.gradient_accumulation_steps = 4;
  s.max_steps = 115741;
  s.trainable_parameters = 124439808;
  s.device = "cpu";
  s.num_threads = 2;
  s.dtype = "float32";
  BlasInfo blas;
  blas.name = "OpenBLAS";
  blas.config = "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY USE_OPENMP Haswell MAX_THREADS=64";
  blas.core = "Haswell";
  EXPECT_THAT(format_training_summary(s, blas),
              ::testing::ElementsAre("***** Running training *****", "  Num examples = 1,234,567", "  Num Epochs = 3",
                                     "  Instantaneous batch size per device = 8",
                                     "  Total train batch size (w. parallel, distributed & accumulation) = 64",
                                     "  Gradient Accumulation steps = 4", "  Total optimization steps = 115,741",
                                     "  Number of trainable parameters = 124,439,808",
                                     "  Processes (data parallel) = 2", "  Device = cpu", "  Threads = 2",
                                     "  Dtype = float32", "  BLAS = OpenBLAS 0.3.21 (kernel Haswell)"));
  s.cpu_allocator = "caching";
  EXPECT_EQ(format_training_summary(s, blas).back(), "  CPU allocator = caching");
  EXPECT_EQ(thousands(0), "0");
  EXPECT_EQ(thousands(999), "999");
  EXPECT_EQ(thousands(1000), "1,000");
  EXPECT_EQ(thousands(-1234), "-1,234");
  EXPECT_EQ(dtype_name("BFloat16"), "bfloat16");
  EXPECT_EQ(dtype_name("Float"), "float32");
}

TEST(TrainingSummaryTest, WarnsWhenOpenBlasRunsBelowTheCpuWithoutCoretype) {
  BlasInfo blas;
  blas.name = "OpenBLAS";
  blas.core = "Haswell";
  blas.cpu_coretype = "SkylakeX";
  auto w = blas_warning(blas);
  ASSERT_TRUE(w.has_value());
  EXPECT_THAT(*w, HasSubstr("OPENBLAS_CORETYPE=SkylakeX"));
  EXPECT_THAT(*w, HasSubstr("Haswell kernel"));

  blas.core = "Prescott";  // the generic fallback on an AVX2 machine
  blas.cpu_coretype = "Haswell";
  EXPECT_THAT(blas_warning(blas).value_or(""), HasSubstr("OPENBLAS_CORETYPE=Haswell"));

  blas.coretype_env = true;  // set, whatever it says: the user chose
  EXPECT_FALSE(blas_warning(blas).has_value());
  blas.coretype_env = false;
  blas.core = "SkylakeX";  // already the best kernel
  blas.cpu_coretype = "SkylakeX";
  EXPECT_FALSE(blas_warning(blas).has_value());
  blas.name = "";  // not OpenBLAS
  blas.core = "";
  EXPECT_FALSE(blas_warning(blas).has_value());
  EXPECT_EQ(describe_blas(blas), "unknown");
}

TEST(TrainingSummaryTest, DetectsTheOpenBlasThatLibTorchLoaded) {
  BlasInfo blas = detect_blas();
  if (blas.name.empty()) GTEST_SKIP() << "this LibTorch does not use OpenBLAS";
  EXPECT_THAT(blas.config, ::testing::StartsWith("OpenBLAS "));
  EXPECT_FALSE(blas.core.empty());
}

}  // namespace
}  // namespace tcpp::trainer
