// Fuzz target: the csv builder (header, quoted fields, pandas-style type inference), comma- or
// tab-separated when the input starts with a 0x01 byte (not part of the file), as load_dataset("csv") runs it.
#include "loaders_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tcpp::datasets::LoadOptions options;
  options.writer_batch_size = 3;
  if (size > 0 && data[0] == 0x01) options.csv_delimiter = '\t', ++data, --size;
  tcpp::fuzz::run_builder(tcpp::datasets::builders::build_csv, "data.csv", options, data, size);
  return 0;
}
