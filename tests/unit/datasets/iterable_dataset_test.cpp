// Streaming datasets: lazy reading of text / JSON Lines with map, take, skip and buffer shuffle.
#include <fstream>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tcpp/core/error.h"
#include "tcpp/datasets/iterable_dataset.h"
#include "tcpp/datasets/load.h"
#include "test_util.h"

namespace tcpp::datasets {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;
using testing::TempDir;

IterableDataset stream(const TempDir& dir, const std::string& name, const std::string& content, LoadOptions o = {}) {
  std::ofstream(dir.file(name), std::ios::binary) << content;
  o.data_files = {{"train", {dir.file(name)}}};
  return IterableDataset::from_files(o, "train");
}

std::string numbered_lines(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += "line " + std::to_string(i) + "\n";
  return s;
}

TEST(IterableDatasetTest, TextStreamsTheSameRowsAsTheBuilder) {
  TempDir dir;
  LoadOptions o;
  o.keep_linebreaks = true;
  auto rows = stream(dir, "a.txt", "a\r\nb\n\nc", o).to_rows();
  EXPECT_EQ(rows, (std::vector<Json>{{{"text", "a\n"}}, {{"text", "b\n"}}, {{"text", "\n"}}, {{"text", "c"}}}));
}

TEST(IterableDatasetTest, BatchesTakeAndSkip) {
  TempDir dir;
  IterableDataset d = stream(dir, "a.txt", numbered_lines(10));
  std::vector<size_t> sizes;
  d.for_each_batch(4, [&](const Batch& b) {
    sizes.push_back(b.num_rows());
    EXPECT_TRUE(b.at("text").holds<Column::Strings>());
    return true;
  });
  EXPECT_EQ(sizes, (std::vector<size_t>{4, 4, 2}));
  auto rows = d.skip(2).take(3).to_rows();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0]["text"], "line 2");
  EXPECT_EQ(rows[2]["text"], "line 4");
  EXPECT_TRUE(d.take(0).to_rows().empty());
  int calls = 0;
  d.for_each_batch(2, [&](const Batch&) { return ++calls < 2; });
  EXPECT_EQ(calls, 2) << "returning false stops the stream";
}

TEST(IterableDatasetTest, MapIsAppliedLazilyWithRemoveColumns) {
  TempDir dir;
  IterableDataset d = stream(dir, "a.jsonl", "{\"text\": \"ab\", \"id\": 1}\n\n{\"text\": \"c\", \"id\": 2}\n");
  MapOptions o;
  o.batched = true;
  o.remove_columns = {"text"};
  auto rows = d.map(
                   [](const Batch& b) {
                     Batch out;
                     Column::Int64s len;
                     for (const auto& s : b.at("text").as<Column::Strings>()) len.push_back(static_cast<int64_t>(s.size()));
                     out["len"] = std::move(len);
                     return out;
                   },
                   o)
                  .to_rows();
  EXPECT_EQ(rows, (std::vector<Json>{Json::parse(R"({"id": 1, "len": 2})"), Json::parse(R"({"id": 2, "len": 1})")}));
}

TEST(IterableDatasetTest, BufferShuffleIsSeededAndKeepsEveryRow) {
  TempDir dir;
  IterableDataset d = stream(dir, "a.txt", numbered_lines(50));
  auto a = d.shuffle(7, 10).to_rows(), b = d.shuffle(7, 10).to_rows(), c = d.shuffle(8, 10).to_rows();
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  std::set<std::string> seen;
  for (const auto& r : a) seen.insert(r["text"].get<std::string>());
  EXPECT_EQ(seen.size(), 50u);
}

TEST(IterableDatasetTest, BadLinesAndUnsupportedBuildersAreClearErrors) {
  TempDir dir;
  IterableDataset d = stream(dir, "bad.jsonl", "{\"a\": 1}\n{oops\n");
  EXPECT_THAT([&] { d.to_rows(); }, ThrowsMessage<InputError>(AllOf(HasSubstr("bad.jsonl:2"), HasSubstr("invalid JSON"))));
  LoadOptions by_document;
  by_document.sample_by = "document";
  EXPECT_THROW(stream(dir, "a.txt", "a\n", by_document), NotImplemented);
}

// CSV streams (datasets streams it through pandas, 10,000 records at a time): the same rows as the builder when the
// types agree, quoted newlines and missing values included, tabs for .tsv; short rows fill with nulls, long ones are
// errors naming the line.
TEST(IterableDatasetTest, CsvStreamsTheRowsTheBuilderLoads) {
  TempDir dir;
  const std::string csv =
      "id,flag,text,score\n1,true,\"hello, world\",0.5\n2,false,\"two\nlines\",\n\n3,true,\"\",1e3\n4,false\n";
  LoadOptions o;
  o.cache_dir = dir.file("cache");
  const std::vector<Json> streamed = stream(dir, "t.csv", csv, o).to_rows();
  o.data_files = {{"train", {dir.file("t.csv")}}};
  const Dataset loaded = load_dataset(o).at("train");
  ASSERT_EQ(streamed.size(), 4u);
  for (int64_t i = 0; i < loaded.num_rows(); ++i) EXPECT_EQ(streamed[static_cast<size_t>(i)], loaded.row(i)) << i;
  EXPECT_EQ(streamed[1], Json::parse(R"({"id": 2, "flag": false, "text": "two\nlines", "score": null})"));
  EXPECT_EQ(streamed[2], Json::parse(R"({"id": 3, "flag": true, "text": "", "score": 1000.0})"));
  EXPECT_EQ(streamed[3], Json::parse(R"({"id": 4, "flag": false, "text": null, "score": null})"));
  EXPECT_EQ(stream(dir, "t.tsv", "a\tb\n1\tx y\n").to_rows(), (std::vector<Json>{{{"a", 1}, {"b", "x y"}}}));
  IterableDataset wide = stream(dir, "wide.csv", "a,b\n1,2\n1,2,3\n");
  EXPECT_THAT([&] { wide.to_rows(); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("wide.csv:3"), HasSubstr("expected 2 fields, saw 3"))));
}

// Each chunk of 10,000 records is typed from its own values, as pandas types each chunk: a column of integers whose
// second chunk holds a word streams as integers, then as the strings written.
TEST(IterableDatasetTest, CsvChunksAreTypedOnTheirOwnAsPandasChunks) {
  TempDir dir;
  std::string csv = "n\n";
  for (int i = 0; i < 10000; ++i) csv += std::to_string(i) + "\n";
  csv += "10000\nword\n";
  const std::vector<Json> rows = stream(dir, "n.csv", csv).to_rows();
  ASSERT_EQ(rows.size(), 10002u);
  EXPECT_EQ(rows[9999], Json({{"n", 9999}}));
  EXPECT_EQ(rows[10000], Json({{"n", "10000"}}));
  EXPECT_EQ(rows[10001], Json({{"n", "word"}}));
}

}  // namespace
}  // namespace tcpp::datasets
