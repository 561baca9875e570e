// AdamW as torch.optim.AdamW computes it (HF's default optimizer), updated in one pass per parameter on the CPU.
#pragma once

#include <sstream>
#include <string>
#include <type_traits>

#include <torch/torch.h>

namespace tcpp::trainer {

/// The key of `p` in an optimizer's state() map: LibTorch 1.13 keys it by the TensorImpl address printed as a
/// string, LibTorch 2.x by the address itself.
template <class StateMap>
typename StateMap::key_type optimizer_state_key(const StateMap&, const torch::Tensor& p) {
  using Key = typename StateMap::key_type;
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream out;  // what c10::guts::to_string(impl) writes
    out << static_cast<const void*>(p.unsafeGetTensorImpl());
    return out.str();
  } else {
    return static_cast<Key>(p.unsafeGetTensorImpl());
  }
}

/// torch::optim::AdamW with the same options, state (step, exp_avg, exp_avg_sq) and saved files, whose step() reads
/// each float32 CPU parameter, its gradient and both moments once and writes them once, in parallel over the
/// intra-op threads: LibTorch's AdamW makes about nine passes and allocates a temporary per parameter. The
/// arithmetic is torch.optim.AdamW's (decoupled weight decay first, bias corrections, eps added after the square
/// root), so results equal LibTorch's up to float rounding. Other devices and dtypes, and amsgrad, take LibTorch's
/// own step. Parameters without a gradient are skipped, as torch.optim does.
class FusedAdamW : public torch::optim::AdamW {
 public:
  using torch::optim::AdamW::AdamW;
  torch::Tensor step(LossClosure closure = nullptr) override;
};

/// Gradients set to undefined rather than zero-filled, as HF's model.zero_grad() (set_to_none=True): backward then
/// writes fresh gradients instead of adding to zeros, and parameters that got no gradient are left alone by step().
void zero_grad_set_to_none(torch::optim::Optimizer& optimizer);

}  // namespace tcpp::trainer
