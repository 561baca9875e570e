// Fuzz target: the index of a sharded checkpoint, model.safetensors.index.json or pytorch_model.bin.index.json, as
// from_pretrained reads it (load_checkpoint_tensors: the weight_map, then every shard it names, every tensor read)
// and, for safetensors, as `tcpp report` reads it (count_safetensors_parameters: the shards' headers).
// The first byte picks the index (even: safetensors, odd: pytorch_model.bin); the rest is the index file. It lies in a
// folder that holds real shards written at start-up: two safetensors shards by save_sharded_safetensors, and the
// committed pytorch_model.bin seeds (written by PyTorch) as two .bin shards.
// With TCPP_FUZZ_WRITE_SEEDS=DIR set, the target writes the two indexes that go with those shards (the safetensors
// one as save_sharded_safetensors wrote it) into DIR and exits; scripts/fuzz.sh does that.
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "fuzz_util.h"
#include "torch_fuzz_util.h"
#include "tcpp/core/error.h"
#include "tcpp/core/file.h"
#include "tcpp/core/json.h"
#include "tcpp/models/pytorch_bin.h"
#include "tcpp/models/safetensors.h"
#include "tcpp/trainer/html_report.h"

#ifndef TCPP_FUZZ_SEEDS_DIR
#error "TCPP_FUZZ_SEEDS_DIR must name tests/fuzz/seeds"
#endif

namespace {

namespace fs = std::filesystem;
namespace models = tcpp::models;

const char* const kBinShards[2] = {"pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin"};

// The folder with the shards; built once per process. Returns the safetensors index save_sharded_safetensors wrote.
const std::string& model_dir() {
  static const std::string dir = [] {
    const std::string d = tcpp::fuzz::scratch_dir() + "/model";
    fs::create_directories(d);
    torch::manual_seed(0);
    models::NamedTensors tensors = {{"wte.weight", torch::randn({8, 4})},
                                    {"h.0.attn.bias", torch::ones({4}, torch::kBFloat16)},
                                    {"h.0.mlp.weight", torch::randn({4, 4}).to(torch::kFloat16)},
                                    {"ln_f.steps", torch::arange(3, torch::kLong)}};
    models::save_sharded_safetensors(d, tensors, /*max_shard_size=*/100);  // more than one shard
    // pytorch_model.bin shards: the seeds PyTorch wrote (tests/fuzz/seeds/make_torch_seeds.py).
    fs::copy_file(TCPP_FUZZ_SEEDS_DIR "/pytorch_bin/sd_p2.bin", fs::path(d) / kBinShards[0],
                  fs::copy_options::overwrite_existing);
    fs::copy_file(TCPP_FUZZ_SEEDS_DIR "/pytorch_bin/sd_p4.bin", fs::path(d) / kBinShards[1],
                  fs::copy_options::overwrite_existing);
    return d;
  }();
  return dir;
}

void write_seeds(const fs::path& out) {
  fs::create_directories(out);
  const fs::path dir = model_dir();
  const std::string safetensors_index = tcpp::read_file((dir / models::kSafeWeightsIndexName).string());
  std::ofstream(out / "safetensors-index", std::ios::binary) << '\0' << safetensors_index;
  tcpp::Json weight_map = tcpp::Json::object();
  for (const char* shard : kBinShards)
    for (const auto& [name, t] : models::load_pytorch_bin((dir / shard).string())) weight_map[name] = shard;
  const tcpp::Json bin_index = {{"metadata", {{"total_size", 0}}}, {"weight_map", weight_map}};
  std::ofstream(out / "pytorch-bin-index", std::ios::binary) << '\1' << tcpp::dump_json_python(bin_index, 2) << "\n";
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)model_dir();
  if (const char* dir = std::getenv("TCPP_FUZZ_WRITE_SEEDS")) {
    write_seeds(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const fs::path dir = model_dir();
  const bool bin = data[0] % 2 == 1;
  const fs::path index = dir / (bin ? models::kWeightsIndexName : models::kSafeWeightsIndexName);
  fs::remove(dir / (bin ? models::kSafeWeightsIndexName : models::kWeightsIndexName));  // so this index is the one read
  {
    std::ofstream out(index, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data) + 1, static_cast<std::streamsize>(size - 1));
    if (!out) std::abort();
  }
  try {
    for (const auto& [name, t] : models::load_checkpoint_tensors(dir.string())) tcpp::fuzz::read_all(t);
  } catch (const tcpp::Error&) {
  }
  if (!bin) {
    try {
      (void)tcpp::trainer::count_safetensors_parameters(index.string());
    } catch (const tcpp::Error&) {
    }
  }
  return 0;
}
