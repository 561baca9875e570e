// `tcpp prepare`: run_clm's data side only (load, tokenize, group_texts) saved as a ready-to-train DatasetDict.
// tcpp-needs: tcpp_pipelines
#include <cstdio>

#include "command.h"
#include "tcpp/core/error.h"
#include "tcpp/core/logging.h"
#include "tcpp/datasets/dataset.h"
#include "tcpp/pipelines/run_clm.h"
#include "tcpp/tokenizers/auto_tokenizer.h"

namespace tcpp::tools {
namespace {

int run_prepare(const std::vector<std::string>& argv_in) {
  std::vector<std::string> argv;
  std::string output;
  for (size_t i = 0; i < argv_in.size(); ++i) {
    if (argv_in[i] == "--output" && i + 1 < argv_in.size()) {
      output = argv_in[++i];
    } else if (argv_in[i].rfind("--output=", 0) == 0) {
      output = argv_in[i].substr(9);
    } else {
      argv.push_back(argv_in[i]);
    }
  }
  if (args::wants_help(argv_in)) {
    std::printf("tcpp prepare [run_clm's model/data flags] --output DIR\n"
                "Load --train_file/--validation_file, tokenize with --tokenizer_name (or --model_name_or_path), group\n"
                "into --block_size blocks exactly as run_clm does, and save a DatasetDict (train/validation with\n"
                "input_ids, attention_mask, labels) that `run_clm --train_file DIR` trains on without parsing.\n");
    return 0;
  }
  if (output.empty()) throw InputError("--output", "required: the folder to save the prepared dataset in");
  set_log_level(LogLevel::kInfo);
  auto parsed = args::parse_args(args::Script::kClm, argv);
  const auto& m = parsed.model_args;
  std::string tok_src = m.tokenizer_name ? *m.tokenizer_name : m.model_name_or_path.value_or("");
  if (tok_src.empty()) throw InputError("--tokenizer_name", "required (or --model_name_or_path)");
  auto tok = tokenizers::PreTrainedTokenizer::from_pretrained(tok_src);
  auto dict = pipelines::prepare_clm_datasets(parsed, tok, pipelines::max_position_embeddings(m));
  datasets::save_to_disk(dict, output);
  for (const auto& [split, ds] : dict)
    std::printf("%s: %lld blocks\n", split.c_str(), static_cast<long long>(ds.num_rows()));
  std::printf("saved to %s\n", output.c_str());
  return 0;
}

const bool kRegistered = register_command(
    {"prepare", "tokenize and group a corpus as run_clm does and save it ready to train (--output DIR)", run_prepare});

}  // namespace
}  // namespace tcpp::tools
