// GPT2Config fields and checks.
#include "tcpp/models/gpt2/configuration_gpt2.h"

namespace tcpp::models::gpt2 {

void GPT2Config::visit_fields(ConfigFieldVisitor& v) {
  v.field("vocab_size", vocab_size);
  v.field("n_positions", n_positions);
  v.field("n_embd", n_embd);
  v.field("n_layer", n_layer);
  v.field("n_head", n_head);
  v.field("n_inner", n_inner);
  v.field("activation_function", activation_function);
  v.field("resid_pdrop", resid_pdrop);
  v.field("embd_pdrop", embd_pdrop);
  v.field("attn_pdrop", attn_pdrop);
  v.field("layer_norm_epsilon", layer_norm_epsilon);
  v.field("initializer_range", initializer_range);
  v.field("summary_type", summary_type);
  v.field("summary_use_proj", summary_use_proj);
  v.field("summary_activation", summary_activation);
  v.field("summary_proj_to_labels", summary_proj_to_labels);
  v.field("summary_first_dropout", summary_first_dropout);
  v.field("scale_attn_weights", scale_attn_weights);
  v.field("use_cache", use_cache);
  v.field("scale_attn_by_inverse_layer_idx", scale_attn_by_inverse_layer_idx);
  v.field("reorder_and_upcast_attn", reorder_and_upcast_attn);
  PretrainedConfig::visit_fields(v);
}

std::vector<std::pair<std::string, std::string>> GPT2Config::attribute_map() const {
  return {{"hidden_size", "n_embd"},
          {"max_position_embeddings", "n_positions"},
          {"num_attention_heads", "n_head"},
          {"num_hidden_layers", "n_layer"}};
}

void GPT2Config::validate(const std::string& where) const {
  auto s = [](int64_t v) { return std::to_string(v); };
  config_require(vocab_size > 0, where, "\"vocab_size\" (" + s(vocab_size) + ") must be positive");
  config_require(n_positions > 0, where, "\"n_positions\" (" + s(n_positions) + ") must be positive");
  config_require(n_layer >= 0, where, "\"n_layer\" (" + s(n_layer) + ") must not be negative");
  config_require(n_head > 0 && n_embd > 0 && n_embd % n_head == 0, where,
                 "\"n_embd\" (" + s(n_embd) + ") must be divisible by \"n_head\" (" + s(n_head) + ")");
  config_require(inner_dim() > 0, where, "\"n_inner\" (" + s(inner_dim()) + ") must be positive");
}

}  // namespace tcpp::models::gpt2
