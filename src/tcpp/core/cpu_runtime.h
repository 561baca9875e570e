// CPU set-up a program does before any numeric library starts: the OpenBLAS kernel for this CPU and LibTorch's
// vectorisation level (OpenBLAS picks its kernel in a library constructor, before main, so a program re-executes
// itself once with OPENBLAS_CORETYPE set — what a tuned PyTorch user does by hand in the shell).
#pragma once

#include <string>

namespace tcpp {

/// The best OPENBLAS_CORETYPE this CPU can execute, from /proc/cpuinfo's first "flags" line (or `flags_line` when
/// given): "SkylakeX" (AVX-512 F/BW/VL/DQ), "Haswell" (AVX2 + FMA) or empty (older CPU or not Linux/x86).
std::string cpu_openblas_coretype(const std::string& flags_line = "");

/// What prepare_cpu_runtime() decided, for the startup summary.
struct CpuRuntimeChoice {
  std::string openblas_coretype;  // the value in the environment now, empty when unset
  bool coretype_chosen_by_us = false;  // we set it (the user did not)
  std::string aten_cpu_capability;  // ATEN_CPU_CAPABILITY now, empty when unset
};

/// Call first thing in main(), with main's argc/argv. When OpenBLAS is loaded and the user has not set
/// OPENBLAS_CORETYPE, sets it to cpu_openblas_coretype() and re-executes /proc/self/exe with the same arguments, so
/// the library initialises with the fast kernel; also sets ATEN_CPU_CAPABILITY=avx512 on AVX-512 CPUs when unset.
/// A user's explicit setting always wins; TCPP_NO_CPU_TUNING=1 turns all of it off. Returns only when no re-exec
/// happened (or it failed, which leaves the process as it was).
void prepare_cpu_runtime(int argc, char** argv);

/// The current choice (reads the environment; valid after prepare_cpu_runtime()).
CpuRuntimeChoice cpu_runtime_choice();

}  // namespace tcpp
