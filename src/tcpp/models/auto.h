// The Auto factory (as transformers' AutoConfig / AutoModelForCausalLM / AutoModelForMaskedLM): configs and models by
// model_type, from_pretrained(dir) with missing / unexpected key reports, and save_pretrained(model, dir).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/types.h>

#include "tcpp/core/json.h"
#include "tcpp/models/config.h"
#include "tcpp/models/pretrained_model.h"
#include "tcpp/models/safetensors.h"

namespace tcpp::models {

/// What a model head is trained for; Auto classes for a task refuse families without that head.
enum class ModelTask { kAny, kCausalLM, kMaskedLM, kSequenceClassification };

struct AutoConfig {
  /// The model types this build supports: "bert", "gpt2", "llama", "roberta".
  static std::vector<std::string> supported_model_types();
  /// A family's default config (transformers' CONFIG_MAPPING[model_type]()). Throws InputError listing the supported
  /// types. run_clm then calls update_from_string(config_overrides) on it.
  static std::unique_ptr<PretrainedConfig> for_model(const std::string& model_type);
  /// Parse a config.json object; "model_type" is required. `where` names the source in errors.
  static std::unique_ptr<PretrainedConfig> from_json(const Json& config, const std::string& where = "config.json");
  /// Read config.json of a local folder or of a hub id in the local cache (see resolve_model_path).
  static std::unique_ptr<PretrainedConfig> from_pretrained(const std::string& name_or_path,
                                                           const std::string& revision = "main");
};

struct LoadOptions {
  /// Cast the loaded model to this dtype (default: keep float32, as transformers without torch_dtype).
  std::optional<torch::Dtype> dtype;
  /// torch_dtype="auto": the dtype config.json names ("torch_dtype", or v5's "dtype"), else that of the checkpoint's
  /// first floating-point tensor. Ignored when `dtype` is set.
  bool auto_dtype = false;
  torch::Device device = torch::kCPU;
  /// Missing or unexpected checkpoint keys are an InputError instead of a warning.
  bool strict = false;
  /// For hub ids: the branch, tag or commit in the local cache (run_clm's --model_revision).
  std::string revision = "main";
};

/// What from_pretrained matched, as transformers' output_loading_info.
struct LoadReport {
  std::vector<std::string> missing_keys;     // model parameters the checkpoint lacks (left freshly initialised)
  std::vector<std::string> unexpected_keys;  // checkpoint tensors the model has no place for (ignored)
};

struct SaveOptions {
  /// transformers' max_shard_size ("5GB" by default); see parse_shard_size().
  int64_t max_shard_size = 5'000'000'000;
  /// false: pytorch_model.bin (torch.save's format) instead of model.safetensors, as safe_serialization=False.
  bool safe_serialization = true;
};

/// Build a freshly initialised model (weights as the family's _init_weights; uses torch's global RNG, so seed it
/// with torch::manual_seed first). task selects the head; InputError when the family has none for it.
PreTrainedModel model_from_config(const PretrainedConfig& config, ModelTask task = ModelTask::kAny);

/// Load config.json and the safetensors weights (single file or sharded) from a local folder or a hub id found in the
/// local Hugging Face cache (resolve_model_path; no network). Checkpoints of the bare base model
/// (keys without "transformer." etc.) load too. Shape mismatches are InputErrors naming the tensor; missing and
/// unexpected keys are logged as warnings (errors when options.strict). Tied weights are re-tied by construction.
PreTrainedModel model_from_pretrained(const std::string& name_or_path, ModelTask task = ModelTask::kAny,
                                      const LoadOptions& options = {}, LoadReport* report = nullptr);

struct AutoModelForCausalLM {
  static PreTrainedModel from_config(const PretrainedConfig& config) {
    return model_from_config(config, ModelTask::kCausalLM);
  }
  static PreTrainedModel from_pretrained(const std::string& dir, const LoadOptions& options = {},
                                         LoadReport* report = nullptr) {
    return model_from_pretrained(dir, ModelTask::kCausalLM, options, report);
  }
};

struct AutoModelForMaskedLM {
  static PreTrainedModel from_config(const PretrainedConfig& config) {
    return model_from_config(config, ModelTask::kMaskedLM);
  }
  static PreTrainedModel from_pretrained(const std::string& dir, const LoadOptions& options = {},
                                         LoadReport* report = nullptr) {
    return model_from_pretrained(dir, ModelTask::kMaskedLM, options, report);
  }
};

/// GPT2ForSequenceClassification / LlamaForSequenceClassification (num_labels from config.json's id2label).
struct AutoModelForSequenceClassification {
  static PreTrainedModel from_config(const PretrainedConfig& config) {
    return model_from_config(config, ModelTask::kSequenceClassification);
  }
  static PreTrainedModel from_pretrained(const std::string& dir, const LoadOptions& options = {},
                                         LoadReport* report = nullptr) {
    return model_from_pretrained(dir, ModelTask::kSequenceClassification, options, report);
  }
};

/// The model's tensors under their HF names, tied ones once (named_parameters() + named_buffers()).
NamedTensors state_dict(const PreTrainedModelImpl& model);

/// Copy checkpoint tensors into the model (dtype converted). `where` names the checkpoint in errors.
LoadReport load_state_dict(PreTrainedModelImpl& model, const NamedTensors& tensors, const std::string& where,
                           bool strict);

/// Write config.json (architectures, model_type, torch_dtype added), generation_config.json for causal LMs, and the
/// weights (model.safetensors, or shards + index above options.max_shard_size) into dir, each file atomically.
void save_pretrained(const PreTrainedModelImpl& model, const std::string& dir, const SaveOptions& options = {});

/// "float32"/"fp32"/"f32", "bfloat16"/"bf16", "float16"/"fp16"/"f16", "float64" -> dtype; InputError naming `where`.
torch::Dtype parse_dtype(const std::string& name, const std::string& where);
/// transformers' spelling: "float32", "bfloat16", "float16", "float64".
std::string dtype_name(torch::Dtype dtype);

}  // namespace tcpp::models
