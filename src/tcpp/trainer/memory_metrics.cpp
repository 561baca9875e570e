// TrainerMemoryTracker's CPU figures from /proc/self/status, and the accelerator's from its caching allocator.
#include "tcpp/trainer/memory_metrics.h"

#include <algorithm>
#include <fstream>

#ifdef TCPP_HAVE_ACCELERATOR_MEMORY_STATS
#include <ATen/DeviceAccelerator.h>
#include <c10/util/Exception.h>
#endif

#include "tcpp/core/proc_status.h"

namespace tcpp::trainer {
namespace {

// The accelerator's allocator: bytes allocated now and their peak since the last reset (torch.cuda.memory_allocated
// and max_memory_allocated). An allocator not yet used has allocated nothing (HF's call would initialise it).
struct DeviceFigures {
  int64_t allocated = 0;
  int64_t peak = 0;
};

#ifdef TCPP_HAVE_ACCELERATOR_MEMORY_STATS
// Probed once per process: the machine does not change.
bool accelerator_present() {
  static const bool present = [] {
    try {
      return at::accelerator::getAccelerator(false).has_value() && at::accelerator::deviceCount() > 0;
    } catch (const c10::Error&) {
      return false;
    }
  }();
  return present;
}

DeviceFigures device_figures() {
  try {
    const auto stats = at::accelerator::getDeviceStats(at::accelerator::getDeviceIndex());
    const auto& bytes = stats.allocated_bytes[static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE)];
    return {bytes.current, bytes.peak};
  } catch (const c10::Error&) {
    return {};
  }
}

// HF's start: reset the peak, then empty the cache; its stop empties the cache only.
void empty_device_cache(bool reset_peak) {
  try {
    if (reset_peak) at::accelerator::resetPeakStats(at::accelerator::getDeviceIndex());
    at::accelerator::emptyCache();
  } catch (const c10::Error&) {  // an allocator not yet used: nothing to reset or empty
  }
}
#else
bool accelerator_present() { return false; }
DeviceFigures device_figures() { return {}; }
void empty_device_cache(bool) {}
#endif

// Reset the kernel's peak RSS (VmHWM) to the current RSS ("5" > clear_refs, Linux >= 4.0); false where refused.
bool reset_peak() {
  std::ofstream f("/proc/self/clear_refs");
  if (!f) return false;
  f << "5";
  f.flush();
  return static_cast<bool>(f);
}

int64_t peak_bytes() {
  const int64_t kb = proc_status_kb("VmHWM");
  return kb < 0 ? -1 : kb * 1024;
}

}  // namespace

int64_t resident_bytes() {
  const int64_t kb = proc_status_kb("VmRSS");
  return kb < 0 ? -1 : kb * 1024;
}

bool device_memory_metrics_available() { return accelerator_present(); }

bool empty_accelerator_cache() {
  if (accelerator_present()) empty_device_cache(/*reset_peak=*/false);
  return accelerator_present();
}

MemoryTracker::MemoryTracker(bool skip) : skip_(skip), device_(!skip && accelerator_present()) {}

bool MemoryTracker::start(const std::string& stage) {
  if (skip_ || current_) return false;
  current_ = stage;
  reset_peak();
  if (device_) {
    empty_device_cache(/*reset_peak=*/true);
    gpu_[stage] = Figures{device_figures().allocated, 0, 0};
  }
  cpu_[stage] = Figures{resident_bytes(), 0, 0};
  return true;
}

void MemoryTracker::stop_and_update_metrics(const std::string& stage, Metrics& metrics) {
  if (skip_ || current_ != stage) return;
  current_.reset();
  Figures& f = cpu_[stage];
  const int64_t end = resident_bytes();
  f.alloc = end - f.begin;
  f.peaked = std::max<int64_t>(0, std::max(peak_bytes(), end) - end);
  if (device_) {
    empty_device_cache(/*reset_peak=*/false);
    Figures& g = gpu_[stage];
    const DeviceFigures now = device_figures();
    g.alloc = now.allocated - g.begin;
    g.peaked = std::max<int64_t>(0, now.peak - now.allocated);
  }
  if (stage == "init") return;  // reported with the first stage after it
  auto add = [&](const std::string& name) {
    const Figures& c = cpu_[name];
    metrics[name + "_mem_cpu_alloc_delta"] = static_cast<double>(c.alloc);
    metrics[name + "_mem_cpu_peaked_delta"] = static_cast<double>(c.peaked);
    if (const auto g = gpu_.find(name); g != gpu_.end()) {
      metrics[name + "_mem_gpu_alloc_delta"] = static_cast<double>(g->second.alloc);
      metrics[name + "_mem_gpu_peaked_delta"] = static_cast<double>(g->second.peaked);
    }
  };
  if (!init_reported_ && cpu_.count("init")) {
    add("init");
    metrics["before_init_mem_cpu"] = static_cast<double>(cpu_["init"].begin);
    if (gpu_.count("init")) metrics["before_init_mem_gpu"] = static_cast<double>(gpu_["init"].begin);
  }
  init_reported_ = true;
  add(stage);
}

void MemoryTracker::abandon(const std::string& stage) {
  if (current_ == stage) current_.reset();
}

}  // namespace tcpp::trainer
