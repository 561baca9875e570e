// Tests for models/safetensors: round trips, the exact file layout, validation errors naming file and tensor, shards.
#include "tcpp/models/safetensors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include <torch/torch.h>

#include "test_util.h"
#include "tcpp/core/error.h"

namespace tcpp::models {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;
using testing::read_bytes;
using testing::TempDir;
using testing::write_raw_safetensors;

NamedTensors sample_tensors() {
  return {
      {"b.weight", torch::arange(6, torch::kFloat32).reshape({2, 3})},
      {"a.half", torch::tensor({1.5, -2.0, 3.25}, torch::kFloat16)},
      {"c.bf16", torch::tensor({0.5, 1.0}, torch::kBFloat16)},
      {"ids", torch::tensor({7, 8, 9}, torch::kInt64)},
      {"mask", torch::tensor({1, 0, 1}, torch::kInt32)},
      {"flags", torch::tensor({true, false}, torch::kBool)},
      {"bytes", torch::tensor({1, 2, 3}, torch::kUInt8)},
      {"double", torch::tensor({0.25}, torch::kFloat64)},
  };
}

TEST(SafetensorsTest, RoundTripKeepsEveryDtypeShapeAndValue) {
  TempDir dir;
  auto tensors = sample_tensors();
  save_safetensors(dir.file("x.safetensors"), tensors);
  auto f = SafetensorsFile::open(dir.file("x.safetensors"));
  EXPECT_EQ(f.metadata().at("format"), "pt");
  for (const auto& [name, t] : tensors) {
    torch::Tensor back = f.tensor(name);
    EXPECT_EQ(back.scalar_type(), t.scalar_type()) << name;
    EXPECT_EQ(back.sizes(), t.sizes()) << name;
    EXPECT_TRUE(torch::equal(back, t)) << name;
  }
}

TEST(SafetensorsTest, HeaderIsSortedPaddedWithSpacesAndAligned) {
  TempDir dir;
  save_safetensors(dir.file("x.safetensors"), sample_tensors());
  std::string bytes = read_bytes(dir.file("x.safetensors"));
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(bytes[i]);
  EXPECT_EQ((8 + n) % 8, 0u);
  std::string header = bytes.substr(8, n);
  EXPECT_EQ(header.rfind("{\"__metadata__\":{\"format\":\"pt\"},\"a.half\":", 0), 0u) << header;
  EXPECT_EQ(header.find_last_not_of(' '), header.find_last_of('}'));
  auto f = SafetensorsFile::open(dir.file("x.safetensors"));
  for (const auto& name : f.names()) {
    const auto& e = f.entry(name);
    EXPECT_EQ(e.begin % f.tensor(name).element_size(), 0) << name;
  }
}

TEST(SafetensorsTest, TensorsViewTheMappingWithoutChangingTheFile) {
  TempDir dir;
  save_safetensors(dir.file("x.safetensors"), {{"w", torch::ones({4})}});
  std::string before = read_bytes(dir.file("x.safetensors"));
  {
    auto t = load_safetensors(dir.file("x.safetensors"))[0].second;
    t.mul_(3);  // copy-on-write pages: the file must not change
    EXPECT_FLOAT_EQ(t[0].item<float>(), 3.0f);
  }
  EXPECT_EQ(read_bytes(dir.file("x.safetensors")), before);
}

TEST(SafetensorsTest, TruncatedFileNamesFile) {
  TempDir dir;
  save_safetensors(dir.file("model.safetensors"), {{"w", torch::ones({16})}});
  std::string bytes = read_bytes(dir.file("model.safetensors"));
  testing::write_text(dir.file("model.safetensors"), bytes.substr(0, bytes.size() - 10));
  EXPECT_THAT([&] { SafetensorsFile::open(dir.file("model.safetensors")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("model.safetensors"), HasSubstr("tensor \"w\""),
                                              HasSubstr("past the end"))));
  testing::write_text(dir.file("model.safetensors"), bytes.substr(0, 5));
  EXPECT_THAT([&] { SafetensorsFile::open(dir.file("model.safetensors")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("model.safetensors"), HasSubstr("truncated"))));
}

TEST(SafetensorsTest, HeaderLengthBeyondFileIsRejected) {
  TempDir dir;
  write_raw_safetensors(dir.file("model.safetensors"), "{}", "", 4096);
  EXPECT_THAT([&] { SafetensorsFile::open(dir.file("model.safetensors")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("model.safetensors"), HasSubstr("header length 4096"))));
}

TEST(SafetensorsTest, InvalidHeaderJsonIsRejected) {
  TempDir dir;
  write_raw_safetensors(dir.file("bad.safetensors"), "{\"w\": [", "");
  EXPECT_THAT([&] { SafetensorsFile::open(dir.file("bad.safetensors")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("bad.safetensors"), HasSubstr("not valid JSON"))));
}

TEST(SafetensorsTest, OverlappingOffsetsNameBothTensors) {
  TempDir dir;
  write_raw_safetensors(dir.file("m.safetensors"),
                        R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                        R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                        std::string(12, '\0'));
  EXPECT_THAT([&] { SafetensorsFile::open(dir.file("m.safetensors")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("m.safetensors: tensor \"b\""), HasSubstr("overlap tensor \"a\""))));
}

TEST(SafetensorsTest, OffsetsDisagreeingWithShapeAreRejected) {
  TempDir dir;
  write_raw_safetensors(dir.file("m.safetensors"), R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})",
                        std::string(8, '\0'));
  EXPECT_THAT([&] { SafetensorsFile::open(dir.file("m.safetensors")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("m.safetensors: tensor \"w\""), HasSubstr("needs 12"))));
}

TEST(SafetensorsTest, MisalignedOffsetsAreRejected) {
  TempDir dir;
  write_raw_safetensors(dir.file("m.safetensors"),
                        R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
                        R"("b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}})",
                        std::string(6, '\0'));
  EXPECT_THAT([&] { SafetensorsFile::open(dir.file("m.safetensors")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("tensor \"b\""), HasSubstr("not aligned"))));
}

TEST(SafetensorsTest, UnsupportedDtypeAndMissingTensorAreNamed) {
  TempDir dir;
  write_raw_safetensors(dir.file("m.safetensors"), R"({"w":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}})",
                        std::string(1, '\0'));
  EXPECT_THAT([&] { SafetensorsFile::open(dir.file("m.safetensors")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("tensor \"w\""), HasSubstr("F8_E4M3"))));
  save_safetensors(dir.file("ok.safetensors"), {{"w", torch::ones({1})}});
  auto f = SafetensorsFile::open(dir.file("ok.safetensors"));
  EXPECT_THAT([&] { f.tensor("v"); }, ThrowsMessage<InputError>(AllOf(HasSubstr("ok.safetensors"), HasSubstr("\"v\""))));
}

TEST(SafetensorsTest, ParsesShardSizesAsTransformers) {
  EXPECT_EQ(parse_shard_size("5GB"), 5'000'000'000);
  EXPECT_EQ(parse_shard_size("500MiB"), 500LL * 1024 * 1024);
  EXPECT_EQ(parse_shard_size("1234"), 1234);
  EXPECT_EQ(parse_shard_size("10kb"), 10'000);
  EXPECT_THAT([] { parse_shard_size("5 lots"); }, ThrowsMessage<InputError>(HasSubstr("max_shard_size")));
}

TEST(SafetensorsTest, ShardedSaveWritesIndexAndLoadsBack) {
  TempDir dir;
  NamedTensors tensors;
  for (int i = 0; i < 5; ++i) tensors.emplace_back("layer." + std::to_string(i), torch::full({10}, float(i)));
  save_sharded_safetensors(dir.path(), tensors, /*max_shard_size=*/100);  // 40 bytes each: two per shard
  EXPECT_TRUE(fs::exists(dir.file("model-00001-of-00003.safetensors")));
  EXPECT_TRUE(fs::exists(dir.file("model-00003-of-00003.safetensors")));
  EXPECT_FALSE(fs::exists(dir.file("model.safetensors")));
  Json index = read_json_file(dir.file("model.safetensors.index.json"));
  EXPECT_EQ(index["metadata"]["total_size"], 200);
  EXPECT_EQ(index["weight_map"]["layer.4"], "model-00003-of-00003.safetensors");
  auto back = load_checkpoint_tensors(dir.path());
  ASSERT_EQ(back.size(), 5u);
  for (const auto& [name, t] : back) EXPECT_FLOAT_EQ(t[0].item<float>(), float(name.back() - '0')) << name;

  // A later unsharded save removes the stale shards and index.
  save_sharded_safetensors(dir.path(), tensors, /*max_shard_size=*/1'000'000);
  EXPECT_TRUE(fs::exists(dir.file("model.safetensors")));
  EXPECT_FALSE(fs::exists(dir.file("model.safetensors.index.json")));
  EXPECT_FALSE(fs::exists(dir.file("model-00001-of-00003.safetensors")));
}

TEST(SafetensorsTest, ShardMissingIndexedTensorIsNamed) {
  TempDir dir;
  save_safetensors(dir.file("model-00001-of-00001.safetensors"), {{"a", torch::ones({1})}});
  testing::write_text(dir.file("model.safetensors.index.json"),
                      R"({"metadata": {}, "weight_map": {"a": "model-00001-of-00001.safetensors",
                          "b": "model-00001-of-00001.safetensors"}})");
  EXPECT_THAT([&] { load_checkpoint_tensors(dir.path()); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("model-00001-of-00001.safetensors"), HasSubstr("\"b\""))));
}

TEST(SafetensorsTest, FolderWithoutWeightsIsNamed) {
  TempDir dir;
  EXPECT_THAT([&] { load_checkpoint_tensors(dir.path()); },
              ThrowsMessage<InputError>(AllOf(HasSubstr(dir.path()), HasSubstr("no model.safetensors"))));
}

}  // namespace
}  // namespace tcpp::models
