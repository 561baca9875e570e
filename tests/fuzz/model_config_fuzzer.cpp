// Fuzz target: a model's config.json read as AutoConfig::from_json does (model_type picks GPT-2, BERT, RoBERTa or
// Llama; update_from_json type-checks and validates), written back (to_json), cloned, then run_clm's
// --config_overrides string applied (update_from_string): the text after the first NUL byte of the input.
// AutoConfig itself lives in auto.cpp with the model classes, so its 5-line dispatch is repeated here to keep the
// target free of LibTorch; the parsing code under test is the real one.
#include <memory>

#include "fuzz_util.h"
#include "tcpp/core/error.h"
#include "tcpp/core/json.h"
#include "tcpp/models/bert/configuration_bert.h"
#include "tcpp/models/gpt2/configuration_gpt2.h"
#include "tcpp/models/llama/configuration_llama.h"

namespace {

std::unique_ptr<tcpp::models::PretrainedConfig> make_config(const std::string& model_type) {
  using namespace tcpp::models;
  if (model_type == "gpt2") return std::make_unique<gpt2::GPT2Config>();
  if (model_type == "bert") return std::make_unique<bert::BertConfig>();
  if (model_type == "roberta") return std::make_unique<bert::RobertaConfig>();
  if (model_type == "llama") return std::make_unique<llama::LlamaConfig>();
  throw tcpp::InputError("config.json", "unsupported model_type");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parts = tcpp::fuzz::split_input(data, size, std::string(1, '\0'));
  std::string path = tcpp::fuzz::write_scratch("config.json", reinterpret_cast<const uint8_t*>(parts[0].data()),
                                               parts[0].size());
  try {
    tcpp::Json j = tcpp::read_json_file(path);
    if (!j.is_object()) return 0;  // AutoConfig::from_json: InputError
    auto mt = j.find("model_type");
    if (mt == j.end() || !mt->is_string()) return 0;
    auto config = make_config(mt->get<std::string>());
    config->update_from_json(j, path);
    (void)config->to_json().dump();
    (void)tcpp::dump_json_python(config->to_json(), 2);
    (void)config->pad_token();
    auto copy = config->clone();
    if (parts.size() > 1) copy->update_from_string(parts[1]);
    (void)copy->to_json().dump();
  } catch (const tcpp::Error&) {
  }
  return 0;
}
