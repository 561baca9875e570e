// Fuzz target: a run_clm / run_mlm command line (the input split into argv at NUL bytes; the first byte picks
// the script) parsed with every struct's post_init, then dumped as JSON, as the programs do.
#include "fuzz_util.h"
#include "tcpp/args/hf_argument_parser.h"
#include "tcpp/core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  auto script = (data[0] & 1) ? tcpp::args::Script::kMlm : tcpp::args::Script::kClm;
  auto argv = tcpp::fuzz::split_input(data + 1, size - 1, std::string(1, '\0'));
  if (argv.size() == 1 && argv[0].empty()) argv.clear();
  // A lone *.json argument would be read as a file: point it at nothing the fuzzer controls.
  for (auto& a : argv)
    if (a.size() >= 5 && a.compare(a.size() - 5, 5, ".json") == 0) a += "x";
  try {
    if (tcpp::args::wants_help(argv)) {
      (void)tcpp::args::format_help(script, "run_clm");
      return 0;
    }
    auto parsed = tcpp::args::parse_args(script, argv);
    (void)parsed.to_json(script).dump();
  } catch (const tcpp::Error&) {
  }
  return 0;
}
