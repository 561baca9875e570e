// Fuzz target: the json builder (JSON Lines, a top-level array, or records under a "data" field when the
// input starts with a 0x01 byte, which is not part of the file), as load_dataset("json") runs it. A list of records
// is read one item at a time (its items' extents found by a scanner, not a parser): whatever the builder accepts as
// a list must be one valid JSON document, as json.load would have it.
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "loaders_common.h"
#include "tcpp/core/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tcpp::datasets::LoadOptions options;
  options.writer_batch_size = 3;  // several record batches even for small inputs
  if (size > 0 && data[0] == 0x01) options.field = "data", ++data, --size;
  const bool accepted = tcpp::fuzz::run_builder(tcpp::datasets::builders::build_json, "data.jsonl", options, data, size);
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (text.substr(0, 3) == "\xef\xbb\xbf") text.remove_prefix(3);
  const size_t first = text.find_first_not_of(" \t\r\n");
  const bool list = first != std::string_view::npos && (text[first] == '[' || !options.field.empty());
  if (accepted && list && !tcpp::OrderedJson::accept(text.begin(), text.end())) {
    std::fprintf(stderr, "json_loader: the builder accepted a list that is not one valid JSON document\n");
    std::abort();
  }
  return 0;
}
