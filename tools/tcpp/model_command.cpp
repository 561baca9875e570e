// `tcpp model init|forward|generate|info`: make, run and inspect checkpoints in the Hugging Face layout.
// tcpp-needs: tcpp_models tcpp_tokenizers
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "command.h"
#include "tcpp/core/error.h"
#include "tcpp/core/json.h"
#include "tcpp/core/strings.h"
#include "tcpp/models/auto.h"
#include "tcpp/models/generation.h"
#include "tcpp/models/hub.h"
#include "tcpp/models/safetensors.h"
#include "tcpp/tokenizers/auto_tokenizer.h"

namespace tcpp::tools {
namespace {

using namespace tcpp::models;

constexpr const char* kUsage =
    "usage:\n"
    "  tcpp model init --model_type gpt2|bert|roberta|llama [--config_overrides k=v,...] [--config FILE]\n"
    "                  [--seed S] [--dtype f32|bf16] --output DIR\n"
    "  tcpp model forward --model DIR --input_ids \"1,2,3;4,5,6\" [--attention_mask ...] [--token_type_ids ...]\n"
    "                  [--labels ...] [--dtype f32|bf16]\n"
    "  tcpp model generate --model DIR (--input_ids \"1,2,3\" | --prompt TEXT [--tokenizer DIR]) [--max_new_tokens N]\n"
    "                  [--do_sample] [--temperature T] [--top_k K] [--top_p P] [--seed S] [--no_cache]\n"
    "                  (--prompt: the text is encoded with the model folder's tokenizer and the output decoded)\n"
    "  tcpp model info DIR\n";

// --flag value pairs (and bare --switches listed in `switches`); positional arguments under "".
std::map<std::string, std::string> parse_flags(const std::vector<std::string>& args, size_t from,
                                               const std::vector<std::string>& allowed,
                                               const std::vector<std::string>& switches = {}) {
  std::map<std::string, std::string> out;
  for (size_t i = from; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (!starts_with(a, "--")) {
      if (out.count("")) throw InputError("tcpp model", "unexpected argument " + quote(a));
      out[""] = a;
      continue;
    }
    std::string key = a.substr(2), value;
    if (auto eq = key.find('='); eq != std::string::npos) {
      value = key.substr(eq + 1);
      key = key.substr(0, eq);
    } else if (std::find(switches.begin(), switches.end(), key) != switches.end()) {
      value = "true";
    } else {
      if (i + 1 >= args.size()) throw InputError("--" + key, "expects a value");
      value = args[++i];
    }
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end() &&
        std::find(switches.begin(), switches.end(), key) == switches.end()) {
      std::string msg = "unknown flag";
      std::vector<std::string> all = allowed;
      all.insert(all.end(), switches.begin(), switches.end());
      if (auto near = closest_match(key, all)) msg += " (did you mean --" + *near + "?)";
      throw InputError("--" + key, msg);
    }
    out[key] = value;
  }
  return out;
}

const std::string& require(const std::map<std::string, std::string>& flags, const char* key) {
  auto it = flags.find(key);
  if (it == flags.end()) throw InputError("tcpp model", std::string("missing --") + key + "\n" + kUsage);
  return it->second;
}

int64_t flag_int(const std::map<std::string, std::string>& flags, const std::string& key, int64_t fallback) {
  auto it = flags.find(key);
  if (it == flags.end()) return fallback;
  auto v = parse_int(it->second);
  if (!v) throw InputError("--" + key, "expects an integer, got " + quote(it->second));
  return *v;
}

double flag_double(const std::map<std::string, std::string>& flags, const std::string& key, double fallback) {
  auto it = flags.find(key);
  if (it == flags.end()) return fallback;
  auto v = parse_double(it->second);
  if (!v) throw InputError("--" + key, "expects a number, got " + quote(it->second));
  return *v;
}

// "1,2,3;4,5,6" -> (2, 3) int64; rows must have equal lengths.
torch::Tensor parse_matrix(const std::string& flag, const std::string& text) {
  std::vector<int64_t> values;
  int64_t cols = -1, rows = 0;
  for (const auto& row : split(text, ';')) {
    auto cells = split(row, ',');
    if (cols >= 0 && static_cast<int64_t>(cells.size()) != cols)
      throw InputError(flag, "row " + std::to_string(rows + 1) + " has " + std::to_string(cells.size()) +
                                 " values, expected " + std::to_string(cols) + " like the first row");
    cols = static_cast<int64_t>(cells.size());
    for (const auto& c : cells) {
      auto v = parse_int(trim(c));
      if (!v) throw InputError(flag, "expected integers separated by ',' and rows by ';', got " + quote(c));
      values.push_back(*v);
    }
    ++rows;
  }
  return torch::tensor(values, torch::kLong).reshape({rows, cols});
}

Json tensor_to_json(const torch::Tensor& t) {
  if (t.dim() == 0) return t.item<double>();
  Json out = Json::array();
  for (int64_t i = 0; i < t.size(0); ++i) out.push_back(tensor_to_json(t[i]));
  return out;
}

int run_init(const std::vector<std::string>& args) {
  auto flags = parse_flags(args, 1, {"model_type", "config_overrides", "config", "seed", "output", "dtype"});
  const std::string& output = require(flags, "output");
  std::unique_ptr<PretrainedConfig> config;
  if (flags.count("config")) {
    config = AutoConfig::from_json(read_json_file(flags["config"]), flags["config"]);
    if (flags.count("model_type") && flags["model_type"] != config->model_type())
      throw InputError("--model_type", quote(flags["model_type"]) + " disagrees with " + flags["config"] +
                                           " (model_type " + quote(config->model_type()) + ")");
  } else {
    config = AutoConfig::for_model(require(flags, "model_type"));
  }
  if (flags.count("config_overrides")) config->update_from_string(flags["config_overrides"]);
  torch::manual_seed(static_cast<uint64_t>(flag_int(flags, "seed", 42)));
  auto model = model_from_config(*config);
  if (flags.count("dtype")) model->to(parse_dtype(flags["dtype"], "--dtype"));
  save_pretrained(*model, output);
  int64_t n = 0;
  for (const auto& p : model->parameters()) n += p.numel();
  std::printf("%s\n", dump_json_python(Json{{"architecture", model->architecture()}, {"num_parameters", n},
                                            {"output", output}}, -1).c_str());
  return 0;
}

int run_forward(const std::vector<std::string>& args) {
  auto flags = parse_flags(args, 1, {"model", "input_ids", "attention_mask", "token_type_ids", "labels", "dtype"});
  LoadOptions options;
  if (flags.count("dtype")) options.dtype = parse_dtype(flags["dtype"], "--dtype");
  auto model = model_from_pretrained(require(flags, "model"), ModelTask::kAny, options);
  model->eval();
  ModelInputs in;
  in.input_ids = parse_matrix("--input_ids", require(flags, "input_ids"));
  auto same_shape = [&](const char* flag) {
    auto t = parse_matrix(std::string("--") + flag, flags[flag]);
    if (t.sizes() != in.input_ids.sizes())
      throw InputError(std::string("--") + flag, "must have the shape of --input_ids");
    return t;
  };
  if (flags.count("attention_mask")) in.attention_mask = same_shape("attention_mask");
  if (flags.count("token_type_ids")) in.token_type_ids = same_shape("token_type_ids");
  if (flags.count("labels")) in.labels = same_shape("labels");
  torch::NoGradGuard no_grad;
  auto out = model->forward(in);
  auto logits = out.logits.to(torch::kFloat32);
  Json j = {{"logits_shape", logits.sizes().vec()}, {"logits", tensor_to_json(logits)}};
  if (out.loss.defined()) j["loss"] = out.loss.item<double>();
  std::printf("%s\n", dump_json_python(j, -1).c_str());
  return 0;
}

int run_generate(const std::vector<std::string>& args) {
  auto flags = parse_flags(args, 1, {"model", "input_ids", "prompt", "tokenizer", "max_new_tokens", "temperature",
                                     "top_k", "top_p", "seed"},
                           {"do_sample", "no_cache"});
  if (flags.count("prompt") == flags.count("input_ids"))
    throw InputError("tcpp model generate", std::string("give exactly one of --input_ids and --prompt\n") + kUsage);
  auto model = model_from_pretrained(require(flags, "model"), ModelTask::kCausalLM);
  model->eval();
  auto g = GenerationConfig::from_model_config(model->config_json());
  g.max_new_tokens = flag_int(flags, "max_new_tokens", g.max_new_tokens);
  g.do_sample = flags.count("do_sample") > 0;
  g.use_cache = flags.count("no_cache") == 0;
  g.temperature = flag_double(flags, "temperature", g.temperature);
  g.top_k = flag_int(flags, "top_k", g.top_k);
  g.top_p = flag_double(flags, "top_p", g.top_p);
  torch::manual_seed(static_cast<uint64_t>(flag_int(flags, "seed", 42)));
  if (flags.count("input_ids")) {
    auto ids = generate(*model, parse_matrix("--input_ids", flags["input_ids"]), torch::Tensor(), g);
    std::printf("%s\n", dump_json_python(Json{{"sequences", tensor_to_json(ids)}}, -1).c_str());
    return 0;
  }
  auto tok = tokenizers::PreTrainedTokenizer::from_pretrained(flags.count("tokenizer") ? flags["tokenizer"]
                                                                                       : flags["model"]);
  auto enc = tok.encode(flags["prompt"]);
  if (enc.ids.empty()) throw InputError("--prompt", "encodes to no tokens");
  std::vector<int64_t> prompt(enc.ids.begin(), enc.ids.end());
  auto row = generate(*model, torch::tensor(prompt, torch::kInt64).unsqueeze(0), torch::Tensor(), g)[0].contiguous();
  std::vector<uint32_t> out(static_cast<size_t>(row.size(0)));
  for (int64_t i = 0; i < row.size(0); ++i) out[static_cast<size_t>(i)] = static_cast<uint32_t>(row[i].item<int64_t>());
  std::printf("%s\n", tok.decode(out, /*skip_special_tokens=*/true, tok.clean_up_tokenization_spaces()).c_str());
  return 0;
}

int run_info(const std::vector<std::string>& args) {
  auto flags = parse_flags(args, 1, {"revision"});
  if (!flags.count("")) throw InputError("tcpp model info", std::string("missing DIR\n") + kUsage);
  const std::string dir = resolve_model_path(flags[""], flags.count("revision") ? flags["revision"] : "main");
  auto config = AutoConfig::from_pretrained(dir);
  Json tensors = Json::array();
  int64_t n = 0;
  for (const auto& [name, t] : load_checkpoint_tensors(dir)) {
    tensors.push_back(Json{{"name", name}, {"shape", t.sizes().vec()}, {"dtype", safetensors_dtype_name(t.scalar_type())}});
    n += t.numel();
  }
  Json cfg = config->to_json();
  Json info = {{"architecture", cfg.value("architectures", Json::array())},
               {"model_type", config->model_type()},
               {"num_parameters", n},
               {"config", cfg},
               {"tensors", tensors}};
  std::printf("%s\n", dump_json_python(info, 2).c_str());
  return 0;
}

int run_model(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::printf("%s", kUsage);
    return args.empty() ? 1 : 0;
  }
  if (args[0] == "init") return run_init(args);
  if (args[0] == "forward") return run_forward(args);
  if (args[0] == "generate") return run_generate(args);
  if (args[0] == "info") return run_info(args);
  throw InputError("tcpp model", "unknown subcommand " + quote(args[0]) + " (expected init, forward, generate or info)");
}

const bool kRegistered = register_command(
    {"model", "create (init), run (forward, generate) and inspect (info) Hugging Face-layout checkpoints", run_model});

}  // namespace
}  // namespace tcpp::tools
