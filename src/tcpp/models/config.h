// Model configs as transformers' PretrainedConfig: typed fields with HF's names and defaults, config.json in and out
// (unknown keys kept), and run_clm's --config_overrides ("n_embd=256,n_layer=4", as update_from_string).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tcpp/core/json.h"

namespace tcpp::models {

/// Visits each config field once, by its config.json key; drives reading, writing and overrides.
class ConfigFieldVisitor {
 public:
  virtual ~ConfigFieldVisitor() = default;
  virtual void field(const char* key, int64_t& value) = 0;
  virtual void field(const char* key, double& value) = 0;
  virtual void field(const char* key, bool& value) = 0;
  virtual void field(const char* key, std::string& value) = 0;
  /// An integer that may be null (e.g. GPT-2's n_inner).
  virtual void field(const char* key, std::optional<int64_t>& value) = 0;
  /// Any JSON value (token ids that may be lists, rope_scaling objects, ...).
  virtual void field(const char* key, Json& value) = 0;
};

/// Fields every family shares, plus what config.json carries that this code does not model (kept on save).
class PretrainedConfig {
 public:
  virtual ~PretrainedConfig() = default;

  /// "gpt2", "bert", "roberta", "llama".
  virtual std::string model_type() const = 0;
  virtual std::unique_ptr<PretrainedConfig> clone() const = 0;
  /// Check values that the model cannot work with; throws InputError("<where>: \"n_embd\" (768) must be ...").
  virtual void validate(const std::string& where) const { (void)where; }

  /// Read config.json's object: known keys are type-checked (InputError naming where and the key), unknown keys are
  /// kept. Missing keys keep their defaults, as transformers does; "model_type", when present, must match.
  void update_from_json(const Json& config, const std::string& where);
  /// The config.json object (every known field, the extra keys, "model_type"); keys come out sorted.
  Json to_json() const;
  /// Apply "k=v,k2=v2" as transformers' update_from_string: each value is parsed by the type of the existing field
  /// (int, float, bool, str); unknown keys, bad values and fields that are not scalars throw InputError naming the
  /// key. GPT-2's aliases (hidden_size -> n_embd, ...) are accepted.
  void update_from_string(const std::string& overrides);

  // Shared fields (PretrainedConfig's), named as in config.json.
  Json architectures = nullptr;   // ["GPT2LMHeadModel"]
  Json torch_dtype = nullptr;     // "float32"
  Json bos_token_id = nullptr;    // int, list of ints (Llama 3 eos) or null
  Json eos_token_id = nullptr;
  Json pad_token_id = nullptr;
  bool tie_word_embeddings = true;
  /// Keys of config.json that no field models (transformers_version, task_specific_params, ...).
  Json extra = Json::object();

  /// pad_token_id as an integer, or nullopt when null.
  std::optional<int64_t> pad_token() const;

 protected:
  /// Each subclass lists its own fields, then calls PretrainedConfig::visit_fields for the shared ones.
  virtual void visit_fields(ConfigFieldVisitor& v);
  /// Alternative names accepted in overrides and config.json (transformers' attribute_map).
  virtual std::vector<std::pair<std::string, std::string>> attribute_map() const { return {}; }
  /// Fill derived values after reading (e.g. Llama's num_key_value_heads null -> num_attention_heads).
  virtual void finalize() {}
};

/// `"key" (value) must be ...` helper for validate(): throws InputError(where, ...) when cond is false.
void config_require(bool cond, const std::string& where, const std::string& message);

}  // namespace tcpp::models
