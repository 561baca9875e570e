// Tests for run_clm's group_texts on columnar batches.
#include "tcpp/pipelines/group_texts.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tcpp/core/error.h"

namespace tcpp::pipelines {
namespace {

using datasets::Batch;
using datasets::Column;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

Batch tokenized(std::vector<std::vector<int32_t>> ids) {
  Batch b;
  Column::Int32Lists mask;
  for (const auto& row : ids) mask.emplace_back(row.size(), 1);
  b["input_ids"] = Column::Int32Lists(ids);
  b["attention_mask"] = std::move(mask);
  return b;
}

TEST(GroupTextsTest, ConcatenatesCutsIntoBlocksAndDropsTheRemainder) {
  Batch out = group_texts(tokenized({{1, 2, 3}, {4, 5}, {6, 7, 8, 9}}), {/*block_size=*/4, /*add_labels=*/true});
  ASSERT_EQ(out.num_rows(), 2u);
  EXPECT_EQ(out.at("input_ids").as<Column::Int32Lists>(), (Column::Int32Lists{{1, 2, 3, 4}, {5, 6, 7, 8}}));
  EXPECT_EQ(out.at("attention_mask").as<Column::Int32Lists>(), (Column::Int32Lists{{1, 1, 1, 1}, {1, 1, 1, 1}}));
  EXPECT_EQ(out.at("labels").as<Column::Int32Lists>(), out.at("input_ids").as<Column::Int32Lists>());
}

TEST(GroupTextsTest, MlmModeMakesNoLabels) {
  Batch out = group_texts(tokenized({{1, 2, 3, 4}}), {/*block_size=*/2, /*add_labels=*/false});
  EXPECT_EQ(out.num_rows(), 2u);
  EXPECT_FALSE(out.contains("labels"));
}

TEST(GroupTextsTest, BatchShorterThanABlockYieldsNoRows) {
  Batch out = group_texts(tokenized({{1, 2}, {3}}), {/*block_size=*/4, /*add_labels=*/true});
  EXPECT_EQ(out.num_rows(), 0u);
}

TEST(GroupTextsTest, TextColumnIsAnErrorNamingIt) {
  Batch b = tokenized({{1, 2}});
  b["text"] = Column::Strings{"hi"};
  EXPECT_THAT([&] { group_texts(b, {2, true}); }, ThrowsMessage<InputError>(HasSubstr("column \"text\"")));
}

TEST(GroupTextsTest, ColumnsOfDifferentTotalLengthAreAnError) {
  Batch b = tokenized({{1, 2}});
  b["attention_mask"] = Column::Int32Lists{{1}};
  EXPECT_THAT([&] { group_texts(b, {2, true}); }, ThrowsMessage<InputError>(HasSubstr("attention_mask")));
}

TEST(GroupTextsTest, TextColumnNameFollowsRunClm) {
  EXPECT_EQ(text_column_name({"id", "text"}), "text");
  EXPECT_EQ(text_column_name({"content", "id"}), "content");
}

}  // namespace
}  // namespace tcpp::pipelines
