// The contract between models and the Trainer: inputs, outputs and the base class every model family implements
// (as transformers' PreTrainedModel + ModelOutput).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "tcpp/core/error.h"
#include "tcpp/core/json.h"

namespace tcpp::models {

/// Keys and values of the positions already processed, one pair per layer, for incremental decoding (as transformers'
/// DynamicCache). Empty until the first forward that is given it.
struct KVCache {
  std::vector<torch::Tensor> keys;    // per layer (B, H_kv, T_past, D)
  std::vector<torch::Tensor> values;  // per layer (B, H_kv, T_past, D)
  /// Number of positions cached (0 when empty).
  int64_t seq_length() const { return keys.empty() || !keys[0].defined() ? 0 : keys[0].size(2); }
  /// Append this step's k, v (B, H_kv, T, D) for one layer; returns the whole k, v for attention.
  std::pair<torch::Tensor, torch::Tensor> update(size_t layer, const torch::Tensor& k, const torch::Tensor& v) {
    if (keys.size() <= layer) {
      keys.resize(layer + 1);
      values.resize(layer + 1);
    }
    keys[layer] = keys[layer].defined() ? torch::cat({keys[layer], k}, 2) : k;
    values[layer] = values[layer].defined() ? torch::cat({values[layer], v}, 2) : v;
    return {keys[layer], values[layer]};
  }
};

/// A batch as the collators produce it. Undefined tensors mean "not given".
struct ModelInputs {
  torch::Tensor input_ids;       // (B, T) int64
  torch::Tensor attention_mask;  // (B, T) int64, 1 = attend
  torch::Tensor token_type_ids;  // (B, T) int64 (BERT/RoBERTa)
  torch::Tensor position_ids;    // (B, T) int64
  torch::Tensor labels;          // (B, T) int64, -100 = ignored; (B) or (B, num_labels) for sequence classification
  /// As transformers >= 4.46: when set during training, the loss is sum(CE) / num_items_in_batch instead of the
  /// mean, so gradient accumulation over a window equals one big batch.
  std::optional<int64_t> num_items_in_batch;
  /// Causal LMs only: cached keys/values of earlier positions, extended in place by forward(). Not owned; must outlive
  /// the call. With a cache, attention_mask covers the cached and the new positions, (B, T_past + T).
  KVCache* past_key_values = nullptr;
  /// The caller needs only the loss (the Trainer's training step): a causal LM training in float32 may then compute
  /// it with the fused chunked head (linear_cross_entropy.h) and leave ModelOutput::logits undefined.
  bool logits_optional = false;
};

struct ModelOutput {
  torch::Tensor loss;    // scalar fp32, undefined when no labels were given
  torch::Tensor logits;  // (B, T, V); (B, num_labels) for sequence classification
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
  /// Tied parameters are not registered, so named_parameters() lists each tensor once and optimizers see it once.
  virtual std::vector<std::string> tied_parameter_names() const { return {}; }
  /// Recompute each block's activations in backward instead of keeping them, in train mode (transformers'
  /// gradient_checkpointing_enable / disable). Throws NotImplemented for models without it.
  virtual void set_gradient_checkpointing(bool enable) {
    if (enable) throw NotImplemented(architecture() + " does not support gradient checkpointing");
  }
  /// Add NEFTune noise of `alpha` to the input embeddings in train mode (the Trainer's neftune_noise_alpha, as its
  /// hook on get_input_embeddings()); nullopt turns it off. Throws NotImplemented for models without it.
  virtual void set_neftune_noise_alpha(std::optional<double> alpha) {
    if (alpha) throw NotImplemented(architecture() + " does not support NEFTune");
  }
  /// The input token embedding, weight (V, C) (transformers' get_input_embeddings()).
  virtual torch::nn::Embedding get_input_embeddings() {
    throw NotImplemented(architecture() + " does not expose its input embeddings");
  }
  /// Resize the vocabulary to new_num_tokens as transformers' resize_token_embeddings(new_num_tokens) with
  /// mean_resizing=True (see resize_embedding_ in common/modeling_utils.h): the input embedding, an untied output head
  /// (and its bias), and config vocab_size; a tied head stays tied (a tied head's bias is zero-padded, as HF). Call it
  /// before building an optimizer: the parameters keep their identity but change shape. Throws InputError when
  /// new_num_tokens < 1.
  virtual void resize_token_embeddings(int64_t new_num_tokens) {
    (void)new_num_tokens;
    throw NotImplemented(architecture() + " does not support resize_token_embeddings");
  }
  /// Attribute holding the base model ("transformer", "bert", "roberta", "model"): checkpoints of the base model alone
  /// load into the head model with this prefix added, as transformers does.
  virtual std::string base_model_prefix() const { return ""; }
  /// Whether a checkpoint key the model does not have may be dropped silently (transformers'
  /// _keys_to_ignore_on_load_unexpected, e.g. GPT-2's old "h.0.attn.bias" mask buffers).
  virtual bool ignore_unexpected_key(const std::string& name) const {
    (void)name;
    return false;
  }
};

using PreTrainedModel = std::shared_ptr<PreTrainedModelImpl>;

}  // namespace tcpp::models
