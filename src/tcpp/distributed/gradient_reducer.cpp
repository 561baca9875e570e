// Bucketed, hook-driven gradient all-reduce (DistributedDataParallel's Reducer, on our ProcessGroup).
#include "tcpp/distributed/gradient_reducer.h"

#include <algorithm>
#include <map>
#include <set>

#include <torch/torch.h>

#include "tcpp/core/check.h"

namespace tcpp::distributed {

GradientReducer::GradientReducer(std::vector<at::Tensor> params, std::shared_ptr<ProcessGroup> group,
                                 double bucket_cap_mb)
    : group_(std::move(group)) {
  TCPP_CHECK(group_ != nullptr, "GradientReducer needs a process group");
  std::set<const void*> seen;
  std::vector<at::Tensor> unique;
  for (auto& p : params) {
    if (!p.requires_grad() || !seen.insert(p.unsafeGetTensorImpl()).second) continue;
    unique.push_back(p);
  }
  // Reverse registration order approximates the order backward produces gradients (the output layers first).
  std::reverse(unique.begin(), unique.end());
  const int64_t cap = std::max<int64_t>(static_cast<int64_t>(bucket_cap_mb * 1024 * 1024), 1);
  // One open bucket per (dtype, device): a bucket's flat buffer has a single dtype.
  std::map<std::string, size_t> open;
  std::vector<int64_t> bucket_bytes;
  for (auto& p : unique) {
    const std::string key = std::string(c10::toString(p.scalar_type())) + "/" + p.device().str();
    auto it = open.find(key);
    if (it == open.end() || bucket_bytes[it->second] >= cap) {
      buckets_.emplace_back();
      bucket_bytes.push_back(0);
      open[key] = buckets_.size() - 1;
      it = open.find(key);
    }
    Slot slot;
    slot.param = p;
    slot.bucket = it->second;
    slot.offset = bucket_bytes[it->second] / static_cast<int64_t>(p.element_size());
    bucket_bytes[it->second] += p.numel() * static_cast<int64_t>(p.element_size());
    buckets_[it->second].slots.push_back(slots_.size());
    slots_.push_back(std::move(slot));
  }
  for (size_t b = 0; b < buckets_.size(); ++b) {
    const auto& first = slots_[buckets_[b].slots.front()].param;
    buckets_[b].flat = torch::zeros({bucket_bytes[b] / static_cast<int64_t>(first.element_size())}, first.options().requires_grad(false));
  }
  for (size_t i = 0; i < slots_.size(); ++i) {
    slots_[i].hook = slots_[i].param.register_hook([this, i](const at::Tensor& grad) { on_grad(i, grad); });
  }
}

GradientReducer::~GradientReducer() {
  for (auto& s : slots_) {
    try {
      s.param.remove_hook(s.hook);
    } catch (...) {  // the parameter's autograd meta is gone; nothing to remove
    }
  }
}

void GradientReducer::prepare(bool sync) {
  sync_ = sync;
  if (!sync) return;
  for (auto& s : slots_) s.ready = false;
  launch_order_.clear();
  for (auto& b : buckets_) {
    b.pending = static_cast<int64_t>(b.slots.size());
    b.work.reset();
  }
}

void GradientReducer::on_grad(size_t index, const at::Tensor& grad) {
  if (!sync_) return;
  Slot& s = slots_[index];
  if (s.ready) return;
  torch::NoGradGuard no_grad;
  auto dst = buckets_[s.bucket].flat.narrow(0, s.offset, s.param.numel());
  // The hook sees this backward's gradient before it is added to .grad: the window's total is .grad + grad.
  const auto& acc = s.param.grad();
  if (acc.defined()) dst.copy_((acc + grad).reshape({-1}));
  else dst.copy_(grad.reshape({-1}));
  s.ready = true;
  Bucket& b = buckets_[s.bucket];
  if (--b.pending == 0) launch(b);
}

void GradientReducer::launch(Bucket& bucket) {
  bucket.flat.div_(group_->world_size());  // DDP's default hook: divide, then sum
  bucket.work = group_->all_reduce_async(bucket.flat);
  launch_order_.push_back(static_cast<size_t>(&bucket - buckets_.data()));
}

void GradientReducer::finish() {
  TCPP_CHECK(sync_, "GradientReducer::finish() after a no-sync micro-step");
  torch::NoGradGuard no_grad;
  // Buckets backward did not complete (parameters without a gradient this window): fill and launch them in bucket
  // order, which every rank shares.
  for (auto& b : buckets_) {
    if (b.work) continue;
    for (size_t i : b.slots) {
      Slot& s = slots_[i];
      if (s.ready) continue;
      auto dst = b.flat.narrow(0, s.offset, s.param.numel());
      if (s.param.grad().defined()) dst.copy_(s.param.grad().reshape({-1}));
      else dst.zero_();
      s.ready = true;
    }
    b.pending = 0;
    launch(b);
  }
  for (size_t b : launch_order_) buckets_[b].work->wait();
  for (auto& s : slots_) {
    auto src = buckets_[s.bucket].flat.narrow(0, s.offset, s.param.numel()).view(s.param.sizes());
    auto& g = s.param.mutable_grad();
    if (g.defined()) g.copy_(src);
    else g = src.clone();
  }
  for (auto& b : buckets_) b.work.reset();
  sync_ = false;
}

void broadcast_tensors(const std::vector<at::Tensor>& tensors, ProcessGroup& group, int root) {
  torch::NoGradGuard no_grad;
  for (const auto& t : tensors) {
    if (!t.defined()) continue;
    if (t.is_contiguous()) {
      group.broadcast(t, root);
    } else {
      auto tmp = t.contiguous();
      group.broadcast(tmp, root);
      t.copy_(tmp);
    }
  }
}

}  // namespace tcpp::distributed
