// BertConfig fields and checks (shared by RobertaConfig).
#include "tcpp/models/bert/configuration_bert.h"

namespace tcpp::models::bert {

void BertConfig::visit_fields(ConfigFieldVisitor& v) {
  v.field("vocab_size", vocab_size);
  v.field("hidden_size", hidden_size);
  v.field("num_hidden_layers", num_hidden_layers);
  v.field("num_attention_heads", num_attention_heads);
  v.field("intermediate_size", intermediate_size);
  v.field("hidden_act", hidden_act);
  v.field("hidden_dropout_prob", hidden_dropout_prob);
  v.field("attention_probs_dropout_prob", attention_probs_dropout_prob);
  v.field("max_position_embeddings", max_position_embeddings);
  v.field("type_vocab_size", type_vocab_size);
  v.field("initializer_range", initializer_range);
  v.field("layer_norm_eps", layer_norm_eps);
  v.field("position_embedding_type", position_embedding_type);
  v.field("use_cache", use_cache);
  v.field("classifier_dropout", classifier_dropout);
  PretrainedConfig::visit_fields(v);
}

void BertConfig::validate(const std::string& where) const {
  auto s = [](int64_t v) { return std::to_string(v); };
  config_require(vocab_size > 0, where, "\"vocab_size\" (" + s(vocab_size) + ") must be positive");
  config_require(num_attention_heads > 0 && hidden_size > 0 && hidden_size % num_attention_heads == 0, where,
                 "\"hidden_size\" (" + s(hidden_size) + ") must be divisible by \"num_attention_heads\" (" +
                     s(num_attention_heads) + ")");
  config_require(intermediate_size > 0, where, "\"intermediate_size\" (" + s(intermediate_size) + ") must be positive");
  config_require(max_position_embeddings > 0, where,
                 "\"max_position_embeddings\" (" + s(max_position_embeddings) + ") must be positive");
  config_require(type_vocab_size > 0, where, "\"type_vocab_size\" (" + s(type_vocab_size) + ") must be positive");
  config_require(position_embedding_type == "absolute", where,
                 "\"position_embedding_type\" \"" + position_embedding_type +
                     "\" is not supported (only \"absolute\")");
  if (auto pad = pad_token())
    config_require(*pad >= 0 && *pad < vocab_size, where,
                   "\"pad_token_id\" (" + s(*pad) + ") must be below \"vocab_size\" (" + s(vocab_size) + ")");
}

}  // namespace tcpp::models::bert
