// GPT2Config: GPT-2's config.json fields and defaults (as transformers' configuration_gpt2.py).
#pragma once

#include "tcpp/models/config.h"

namespace tcpp::models::gpt2 {

struct GPT2Config : PretrainedConfig {
  GPT2Config() {
    bos_token_id = 50256;
    eos_token_id = 50256;
  }
  int64_t vocab_size = 50257;
  int64_t n_positions = 1024;
  int64_t n_embd = 768;
  int64_t n_layer = 12;
  int64_t n_head = 12;
  std::optional<int64_t> n_inner;  // null: 4 * n_embd
  std::string activation_function = "gelu_new";
  double resid_pdrop = 0.1;
  double embd_pdrop = 0.1;
  double attn_pdrop = 0.1;
  double layer_norm_epsilon = 1e-5;
  double initializer_range = 0.02;
  std::string summary_type = "cls_index";
  bool summary_use_proj = true;
  Json summary_activation = nullptr;
  bool summary_proj_to_labels = true;
  double summary_first_dropout = 0.1;
  bool scale_attn_weights = true;
  bool use_cache = true;
  bool scale_attn_by_inverse_layer_idx = false;
  bool reorder_and_upcast_attn = false;

  int64_t inner_dim() const { return n_inner.value_or(4 * n_embd); }

  std::string model_type() const override { return "gpt2"; }
  std::unique_ptr<PretrainedConfig> clone() const override { return std::make_unique<GPT2Config>(*this); }
  void validate(const std::string& where) const override;

 protected:
  void visit_fields(ConfigFieldVisitor& v) override;
  std::vector<std::pair<std::string, std::string>> attribute_map() const override;
};

}  // namespace tcpp::models::gpt2
