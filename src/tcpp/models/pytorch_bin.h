// pytorch_model.bin: state dicts written by torch.save (the zip format of PyTorch >= 1.6), read without Python, as
// transformers' load_state_dict does for .bin checkpoints when no safetensors file exists.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "tcpp/models/safetensors.h"

namespace tcpp::models {

constexpr const char* kWeightsName = "pytorch_model.bin";
constexpr const char* kWeightsIndexName = "pytorch_model.bin.index.json";

/// Read the tensors of a torch.save'd state dict (a dict or OrderedDict of name -> tensor), in the file's order.
/// The pickle is interpreted by a small reader of our own that knows only the objects torch.save writes for tensors
/// (storages, _rebuild_tensor_v2, _rebuild_parameter, OrderedDict); it never runs code, like torch.load with
/// weights_only=True. LibTorch's torch::pickle_load cannot be used: it turns OrderedDict into None (1.13).
/// Throws InputError naming the file for the legacy pre-1.6 format, truncated or corrupt archives, and any object
/// the reader does not know, suggesting a conversion to safetensors.
NamedTensors load_pytorch_bin(const std::string& path);

/// A Python object read from a torch.save file, as far as checkpoints hold them: None, bools, ints, floats, strings,
/// bytes, tuples, lists, dicts (entries in file order), tensors, and opaque objects (kObject: the class or function
/// that made it, in `s`, with the arguments it was called with in `items`).
struct PickledObject {
  enum class Kind { kNone, kBool, kInt, kFloat, kString, kBytes, kTuple, kList, kDict, kTensor, kObject };
  Kind kind = Kind::kNone;
  int64_t i = 0;  // kBool, kInt
  double f = 0;   // kFloat
  std::string s;  // kString, kBytes, kObject
  std::vector<PickledObject> items;                            // kTuple, kList, kObject
  std::vector<std::pair<PickledObject, PickledObject>> entries;  // kDict
  torch::Tensor tensor;                                        // kTensor

  /// The value under a string key of a dict, or nullptr (also when this is not a dict).
  const PickledObject* find(const std::string& key) const;
};

/// Read what torch.save wrote to path (zip format) as a tree: a value the pickle shares is copied where it is used
/// (at most a few million nodes in all; a container that contains itself is refused). Objects other than tensors and
/// containers (numpy arrays and dtypes in transformers' rng_state.pth, ...) become kObject values; nothing is ever
/// run. Throws InputError naming path, with `what` ("optimizer state", ...) in the message.
PickledObject load_torch_pickle(const std::string& path, const std::string& what);

/// Write `root` as torch.save(obj) does (zip format, pickle protocol 2): None, bools, ints, floats, strings, tuples,
/// lists, dicts and tensors (each contiguous in a storage of its own, on the CPU), loadable by
/// torch.load(weights_only=True). Written to a temporary file, fsynced and renamed over path. Throws InputError for
/// bytes, opaque objects and tensor dtypes torch.save has no storage type for.
void save_torch_pickle(const std::string& path, const PickledObject& root);

/// Write tensors as torch.save(state_dict) does (zip format, pickle protocol 2, an OrderedDict of name -> tensor),
/// readable by torch.load(weights_only=True) and by load_pytorch_bin. Each tensor is stored contiguous in a storage
/// of its own, on the CPU. Written to a temporary file, fsynced and renamed over path. Throws InputError for dtypes
/// torch.save has no storage type for.
void save_pytorch_bin(const std::string& path, const NamedTensors& tensors);

}  // namespace tcpp::models
