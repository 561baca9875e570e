// BertConfig and RobertaConfig: config.json fields and defaults (as transformers' configuration_bert.py and
// configuration_roberta.py; RoBERTa is BERT with its own vocabulary and special token defaults).
#pragma once

#include "tcpp/models/config.h"

namespace tcpp::models::bert {

struct BertConfig : PretrainedConfig {
  BertConfig() { pad_token_id = 0; }
  int64_t vocab_size = 30522;
  int64_t hidden_size = 768;
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 12;
  int64_t intermediate_size = 3072;
  std::string hidden_act = "gelu";
  double hidden_dropout_prob = 0.1;
  double attention_probs_dropout_prob = 0.1;
  int64_t max_position_embeddings = 512;
  int64_t type_vocab_size = 2;
  double initializer_range = 0.02;
  double layer_norm_eps = 1e-12;
  std::string position_embedding_type = "absolute";
  bool use_cache = true;
  Json classifier_dropout = nullptr;

  std::string model_type() const override { return "bert"; }
  std::unique_ptr<PretrainedConfig> clone() const override { return std::make_unique<BertConfig>(*this); }
  void validate(const std::string& where) const override;

 protected:
  void visit_fields(ConfigFieldVisitor& v) override;
};

struct RobertaConfig : BertConfig {
  RobertaConfig() {
    vocab_size = 50265;
    pad_token_id = 1;
    bos_token_id = 0;
    eos_token_id = 2;
  }
  std::string model_type() const override { return "roberta"; }
  std::unique_ptr<PretrainedConfig> clone() const override { return std::make_unique<RobertaConfig>(*this); }
};

}  // namespace tcpp::models::bert
