// Fuzz target: the csv builder (header, quoted fields, pandas-style type inference), comma- or
// tab-separated when the input starts with a 0x01 byte (not part of the file), as load_dataset("csv") runs it;
// then the same file streamed in chunks of 3 records, each typed on its own (for_each_csv_chunk), every value read.
#include "loaders_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tcpp::datasets::LoadOptions options;
  options.writer_batch_size = 3;
  if (size > 0 && data[0] == 0x01) options.csv_delimiter = '\t', ++data, --size;
  tcpp::fuzz::run_builder(tcpp::datasets::builders::build_csv, "data.csv", options, data, size);
  try {
    tcpp::datasets::builders::for_each_csv_chunk(
        tcpp::fuzz::scratch_dir() + "/data.csv", options, 3,
        [](const tcpp::datasets::arrow::Schema&, const std::vector<tcpp::datasets::arrow::Array>& columns) {
          for (const auto& c : columns)
            for (int64_t i = 0; i < c.length(); ++i) (void)c.to_json(i).dump();
          return true;
        });
  } catch (const tcpp::Error&) {
  }
  return 0;
}
