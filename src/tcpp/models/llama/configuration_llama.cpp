// LlamaConfig fields and checks.
#include "tcpp/models/llama/configuration_llama.h"

namespace tcpp::models::llama {

void LlamaConfig::visit_fields(ConfigFieldVisitor& v) {
  v.field("vocab_size", vocab_size);
  v.field("hidden_size", hidden_size);
  v.field("intermediate_size", intermediate_size);
  v.field("num_hidden_layers", num_hidden_layers);
  v.field("num_attention_heads", num_attention_heads);
  v.field("num_key_value_heads", num_key_value_heads);
  v.field("hidden_act", hidden_act);
  v.field("max_position_embeddings", max_position_embeddings);
  v.field("initializer_range", initializer_range);
  v.field("rms_norm_eps", rms_norm_eps);
  v.field("use_cache", use_cache);
  v.field("pretraining_tp", pretraining_tp);
  v.field("rope_theta", rope_theta);
  v.field("rope_scaling", rope_scaling);
  v.field("attention_bias", attention_bias);
  v.field("attention_dropout", attention_dropout);
  v.field("mlp_bias", mlp_bias);
  v.field("head_dim", head_dim);
  PretrainedConfig::visit_fields(v);
}

void LlamaConfig::finalize() {
  // As LlamaConfig.__init__: a missing num_key_value_heads means multi-head attention; head_dim defaults to C / H.
  if (!num_key_value_heads) num_key_value_heads = num_attention_heads;
  if (!head_dim && num_attention_heads > 0) head_dim = hidden_size / num_attention_heads;
}

void LlamaConfig::validate(const std::string& where) const {
  auto s = [](int64_t v) { return std::to_string(v); };
  config_require(vocab_size > 0, where, "\"vocab_size\" (" + s(vocab_size) + ") must be positive");
  config_require(num_attention_heads > 0 && hidden_size > 0, where,
                 "\"hidden_size\" and \"num_attention_heads\" must be positive");
  if (!head_dim)
    config_require(hidden_size % num_attention_heads == 0, where,
                   "\"hidden_size\" (" + s(hidden_size) + ") must be divisible by \"num_attention_heads\" (" +
                       s(num_attention_heads) + ")");
  config_require(head_size() % 2 == 0, where, "the head dimension (" + s(head_size()) + ") must be even for rotary embeddings");
  config_require(kv_heads() > 0 && num_attention_heads % kv_heads() == 0, where,
                 "\"num_attention_heads\" (" + s(num_attention_heads) + ") must be divisible by \"num_key_value_heads\" (" +
                     s(kv_heads()) + ")");
  config_require(intermediate_size > 0, where, "\"intermediate_size\" (" + s(intermediate_size) + ") must be positive");
  config_require(rope_theta > 0, where, "\"rope_theta\" must be positive");
  config_require(pretraining_tp == 1, where, "\"pretraining_tp\" (" + s(pretraining_tp) + ") other than 1 is not supported");
  if (!rope_scaling.is_null()) {
    config_require(rope_scaling.is_object(), where, "\"rope_scaling\" must be null or an object");
    std::string type = rope_scaling.value("rope_type", rope_scaling.value("type", std::string("default")));
    config_require(type == "default" || type == "linear" || type == "llama3", where,
                   "\"rope_scaling\" type \"" + type + "\" is not supported (default, linear, llama3)");
    if (type != "default")
      config_require(rope_scaling.contains("factor") && rope_scaling["factor"].is_number(), where,
                     "\"rope_scaling\" needs a numeric \"factor\"");
  }
}

}  // namespace tcpp::models::llama
