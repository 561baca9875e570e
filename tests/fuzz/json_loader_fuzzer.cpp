// Fuzz target: the json builder (JSON Lines, a top-level array, or records under a "data" field when the
// input starts with a 0x01 byte, which is not part of the file), as load_dataset("json") runs it.
#include "loaders_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tcpp::datasets::LoadOptions options;
  options.writer_batch_size = 3;  // several record batches even for small inputs
  if (size > 0 && data[0] == 0x01) options.field = "data", ++data, --size;
  tcpp::fuzz::run_builder(tcpp::datasets::builders::build_json, "data.jsonl", options, data, size);
  return 0;
}
