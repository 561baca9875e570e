// dataset_column_source: a Dataset column streamed in batches gives the same tokenizer as the whole column at once;
// bad values name the column and row.
#include "tcpp/tokenizers/dataset_texts.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tcpp/datasets/dataset.h"

namespace tcpp::tokenizers {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

datasets::Dataset texts_dataset(datasets::Column texts) {
  datasets::Batch b;
  b["text"] = std::move(texts);
  b["n"] = datasets::Column::Int64s(b.at("text").size(), 0);
  return datasets::Dataset::from_batch(b);
}

TEST(DatasetTextsTest, BatchesOfOneRowTrainTheSameAsOneBatch) {
  auto ds = texts_dataset(datasets::Column::Strings{"low lower lowest", "newer newest", "wider widest", "low new"});
  TokenizerTrainingOptions o;
  o.model = TrainerModel::kWordPiece;
  o.special_tokens = {"[UNK]"};
  size_t batches = 0;
  TextBatchSource one_row = dataset_column_source(ds, "text", /*batch_size=*/1);
  Json a = train_tokenizer(
      [&](const TextBatchSink& sink) {
        one_row([&](const std::vector<std::string>& texts) {
          EXPECT_EQ(texts.size(), 1u);
          ++batches;
          sink(texts);
        });
      },
      o);
  Json b = train_tokenizer(dataset_column_source(ds, "text", /*batch_size=*/1000), o);
  EXPECT_EQ(batches, 4u);
  EXPECT_EQ(a, b);
}

TEST(DatasetTextsTest, NullValueNamesColumnAndRow) {
  auto ds = texts_dataset(datasets::Column::Jsons{Json("fine"), Json(nullptr)});
  TokenizerTrainingOptions o;
  o.model = TrainerModel::kWordPiece;
  EXPECT_THAT([&] { train_tokenizer(dataset_column_source(ds, "text"), o); },
              ThrowsMessage<InputError>(HasSubstr("column \"text\", row 1: expected a string, got null")));
  auto bad_utf8 = texts_dataset(datasets::Column::Strings{"ok", "ok", "bad \xFF"});
  EXPECT_THAT([&] { train_tokenizer(dataset_column_source(bad_utf8, "text"), o); },
              ThrowsMessage<InputError>(HasSubstr("column \"text\", row 2: invalid UTF-8 at byte 4")));
  EXPECT_THAT([&] { dataset_column_source(ds, "body"); },
              ThrowsMessage<InputError>(HasSubstr("dataset has no column \"body\" (columns: text, n)")));
}

}  // namespace
}  // namespace tcpp::tokenizers
