// Fuzz target: the text builder (line / paragraph / document, with or without kept line breaks, chosen by
// a first byte below 0x08, not part of the file), as load_dataset("text") runs it.
#include "loaders_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tcpp::datasets::LoadOptions options;
  options.writer_batch_size = 3;
  uint8_t mode = 0;
  if (size > 0 && data[0] < 0x08) mode = data[0], ++data, --size;
  static const char* kSampleBy[] = {"line", "paragraph", "document", "line"};
  options.sample_by = kSampleBy[mode & 3];
  options.keep_linebreaks = (mode & 4) != 0;
  tcpp::fuzz::run_builder(tcpp::datasets::builders::build_text, "data.txt", options, data, size);
  return 0;
}
