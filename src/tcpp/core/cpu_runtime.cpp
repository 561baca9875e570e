// CPU set-up before numeric libraries start: OpenBLAS kernel choice by re-exec, ATen vectorisation level.
#include "tcpp/core/cpu_runtime.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "tcpp/core/strings.h"

namespace tcpp {
namespace {

constexpr const char* kChosenMarker = "TCPP_OPENBLAS_CORETYPE_CHOSEN";  // set when we chose the core type

bool env_set(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0';
}

std::string first_flags_line() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (starts_with(line, "flags")) return line;
  return "";
}

}  // namespace

std::string cpu_openblas_coretype(const std::string& flags_line) {
  const std::string flags = " " + (flags_line.empty() ? first_flags_line() : flags_line) + " ";
  auto has = [&](const char* f) { return flags.find(" " + std::string(f) + " ") != std::string::npos; };
  if (has("avx512f") && has("avx512bw") && has("avx512vl") && has("avx512dq")) return "SkylakeX";
  if (has("avx2") && has("fma")) return "Haswell";
  return "";
}

void prepare_cpu_runtime(int argc, char** argv) {
  (void)argc;
  if (env_set("TCPP_NO_CPU_TUNING")) return;
  const std::string coretype = cpu_openblas_coretype();
  // ATen reads its capability lazily, at the first dispatch of a vectorised kernel: setting it here is in time.
  if (coretype == "SkylakeX" && !env_set("ATEN_CPU_CAPABILITY")) ::setenv("ATEN_CPU_CAPABILITY", "avx512", 1);
  if (coretype.empty() || env_set("OPENBLAS_CORETYPE") || env_set(kChosenMarker)) return;
  // Only when this process runs OpenBLAS (LibTorch reaches it through libblas.so.3 on Debian).
  if (::dlsym(RTLD_DEFAULT, "openblas_get_corename") == nullptr) return;
  ::setenv("OPENBLAS_CORETYPE", coretype.c_str(), 1);
  ::setenv(kChosenMarker, "1", 1);  // also stops a second re-exec should the first not take
  ::execv("/proc/self/exe", argv);
  // execv failed (no /proc, exotic sandbox): carry on with the kernel OpenBLAS picked; the summary warns.
  ::unsetenv("OPENBLAS_CORETYPE");
}

CpuRuntimeChoice cpu_runtime_choice() {
  CpuRuntimeChoice c;
  if (const char* v = std::getenv("OPENBLAS_CORETYPE")) c.openblas_coretype = v;
  c.coretype_chosen_by_us = env_set(kChosenMarker) && !c.openblas_coretype.empty();
  if (const char* v = std::getenv("ATEN_CPU_CAPABILITY")) c.aten_cpu_capability = v;
  return c;
}

}  // namespace tcpp
