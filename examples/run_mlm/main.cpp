// run_mlm: masked language modeling (BERT, RoBERTa) with the flags of transformers' examples/pytorch/run_mlm.py.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "tcpp/args/hf_argument_parser.h"
#include "tcpp/core/error.h"
#include "tcpp/core/logging.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (tcpp::args::wants_help(args)) {
      std::printf("%s", tcpp::args::format_help(tcpp::args::Script::kMlm, "run_mlm").c_str());
      return 0;
    }
    auto parsed = tcpp::args::parse_args(tcpp::args::Script::kMlm, args);
    for (const auto& w : parsed.warnings) tcpp::log_warning(w);
    throw tcpp::NotImplemented("run_mlm: the arguments are valid, but the training pipeline is not wired yet "
                               "(see `tcpp args` to inspect them)");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
