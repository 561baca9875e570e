// LibTorch set-up for training on CPU, done once per process: intra-op threads and the caching CPU allocator.
#pragma once

#include <string>

namespace tcpp::trainer {

/// Once per process (later calls do nothing): when neither OMP_NUM_THREADS nor TCPP_NUM_THREADS is set, use one
/// LibTorch/OpenMP thread per CPU this process may run on (LibTorch's default here is 1); TCPP_NUM_THREADS=N sets
/// N. Installs the caching CPU allocator (see cpu_allocator.h). Safe to call from library code: Trainer's
/// constructor calls it.
void prepare_torch_runtime();

/// "caching" or "system (TCPP_CPU_ALLOCATOR=system)", for the startup summary.
std::string describe_cpu_allocator();

}  // namespace tcpp::trainer
