// LibTorch set-up for training on CPU: threads and the caching allocator.
#include "tcpp/trainer/torch_runtime.h"

#include <sched.h>

#include <ATen/Parallel.h>

#include <cstdlib>
#include <mutex>

#include "tcpp/core/error.h"
#include "tcpp/trainer/cpu_allocator.h"

namespace tcpp::trainer {
namespace {

int cpus_available() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof(set), &set) == 0) return CPU_COUNT(&set);
  return 1;
}

}  // namespace

void prepare_torch_runtime() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (const char* n = std::getenv("TCPP_NUM_THREADS"); n != nullptr && *n != '\0') {
      char* end = nullptr;
      const long v = std::strtol(n, &end, 10);
      if (*end != '\0' || v < 1) throw InputError("TCPP_NUM_THREADS: expected a positive integer, got \"" + std::string(n) + "\"");
      at::set_num_threads(static_cast<int>(v));
    } else if (std::getenv("OMP_NUM_THREADS") == nullptr) {
      at::set_num_threads(cpus_available());
    }
    install_caching_cpu_allocator();
  });
}

std::string describe_cpu_allocator() {
  if (!install_caching_cpu_allocator()) return "system (TCPP_CPU_ALLOCATOR=system)";
  return "caching";
}

}  // namespace tcpp::trainer
