// Tests for run_clm's group_texts on columnar batches.
#include "tcpp/pipelines/group_texts.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tcpp/core/error.h"
#include "tcpp/tokenizers/tokenizer.h"

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

// The flat lists' edge cases: empty rows, a total that is an exact multiple of the block, block_size 1, an empty
// batch, int64 lists; the blocks are exactly run_clm's cut of the concatenation.
TEST(GroupTextsTest, FlatListEdgeCasesMatchTheConcatenationCut) {
  Batch exact = group_texts(tokenized({{}, {1, 2}, {}, {3, 4, 5, 6}, {}}), {/*block_size=*/3, /*add_labels=*/true});
  EXPECT_EQ(exact.at("input_ids").as<Column::Int32Lists>(), (Column::Int32Lists{{1, 2, 3}, {4, 5, 6}}));
  EXPECT_EQ(exact.at("input_ids").as<Column::Int32Lists>().offsets(), (std::vector<int64_t>{0, 3, 6}));
  EXPECT_EQ(exact.names(), (std::vector<std::string>{"input_ids", "attention_mask", "labels"}));

  // The blocks and labels share the batch's values (no copies).
  Batch in = tokenized({{1, 2, 3}, {4}});
  Batch shared = group_texts(in, {/*block_size=*/2, /*add_labels=*/true});
  EXPECT_EQ(shared.at("input_ids").as<Column::Int32Lists>().values().data(), in.at("input_ids").as<Column::Int32Lists>().values().data());
  EXPECT_EQ(shared.at("labels").as<Column::Int32Lists>().values().data(), in.at("input_ids").as<Column::Int32Lists>().values().data());
  EXPECT_EQ(shared.at("labels").as<Column::Int32Lists>(), (Column::Int32Lists{{1, 2}, {3, 4}}));

  Batch ones = group_texts(tokenized({{1, 2}, {3}}), {/*block_size=*/1, /*add_labels=*/false});
  EXPECT_EQ(ones.at("input_ids").as<Column::Int32Lists>(), (Column::Int32Lists{{1}, {2}, {3}}));

  Batch none = group_texts(tokenized({}), {/*block_size=*/2, /*add_labels=*/true});
  EXPECT_EQ(none.num_rows(), 0u);
  Batch all_empty = group_texts(tokenized({{}, {}}), {/*block_size=*/2, /*add_labels=*/true});
  EXPECT_EQ(all_empty.num_rows(), 0u);
  EXPECT_TRUE(all_empty.at("labels").holds<Column::Int32Lists>());

  Batch wide;
  wide["input_ids"] = Column::Int64Lists{{1, 2, 3}, {5000000000}};
  Batch out = group_texts(wide, {/*block_size=*/2, /*add_labels=*/true});
  EXPECT_EQ(out.at("input_ids").as<Column::Int64Lists>(), (Column::Int64Lists{{1, 2}, {3, 5000000000}}));
  EXPECT_EQ(out.at("labels").as<Column::Int64Lists>(), out.at("input_ids").as<Column::Int64Lists>());
}

// tokenize_function's flat columns hold each row's encoding: ids, attention_mask, and when asked token_type_ids
// and special_tokens_mask, in the tokenizer's order (an empty text still gets its special tokens).
TEST(TokenizeFunctionTest, ColumnsHoldEachRowsEncoding) {
  Json j = Json::parse(R"({"version": "1.0", "pre_tokenizer": {"type": "WhitespaceSplit"},
      "model": {"type": "WordLevel", "unk_token": "[UNK]", "vocab": {"[UNK]": 0, "a": 1, "b": 2, "[CLS]": 3, "[SEP]": 4}},
      "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 4], "cls": ["[CLS]", 3]},
      "added_tokens": [{"id": 3, "content": "[CLS]", "special": true}, {"id": 4, "content": "[SEP]", "special": true}]})");
  tokenizers::Tokenizer tok = tokenizers::Tokenizer::from_json(j, "words.json");
  TokenizeOptions to;
  to.text_column = "text";
  to.return_special_tokens_mask = true;
  to.return_token_type_ids = true;
  Batch in;
  in["text"] = Column::Strings{"a b", "", "b x a"};
  Batch out = tokenize_function(tok, to)(in);
  EXPECT_EQ(out.names(), (std::vector<std::string>{"input_ids", "token_type_ids", "attention_mask", "special_tokens_mask"}));
  EXPECT_EQ(out.at("input_ids").as<Column::Int32Lists>(), (Column::Int32Lists{{3, 1, 2, 4}, {3, 4}, {3, 2, 0, 1, 4}}));
  EXPECT_EQ(out.at("attention_mask").as<Column::Int32Lists>(), (Column::Int32Lists{{1, 1, 1, 1}, {1, 1}, {1, 1, 1, 1, 1}}));
  EXPECT_EQ(out.at("token_type_ids").as<Column::Int32Lists>(), (Column::Int32Lists{{0, 0, 0, 0}, {0, 0}, {0, 0, 0, 0, 0}}));
  EXPECT_EQ(out.at("special_tokens_mask").as<Column::Int32Lists>(), (Column::Int32Lists{{1, 0, 0, 1}, {1, 1}, {1, 0, 0, 0, 1}}));
  to.return_special_tokens_mask = to.return_token_type_ids = false;
  EXPECT_EQ(tokenize_function(tok, to)(in).names(), (std::vector<std::string>{"input_ids", "attention_mask"}));
}

TEST(GroupTextsTest, TextColumnNameFollowsRunClm) {
  EXPECT_EQ(text_column_name({"id", "text"}), "text");
  EXPECT_EQ(text_column_name({"content", "id"}), "content");
}

}  // namespace
}  // namespace tcpp::pipelines
