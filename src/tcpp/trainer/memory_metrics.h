// skip_memory_metrics=False: transformers' TrainerMemoryTracker for the CPU side (resident memory of this process).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "tcpp/trainer/callbacks.h"

namespace tcpp::trainer {

/// Measures the resident set (RSS) of this process around the Trainer's stages "init" (the constructor), "train",
/// "eval" (evaluate) and "test" (predict), and adds HF's keys to that stage's metrics:
/// `<stage>_mem_cpu_alloc_delta` (RSS at the end minus at the start, bytes) and `<stage>_mem_cpu_peaked_delta`
/// (how far above its end value RSS peaked during the stage, >= 0). The init stage's figures, and
/// `before_init_mem_cpu` (RSS when the constructor began), go into the first stage reported after it, as HF's do.
/// A stage started while another runs (an evaluation inside train) is not measured, as HF's nested calls.
/// The peak is the kernel's high-water mark (VmHWM), reset at each start through /proc/self/clear_refs; where that
/// reset is refused it is the peak since the process started.
/// With an accelerator (a CUDA LibTorch on a GPU machine), its allocator's figures as HF's `*_mem_gpu_*` too:
/// `<stage>_mem_gpu_alloc_delta` (bytes allocated at the end minus at the start, torch.cuda.memory_allocated()),
/// `<stage>_mem_gpu_peaked_delta` (the allocator's peak over the stage above its end value) and
/// `before_init_mem_gpu`; the cache is emptied and the peak reset at each start, as HF does. This needs LibTorch's
/// accelerator memory API (2.9 and later; CMake probes for it); without it, or without an accelerator, there are no
/// GPU keys (as in HF on a CPU machine).
class MemoryTracker {
 public:
  explicit MemoryTracker(bool skip);

  /// Begin `stage` unless skipping or another stage is running; returns whether this call started it.
  bool start(const std::string& stage);
  /// End `stage` (when this tracker started it) and add its figures, and init's once, to `metrics`.
  void stop_and_update_metrics(const std::string& stage, Metrics& metrics);
  /// Forget a stage that ended by an exception, so that later stages are measured.
  void abandon(const std::string& stage);

 private:
  struct Figures {
    int64_t begin = 0;
    int64_t alloc = 0;
    int64_t peaked = 0;
  };
  bool skip_;
  bool device_ = false;  // an accelerator's allocator is measured too
  std::optional<std::string> current_;
  bool init_reported_ = false;
  std::map<std::string, Figures> cpu_;
  std::map<std::string, Figures> gpu_;
};

/// Whether this build and machine report accelerator memory (MemoryTracker's GPU keys).
bool device_memory_metrics_available();

/// torch.<device>.empty_cache(): give the accelerator's cached, unused blocks back to the driver; false where there is
/// no accelerator or no LibTorch API for it (nothing to empty on the CPU).
bool empty_accelerator_cache();

/// RSS of this process in bytes (psutil's memory_info().rss), or -1 where /proc is missing.
int64_t resident_bytes();

}  // namespace tcpp::trainer
