// Fuzz target: pytorch_model.bin (torch.save's zip) through load_pytorch_bin, our restricted unpickler, and the same
// file through load_torch_pickle (the general reader of transformers' checkpoint pickles), whose tree is walked.
// An input that starts with the zip magic "PK\3\4" is the whole file. Any other input is cut at each
// "\n--record--\n": the first piece becomes the archive's data.pkl, piece k its storage record data/<k-1>, and the
// zip around them is written with LibTorch's own PyTorchStreamWriter, so the mutations reach the pickle and the
// storages instead of dying in the zip's checksums. Every tensor read is summed as float64, then written again with
// save_pytorch_bin, which must read back the same names, dtypes, shapes and values.
#include <caffe2/serialize/inline_container.h>
#include <torch/torch.h>

#include <cstring>
#include <functional>

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
    std::function<void(const tcpp::models::PickledObject&)> walk = [&](const tcpp::models::PickledObject& o) {
      if (o.tensor.defined()) tcpp::fuzz::read_all(o.tensor);
      for (const auto& item : o.items) walk(item);
      for (const auto& [k, v] : o.entries) {
        walk(k);
        walk(v);
      }
    };
    walk(tcpp::models::load_torch_pickle(path, "a fuzz input"));
  } catch (const tcpp::Error&) {
  }
  tcpp::models::NamedTensors tensors;
  try {
    tensors = tcpp::models::load_pytorch_bin(path);
    for (const auto& [name, t] : tensors) tcpp::fuzz::read_all(t);
  } catch (const tcpp::Error&) {
    return 0;
  }
  // Invariant: what the reader accepted, save_pytorch_bin writes and the reader reads back unchanged. The writer
  // stores each tensor contiguous, so views larger than their storage (stride 0: a 2^40-element "expand" of 4
  // floats) are left out of it rather than materialised.
  for (const auto& [name, t] : tensors)
    if (static_cast<uint64_t>(t.numel()) * t.element_size() > t.storage().nbytes()) return 0;
  const std::string again = tcpp::fuzz::scratch_dir() + "/again.bin";
  try {
    tcpp::models::save_pytorch_bin(again, tensors);
  } catch (const tcpp::Error&) {
    return 0;  // a dtype torch.save has no storage for (complex, quantized, ...)
  }
  const auto back = tcpp::models::load_pytorch_bin(again);
  if (back.size() != tensors.size()) __builtin_trap();
  for (size_t i = 0; i < back.size(); ++i) {
    const torch::Tensor a = tensors[i].second.contiguous(), b = back[i].second.contiguous();
    if (back[i].first != tensors[i].first || a.scalar_type() != b.scalar_type() || !a.sizes().equals(b.sizes()))
      __builtin_trap();
    const size_t bytes = static_cast<size_t>(a.numel()) * a.element_size();  // bitwise: NaNs included
    if (bytes > 0 && std::memcmp(a.data_ptr(), b.data_ptr(), bytes) != 0) __builtin_trap();
  }
  return 0;
}
