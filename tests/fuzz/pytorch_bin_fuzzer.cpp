// Fuzz target: pytorch_model.bin (torch.save's zip) through load_pytorch_bin, our restricted unpickler.
// An input that starts with the zip magic "PK\3\4" is the whole file. Any other input is cut at each
// "\n--record--\n": the first piece becomes the archive's data.pkl, piece k its storage record data/<k-1>, and the
// zip around them is written with LibTorch's own PyTorchStreamWriter, so the mutations reach the pickle and the
// storages instead of dying in the zip's checksums. Every tensor read is summed as float64.
#include <caffe2/serialize/inline_container.h>
#include <torch/torch.h>

#include <cstring>

#include "fuzz_util.h"
#include "torch_fuzz_util.h"
#include "tcpp/core/error.h"
#include "tcpp/models/pytorch_bin.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string path;
  if (size >= 4 && std::memcmp(data, "PK\x03\x04", 4) == 0) {
    path = tcpp::fuzz::write_scratch("pytorch_model.bin", data, size);
  } else {
    path = tcpp::fuzz::scratch_dir() + "/pytorch_model.bin";
    auto parts = tcpp::fuzz::split_input(data, size, "\n--record--\n");
    caffe2::serialize::PyTorchStreamWriter writer(path);
    writer.writeRecord("data.pkl", parts[0].data(), parts[0].size());
    writer.writeRecord("byteorder", "little", 6);
    for (size_t k = 1; k < parts.size(); ++k)
      writer.writeRecord("data/" + std::to_string(k - 1), parts[k].data(), parts[k].size());
    writer.writeEndOfFile();
  }
  try {
    for (const auto& [name, t] : tcpp::models::load_pytorch_bin(path))
      tcpp::fuzz::read_all(t);
  } catch (const tcpp::Error&) {
  }
  return 0;
}
