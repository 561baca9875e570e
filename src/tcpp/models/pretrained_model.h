// The contract between models and the Trainer: inputs, outputs and the base class every model family implements
// (as transformers' PreTrainedModel + ModelOutput).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <torch/torch.h>

#include "tcpp/core/json.h"

namespace tcpp::models {

/// A batch as the collators produce it. Undefined tensors mean "not given".
struct ModelInputs {
  torch::Tensor input_ids;       // (B, T) int64
  torch::Tensor attention_mask;  // (B, T) int64, 1 = attend
  torch::Tensor token_type_ids;  // (B, T) int64 (BERT/RoBERTa)
  torch::Tensor position_ids;    // (B, T) int64
  torch::Tensor labels;          // (B, T) int64, -100 = ignored
  /// As transformers >= 4.46: when set during training, the loss is sum(CE) / num_items_in_batch instead of the
  /// mean, so gradient accumulation over a window equals one big batch.
  std::optional<int64_t> num_items_in_batch;
};

struct ModelOutput {
  torch::Tensor loss;    // scalar fp32, undefined when no labels were given
  torch::Tensor logits;  // (B, T, V)
};

/// Base of GPT2LMHeadModel, BertForMaskedLM, RobertaForMaskedLM, LlamaForCausalLM.
/// Parameters are registered under Hugging Face names so named_parameters() matches model.safetensors.
class PreTrainedModelImpl : public torch::nn::Module {
 public:
  ~PreTrainedModelImpl() override = default;
  virtual ModelOutput forward(const ModelInputs& inputs) = 0;
  /// The config as written to config.json (model_type, architectures, every field; unknown fields preserved).
  virtual Json config_json() const = 0;
  /// "GPT2LMHeadModel", ...
  virtual std::string architecture() const = 0;
  /// True for causal LMs (labels shifted inside the model); false for masked LMs.
  virtual bool is_causal_lm() const = 0;
  /// Names of parameters that are tied to another one and not stored (e.g. "lm_head.weight").
  virtual std::vector<std::string> tied_parameter_names() const { return {}; }
};

using PreTrainedModel = std::shared_ptr<PreTrainedModelImpl>;

}  // namespace tcpp::models
