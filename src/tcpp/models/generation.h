// Text generation for causal LMs (as transformers' GenerationMixin.generate for greedy search and sampling):
// temperature, top-k, top-p, max_new_tokens, eos stop, pad filling, and a KV cache.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include <torch/types.h>

#include "tcpp/models/pretrained_model.h"

namespace tcpp::models {

struct GenerationConfig {
  int64_t max_new_tokens = 20;
  /// false: greedy (argmax); true: sample from the processed distribution.
  bool do_sample = false;
  /// Sampling only, applied in transformers' order: temperature, then top-k, then top-p.
  double temperature = 1.0;
  int64_t top_k = 50;   // 0 disables
  double top_p = 1.0;   // 1.0 disables
  /// A sequence is finished once it produces one of these; generation stops when all are finished.
  std::vector<int64_t> eos_token_ids;
  /// Written after a sequence has finished (default: the first eos id, as transformers when pad is unset).
  std::optional<int64_t> pad_token_id;
  /// Reuse keys/values of earlier positions (same tokens as without, much faster).
  bool use_cache = true;

  /// bos/eos/pad ids taken from a config.json object (generation_config.json keys have the same names).
  static GenerationConfig from_model_config(const Json& config);
};

/// Continue each row of input_ids (B, T) by up to max_new_tokens; returns (B, T + n) with the prompt first, as
/// transformers does for decoder-only models. attention_mask (B, T) marks left padding (undefined: all ones).
/// Runs without gradients on the model's device; sampling draws from torch's global generator. Throws InputError
/// when the model is not a causal LM.
torch::Tensor generate(PreTrainedModelImpl& model, const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                       const GenerationConfig& config);

}  // namespace tcpp::models
