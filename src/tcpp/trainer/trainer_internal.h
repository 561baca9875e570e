// What the Trainer's source files share (trainer.cpp, trainer_evaluation.cpp, trainer_checkpointing.cpp): timing,
// memory stages, HF's speed metrics, the read-ahead depth, the callback loop. Not part of the library's interface.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "tcpp/trainer/memory_metrics.h"
#include "tcpp/trainer/trainer.h"

namespace tcpp::trainer::detail {

inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Ends a MemoryTracker stage that an exception left running, so that later stages are measured.
struct MemoryStage {
  MemoryTracker& tracker;
  std::string stage;
  MemoryStage(MemoryTracker& t, std::string s) : tracker(t), stage(std::move(s)) { tracker.start(stage); }
  ~MemoryStage() { tracker.abandon(stage); }
  void finish(Metrics& metrics) { tracker.stop_and_update_metrics(stage, metrics); }
};

// HF's speed_metrics.
inline void add_speed_metrics(Metrics& m, const std::string& split, double runtime, double num_samples,
                              double num_steps, std::optional<double> num_tokens = std::nullopt) {
  m[split + "_runtime"] = python_round(runtime, 4);
  if (runtime > 0) {
    m[split + "_samples_per_second"] = python_round(num_samples / runtime, 3);
    m[split + "_steps_per_second"] = python_round(num_steps / runtime, 3);
    if (num_tokens) m[split + "_tokens_per_second"] = python_round(*num_tokens / runtime, 3);
  }
}

// Batches read ahead with dataloader_num_workers: prefetch_factor (torch's default 2) per worker.
inline int64_t read_ahead(const TrainerOptions& o) {
  return o.dataloader_prefetch_factor.value_or(2) * o.dataloader_num_workers;
}

}  // namespace tcpp::trainer::detail

namespace tcpp::trainer {

template <typename Fn>
void Trainer::for_each_callback(Fn&& fn) {
  for (auto& cb : callbacks_) fn(*cb);
}

}  // namespace tcpp::trainer
