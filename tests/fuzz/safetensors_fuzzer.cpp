// Fuzz target: a model.safetensors file as from_pretrained reads it: SafetensorsFile::open validates the header
// (length, JSON, dtypes, shapes, offsets, tiling of the data section), then every tensor is viewed and read (summed
// as float64, so every mapped byte of it is touched) and load_safetensors reads them all again.
#include <torch/torch.h>

#include <cstdlib>

#include "fuzz_util.h"
#include "torch_fuzz_util.h"
#include "tcpp/core/error.h"
#include "tcpp/models/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string path = tcpp::fuzz::write_scratch("model.safetensors", data, size);
  try {
    auto file = tcpp::models::SafetensorsFile::open(path);
    for (const auto& name : file.names()) {
      const auto& entry = file.entry(name);
      torch::Tensor t = file.tensor(name);
      if (t.numel() * static_cast<int64_t>(t.element_size()) != entry.end - entry.begin) std::abort();
      tcpp::fuzz::read_all(t);
    }
    (void)file.metadata().size();
    (void)tcpp::models::load_safetensors(path).size();
  } catch (const tcpp::Error&) {
  }
  return 0;
}
