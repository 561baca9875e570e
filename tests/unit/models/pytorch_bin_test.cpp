// Tests for pytorch_model.bin reading: files written by Debian's PyTorch (torch.save, from inside the test) must load
// with the same names, order, shapes, dtypes and values; model folders with a single or sharded .bin load like their
// safetensors; the legacy format, non-tensor values, whole pickled modules and truncated files are InputErrors naming
// the file. Skips when /usr/bin/python3 has no torch.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include <caffe2/serialize/inline_container.h>
#include <torch/torch.h>

#include "test_util.h"
#include "tcpp/core/error.h"
#include "tcpp/core/file.h"
#include "tcpp/core/json.h"
#include "tcpp/models/auto.h"
#include "tcpp/models/pytorch_bin.h"
#include "tcpp/models/safetensors.h"

namespace tcpp::models {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;
using testing::TempDir;

// Runs ref/write_pytorch_bin.py with `args`; false when torch is missing (the caller skips).
bool write_with_pytorch(const TempDir& tmp, const std::string& args) {
  std::string cmd = std::string("OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 ") + TCPP_SOURCE_DIR +
                    "/tests/unit/models/ref/write_pytorch_bin.py " + args + " 2>" + tmp.file("py.log");
  int rc = std::system(cmd.c_str());
  if (WIFEXITED(rc) && WEXITSTATUS(rc) == 3) return false;
  EXPECT_EQ(rc, 0) << "write_pytorch_bin.py failed: " << read_file(tmp.file("py.log"));
  return rc == 0;
}

class PytorchBinTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new TempDir();
    available_ = write_with_pytorch(*tmp_, "fixtures " + tmp_->path());
  }
  static void TearDownTestSuite() {
    delete tmp_;
    tmp_ = nullptr;
  }
  void SetUp() override {
    if (!available_) GTEST_SKIP() << "/usr/bin/python3 with torch is not available (apt-get install python3-torch)";
  }
  static std::string file(const std::string& name) { return tmp_->file(name); }

  // Every tensor equal to expected.safetensors, in the file's (insertion) order.
  static void expect_fixture_values(const NamedTensors& got) {
    std::map<std::string, torch::Tensor> expected;
    for (auto& [name, t] : load_safetensors(file("expected.safetensors"))) expected[name] = t;
    Json order = read_json_file(file("order.json"));
    ASSERT_EQ(got.size(), order["names"].size());
    for (size_t i = 0; i < got.size(); ++i) {
      const auto& [name, t] = got[i];
      EXPECT_EQ(name, order["names"][i].get<std::string>());
      ASSERT_TRUE(expected.count(name)) << name;
      const auto& e = expected.at(name);  // float64
      EXPECT_EQ(std::string(c10::toString(t.scalar_type())), order["dtypes"][i].get<std::string>()) << name;
      if (t.dim() == 0) {
        EXPECT_EQ(e.sizes(), torch::IntArrayRef({1})) << name;
      } else {
        EXPECT_EQ(t.sizes(), e.sizes()) << name;
      }
      EXPECT_TRUE(torch::equal(t.reshape(-1).to(torch::kFloat64), e.reshape(-1))) << name;
    }
  }

  static TempDir* tmp_;
  static bool available_;
};
TempDir* PytorchBinTest::tmp_ = nullptr;
bool PytorchBinTest::available_ = false;

TEST_F(PytorchBinTest, OrderedDictStateDictLoadsWithTheSameNamesDtypesAndValues) {
  expect_fixture_values(load_pytorch_bin(file("sd.bin")));
}

TEST_F(PytorchBinTest, PickleProtocolFourLoadsToo) { expect_fixture_values(load_pytorch_bin(file("sd_p4.bin"))); }

TEST_F(PytorchBinTest, SavedParametersLoadAsTensors) {
  auto got = load_pytorch_bin(file("params.bin"));
  auto plain = load_pytorch_bin(file("sd.bin"));
  ASSERT_EQ(got.size(), 9u);  // Linear 2, LayerNorm 2, BatchNorm 2 parameters + 3 buffers
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].first, plain[i].first);
    EXPECT_TRUE(torch::equal(got[i].second, plain[i].second)) << got[i].first;
  }
}

TEST_F(PytorchBinTest, LegacyFormatIsAnInputErrorSuggestingSafetensors) {
  EXPECT_THAT([] { load_pytorch_bin(file("legacy.bin")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("legacy.bin"), HasSubstr("legacy torch.save format"),
                                              HasSubstr("safe_serialization=True"))));
}

TEST_F(PytorchBinTest, NonTensorValueIsNamed) {
  EXPECT_THAT([] { load_pytorch_bin(file("not_tensor.bin")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("not_tensor.bin"), HasSubstr("\"step\" is not a tensor"))));
}

TEST_F(PytorchBinTest, PickledModuleIsRefusedWithoutRunningIt) {
  EXPECT_THAT([] { load_pytorch_bin(file("module.bin")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("module.bin"), HasSubstr("unsupported object"),
                                              HasSubstr("torch.nn.modules.linear.Linear"))));
}

TEST_F(PytorchBinTest, TruncatedOrCorruptFilesAreInputErrors) {
  std::string bytes = testing::read_bytes(file("sd.bin"));
  for (size_t keep : {size_t{2}, size_t{100}, bytes.size() / 2, bytes.size() - 30}) {
    std::string path = file("cut_" + std::to_string(keep) + ".bin");
    testing::write_text(path, bytes.substr(0, keep));
    EXPECT_THROW(load_pytorch_bin(path), InputError) << keep;
  }
  testing::write_text(file("text.bin"), "hello, not a checkpoint");
  EXPECT_THAT([] { load_pytorch_bin(file("text.bin")); }, ThrowsMessage<InputError>(HasSubstr("text.bin")));
}

// Found by the pytorch_bin fuzz target's hand-made inputs (issue #10): a storage offset, size or stride chosen so that
// offset + (size - 1) * stride overflows int64 wrapped around the bounds check (undefined behaviour, and a view
// beyond the storage). The inputs are data.pkl + storages, zipped here as the fuzz target does; no Python needed.
TEST(PytorchBinHostileTest, ViewsWhoseExtentOverflowsAreInputErrors) {
  testing::TempDir tmp;
  const std::string dir = std::string(TCPP_SOURCE_DIR) + "/tests/fuzz/regressions/pytorch_bin/";
  for (const char* name : {"storage-offset-overflow", "size-times-stride-overflow"}) {
    const std::string input = testing::read_bytes(dir + name + ".split");
    const std::string sep = "\n--record--\n";
    const size_t cut = input.find(sep);
    ASSERT_NE(cut, std::string::npos) << name;
    const std::string pkl = input.substr(0, cut), storage = input.substr(cut + sep.size());
    const std::string path = tmp.file(std::string(name) + ".bin");
    {
      caffe2::serialize::PyTorchStreamWriter writer(path);
      writer.writeRecord("data.pkl", pkl.data(), pkl.size());
      writer.writeRecord("data/0", storage.data(), storage.size());
      writer.writeEndOfFile();
    }
    EXPECT_THAT([&] { load_pytorch_bin(path); },
                ThrowsMessage<InputError>(AllOf(HasSubstr(path), HasSubstr("beyond its storage of 4 elements"))))
        << name;
  }
}

// Found by the pytorch_bin fuzz target (session 14): a checkpoint pickle of lists nested thousands deep overflowed
// the stack of the tree copy behind load_torch_pickle (optimizer.pt, scheduler.pt, rng_state.pth). Now refused.
TEST(PytorchBinHostileTest, PicklesNestedTooDeepAreInputErrors) {
  testing::TempDir tmp;
  auto nested = [](int depth) {
    PickledObject root;
    root.kind = PickledObject::Kind::kList;
    PickledObject* at = &root;
    for (int i = 1; i < depth; ++i) {
      at->items.emplace_back();
      at = &at->items.back();
      at->kind = PickledObject::Kind::kList;
    }
    return root;
  };
  const std::string shallow = tmp.file("shallow.pt"), deep = tmp.file("deep.pt");
  save_torch_pickle(shallow, nested(100));
  save_torch_pickle(deep, nested(1500));
  EXPECT_EQ(load_torch_pickle(shallow, "a test").items.size(), 1u);
  EXPECT_THAT([&] { load_torch_pickle(deep, "a test"); },
              ThrowsMessage<InputError>(AllOf(HasSubstr(deep), HasSubstr("nested more than 1000 levels deep"))));
  // The fuzzer's input: a data.pkl alone, zipped here as the target does.
  const std::string pkl = testing::read_bytes(std::string(TCPP_SOURCE_DIR) +
                                              "/tests/fuzz/regressions/pytorch_bin/deeply-nested-lists.bin");
  const std::string found = tmp.file("found.pt");
  {
    caffe2::serialize::PyTorchStreamWriter writer(found);
    writer.writeRecord("data.pkl", pkl.data(), pkl.size());
    writer.writeEndOfFile();
  }
  EXPECT_THAT([&] { load_torch_pickle(found, "a test"); },
              ThrowsMessage<InputError>(AllOf(HasSubstr(found), HasSubstr("nested more than 1000 levels deep"))));
}

PreTrainedModel tiny_gpt2() {
  torch::manual_seed(0);
  auto config = AutoConfig::for_model("gpt2");
  config->update_from_string("vocab_size=50,n_positions=16,n_embd=16,n_layer=2,n_head=2");
  auto model = model_from_config(*config);
  model->eval();
  return model;
}

// A model folder with pytorch_model.bin (or shards + index) and no safetensors loads the same weights, strictly.
TEST_F(PytorchBinTest, ModelFolderWithSingleOrShardedBinLoadsLikeItsSafetensors) {
  auto model = tiny_gpt2();
  TempDir tmp;
  save_pretrained(*model, tmp.file("st"));
  fs::create_directories(tmp.file("bin"));
  ASSERT_TRUE(write_with_pytorch(tmp, "convert " + tmp.file("st") + " " + tmp.file("bin")));
  fs::copy_file(tmp.file("st/config.json"), tmp.file("bin/config.json"));
  fs::copy_file(tmp.file("st/config.json"), tmp.file("bin/sharded/config.json"));
  ModelInputs in;
  in.input_ids = torch::tensor({{5, 9, 13, 2}}, torch::kLong);
  auto expected = model->forward(in).logits;
  LoadOptions strict;
  strict.strict = true;
  for (const char* dir : {"bin", "bin/sharded"}) {
    SCOPED_TRACE(dir);
    auto loaded = AutoModelForCausalLM::from_pretrained(tmp.file(dir), strict);
    loaded->eval();
    EXPECT_TRUE(torch::equal(loaded->forward(in).logits, expected));
  }
  // A wrong shape names the .bin file it came from.
  auto config = read_json_file(tmp.file("bin/config.json"));
  config["n_embd"] = 32;
  testing::write_text(tmp.file("bin/config.json"), config.dump());
  EXPECT_THAT([&] { AutoModelForCausalLM::from_pretrained(tmp.file("bin")); },
              ThrowsMessage<InputError>(HasSubstr("bin/pytorch_model.bin")));
  // A shard missing a tensor its index lists names both.
  Json index = read_json_file(tmp.file("bin/sharded/pytorch_model.bin.index.json"));
  index["weight_map"]["transformer.no_such.weight"] = "pytorch_model-00001-of-00002.bin";
  testing::write_text(tmp.file("bin/sharded/pytorch_model.bin.index.json"), index.dump());
  EXPECT_THAT([&] { load_checkpoint_tensors(tmp.file("bin/sharded")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("pytorch_model-00001-of-00002.bin"),
                                              HasSubstr("transformer.no_such.weight"))));
}

// save_pytorch_bin writes what torch.load(weights_only=True) reads as the same OrderedDict (every dtype, views and
// transposes made contiguous, 0-dim and empty tensors, an int64 past 2^31), and what our reader reads back.
TEST_F(PytorchBinTest, SavedBinLoadsInPyTorchAndBackWithTheSameTensors) {
  auto base = torch::arange(24, torch::kFloat32);
  NamedTensors tensors = {  // in name order, as the expected safetensors file lists them
      {"a.f32", torch::randn({3, 4})},
      {"b.f16", torch::randn({2, 3}).to(torch::kFloat16)},
      {"c.bf16", torch::randn({5}).to(torch::kBFloat16)},
      {"d.f64", torch::randn({3}, torch::kFloat64)},
      {"e.i64", torch::tensor({int64_t{-3}, int64_t{1} << 40}, torch::kInt64)},
      {"f.i32", torch::tensor({-7, 2147483647}, torch::kInt32)},
      {"g.i8", torch::tensor({-128, 127}, torch::kInt8)},
      {"h.u8", torch::tensor({0, 255}, torch::kUInt8)},
      {"i.bool", torch::tensor({true, false, true})},
      {"j.view", base.slice(0, 5, 17).view({3, 4})},
      {"k.transposed", base.view({4, 6}).t()},
      {"l.scalar", torch::tensor(2.5)},
      {"m.empty", torch::empty({0, 4})},
  };
  save_pytorch_bin(file("ours.bin"), tensors);
  save_safetensors(file("ours_expected.safetensors"), tensors);
  const auto back = load_pytorch_bin(file("ours.bin"));
  ASSERT_EQ(back.size(), tensors.size());
  for (size_t i = 0; i < back.size(); ++i) {
    EXPECT_EQ(back[i].first, tensors[i].first);
    EXPECT_EQ(back[i].second.scalar_type(), tensors[i].second.scalar_type()) << back[i].first;
    EXPECT_TRUE(torch::equal(back[i].second, tensors[i].second)) << back[i].first;
  }
  const std::string cmd = std::string("OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 ") + TCPP_SOURCE_DIR +
                          "/tests/unit/models/ref/write_pytorch_bin.py check " + file("ours.bin") + " " +
                          file("ours_expected.safetensors") + " 2>" + file("check.log");
  EXPECT_EQ(std::system(cmd.c_str()), 0) << read_file(file("check.log"));
  EXPECT_THAT([&] { save_pytorch_bin(file("bad.bin"), {{"c", torch::zeros({2}, torch::kComplexFloat)}}); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("bad.bin: \"c\""), HasSubstr("no torch.save storage type"))));
  EXPECT_FALSE(fs::exists(file("bad.bin")));
}

// save_pretrained(safe_serialization=false) writes pytorch_model.bin (or .bin shards and their index) that loads
// like the safetensors folder, and clears the other format's weight files of an earlier save there.
TEST_F(PytorchBinTest, SavePretrainedWithoutSafetensorsWritesBinFilesThatLoad) {
  auto model = tiny_gpt2();
  TempDir tmp;
  ModelInputs in;
  in.input_ids = torch::tensor({{5, 9, 13, 2}}, torch::kLong);
  const auto expected = model->forward(in).logits;
  save_pretrained(*model, tmp.path());  // model.safetensors first: replaced below
  SaveOptions bin;
  bin.safe_serialization = false;
  save_pretrained(*model, tmp.path(), bin);
  EXPECT_TRUE(fs::exists(tmp.file("pytorch_model.bin")));
  EXPECT_FALSE(fs::exists(tmp.file("model.safetensors")));
  LoadOptions strict;
  strict.strict = true;
  auto loaded = AutoModelForCausalLM::from_pretrained(tmp.path(), strict);
  loaded->eval();
  EXPECT_TRUE(torch::equal(loaded->forward(in).logits, expected));
  bin.max_shard_size = 4000;
  save_pretrained(*model, tmp.path(), bin);
  EXPECT_FALSE(fs::exists(tmp.file("pytorch_model.bin")));
  std::set<std::string> shards;
  const Json index = read_json_file(tmp.file("pytorch_model.bin.index.json"));
  for (const auto& item : index["weight_map"].items())
    shards.insert(item.value().get<std::string>());
  EXPECT_GE(shards.size(), 2u);
  for (const auto& shard : shards) {
    EXPECT_TRUE(std::regex_match(shard, std::regex(R"(pytorch_model-[0-9]{5}-of-[0-9]{5}\.bin)"))) << shard;
    EXPECT_TRUE(fs::exists(tmp.file(shard))) << shard;
  }
  auto sharded = AutoModelForCausalLM::from_pretrained(tmp.path(), strict);
  sharded->eval();
  EXPECT_TRUE(torch::equal(sharded->forward(in).logits, expected));
}

TEST(CheckpointFilesTest, FolderWithoutWeightsListsEveryFileNameLookedFor) {
  TempDir tmp;
  EXPECT_THAT([&] { load_checkpoint_tensors(tmp.path()); },
              ThrowsMessage<InputError>(AllOf(HasSubstr(tmp.path()), HasSubstr("model.safetensors"),
                                              HasSubstr("pytorch_model.bin"))));
}

}  // namespace
}  // namespace tcpp::models
