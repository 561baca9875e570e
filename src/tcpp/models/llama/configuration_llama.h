// LlamaConfig: Llama's config.json fields and defaults (as transformers' configuration_llama.py).
#pragma once

#include "tcpp/models/config.h"

namespace tcpp::models::llama {

struct LlamaConfig : PretrainedConfig {
  LlamaConfig() {
    bos_token_id = 1;
    eos_token_id = 2;
    tie_word_embeddings = false;
  }
  int64_t vocab_size = 32000;
  int64_t hidden_size = 4096;
  int64_t intermediate_size = 11008;
  int64_t num_hidden_layers = 32;
  int64_t num_attention_heads = 32;
  std::optional<int64_t> num_key_value_heads;  // null: num_attention_heads (filled on load, as transformers)
  std::string hidden_act = "silu";
  int64_t max_position_embeddings = 2048;
  double initializer_range = 0.02;
  double rms_norm_eps = 1e-6;
  bool use_cache = true;
  int64_t pretraining_tp = 1;
  double rope_theta = 10000.0;
  Json rope_scaling = nullptr;  // null, {"type"|"rope_type": "linear", "factor"} or Llama 3's "llama3"
  bool attention_bias = false;
  double attention_dropout = 0.0;
  bool mlp_bias = false;
  std::optional<int64_t> head_dim;  // null: hidden_size / num_attention_heads

  int64_t kv_heads() const { return num_key_value_heads.value_or(num_attention_heads); }
  int64_t head_size() const { return head_dim.value_or(hidden_size / num_attention_heads); }

  std::string model_type() const override { return "llama"; }
  std::unique_ptr<PretrainedConfig> clone() const override { return std::make_unique<LlamaConfig>(*this); }
  void validate(const std::string& where) const override;

 protected:
  void visit_fields(ConfigFieldVisitor& v) override;
  void finalize() override;
};

}  // namespace tcpp::models::llama
