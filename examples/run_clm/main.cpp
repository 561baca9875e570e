// run_clm: causal language modeling (GPT-2, Llama) with the flags of transformers' examples/pytorch/run_clm.py.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "tcpp/args/hf_argument_parser.h"
#include "tcpp/core/cpu_runtime.h"
#include "tcpp/pipelines/run_clm.h"

int main(int argc, char** argv) {
  tcpp::prepare_cpu_runtime(argc, argv);  // may re-execute once with OPENBLAS_CORETYPE set for this CPU
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (tcpp::args::wants_help(args)) {
      std::printf("%s", tcpp::args::format_help(tcpp::args::Script::kClm, "run_clm").c_str());
      return 0;
    }
    auto parsed = tcpp::args::parse_args(tcpp::args::Script::kClm, args);
    tcpp::pipelines::run_clm(parsed);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
