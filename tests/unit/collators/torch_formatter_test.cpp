// Tests for the torch format (datasets' with_format("torch")): dtypes, stacking, ragged lists, strings, columns.
#include "tcpp/collators/torch_formatter.h"

#include <unistd.h>

#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "tcpp/core/error.h"

namespace tcpp::collators {
namespace {

namespace fs = std::filesystem;
using datasets::Batch;
using datasets::Column;
using datasets::Dataset;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

// ids: equal-length int32 lists; ragged: lists of different lengths; n: int64; x: double; text: strings.
Dataset sample() {
  Batch b;
  b["ids"] = Column::Int32Lists{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}};
  b["ragged"] = Column::Int64Lists{{1}, {2, 3}, {}};
  b["n"] = Column::Int64s{10, 20, 30};
  b["x"] = Column::Doubles{0.5, 1.5, 2.5};
  b["text"] = Column::Strings{"a", "b", "c"};
  return Dataset::from_batch(b, "fp");
}

TEST(TorchFormatterTest, RowTensorsHaveHfDtypes) {
  Dataset d = sample().with_format("torch");
  TorchExample row = format_torch_row(d, 1);
  ASSERT_EQ(row.size(), 5u);
  const auto ids = row.at("ids").toTensor();
  EXPECT_EQ(ids.scalar_type(), torch::kInt64);  // int32 storage, int64 tensor (TorchFormatter)
  EXPECT_TRUE(torch::equal(ids, torch::tensor({4, 5, 6}, torch::kInt64)));
  EXPECT_EQ(row.at("n").toTensor().dim(), 0);
  EXPECT_EQ(row.at("n").toTensor().item<int64_t>(), 20);
  EXPECT_EQ(row.at("x").toTensor().scalar_type(), torch::kFloat32);
  EXPECT_FLOAT_EQ(row.at("x").toTensor().item<float>(), 1.5f);
  EXPECT_EQ(row.at("text").toStringRef(), "b");
  EXPECT_TRUE(torch::equal(format_torch_row(d, -1).at("ids").toTensor(), torch::tensor({7, 8, 9}, torch::kInt64)));
}

TEST(TorchFormatterTest, BatchStacksRectangularColumnsAndKeepsRaggedOnesAsLists) {
  Dataset d = sample().with_format("torch");
  TorchExample batch = format_torch_batch(d, 0, 3);
  const auto ids = batch.at("ids").toTensor();
  EXPECT_EQ(ids.sizes(), (std::vector<int64_t>{3, 3}));
  EXPECT_EQ(ids.scalar_type(), torch::kInt64);
  EXPECT_EQ(ids[2][0].item<int64_t>(), 7);
  EXPECT_TRUE(torch::equal(batch.at("n").toTensor(), torch::tensor({10, 20, 30}, torch::kInt64)));
  EXPECT_EQ(batch.at("x").toTensor().scalar_type(), torch::kFloat32);
  ASSERT_TRUE(batch.at("ragged").isTensorList());
  const auto ragged = batch.at("ragged").toTensorList();
  ASSERT_EQ(ragged.size(), 3u);
  EXPECT_EQ(ragged.get(1).numel(), 2);
  EXPECT_EQ(ragged.get(2).numel(), 0);
  const auto text = batch.at("text").toList();
  ASSERT_EQ(text.size(), 3u);
  EXPECT_EQ(text.get(2).toStringRef(), "c");
}

TEST(TorchFormatterTest, NestedListsStackWhenRectangular) {
  const auto v = torch_value_from_json(Json::parse("[[1, 2], [3, 4], [5, 6]]"));
  ASSERT_TRUE(v.isTensor());
  EXPECT_EQ(v.toTensor().sizes(), (std::vector<int64_t>{3, 2}));
  EXPECT_TRUE(torch_value_from_json(Json::parse("[[1, 2], [3]]")).isTensorList());
  EXPECT_EQ(torch_value_from_json(Json::parse("[true, false]")).toTensor().scalar_type(), torch::kBool);
  EXPECT_EQ(torch_value_from_json(Json::parse("[1.5, 2]")).isTensor(), false);  // float32 and int64: not stacked
  EXPECT_TRUE(torch_value_from_json(Json::parse("null")).isNone());
}

TEST(TorchFormatterTest, FormatColumnsSelectWhatIsConvertedAndReturned) {
  Dataset d = sample().with_format("torch", {"ids", "n"});
  TorchExample row = format_torch_row(d, 0);
  EXPECT_EQ(row.size(), 2u);
  EXPECT_TRUE(row.contains("ids"));
  EXPECT_FALSE(row.contains("text"));
  Dataset all = sample().with_format("torch", {"ids"}, /*output_all_columns=*/true);
  TorchExample full = format_torch_row(all, 0);
  EXPECT_EQ(full.size(), 5u);
  EXPECT_TRUE(full.at("ids").isTensor());
  EXPECT_TRUE(full.at("n").isInt());  // outside the format: a plain value
  EXPECT_EQ(full.at("n").toInt(), 10);
  // No format: plain values throughout.
  TorchExample plain = format_torch_row(sample(), 0);
  EXPECT_TRUE(plain.at("n").isInt());
  EXPECT_TRUE(plain.at("ids").isList());
}

TEST(TorchFormatterTest, UnknownFormatOrColumnIsAnInputError) {
  EXPECT_THAT([] { sample().with_format("numpy"); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("numpy"), HasSubstr("torch"))));
  EXPECT_THAT([] { sample().with_format("torch", {"labels"}); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("labels"), HasSubstr("ids"))));
  Dataset d = sample().with_format("torch", {"ids"});
  EXPECT_EQ(d.remove_columns({"ids"}).format_columns().size(), 0u);
  EXPECT_EQ(d.rename_column("ids", "input_ids").format_columns(), std::vector<std::string>{"input_ids"});
}

TEST(TorchFormatterTest, SaveToDiskKeepsTheFormatInStateJson) {
  const fs::path dir = fs::temp_directory_path() / ("tcpp_torch_format_" + std::to_string(::getpid()));
  sample().with_format("torch", {"ids", "n"}).save_to_disk(dir.string());
  const Json state = read_json_file((dir / "state.json").string());
  EXPECT_EQ(state["_format_type"], "torch");
  EXPECT_EQ(state["_format_columns"], Json::parse(R"(["ids", "n"])"));
  Dataset back = Dataset::load_from_disk(dir.string());
  EXPECT_EQ(back.format_type(), "torch");
  EXPECT_EQ(back.format_columns(), (std::vector<std::string>{"ids", "n"}));
  EXPECT_EQ(format_torch_row(back, 2).at("ids").toTensor()[1].item<int64_t>(), 8);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace tcpp::collators
