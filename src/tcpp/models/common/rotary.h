// Rotary position embeddings (as transformers' LlamaRotaryEmbedding + apply_rotary_pos_emb), with rope_theta and the
// "linear" and "llama3" rope_scaling variants.
#pragma once

#include <cstdint>
#include <utility>

#include <torch/types.h>

#include "tcpp/core/json.h"

namespace tcpp::models {

class RotaryEmbedding {
 public:
  /// head_dim D (even), base theta, rope_scaling as in config.json (null for none), max_position_embeddings
  /// (llama3's original_max_position_embeddings defaults to it).
  RotaryEmbedding(int64_t head_dim, double theta, const Json& rope_scaling, int64_t max_position_embeddings);
  /// cos and sin for position_ids (B, T): each (B, T, D) in dtype, computed in fp32.
  std::pair<torch::Tensor, torch::Tensor> cos_sin(const torch::Tensor& position_ids, torch::Dtype dtype) const;

 private:
  torch::Tensor inv_freq_;  // (D / 2) fp32, on CPU; moved to the positions' device per call
  double attention_scaling_ = 1.0;
};

/// q * cos + rotate_half(q) * sin for x (B, H, T, D) with cos/sin (B, T, D).
torch::Tensor apply_rotary(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin);

}  // namespace tcpp::models
