// RobertaForMaskedLM: BERT encoder with RoBERTa positions, then lm_head = decoder(layer_norm(gelu(dense(h)))).
#include "tcpp/models/bert/modeling_roberta.h"

#include "tcpp/models/common/modeling_utils.h"

namespace tcpp::models::bert {

RobertaForMaskedLMImpl::RobertaForMaskedLMImpl(const RobertaConfig& config) : config_(config) {
  config_.validate("RobertaConfig");
  const int64_t C = config_.hidden_size, V = config_.vocab_size;
  roberta_ = register_module("roberta", BertModel(config_, PositionIds::kPaddingOffset));
  auto lm_head = register_module("lm_head", std::make_shared<torch::nn::Module>());
  dense_ = lm_head->register_module("dense", torch::nn::Linear(C, C));
  layer_norm_ = lm_head->register_module(
      "layer_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({C}).eps(config_.layer_norm_eps)));
  bias_ = lm_head->register_parameter("bias", torch::zeros({V}));
  if (!config_.tie_word_embeddings) {
    auto decoder = lm_head->register_module("decoder", std::make_shared<torch::nn::Module>());
    decoder_weight_ = decoder->register_parameter("weight", torch::empty({V, C}));
  }
  init_bert_weights(*this, config_.initializer_range);
  if (decoder_weight_.defined()) init_normal_(decoder_weight_, config_.initializer_range);
}

ModelOutput RobertaForMaskedLMImpl::forward(const ModelInputs& inputs) {
  auto h = roberta_(inputs);                        // (B, T, C)
  h = layer_norm_in_weight_dtype(layer_norm_, torch::gelu(dense_(h)));  // RobertaLMHead: always exact gelu
  const auto& w = decoder_weight_.defined() ? decoder_weight_ : roberta_->embeddings->word_embeddings->weight;
  ModelOutput out;
  out.logits = torch::matmul(h, w.t()) + bias_;     // (B, T, V)
  if (inputs.labels.defined()) out.loss = masked_lm_loss(out.logits, inputs.labels, inputs.num_items_in_batch);
  return out;
}

std::vector<std::string> RobertaForMaskedLMImpl::tied_parameter_names() const {
  if (config_.tie_word_embeddings) return {"lm_head.decoder.weight", "lm_head.decoder.bias"};
  return {"lm_head.decoder.bias"};
}

torch::nn::Embedding RobertaForMaskedLMImpl::get_input_embeddings() {
  return roberta_->embeddings->word_embeddings;
}

void RobertaForMaskedLMImpl::resize_token_embeddings(int64_t new_num_tokens) {
  resize_embedding_(roberta_->embeddings->word_embeddings, new_num_tokens);
  // lm_head.bias is lm_head.decoder.bias: resized with an untied decoder, zero-padded when tied.
  if (decoder_weight_.defined())
    resize_lm_head_(decoder_weight_, &bias_, new_num_tokens);
  else
    resize_tied_bias_(bias_, new_num_tokens);
  config_.vocab_size = new_num_tokens;
}

bool RobertaForMaskedLMImpl::ignore_unexpected_key(const std::string& name) const {
  return name.rfind("roberta.pooler.", 0) == 0 || name == "roberta.embeddings.position_ids";
}

}  // namespace tcpp::models::bert
