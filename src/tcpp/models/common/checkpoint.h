// Gradient checkpointing (as torch.utils.checkpoint with use_reentrant=True, preserve_rng_state=True): a block's
// activations are dropped in forward and recomputed in backward, trading compute for memory.
#pragma once

#include <vector>

#include <torch/torch.h>

namespace tcpp::models {

/// A block that can be re-run from its inputs.
class CheckpointableBlock {
 public:
  virtual ~CheckpointableBlock() = default;
  /// inputs[0] is the hidden state; the others are what the block needs besides its parameters (masks, cos/sin);
  /// undefined tensors stay undefined. Must compute the same function each time it is called with the same RNG state.
  virtual torch::Tensor checkpointed_forward(const std::vector<torch::Tensor>& inputs) = 0;
};

/// block.checkpointed_forward(inputs) without keeping activations; backward recomputes them (restoring the RNG state
/// of the inputs' device so that dropout masks repeat) and accumulates parameter gradients. The block must outlive
/// the backward pass. Without grad mode (or when no input requires grad and the block has no parameters) this is a
/// plain call.
torch::Tensor checkpoint(CheckpointableBlock& block, const std::vector<torch::Tensor>& inputs);

}  // namespace tcpp::models
