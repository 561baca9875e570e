// GPT-2 (as transformers' modeling_gpt2.py): GPT2Model and GPT2LMHeadModel with HF parameter names
// (transformer.h.0.attn.c_attn.weight, Conv1D weights stored (in, out)) and lm_head tied to transformer.wte.
#pragma once

#include <vector>

#include <torch/torch.h>

#include "tcpp/models/common/activations.h"
#include "tcpp/models/common/checkpoint.h"
#include "tcpp/models/common/modeling_utils.h"
#include "tcpp/models/gpt2/configuration_gpt2.h"
#include "tcpp/models/pretrained_model.h"

namespace tcpp::models::gpt2 {

class GPT2AttentionImpl : public torch::nn::Module {
 public:
  GPT2AttentionImpl(const GPT2Config& config, int64_t layer_idx);
  /// x (B, T, C), bias additive mask or undefined.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& bias, KVCache* cache);

 private:
  int64_t n_head_, layer_idx_;
  double scale_, attn_pdrop_, resid_pdrop_;
  Conv1D c_attn_{nullptr}, c_proj_{nullptr};
};
TORCH_MODULE(GPT2Attention);

class GPT2MLPImpl : public torch::nn::Module {
 public:
  explicit GPT2MLPImpl(const GPT2Config& config);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  Conv1D c_fc_{nullptr}, c_proj_{nullptr};
  Activation act_;
  double resid_pdrop_;
};
TORCH_MODULE(GPT2MLP);

class GPT2BlockImpl : public torch::nn::Module, public CheckpointableBlock {
 public:
  GPT2BlockImpl(const GPT2Config& config, int64_t layer_idx);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& bias, KVCache* cache);
  /// {x, bias}, without a cache.
  torch::Tensor checkpointed_forward(const std::vector<torch::Tensor>& inputs) override {
    return forward(inputs[0], inputs[1], nullptr);
  }

 private:
  torch::nn::LayerNorm ln_1_{nullptr}, ln_2_{nullptr};
  GPT2Attention attn_{nullptr};
  GPT2MLP mlp_{nullptr};
};
TORCH_MODULE(GPT2Block);

/// The transformer without a head: embeddings, blocks, final layer norm. Returns hidden states (B, T, C).
class GPT2ModelImpl : public torch::nn::Module {
 public:
  explicit GPT2ModelImpl(const GPT2Config& config);
  torch::Tensor forward(const ModelInputs& inputs);
  torch::nn::Embedding wte{nullptr}, wpe{nullptr};
  bool gradient_checkpointing = false;
  std::optional<double> neftune_noise_alpha;  // NEFTune noise on wte's output in training

 private:
  GPT2Config config_;
  std::vector<GPT2Block> blocks_;
  torch::nn::LayerNorm ln_f_{nullptr};
};
TORCH_MODULE(GPT2Model);

class GPT2LMHeadModelImpl : public PreTrainedModelImpl {
 public:
  /// A model with HF's initialisation (normal(0, initializer_range), c_proj scaled by 1/sqrt(2 n_layer)).
  explicit GPT2LMHeadModelImpl(const GPT2Config& config);
  ModelOutput forward(const ModelInputs& inputs) override;
  Json config_json() const override { return config_.to_json(); }
  std::string architecture() const override { return "GPT2LMHeadModel"; }
  bool is_causal_lm() const override { return true; }
  std::vector<std::string> tied_parameter_names() const override;
  std::string base_model_prefix() const override { return "transformer"; }
  bool ignore_unexpected_key(const std::string& name) const override;
  void set_gradient_checkpointing(bool enable) override { transformer_->gradient_checkpointing = enable; }
  void set_neftune_noise_alpha(std::optional<double> alpha) override { transformer_->neftune_noise_alpha = alpha; }
  torch::nn::Embedding get_input_embeddings() override;
  void resize_token_embeddings(int64_t new_num_tokens) override;
  const GPT2Config& config() const { return config_; }

 private:
  GPT2Config config_;
  GPT2Model transformer_{nullptr};
  torch::nn::Linear lm_head_{nullptr};  // only when tie_word_embeddings is false
};
TORCH_MODULE(GPT2LMHeadModel);

/// GPT2ForSequenceClassification: the transformer, a bias-free `score` (C -> num_labels) on every position, and the
/// logits of each row's last non-pad token (common/sequence_classification.h). Labels are (B): class ids, or floats for
/// regression / multi-label problems. logits: (B, num_labels).
class GPT2ForSequenceClassificationImpl : public PreTrainedModelImpl {
 public:
  explicit GPT2ForSequenceClassificationImpl(const GPT2Config& config);
  ModelOutput forward(const ModelInputs& inputs) override;
  Json config_json() const override { return config_.to_json(); }
  std::string architecture() const override { return "GPT2ForSequenceClassification"; }
  bool is_causal_lm() const override { return false; }
  std::string base_model_prefix() const override { return "transformer"; }
  bool ignore_unexpected_key(const std::string& name) const override;
  void set_gradient_checkpointing(bool enable) override { transformer_->gradient_checkpointing = enable; }
  void set_neftune_noise_alpha(std::optional<double> alpha) override { transformer_->neftune_noise_alpha = alpha; }
  torch::nn::Embedding get_input_embeddings() override { return transformer_->wte; }
  void resize_token_embeddings(int64_t new_num_tokens) override;

 private:
  GPT2Config config_;
  GPT2Model transformer_{nullptr};
  torch::nn::Linear score_{nullptr};
};
TORCH_MODULE(GPT2ForSequenceClassification);

}  // namespace tcpp::models::gpt2
