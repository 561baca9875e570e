// Fuzz target: core's JSON and string helpers on arbitrary text: parse_json (file:line:column errors), the
// Python-compatible dump of whatever parsed, and the number / bool parsers the argument parser relies on.
#include <cstdio>
#include <cstdlib>

#include "fuzz_util.h"
#include "tcpp/core/error.h"
#include "tcpp/core/json.h"
#include "tcpp/core/strings.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    tcpp::Json j = tcpp::parse_json(text, "fuzz.json");
    const std::string dumped = tcpp::dump_json_python(j, 2);
    (void)tcpp::dump_json_python(j, -1);
    // What we write we read back: Python's NaN / Infinity spellings included (a trainer_state.json with a NaN
    // metric must resume).
    try {
      (void)tcpp::parse_json(dumped, "dumped.json");
    } catch (const tcpp::Error& e) {
      std::fprintf(stderr, "dump_json_python wrote what parse_json refuses: %s\n", e.what());
      std::abort();
    }
  } catch (const tcpp::Error&) {
  }
  if (auto d = tcpp::parse_double(text)) (void)tcpp::python_float_repr(*d);
  (void)tcpp::parse_int(text);
  (void)tcpp::parse_bool(text);
  (void)tcpp::quote(text);
  (void)tcpp::split(text, ',');
  (void)tcpp::trim(text);
  if (size < 256) (void)tcpp::closest_match(text, {"learning_rate", "output_dir", "num_train_epochs"});
  return 0;
}
