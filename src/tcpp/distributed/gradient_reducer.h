// Data-parallel gradient averaging as torch's DistributedDataParallel does it: parameters are grouped into buckets
// (reverse registration order, ~bucket_cap_mb each); a gradient hook copies each parameter's gradient into its
// bucket as backward produces it, and a full bucket is all-reduced asynchronously while backward goes on. After
// backward, finish() waits and writes the averaged gradients back. Micro-steps of gradient accumulation run with
// sync off (no communication), as DDP's no_sync().
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <ATen/core/Tensor.h>

#include "tcpp/distributed/process_group.h"

namespace tcpp::distributed {

class GradientReducer {
 public:
  /// params: the trainable parameters (duplicates, e.g. tied weights, are reduced once).
  GradientReducer(std::vector<at::Tensor> params, std::shared_ptr<ProcessGroup> group, double bucket_cap_mb = 25.0);
  ~GradientReducer();  // removes the hooks
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  /// Call before each backward: sync=false accumulates locally (no_sync), sync=true reduces during this backward.
  void prepare(bool sync);
  /// After the backward of a sync micro-step: reduce what backward did not reach (unused parameters), wait for
  /// every bucket and replace each .grad by the average over ranks.
  void finish();

  size_t num_buckets() const { return buckets_.size(); }

 private:
  struct Slot {
    at::Tensor param;
    size_t bucket = 0;
    int64_t offset = 0;
    bool ready = false;
    unsigned hook = 0;
  };
  struct Bucket {
    at::Tensor flat;
    std::vector<size_t> slots;
    int64_t pending = 0;
    std::unique_ptr<Work> work;
  };
  void on_grad(size_t slot, const at::Tensor& grad);
  void launch(Bucket& bucket);

  std::shared_ptr<ProcessGroup> group_;
  std::vector<Slot> slots_;
  std::vector<Bucket> buckets_;
  std::vector<size_t> launch_order_;
  bool sync_ = false;
};

/// Copy rank root's parameters and buffers into every rank's (DDP's initial broadcast).
void broadcast_tensors(const std::vector<at::Tensor>& tensors, ProcessGroup& group, int root = 0);

}  // namespace tcpp::distributed
