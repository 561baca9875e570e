// ModelArguments of run_clm.py / run_mlm.py: which model, config and tokenizer to start from.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "tcpp/args/field.h"

namespace tcpp::args {

struct ModelArguments {
  std::optional<std::string> model_name_or_path;
  std::optional<std::string> model_type;
  std::optional<std::string> config_overrides;
  std::optional<std::string> config_name;
  std::optional<std::string> tokenizer_name;
  std::optional<std::string> cache_dir;
  bool use_fast_tokenizer = true;
  std::string model_revision = "main";
  std::optional<std::string> token;
  bool trust_remote_code = false;
  std::optional<std::string> torch_dtype;
  bool low_cpu_mem_usage = false;

  /// Every field bound to this instance, in declaration order.
  std::vector<FieldRef> fields();
  /// Validate and derive values as the dataclass's __post_init__ does; throws InputError.
  void post_init();
};

/// Model types run_clm/run_mlm accept for --model_type (those trainer.cpp can build).
const std::vector<std::string>& causal_lm_model_types();
const std::vector<std::string>& masked_lm_model_types();

}  // namespace tcpp::args
