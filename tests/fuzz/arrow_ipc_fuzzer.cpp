// Fuzz target: Arrow IPC bytes (stream or file format) opened as a Dataset, as load_dataset("arrow") and
// load_from_disk do, then every row read back as JSON (the zero-copy views must stay inside the mapping).
#include <algorithm>

#include "fuzz_util.h"
#include "tcpp/core/error.h"
#include "tcpp/datasets/dataset.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string path = tcpp::fuzz::write_scratch("data.arrow", data, size);
  try {
    auto ds = tcpp::datasets::Dataset::from_files({path});
    int64_t n = std::min<int64_t>(ds.num_rows(), 4096);
    for (int64_t i = 0; i < n; ++i) (void)ds.row(i).dump();
  } catch (const tcpp::Error&) {
  }
  return 0;
}
