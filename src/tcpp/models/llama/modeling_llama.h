// Llama (as transformers' modeling_llama.py): RMSNorm, rotary embeddings with rope_theta, SwiGLU MLP, grouped-query
// attention; LlamaForCausalLM with HF parameter names (model.layers.0.self_attn.q_proj.weight, lm_head.weight).
#pragma once

#include <vector>

#include <torch/torch.h>

#include "tcpp/models/common/activations.h"
#include "tcpp/models/common/checkpoint.h"
#include "tcpp/models/common/rotary.h"
#include "tcpp/models/llama/configuration_llama.h"
#include "tcpp/models/pretrained_model.h"

namespace tcpp::models::llama {

/// x * rsqrt(mean(x^2) + eps) * weight, normalised in fp32 and cast back (LlamaRMSNorm).
class LlamaRMSNormImpl : public torch::nn::Module {
 public:
  LlamaRMSNormImpl(int64_t hidden_size, double eps);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight;

 private:
  double eps_;
};
TORCH_MODULE(LlamaRMSNorm);

class LlamaAttentionImpl : public torch::nn::Module {
 public:
  LlamaAttentionImpl(const LlamaConfig& config, int64_t layer_idx);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                        const torch::Tensor& bias, KVCache* cache);

 private:
  int64_t n_head_, n_kv_head_, head_dim_, layer_idx_;
  double dropout_;
  torch::nn::Linear q_proj_{nullptr}, k_proj_{nullptr}, v_proj_{nullptr}, o_proj_{nullptr};
};
TORCH_MODULE(LlamaAttention);

/// down(act(gate(x)) * up(x)).
class LlamaMLPImpl : public torch::nn::Module {
 public:
  explicit LlamaMLPImpl(const LlamaConfig& config);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Linear gate_proj_{nullptr}, up_proj_{nullptr}, down_proj_{nullptr};
  Activation act_;
};
TORCH_MODULE(LlamaMLP);

class LlamaDecoderLayerImpl : public torch::nn::Module, public CheckpointableBlock {
 public:
  LlamaDecoderLayerImpl(const LlamaConfig& config, int64_t layer_idx);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                        const torch::Tensor& bias, KVCache* cache);
  /// {x, cos, sin, bias}, without a cache.
  torch::Tensor checkpointed_forward(const std::vector<torch::Tensor>& inputs) override {
    return forward(inputs[0], inputs[1], inputs[2], inputs[3], nullptr);
  }

 private:
  LlamaAttention self_attn_{nullptr};
  LlamaMLP mlp_{nullptr};
  LlamaRMSNorm input_layernorm_{nullptr}, post_attention_layernorm_{nullptr};
};
TORCH_MODULE(LlamaDecoderLayer);

/// Embeddings, decoder layers, final norm. Returns hidden states (B, T, C).
class LlamaModelImpl : public torch::nn::Module {
 public:
  explicit LlamaModelImpl(const LlamaConfig& config);
  torch::Tensor forward(const ModelInputs& inputs);
  torch::nn::Embedding embed_tokens{nullptr};
  bool gradient_checkpointing = false;
  std::optional<double> neftune_noise_alpha;  // NEFTune noise on embed_tokens' output in training

 private:
  double attention_dropout_;
  std::vector<LlamaDecoderLayer> layers_;
  LlamaRMSNorm norm_{nullptr};
  RotaryEmbedding rotary_;
};
TORCH_MODULE(LlamaModel);

class LlamaForCausalLMImpl : public PreTrainedModelImpl {
 public:
  /// A model with HF's initialisation (Linear/Embedding normal(0, initializer_range), zero biases, RMSNorm ones).
  explicit LlamaForCausalLMImpl(const LlamaConfig& config);
  ModelOutput forward(const ModelInputs& inputs) override;
  Json config_json() const override { return config_.to_json(); }
  std::string architecture() const override { return "LlamaForCausalLM"; }
  bool is_causal_lm() const override { return true; }
  std::vector<std::string> tied_parameter_names() const override;
  std::string base_model_prefix() const override { return "model"; }
  bool ignore_unexpected_key(const std::string& name) const override;
  void set_gradient_checkpointing(bool enable) override { model_->gradient_checkpointing = enable; }
  void set_neftune_noise_alpha(std::optional<double> alpha) override { model_->neftune_noise_alpha = alpha; }
  torch::nn::Embedding get_input_embeddings() override;
  void resize_token_embeddings(int64_t new_num_tokens) override;

 private:
  LlamaConfig config_;
  LlamaModel model_{nullptr};
  torch::nn::Linear lm_head_{nullptr};  // absent when tie_word_embeddings is true
};
TORCH_MODULE(LlamaForCausalLM);

/// LlamaForSequenceClassification: the decoder, a bias-free `score` (C -> num_labels) on every position, and the
/// logits of each row's last non-pad token (common/sequence_classification.h). logits: (B, num_labels).
class LlamaForSequenceClassificationImpl : public PreTrainedModelImpl {
 public:
  explicit LlamaForSequenceClassificationImpl(const LlamaConfig& config);
  ModelOutput forward(const ModelInputs& inputs) override;
  Json config_json() const override { return config_.to_json(); }
  std::string architecture() const override { return "LlamaForSequenceClassification"; }
  bool is_causal_lm() const override { return false; }
  std::string base_model_prefix() const override { return "model"; }
  bool ignore_unexpected_key(const std::string& name) const override;
  void set_gradient_checkpointing(bool enable) override { model_->gradient_checkpointing = enable; }
  void set_neftune_noise_alpha(std::optional<double> alpha) override { model_->neftune_noise_alpha = alpha; }
  torch::nn::Embedding get_input_embeddings() override { return model_->embed_tokens; }
  void resize_token_embeddings(int64_t new_num_tokens) override;

 private:
  LlamaConfig config_;
  LlamaModel model_{nullptr};
  torch::nn::Linear score_{nullptr};
};
TORCH_MODULE(LlamaForSequenceClassification);

}  // namespace tcpp::models::llama
