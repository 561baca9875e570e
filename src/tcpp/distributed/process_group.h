// A c10d process group (Gloo on CPU, NCCL on CUDA builds) behind a small interface: what data-parallel training
// needs (all-reduce, broadcast, all-gather, barrier), with failures turned into tcpp::Error naming the rank.
// Only process_group.cpp includes the c10d headers.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "tcpp/distributed/environment.h"

namespace tcpp::distributed {

struct ProcessGroupOptions {
  /// "gloo", "nccl", or empty: nccl for CUDA tensors when available, else gloo (as HF's ddp_backend=None).
  std::string backend;
  /// Rendezvous and collective timeout (TrainingArguments.ddp_timeout, 1800 s by default).
  std::chrono::milliseconds timeout{std::chrono::seconds(1800)};
  /// The device the collectives run on ("cpu" or "cuda:N"); decides the default backend.
  std::string device = "cpu";
};

/// A pending asynchronous collective.
class Work {
 public:
  virtual ~Work() = default;
  /// Block until done; throws tcpp::Error naming the operation and rank when it failed or timed out.
  virtual void wait() = 0;
};

class ProcessGroup {
 public:
  virtual ~ProcessGroup() = default;
  /// Rendezvous through a c10d TCPStore at env.master_addr:master_port (rank 0 hosts it) and connect the
  /// backend. Throws tcpp::Error when a peer does not arrive within the timeout, InputError for a bad backend.
  static std::shared_ptr<ProcessGroup> create(const DistributedEnvironment& env, const ProcessGroupOptions& options);

  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  virtual const std::string& backend() const = 0;

  /// In-place sum over ranks, asynchronous.
  virtual std::unique_ptr<Work> all_reduce_async(at::Tensor tensor) = 0;
  /// In-place sum over ranks.
  void all_reduce(at::Tensor tensor) { all_reduce_async(std::move(tensor))->wait(); }
  /// In-place max over ranks.
  virtual void all_reduce_max(at::Tensor tensor) = 0;
  /// Copy root's tensor into every rank's (same shape and dtype everywhere).
  virtual void broadcast(at::Tensor tensor, int root) = 0;
  /// Every rank's tensor, in rank order (same shape and dtype everywhere).
  virtual std::vector<at::Tensor> all_gather(const at::Tensor& tensor) = 0;
  virtual void barrier() = 0;

  /// Every rank's byte string, in rank order (any lengths).
  std::vector<std::string> all_gather_bytes(const std::string& bytes);
  /// Root's string on every rank.
  std::string broadcast_bytes(const std::string& bytes, int root);
  /// Every rank's (B_r, ...) tensor concatenated along dim 0 in rank order; other dims may differ between ranks
  /// and are padded with pad_value to the largest (accelerate's pad_across_processes + gather).
  at::Tensor all_gather_padded(const at::Tensor& tensor, double pad_value);
};

/// The process-wide group, as torch.distributed's default group: created by init_process_group, null otherwise.
std::shared_ptr<ProcessGroup> default_process_group();
/// Create the default group from the environment when WORLD_SIZE > 1 (idempotent; later options are ignored).
/// Returns null for a single process.
std::shared_ptr<ProcessGroup> init_process_group(const ProcessGroupOptions& options);
/// Drop the default group (tests).
void destroy_process_group();

/// Whether this LibTorch has the backend compiled in ("gloo", "nccl").
bool backend_available(const std::string& backend);

}  // namespace tcpp::distributed
