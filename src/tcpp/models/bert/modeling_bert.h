// BERT (as transformers' modeling_bert.py): BertModel (no pooler) and BertForMaskedLM with HF parameter names
// (bert.encoder.layer.0.attention.self.query.weight, cls.predictions.transform.dense.weight, cls.predictions.bias).
// RoBERTa reuses BertModel with its padding-offset position ids (modeling_roberta.h).
#pragma once

#include <vector>

#include <torch/torch.h>

#include "tcpp/models/bert/configuration_bert.h"
#include "tcpp/models/common/activations.h"
#include "tcpp/models/common/checkpoint.h"
#include "tcpp/models/pretrained_model.h"

namespace tcpp::models::bert {

/// How position ids are made when the caller gives none.
enum class PositionIds {
  kAbsolute,        // BERT: 0, 1, 2, ...
  kPaddingOffset,   // RoBERTa: padding_idx + 1 + index among non-pad tokens; pad tokens get padding_idx
};

class BertEmbeddingsImpl : public torch::nn::Module {
 public:
  BertEmbeddingsImpl(const BertConfig& config, PositionIds position_ids);
  torch::Tensor forward(const ModelInputs& inputs);
  torch::nn::Embedding word_embeddings{nullptr}, position_embeddings{nullptr}, token_type_embeddings{nullptr};
  std::optional<double> neftune_noise_alpha;  // NEFTune noise on word_embeddings' output in training

 private:
  torch::nn::LayerNorm layer_norm_{nullptr};
  PositionIds position_ids_;
  int64_t padding_idx_;
  double dropout_;
};
TORCH_MODULE(BertEmbeddings);

/// One encoder layer; its submodules are registered under attention.self.{query,key,value},
/// attention.output.{dense,LayerNorm}, intermediate.dense, output.{dense,LayerNorm}.
class BertLayerImpl : public torch::nn::Module, public CheckpointableBlock {
 public:
  explicit BertLayerImpl(const BertConfig& config);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& bias);
  /// {x, bias}.
  torch::Tensor checkpointed_forward(const std::vector<torch::Tensor>& inputs) override {
    return forward(inputs[0], inputs[1]);
  }

 private:
  int64_t n_head_;
  double hidden_dropout_, attn_dropout_;
  torch::nn::Linear query_{nullptr}, key_{nullptr}, value_{nullptr}, attn_out_{nullptr}, inter_{nullptr}, out_{nullptr};
  torch::nn::LayerNorm attn_norm_{nullptr}, out_norm_{nullptr};
  Activation act_;
};
TORCH_MODULE(BertLayer);

/// Embeddings + encoder, without the pooler (BertForMaskedLM builds it with add_pooling_layer=False).
/// Returns hidden states (B, T, C).
class BertModelImpl : public torch::nn::Module {
 public:
  BertModelImpl(const BertConfig& config, PositionIds position_ids);
  torch::Tensor forward(const ModelInputs& inputs);
  BertEmbeddings embeddings{nullptr};
  bool gradient_checkpointing = false;

 private:
  std::vector<BertLayer> layers_;
};
TORCH_MODULE(BertModel);

/// Initialise as BertPreTrainedModel._init_weights: Linear/Embedding normal(0, std) with zero biases and zero padding
/// rows, LayerNorm ones/zeros. Applied to every submodule of `module`.
void init_bert_weights(torch::nn::Module& module, double std);

class BertForMaskedLMImpl : public PreTrainedModelImpl {
 public:
  explicit BertForMaskedLMImpl(const BertConfig& config);
  ModelOutput forward(const ModelInputs& inputs) override;
  Json config_json() const override { return config_.to_json(); }
  std::string architecture() const override { return "BertForMaskedLM"; }
  bool is_causal_lm() const override { return false; }
  std::vector<std::string> tied_parameter_names() const override;
  std::string base_model_prefix() const override { return "bert"; }
  bool ignore_unexpected_key(const std::string& name) const override;
  void set_gradient_checkpointing(bool enable) override { bert_->gradient_checkpointing = enable; }
  void set_neftune_noise_alpha(std::optional<double> alpha) override {
    bert_->embeddings->neftune_noise_alpha = alpha;
  }
  torch::nn::Embedding get_input_embeddings() override;
  void resize_token_embeddings(int64_t new_num_tokens) override;

 private:
  BertConfig config_;
  BertModel bert_{nullptr};
  torch::nn::Linear transform_dense_{nullptr};
  torch::nn::LayerNorm transform_norm_{nullptr};
  torch::Tensor decoder_weight_;  // defined only when tie_word_embeddings is false
  torch::Tensor bias_;            // cls.predictions.bias (V)
  Activation act_;
};
TORCH_MODULE(BertForMaskedLM);

}  // namespace tcpp::models::bert
