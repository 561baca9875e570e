// Fuzz target: a parquet file read as load_dataset("parquet", streaming=True) reads it: footer, schema, every
// row group's pages decoded and assembled into Arrow arrays, then every value read back as JSON.
#include <algorithm>

#include "fuzz_util.h"
#include "tcpp/core/error.h"
#include "tcpp/datasets/builders/builders.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string path = tcpp::fuzz::write_scratch("data.parquet", data, size);
  try {
    tcpp::datasets::builders::for_each_parquet_row_group(
        path, [](const tcpp::datasets::arrow::Schema&, const std::vector<tcpp::datasets::arrow::Array>& columns) {
          for (const auto& c : columns) {
            int64_t n = std::min<int64_t>(c.length(), 4096);
            for (int64_t i = 0; i < n; ++i) (void)c.to_json(i).dump();
          }
          return true;
        });
  } catch (const tcpp::Error&) {
  }
  return 0;
}
