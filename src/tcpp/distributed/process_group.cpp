// c10d process groups behind tcpp::distributed::ProcessGroup. Written against the c10d API that LibTorch 1.13 and
// 2.x share (ProcessGroupGloo/NCCL constructors, Options::create(timeout), Work::wait, TCPStoreOptions).
#include "tcpp/distributed/process_group.h"

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <optional>

#include <torch/torch.h>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#if defined(TCPP_WITH_GLOO)
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#if defined(TCPP_WITH_NCCL)
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "tcpp/core/check.h"
#include "tcpp/core/error.h"
#include "tcpp/core/logging.h"
#include "tcpp/core/strings.h"

namespace tcpp::distributed {
namespace {

// TCPStoreOptions::useLibUV exists from LibTorch 2.2 and defaults to true from 2.4, but a LibTorch built without
// libuv (Debian's 2.x packages) then refuses every store: "use_libuv was requested but PyTorch was built without
// libuv support". These set it where the field exists and do nothing on 1.13.
template <typename Options>
auto set_use_libuv(Options& so, bool on, int) -> decltype(so.useLibUV = on, void()) {
  so.useLibUV = on;
}
template <typename Options>
void set_use_libuv(Options&, bool, long) {}

std::string failure_text(const std::exception& e) {
  if (const auto* c10e = dynamic_cast<const c10::Error*>(&e)) return c10e->what_without_backtrace();
  return e.what();
}

[[noreturn]] void rethrow(const std::string& where, const std::exception& e) {
  std::string what = failure_text(e);
  if (auto nl = what.find('\n'); nl != std::string::npos && nl > 0) what = what.substr(0, nl);
  throw Error(where + " failed: " + what +
              " (another worker probably exited or hung; see its log — with `tcpp launch` its rank is named above)");
}

class C10dWork : public Work {
 public:
  C10dWork(c10::intrusive_ptr<c10d::Work> work, std::string where, at::Tensor staged = {}, at::Tensor target = {})
      : work_(std::move(work)), where_(std::move(where)), staged_(std::move(staged)), target_(std::move(target)) {}
  void wait() override {
    try {
      work_->wait();
      if (staged_.defined()) target_.copy_(staged_);  // the result back into the caller's (CPU) tensor
    } catch (const std::exception& e) {
      rethrow(where_, e);
    }
  }

 private:
  c10::intrusive_ptr<c10d::Work> work_;
  std::string where_;
  at::Tensor staged_;  // defined when the collective ran on a device copy of target_
  at::Tensor target_;
};

// One implementation for every c10d backend class: they share these member functions in 1.13 and 2.x (whether
// they derive from ProcessGroup or Backend).
// NCCL takes CUDA tensors only, while the Trainer's bookkeeping collectives (loss means, token counts, stop flags,
// RNG bytes) use small CPU tensors, as accelerate's do before it moves them to the device: with a staging device
// such tensors are copied there for the collective and the result copied back.
template <typename Backend>
class C10dProcessGroup : public ProcessGroup {
 public:
  C10dProcessGroup(c10::intrusive_ptr<c10d::Store> store, c10::intrusive_ptr<Backend> pg, int rank, int world,
                   std::string backend, std::optional<c10::Device> staging_device = std::nullopt)
      : store_(std::move(store)), pg_(std::move(pg)), rank_(rank), world_(world), backend_(std::move(backend)),
        staging_device_(staging_device) {}

  int rank() const override { return rank_; }
  int world_size() const override { return world_; }
  const std::string& backend() const override { return backend_; }

  std::unique_ptr<Work> all_reduce_async(at::Tensor tensor) override {
    const auto where = what("all_reduce");
    try {
      at::Tensor staged = staged_copy(tensor);
      std::vector<at::Tensor> v{staged.defined() ? staged : tensor};
      auto work = pg_->allreduce(v);
      return std::make_unique<C10dWork>(std::move(work), where, std::move(staged), std::move(tensor));
    } catch (const std::exception& e) {
      rethrow(where, e);
    }
  }

  void all_reduce_max(at::Tensor tensor) override {
    at::Tensor staged = staged_copy(tensor);
    std::vector<at::Tensor> v{staged.defined() ? staged : tensor};
    c10d::AllreduceOptions opts;
    opts.reduceOp = c10d::ReduceOp::MAX;
    run("all_reduce(max)", [&] { return pg_->allreduce(v, opts); });
    if (staged.defined()) tensor.copy_(staged);
  }

  void broadcast(at::Tensor tensor, int root) override {
    at::Tensor staged = staged_copy(tensor);
    std::vector<at::Tensor> v{staged.defined() ? staged : tensor};
    c10d::BroadcastOptions opts;
    opts.rootRank = root;
    run("broadcast", [&] { return pg_->broadcast(v, opts); });
    if (staged.defined()) tensor.copy_(staged);
  }

  std::vector<at::Tensor> all_gather(const at::Tensor& tensor) override {
    at::Tensor staged = staged_copy(tensor);
    std::vector<at::Tensor> in{staged.defined() ? staged : tensor.contiguous()};
    std::vector<std::vector<at::Tensor>> out(1);
    for (int r = 0; r < world_; ++r) out[0].push_back(torch::empty_like(in[0]));
    run("all_gather", [&] { return pg_->allgather(out, in); });
    if (staged.defined())
      for (auto& t : out[0]) t = t.to(tensor.device());
    return out[0];
  }

  void barrier() override {
    run("barrier", [&] { return pg_->barrier(); });
  }

 private:
  std::string what(const char* op) const {
    return std::string("distributed ") + op + " (rank " + std::to_string(rank_) + " of " + std::to_string(world_) +
           ", " + backend_ + ")";
  }
  // A contiguous copy of `tensor` on the staging device, or undefined when the tensor can be used as it is.
  at::Tensor staged_copy(const at::Tensor& tensor) const {
    if (!staging_device_ || tensor.device() == *staging_device_) return {};
    return tensor.to(*staging_device_).contiguous();
  }
  template <typename Fn>
  void run(const char* op, Fn&& fn) {
    const auto where = what(op);
    try {
      fn()->wait();
    } catch (const std::exception& e) {
      rethrow(where, e);
    }
  }

  c10::intrusive_ptr<c10d::Store> store_;  // kept alive: rank 0 hosts the rendezvous server
  c10::intrusive_ptr<Backend> pg_;
  int rank_;
  int world_;
  std::string backend_;
  std::optional<c10::Device> staging_device_;
};

std::mutex g_mutex;
std::shared_ptr<ProcessGroup> g_default;

}  // namespace

bool backend_available(const std::string& backend) {
#if defined(TCPP_WITH_GLOO)
  if (backend == "gloo") return true;
#endif
#if defined(TCPP_WITH_NCCL)
  if (backend == "nccl") return true;
#endif
  return false;
}

std::shared_ptr<ProcessGroup> ProcessGroup::create(const DistributedEnvironment& env, const ProcessGroupOptions& o) {
  const bool cuda = starts_with(o.device, "cuda");
  std::string backend = o.backend;
  if (backend.empty()) backend = cuda && backend_available("nccl") ? "nccl" : "gloo";
  if (backend != "gloo" && backend != "nccl")
    throw InputError("ddp_backend", "expected gloo or nccl (trainer.cpp has no mpi/ccl/hccl/xla), got " + quote(backend));
  if (!backend_available(backend))
    throw InputError("ddp_backend", quote(backend) + " is not compiled into this build of LibTorch/trainer.cpp" +
                                        (backend == "nccl" ? " (NCCL needs a CUDA LibTorch); use gloo" : ""));
  if (backend == "nccl" && !cuda)
    throw InputError("ddp_backend", "nccl needs CUDA tensors, but training runs on " + o.device + "; use gloo");

  const std::string where = "distributed rendezvous (rank " + std::to_string(env.rank) + " of " +
                            std::to_string(env.world_size) + " at " + env.master_addr + ":" +
                            std::to_string(env.master_port) + ")";
  c10::intrusive_ptr<c10d::Store> store;
  try {
    c10d::TCPStoreOptions so;
    so.port = static_cast<std::uint16_t>(env.master_port);
    so.isServer = env.rank == 0;
    so.numWorkers = static_cast<std::size_t>(env.world_size);
    so.waitWorkers = true;
    so.timeout = o.timeout;
    // USE_LIBUV=0/1 as torch.distributed reads it; unset: LibTorch's default, and the classic server where
    // this LibTorch has no libuv (both servers speak the same protocol, so ranks may differ in this).
    const char* use_libuv = std::getenv("USE_LIBUV");
    if (use_libuv) set_use_libuv(so, std::string(use_libuv) != "0", 0);
    try {
      store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, so);
    } catch (const std::exception& e) {
      if (use_libuv || failure_text(e).find("without libuv support") == std::string::npos) throw;
      set_use_libuv(so, false, 0);
      store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, so);
    }
  } catch (const std::exception& e) {
    rethrow(where, e);
  }
  log_info("distributed: rank " + std::to_string(env.rank) + " of " + std::to_string(env.world_size) + " joined " +
           env.master_addr + ":" + std::to_string(env.master_port) + " (" + backend + ")");
  try {
#if defined(TCPP_WITH_GLOO)
    if (backend == "gloo") {
      auto opts = c10d::ProcessGroupGloo::Options::create(o.timeout);
      if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME")) {
        for (const auto& name : split(ifname, ','))
          opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(name));
      } else if (env.master_addr == "127.0.0.1" || env.master_addr == "localhost") {
        opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      } else {
        opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      }
      opts->threads = 2;
      auto pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store, env.rank, env.world_size, opts);
      return std::make_shared<C10dProcessGroup<c10d::ProcessGroupGloo>>(store, pg, env.rank, env.world_size, "gloo");
    }
#endif
#if defined(TCPP_WITH_NCCL)
    if (backend == "nccl") {
      auto opts = c10d::ProcessGroupNCCL::Options::create();
      opts->timeout = o.timeout;
      auto pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, env.rank, env.world_size, opts);
      return std::make_shared<C10dProcessGroup<c10d::ProcessGroupNCCL>>(store, pg, env.rank, env.world_size, "nccl",
                                                                        c10::Device(o.device));
    }
#endif
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    rethrow(where + " connecting " + backend, e);
  }
  throw InternalError("no process group backend for " + backend);
}

std::vector<std::string> ProcessGroup::all_gather_bytes(const std::string& bytes) {
  auto len = torch::tensor({static_cast<int64_t>(bytes.size())}, torch::kInt64);
  auto lens = all_gather(len);
  int64_t max_len = 1;
  for (const auto& l : lens) max_len = std::max(max_len, l.item<int64_t>());
  auto buf = torch::zeros({max_len}, torch::kUInt8);
  std::copy(bytes.begin(), bytes.end(), reinterpret_cast<char*>(buf.data_ptr<uint8_t>()));
  auto parts = all_gather(buf);
  std::vector<std::string> out;
  for (size_t r = 0; r < parts.size(); ++r) {
    const char* p = reinterpret_cast<const char*>(parts[r].data_ptr<uint8_t>());
    out.emplace_back(p, static_cast<size_t>(lens[r].item<int64_t>()));
  }
  return out;
}

std::string ProcessGroup::broadcast_bytes(const std::string& bytes, int root) {
  auto len = torch::tensor({static_cast<int64_t>(bytes.size())}, torch::kInt64);
  broadcast(len, root);
  const int64_t n = len.item<int64_t>();
  auto buf = torch::zeros({std::max<int64_t>(n, 1)}, torch::kUInt8);
  if (rank() == root) std::copy(bytes.begin(), bytes.end(), reinterpret_cast<char*>(buf.data_ptr<uint8_t>()));
  broadcast(buf, root);
  return std::string(reinterpret_cast<const char*>(buf.data_ptr<uint8_t>()), static_cast<size_t>(n));
}

at::Tensor ProcessGroup::all_gather_padded(const at::Tensor& tensor, double pad_value) {
  const int64_t dims = tensor.dim();
  TCPP_CHECK(dims >= 1, "all_gather_padded needs a tensor with a batch dimension");
  auto sizes = torch::tensor(tensor.sizes().vec(), torch::kInt64);
  auto all_sizes = all_gather(sizes);
  std::vector<int64_t> max_sizes(static_cast<size_t>(dims), 0);
  for (const auto& s : all_sizes)
    for (int64_t d = 0; d < dims; ++d) max_sizes[static_cast<size_t>(d)] = std::max(max_sizes[static_cast<size_t>(d)], s[d].item<int64_t>());
  auto padded = torch::full(max_sizes, pad_value, tensor.options());
  auto view = padded;
  for (int64_t d = 0; d < dims; ++d) view = view.narrow(d, 0, tensor.size(d));
  view.copy_(tensor);
  auto parts = all_gather(padded);
  std::vector<at::Tensor> trimmed;
  for (size_t r = 0; r < parts.size(); ++r) {
    // Keep each rank's own rows; pad only the trailing dims to the common maximum.
    trimmed.push_back(parts[r].narrow(0, 0, all_sizes[r][0].item<int64_t>()));
  }
  return torch::cat(trimmed, 0);
}

std::shared_ptr<ProcessGroup> default_process_group() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_default;
}

std::shared_ptr<ProcessGroup> init_process_group(const ProcessGroupOptions& options) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_default) return g_default;
  const auto env = environment_from_env();
  if (!env.is_distributed()) return nullptr;
  g_default = ProcessGroup::create(env, options);
  return g_default;
}

void destroy_process_group() {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_default.reset();
}

}  // namespace tcpp::distributed
