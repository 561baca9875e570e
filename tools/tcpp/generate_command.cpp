// `tcpp generate`: continue a text prompt with a causal LM checkpoint (tokenizer files in the same folder).
// tcpp-needs: tcpp_models tcpp_tokenizers
#include <cstdio>

#include "command.h"
#include "tcpp/core/error.h"
#include "tcpp/core/strings.h"
#include "tcpp/models/auto.h"
#include "tcpp/models/generation.h"
#include "tcpp/tokenizers/auto_tokenizer.h"

namespace tcpp::tools {
namespace {

constexpr const char* kUsage =
    "usage: tcpp generate --model DIR --prompt TEXT [--max_new_tokens N] [--do_sample] [--temperature T]\n"
    "                     [--top_k K] [--top_p P] [--seed S] [--tokenizer DIR]\n"
    "  DIR holds config.json, model.safetensors and the tokenizer files (as run_clm's output_dir).\n";

int run_generate_text(const std::vector<std::string>& args) {
  std::string model_dir, tokenizer_dir, prompt;
  models::GenerationConfig gen;
  int64_t seed = 42;
  bool have_prompt = false;
  auto value = [&](size_t& i) -> const std::string& {
    if (i + 1 >= args.size()) throw InputError(args[i], std::string("expected a value\n") + kUsage);
    return args[++i];
  };
  auto number = [&](size_t& i) {
    const std::string flag = args[i];
    const std::string& v = value(i);
    auto d = parse_double(v);
    if (!d) throw InputError(flag, "expected a number, got " + quote(v));
    return *d;
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::printf("%s", kUsage);
      return 0;
    }
    if (a == "--model") model_dir = value(i);
    else if (a == "--tokenizer") tokenizer_dir = value(i);
    else if (a == "--prompt") { prompt = value(i); have_prompt = true; }
    else if (a == "--max_new_tokens") gen.max_new_tokens = static_cast<int64_t>(number(i));
    else if (a == "--do_sample") gen.do_sample = true;
    else if (a == "--temperature") gen.temperature = number(i);
    else if (a == "--top_k") gen.top_k = static_cast<int64_t>(number(i));
    else if (a == "--top_p") gen.top_p = number(i);
    else if (a == "--seed") seed = static_cast<int64_t>(number(i));
    else throw InputError(a, std::string("unknown option\n") + kUsage);
  }
  if (model_dir.empty() || !have_prompt) throw InputError(std::string("--model and --prompt are required\n") + kUsage);
  auto tok = tokenizers::PreTrainedTokenizer::from_pretrained(tokenizer_dir.empty() ? model_dir : tokenizer_dir);
  auto model = models::AutoModelForCausalLM::from_pretrained(model_dir);
  model->eval();
  auto config = models::GenerationConfig::from_model_config(model->config_json());
  config.max_new_tokens = gen.max_new_tokens;
  config.do_sample = gen.do_sample;
  config.temperature = gen.temperature;
  config.top_k = gen.top_k;
  config.top_p = gen.top_p;
  torch::manual_seed(static_cast<uint64_t>(seed));
  auto enc = tok.encode(prompt);
  if (enc.ids.empty()) throw InputError("--prompt", "encodes to no tokens");
  std::vector<int64_t> ids(enc.ids.begin(), enc.ids.end());
  auto input = torch::tensor(ids, torch::kInt64).unsqueeze(0);
  auto out = models::generate(*model, input, torch::Tensor(), config);
  auto row = out[0].contiguous();
  std::vector<uint32_t> all(static_cast<size_t>(row.size(0)));
  for (int64_t i = 0; i < row.size(0); ++i) all[static_cast<size_t>(i)] = static_cast<uint32_t>(row[i].item<int64_t>());
  std::printf("%s\n", tok.decode(all, /*skip_special_tokens=*/true, tok.clean_up_tokenization_spaces()).c_str());
  return 0;
}

const bool kRegistered =
    register_command({"generate", "continue a text prompt with a causal LM (run_clm's output_dir)", run_generate_text});

}  // namespace
}  // namespace tcpp::tools
