// TrainerMemoryTracker's CPU figures from /proc/self/status.
#include "tcpp/trainer/memory_metrics.h"

#include <algorithm>
#include <fstream>

#include "tcpp/core/proc_status.h"

namespace tcpp::trainer {
namespace {

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

bool MemoryTracker::start(const std::string& stage) {
  if (skip_ || current_) return false;
  current_ = stage;
  reset_peak();
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
  if (stage == "init") return;  // reported with the first stage after it
  auto add = [&](const std::string& name, const Figures& g) {
    metrics[name + "_mem_cpu_alloc_delta"] = static_cast<double>(g.alloc);
    metrics[name + "_mem_cpu_peaked_delta"] = static_cast<double>(g.peaked);
  };
  if (!init_reported_ && cpu_.count("init")) {
    add("init", cpu_["init"]);
    metrics["before_init_mem_cpu"] = static_cast<double>(cpu_["init"].begin);
  }
  init_reported_ = true;
  add(stage, f);
}

void MemoryTracker::abandon(const std::string& stage) {
  if (current_ == stage) current_.reset();
}

}  // namespace tcpp::trainer
