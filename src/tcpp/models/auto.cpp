// Auto factory: the model_type registry, from_pretrained (config + weights, key matching), save_pretrained.
#include "tcpp/models/auto.h"

#include <filesystem>
#include <functional>
#include <type_traits>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "tcpp/core/error.h"
#include "tcpp/core/file.h"
#include "tcpp/core/logging.h"
#include "tcpp/core/strings.h"
#include "tcpp/models/bert/modeling_bert.h"
#include "tcpp/models/bert/modeling_roberta.h"
#include "tcpp/models/gpt2/modeling_gpt2.h"
#include "tcpp/models/hub.h"
#include "tcpp/models/llama/modeling_llama.h"
#include "tcpp/models/pytorch_bin.h"

namespace tcpp::models {
namespace fs = std::filesystem;
namespace {

using ModelMaker = std::function<PreTrainedModel(const PretrainedConfig&)>;

struct ModelFamily {
  ModelTask task;  // of make_model
  std::function<std::unique_ptr<PretrainedConfig>()> make_config;
  ModelMaker make_model;
  ModelMaker make_sequence_classifier;  // empty when the family has none here
};

template <typename Config, typename Impl>
ModelMaker maker() {
  return [](const PretrainedConfig& c) -> PreTrainedModel {
    return std::make_shared<Impl>(dynamic_cast<const Config&>(c));
  };
}

template <typename Config, typename Impl, typename SequenceClassifier = void>
ModelFamily family(ModelTask task) {
  ModelFamily f{task, [] { return std::make_unique<Config>(); }, maker<Config, Impl>(), nullptr};
  if constexpr (!std::is_void_v<SequenceClassifier>) f.make_sequence_classifier = maker<Config, SequenceClassifier>();
  return f;
}

const std::map<std::string, ModelFamily>& registry() {
  static const std::map<std::string, ModelFamily> r = {
      {"gpt2", family<gpt2::GPT2Config, gpt2::GPT2LMHeadModelImpl, gpt2::GPT2ForSequenceClassificationImpl>(
                   ModelTask::kCausalLM)},
      {"llama", family<llama::LlamaConfig, llama::LlamaForCausalLMImpl, llama::LlamaForSequenceClassificationImpl>(
                    ModelTask::kCausalLM)},
      {"bert", family<bert::BertConfig, bert::BertForMaskedLMImpl>(ModelTask::kMaskedLM)},
      {"roberta", family<bert::RobertaConfig, bert::RobertaForMaskedLMImpl>(ModelTask::kMaskedLM)},
  };
  return r;
}

// Both arguments are views: a temporary string argument would make newer gcc suspect the returned reference.
const ModelFamily& find_family(std::string_view type, std::string_view where) {
  const std::string model_type(type);
  auto it = registry().find(model_type);
  if (it == registry().end()) {
    auto types = AutoConfig::supported_model_types();
    std::string msg = "unsupported model_type " + quote(model_type) + " (supported: " + join(types, ", ") + ")";
    if (auto near = closest_match(model_type, types)) msg += "; did you mean \"" + *near + "\"?";
    throw InputError(std::string(where), msg);
  }
  return it->second;
}

const char* task_name(ModelTask t) {
  switch (t) {
    case ModelTask::kCausalLM: return "causal language modeling (AutoModelForCausalLM)";
    case ModelTask::kMaskedLM: return "masked language modeling (AutoModelForMaskedLM)";
    case ModelTask::kSequenceClassification:
      return "sequence classification (AutoModelForSequenceClassification)";
    default: return "any task";
  }
}

// Old TF-converted BERT checkpoints name LayerNorm parameters gamma / beta (transformers renames them on load).
std::string fix_legacy_name(const std::string& name) {
  if (ends_with(name, ".gamma")) return name.substr(0, name.size() - 6) + ".weight";
  if (ends_with(name, ".beta")) return name.substr(0, name.size() - 5) + ".bias";
  return name;
}

std::string list_keys(const std::vector<std::string>& keys) {
  std::string out;
  for (size_t i = 0; i < keys.size() && i < 20; ++i) out += (i ? ", " : "") + keys[i];
  if (keys.size() > 20) out += ", ... (" + std::to_string(keys.size()) + " in all)";
  return out;
}

// transformers' torch_dtype="auto": config.json's "torch_dtype" (v5: "dtype") when set, else the dtype of the
// checkpoint's first floating-point tensor (float32 when it has none).
torch::Dtype checkpoint_dtype(const PretrainedConfig& config, const NamedTensors& tensors, const std::string& dir) {
  const std::string where = (fs::path(dir) / "config.json").string();
  if (config.torch_dtype.is_string()) return parse_dtype(config.torch_dtype.get<std::string>(), where + ": torch_dtype");
  if (auto it = config.extra.find("dtype"); it != config.extra.end() && it->is_string())
    return parse_dtype(it->get<std::string>(), where + ": dtype");
  for (const auto& [name, t] : tensors)
    if (t.is_floating_point()) return t.scalar_type();
  return torch::kFloat32;
}

}  // namespace

std::vector<std::string> AutoConfig::supported_model_types() {
  std::vector<std::string> out;
  for (const auto& [name, f] : registry()) out.push_back(name);
  return out;
}

std::unique_ptr<PretrainedConfig> AutoConfig::for_model(const std::string& model_type) {
  return find_family(model_type, "model_type").make_config();
}

std::unique_ptr<PretrainedConfig> AutoConfig::from_json(const Json& config, const std::string& where) {
  if (!config.is_object()) throw InputError(where, "expected a JSON object");
  auto mt = config.find("model_type");
  if (mt == config.end() || !mt->is_string())
    throw InputError(where, "missing \"model_type\" (expected one of " + join(supported_model_types(), ", ") + ")");
  auto c = find_family(mt->get<std::string>(), where + ": \"model_type\"").make_config();
  c->update_from_json(config, where);
  return c;
}

std::unique_ptr<PretrainedConfig> AutoConfig::from_pretrained(const std::string& name_or_path,
                                                               const std::string& revision) {
  const std::string dir = resolve_model_path(name_or_path, revision);
  fs::path path = fs::path(dir) / "config.json";
  if (!fs::exists(path)) throw InputError(dir, "no config.json (expected a folder written by save_pretrained)");
  return from_json(read_json_file(path.string()), path.string());
}

PreTrainedModel model_from_config(const PretrainedConfig& config, ModelTask task) {
  const auto& f = find_family(config.model_type(), "model_type");
  if (task == ModelTask::kSequenceClassification && f.make_sequence_classifier) {
    config.validate("config");
    return f.make_sequence_classifier(config);
  }
  if (task != ModelTask::kAny && f.task != task)
    throw InputError("model_type", quote(config.model_type()) + " has no model for " + task_name(task) +
                                       " here; it is built for " + task_name(f.task));
  config.validate("config");
  return f.make_model(config);
}

NamedTensors state_dict(const PreTrainedModelImpl& model) {
  NamedTensors out;
  for (const auto& p : model.named_parameters(/*recurse=*/true)) out.emplace_back(p.key(), p.value());
  for (const auto& b : model.named_buffers(/*recurse=*/true)) out.emplace_back(b.key(), b.value());
  return out;
}

LoadReport load_state_dict(PreTrainedModelImpl& model, const NamedTensors& tensors, const std::string& where,
                           bool strict) {
  std::map<std::string, torch::Tensor> expected;
  for (const auto& [name, t] : state_dict(model)) expected.emplace(name, t);
  const std::string prefix = model.base_model_prefix();
  // A checkpoint of the bare base model (GPT2Model saves "h.0...", not "transformer.h.0...") gets the prefix.
  bool has_prefix = false, expects_prefix = false;
  if (!prefix.empty()) {
    for (const auto& [name, t] : tensors) has_prefix |= starts_with(name, prefix + ".");
    for (const auto& [name, t] : expected) expects_prefix |= starts_with(name, prefix + ".");
  }
  const bool add_prefix = expects_prefix && !has_prefix;
  const auto tied = model.tied_parameter_names();
  std::set<std::string> loaded;
  LoadReport report;
  torch::NoGradGuard no_grad;
  for (const auto& [raw_name, t] : tensors) {
    std::string name = fix_legacy_name(raw_name);
    if (add_prefix && !expected.count(name)) name = prefix + "." + name;
    auto it = expected.find(name);
    if (it == expected.end()) {
      bool is_tied = std::find(tied.begin(), tied.end(), name) != tied.end();
      if (!is_tied && !model.ignore_unexpected_key(name)) report.unexpected_keys.push_back(raw_name);
      continue;
    }
    if (it->second.sizes() != t.sizes())
      throw InputError(where, "tensor \"" + raw_name + "\" has shape " + shape_string(t.sizes().vec()) +
                                  " but the model built from config.json expects " +
                                  shape_string(it->second.sizes().vec()));
    it->second.copy_(t);
    loaded.insert(name);
  }
  for (const auto& [name, t] : expected)
    if (!loaded.count(name)) report.missing_keys.push_back(name);
  const std::string arch = model.architecture();
  if (!report.unexpected_keys.empty()) {
    std::string msg = "some weights of the checkpoint were not used when initializing " + arch + ": " +
                      list_keys(report.unexpected_keys);
    if (strict) throw InputError(where, msg);
    log_warning(where + ": " + msg);
  }
  if (!report.missing_keys.empty()) {
    std::string msg = "some weights of " + arch + " were not in the checkpoint and are newly initialized: " +
                      list_keys(report.missing_keys);
    if (strict) throw InputError(where, msg);
    log_warning(where + ": " + msg);
  }
  return report;
}

PreTrainedModel model_from_pretrained(const std::string& name_or_path, ModelTask task, const LoadOptions& options,
                                      LoadReport* report) {
  const std::string dir = resolve_model_path(name_or_path, options.revision);
  auto config = AutoConfig::from_pretrained(dir);
  auto model = model_from_config(*config, task);
  auto tensors = load_checkpoint_tensors(dir);
  // Errors name the weights file load_checkpoint_tensors read (its order of preference).
  std::string where = dir;
  for (const char* name : {kSafeWeightsName, kSafeWeightsIndexName, kWeightsName, kWeightsIndexName}) {
    if (fs::exists(fs::path(dir) / name)) {
      where = (fs::path(dir) / name).string();
      break;
    }
  }
  auto r = load_state_dict(*model, tensors, where, options.strict);
  if (report != nullptr) *report = r;
  std::optional<torch::Dtype> dtype = options.dtype;
  if (!dtype && options.auto_dtype) dtype = checkpoint_dtype(*config, tensors, dir);
  tensors.clear();  // release the mappings before moving the weights
  if (dtype) model->to(*dtype);
  if (options.device != torch::Device(torch::kCPU)) model->to(options.device);
  return model;
}

torch::Dtype parse_dtype(const std::string& name, const std::string& where) {
  std::string n = to_lower(name);
  if (n == "float32" || n == "fp32" || n == "f32" || n == "float") return torch::kFloat32;
  if (n == "bfloat16" || n == "bf16") return torch::kBFloat16;
  if (n == "float16" || n == "fp16" || n == "f16" || n == "half") return torch::kFloat16;
  if (n == "float64" || n == "fp64" || n == "f64" || n == "double") return torch::kFloat64;
  throw InputError(where, "unsupported dtype " + quote(name) + " (expected float32, bfloat16, float16 or float64)");
}

std::string dtype_name(torch::Dtype dtype) {
  switch (dtype) {
    case torch::kFloat32: return "float32";
    case torch::kBFloat16: return "bfloat16";
    case torch::kFloat16: return "float16";
    case torch::kFloat64: return "float64";
    default: return std::string(c10::toString(dtype));
  }
}

void save_pretrained(const PreTrainedModelImpl& model, const std::string& dir, const SaveOptions& options) {
  fs::create_directories(dir);
  auto tensors = state_dict(model);
  Json config = model.config_json();
  config["architectures"] = Json::array({model.architecture()});
  for (const auto& [name, t] : tensors) {
    if (t.is_floating_point()) {
      config["torch_dtype"] = dtype_name(t.scalar_type());
      break;
    }
  }
  write_file_atomic((fs::path(dir) / "config.json").string(), dump_json_python(config, 2) + "\n");
  if (model.is_causal_lm()) {
    // GenerationConfig.from_model_config: the special token ids that are set.
    Json gen = {{"_from_model_config", true}};
    for (const char* key : {"bos_token_id", "eos_token_id", "pad_token_id"})
      if (config.contains(key) && !config[key].is_null()) gen[key] = config[key];
    if (config.contains("transformers_version")) gen["transformers_version"] = config["transformers_version"];
    write_file_atomic((fs::path(dir) / "generation_config.json").string(), dump_json_python(gen, 2) + "\n");
  }
  save_sharded_safetensors(dir, tensors, options.max_shard_size, options.safe_serialization);
}

}  // namespace tcpp::models
