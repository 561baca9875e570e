// Gradient checkpointing as a custom autograd function that re-runs the block inside backward.
#include "tcpp/models/common/checkpoint.h"

#include <ATen/Context.h>

namespace tcpp::models {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

at::Generator default_generator(const torch::Device& device) {
  if (device.is_cpu()) return at::detail::getDefaultCPUGenerator();
  return at::globalContext().defaultGenerator(device);
}

// Undefined inputs cannot travel through autograd; they are dropped and re-inserted by position.
std::vector<torch::Tensor> expand_inputs(const variable_list& defined, int64_t defined_mask, size_t n) {
  std::vector<torch::Tensor> out(n);
  size_t j = 0;
  for (size_t i = 0; i < n; ++i)
    if (defined_mask & (int64_t{1} << i)) out[i] = defined[j++];
  return out;
}

struct CheckpointFunction : public torch::autograd::Function<CheckpointFunction> {
  static variable_list forward(AutogradContext* ctx, int64_t block_address, int64_t defined_mask, int64_t n,
                               at::TensorList inputs) {
    ctx->saved_data["block"] = block_address;
    ctx->saved_data["mask"] = defined_mask;
    ctx->saved_data["n"] = n;
    const torch::Device device = inputs[0].device();
    ctx->saved_data["rng"] = default_generator(device).get_state();
    ctx->save_for_backward(inputs.vec());
    auto* block = reinterpret_cast<CheckpointableBlock*>(block_address);
    torch::NoGradGuard no_grad;
    return {block->checkpointed_forward(expand_inputs(inputs.vec(), defined_mask, static_cast<size_t>(n)))};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    auto* block = reinterpret_cast<CheckpointableBlock*>(ctx->saved_data["block"].toInt());
    const int64_t mask = ctx->saved_data["mask"].toInt();
    const auto n = static_cast<size_t>(ctx->saved_data["n"].toInt());
    variable_list saved = ctx->get_saved_variables();
    variable_list detached;
    for (const auto& t : saved) detached.push_back(t.detach().requires_grad_(t.requires_grad()));
    // Replay the forward with the RNG state it started from, then put the current state back.
    auto gen = default_generator(detached[0].device());
    torch::Tensor current;
    torch::Tensor output;
    {
      std::lock_guard<std::mutex> lock(gen.mutex());
      current = gen.get_state();
      gen.set_state(ctx->saved_data["rng"].toTensor());
    }
    {
      torch::AutoGradMode grad(true);
      output = block->checkpointed_forward(expand_inputs(detached, mask, n));
    }
    {
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(current);
    }
    if (output.requires_grad()) torch::autograd::backward({output}, {grad_outputs[0]});
    variable_list grads = {torch::Tensor(), torch::Tensor(), torch::Tensor()};
    for (const auto& t : detached) grads.push_back(t.requires_grad() ? t.grad() : torch::Tensor());
    return grads;
  }
};

}  // namespace

torch::Tensor checkpoint(CheckpointableBlock& block, const std::vector<torch::Tensor>& inputs) {
  if (!torch::GradMode::is_enabled()) return block.checkpointed_forward(inputs);
  std::vector<torch::Tensor> defined;
  int64_t mask = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].defined()) {
      defined.push_back(inputs[i]);
      mask |= int64_t{1} << i;
    }
  }
  TORCH_CHECK(inputs.size() < 63 && !defined.empty() && inputs[0].defined(), "checkpoint: bad inputs");
  return CheckpointFunction::apply(reinterpret_cast<int64_t>(&block), mask, static_cast<int64_t>(inputs.size()),
                                   at::TensorList(defined))[0];
}

}  // namespace tcpp::models
