// cpu_openblas_coretype(): the kernel choice from /proc/cpuinfo flags (never one the CPU cannot execute).
#include "tcpp/core/cpu_runtime.h"

#include <gtest/gtest.h>

namespace tcpp {
namespace {

TEST(CpuRuntimeTest, CoretypeFollowsTheFlags) {
  const std::string zen4 = "flags\t\t: fpu sse2 avx avx2 fma avx512f avx512dq avx512bw avx512vl avx512_bf16";
  EXPECT_EQ(cpu_openblas_coretype(zen4), "SkylakeX");
  // AVX-512 F alone (Knights Landing) lacks BW/VL/DQ, which SkylakeX kernels use: fall back to Haswell.
  EXPECT_EQ(cpu_openblas_coretype("flags : avx2 fma avx512f avx512cd"), "Haswell");
  EXPECT_EQ(cpu_openblas_coretype("flags : sse2 avx avx2 fma"), "Haswell");
  EXPECT_EQ(cpu_openblas_coretype("flags : sse2 avx avx2"), "");  // no FMA
  EXPECT_EQ(cpu_openblas_coretype("flags : sse2 avx512fx"), "");  // whole words only
}

TEST(CpuRuntimeTest, ThisMachineGetsAChoiceItCanRun) {
  const std::string c = cpu_openblas_coretype();
  EXPECT_TRUE(c.empty() || c == "SkylakeX" || c == "Haswell") << c;
}

}  // namespace
}  // namespace tcpp
