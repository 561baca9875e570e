// Shared by the json/csv/text loader fuzz targets: run one packaged builder on the input as a data file,
// then open the Arrow file it wrote and read every row back (the builder's output must be readable).
#pragma once

#include <algorithm>
#include <filesystem>

#include "fuzz_util.h"
#include "tcpp/core/error.h"
#include "tcpp/datasets/builders/builders.h"
#include "tcpp/datasets/dataset.h"

namespace tcpp::fuzz {

using BuildFn = void (*)(const std::vector<std::string>&, const datasets::LoadOptions&, const std::string&,
                         const std::string&);

// True when the builder accepted the input (and its rows read back).
inline bool run_builder(BuildFn build, const std::string& file_name, const datasets::LoadOptions& options,
                        const uint8_t* data, size_t size) {
  std::string in = write_scratch(file_name, data, size);
  std::string out = scratch_dir() + "/out.arrow";
  std::error_code ec;
  std::filesystem::remove(out, ec);
  try {
    build({in}, options, out, "fuzz");
    auto ds = datasets::Dataset::from_files({out});
    int64_t n = std::min<int64_t>(ds.num_rows(), 4096);
    for (int64_t i = 0; i < n; ++i) (void)ds.row(i).dump();
    return true;
  } catch (const tcpp::Error&) {
    return false;
  }
}

}  // namespace tcpp::fuzz
