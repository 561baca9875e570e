// RoBERTa (as transformers' modeling_roberta.py): BertModel with padding-offset position ids, and RobertaForMaskedLM
// with its lm_head (dense, gelu, layer_norm, decoder tied to roberta.embeddings.word_embeddings, lm_head.bias).
#pragma once

#include "tcpp/models/bert/modeling_bert.h"

namespace tcpp::models::bert {

class RobertaForMaskedLMImpl : public PreTrainedModelImpl {
 public:
  explicit RobertaForMaskedLMImpl(const RobertaConfig& config);
  ModelOutput forward(const ModelInputs& inputs) override;
  Json config_json() const override { return config_.to_json(); }
  std::string architecture() const override { return "RobertaForMaskedLM"; }
  bool is_causal_lm() const override { return false; }
  std::vector<std::string> tied_parameter_names() const override;
  std::string base_model_prefix() const override { return "roberta"; }
  bool ignore_unexpected_key(const std::string& name) const override;
  void set_gradient_checkpointing(bool enable) override { roberta_->gradient_checkpointing = enable; }
  void set_neftune_noise_alpha(std::optional<double> alpha) override {
    roberta_->embeddings->neftune_noise_alpha = alpha;
  }
  torch::nn::Embedding get_input_embeddings() override;
  void resize_token_embeddings(int64_t new_num_tokens) override;

 private:
  RobertaConfig config_;
  BertModel roberta_{nullptr};
  torch::nn::Linear dense_{nullptr};
  torch::nn::LayerNorm layer_norm_{nullptr};
  torch::Tensor decoder_weight_;  // defined only when tie_word_embeddings is false
  torch::Tensor bias_;            // lm_head.bias (V)
};
TORCH_MODULE(RobertaForMaskedLM);

}  // namespace tcpp::models::bert
