// safetensors files: a memory-mapped reader and an atomic writer, plus sharded checkpoints with
// model.safetensors.index.json (as the safetensors library and transformers' save_pretrained / from_pretrained).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

#include "tcpp/core/json.h"

namespace tcpp::models {

/// Names and tensors in a fixed order (state-dict order decides how tensors are packed into shards).
using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

/// One entry of a safetensors header.
struct SafetensorsEntry {
  std::string dtype;           // "F32", "BF16", ...
  std::vector<int64_t> shape;
  int64_t begin = 0;           // byte offsets into the data section, [begin, end)
  int64_t end = 0;
};

class SafetensorsMapping;

/// A safetensors file mapped into memory. The header is validated when the file is opened: its length and JSON against
/// the file size; every tensor's dtype, shape, and offsets (in range, aligned to the element size, no overlaps or
/// gaps, size = numel * element size). Failures are tcpp::InputError naming the file and the tensor.
class SafetensorsFile {
 public:
  /// Open and validate a file. Throws InputError("<path>: ...").
  static SafetensorsFile open(const std::string& path);

  const std::string& path() const { return path_; }
  /// Tensor names in header order (sorted).
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const { return entries_.count(name) > 0; }
  const SafetensorsEntry& entry(const std::string& name) const;
  /// The "__metadata__" object (string to string), empty when absent.
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  /// A CPU tensor viewing the mapped bytes (copy-on-write, so writes never reach the file). It keeps the mapping alive.
  /// Throws InputError naming the tensor when it is absent.
  torch::Tensor tensor(const std::string& name) const;

 private:
  std::string path_;
  std::shared_ptr<SafetensorsMapping> mapping_;
  std::map<std::string, SafetensorsEntry> entries_;
  std::map<std::string, std::string> metadata_;
};

/// Read every tensor of a file (views into the mapping, in name order).
NamedTensors load_safetensors(const std::string& path);

/// Write tensors (any device, any layout) to path atomically: temp file, fsync, rename. The header's keys are sorted,
/// it is padded with spaces to a multiple of 8 bytes and carries "__metadata__" (default {"format": "pt"}). Data are
/// laid out by element size (largest first) then name, so every tensor is aligned. Throws InputError for duplicate
/// names or dtypes safetensors cannot hold.
void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

/// The safetensors spelling of a dtype ("F32"), and back. Throw InputError for unsupported ones.
std::string safetensors_dtype_name(torch::Dtype dtype);
torch::Dtype safetensors_dtype_from_name(const std::string& name, const std::string& where);

/// Parse transformers' max_shard_size: an integer number of bytes or "5GB" (10^9), "500MB", "10KB", "5GiB" (2^30),
/// "500MiB", "10KiB". Throws InputError naming the flag value.
int64_t parse_shard_size(const std::string& text);

constexpr const char* kSafeWeightsName = "model.safetensors";
constexpr const char* kSafeWeightsIndexName = "model.safetensors.index.json";

/// Save a state dict into dir as save_pretrained does: model.safetensors when it fits in max_shard_size bytes,
/// otherwise model-00001-of-0000N.safetensors (tensors packed greedily in the given order) plus
/// model.safetensors.index.json {"metadata": {"total_size"}, "weight_map"}. With safe_serialization false, as
/// save_pretrained(safe_serialization=False): pytorch_model.bin, or pytorch_model-00001-of-0000N.bin shards and
/// pytorch_model.bin.index.json (torch.save's format, see pytorch_bin.h). Weight files of an earlier save in dir
/// that this one does not overwrite are removed, in either format (HF leaves a model.safetensors beside a new .bin,
/// which its loader then prefers). Returns the files written.
std::vector<std::string> save_sharded_safetensors(const std::string& dir, const NamedTensors& tensors,
                                                  int64_t max_shard_size, bool safe_serialization = true);

/// Load a folder's weights as transformers does, in this order of preference: model.safetensors, the shards listed by
/// model.safetensors.index.json, pytorch_model.bin, the shards listed by pytorch_model.bin.index.json (see
/// pytorch_bin.h). Throws InputError when dir has none of them, when an index is malformed, or when a shard lacks a
/// tensor the index puts there.
NamedTensors load_checkpoint_tensors(const std::string& dir);

}  // namespace tcpp::models
