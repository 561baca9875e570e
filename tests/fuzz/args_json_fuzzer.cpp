// Fuzz target: the single-JSON-file form of the argument parser (`run_clm args.json`), the first byte picking
// run_clm or run_mlm, then the parsed arguments dumped as JSON.
#include "fuzz_util.h"
#include "tcpp/args/hf_argument_parser.h"
#include "tcpp/core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  auto script = (data[0] & 1) ? tcpp::args::Script::kMlm : tcpp::args::Script::kClm;
  std::string path = tcpp::fuzz::write_scratch("args.json", data + 1, size - 1);
  try {
    auto parsed = tcpp::args::parse_json_file(script, path);
    (void)parsed.to_json(script).dump();
  } catch (const tcpp::Error&) {
  }
  return 0;
}
