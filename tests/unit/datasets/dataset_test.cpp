// Dataset: access, index mappings, map with fingerprinted caches and num_proc, save/load_from_disk.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tcpp/core/error.h"
#include "tcpp/core/file.h"
#include "tcpp/core/lock.h"
#include "tcpp/core/logging.h"
#include "tcpp/core/progress.h"
#include "tcpp/datasets/arrow/ipc.h"
#include "tcpp/datasets/dataset.h"
#include "tcpp/datasets/load.h"
#include "test_util.h"

namespace tcpp::datasets {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;
using testing::TempDir;

// A disk-backed dataset of n rows: text "row i" and n = i, written as a stream file in batches of 4 rows.
Dataset numbered(const TempDir& dir, int n) {
  arrow::Table t;
  t.schema.fields = {arrow::field("text", arrow::utf8()), arrow::field("n", arrow::int64())};
  for (int start = 0; start < n; start += 4) {
    arrow::ArrayBuilder text(arrow::utf8()), num(arrow::int64());
    for (int i = start; i < std::min(n, start + 4); ++i) {
      text.append_string("row " + std::to_string(i));
      num.append_int(i);
    }
    arrow::RecordBatch b;
    b.num_rows = text.length();
    b.columns = {text.finish(), num.finish()};
    t.batches.push_back(std::move(b));
  }
  std::string path = dir.file("data.arrow");
  arrow::write_ipc_file(path, t);
  return Dataset::from_files({path});
}

std::vector<int64_t> ns(const Dataset& d) {
  std::vector<int64_t> out;
  for (const auto& v : d.column("n")) out.push_back(v.get<int64_t>());
  return out;
}

TEST(DatasetTest, RowsColumnsAndBatchesReadAcrossRecordBatches) {
  TempDir dir;
  Dataset d = numbered(dir, 10);
  EXPECT_EQ(d.num_rows(), 10);
  EXPECT_EQ(d.column_names(), (std::vector<std::string>{"text", "n"}));
  EXPECT_EQ(d.row(5), Json::parse(R"({"text": "row 5", "n": 5})"));
  EXPECT_EQ(d.row(-1)["n"], 9);
  Batch b = d.batch(3, 9);
  EXPECT_EQ(b.at("n").as<Column::Int64s>(), (std::vector<int64_t>{3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(b.at("text").as<Column::Strings>()[0], "row 3");
  std::vector<size_t> sizes;
  d.for_each_batch(4, [&](const Batch& batch) { sizes.push_back(batch.num_rows()); });
  EXPECT_EQ(sizes, (std::vector<size_t>{4, 4, 2}));
  EXPECT_THAT([&] { d.row(10); }, ThrowsMessage<InputError>(HasSubstr("out of range")));
  EXPECT_THAT([&] { d.batch(0, 2, {"nope"}); }, ThrowsMessage<InputError>(HasSubstr("\"nope\"")));
}

TEST(DatasetTest, RowsGathersArbitraryIndicesThroughTheMapping) {
  TempDir dir;
  Dataset d = numbered(dir, 10).select({9, 8, 7, 6, 5});
  Batch b = d.rows({4, 0, 2, 2});
  EXPECT_EQ(b.at("n").as<Column::Int64s>(), (std::vector<int64_t>{5, 9, 7, 7}));
  EXPECT_EQ(b.at("text").as<Column::Strings>()[1], "row 9");
  EXPECT_THAT([&] { d.rows({5}); }, ThrowsMessage<InputError>(HasSubstr("row index 5")));
}

TEST(DatasetTest, SelectShuffleAndSplitAreIndexMappings) {
  TempDir dir;
  Dataset d = numbered(dir, 10);
  EXPECT_EQ(ns(d.select({7, 2, 2})), (std::vector<int64_t>{7, 2, 2}));
  EXPECT_EQ(ns(d.select_range(2, 5)), (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(ns(d.select({9, 8, 7, 6}).select_range(1, 3)), (std::vector<int64_t>{8, 7}));
  Dataset s1 = d.shuffle(42), s2 = d.shuffle(42), s3 = d.shuffle(43);
  EXPECT_EQ(ns(s1), ns(s2));
  EXPECT_NE(ns(s1), ns(s3));
  std::vector<int64_t> perm = ns(s1);
  EXPECT_EQ(std::set<int64_t>(perm.begin(), perm.end()).size(), 10u);
  EXPECT_NE(s1.fingerprint(), d.fingerprint());
  EXPECT_EQ(s1.fingerprint(), s2.fingerprint());
  auto [train, test] = d.train_test_split(0.25, 1);
  EXPECT_EQ(test.num_rows(), 3);   // ceil(2.5)
  EXPECT_EQ(train.num_rows(), 7);  // floor(7.5)
  std::set<int64_t> all;
  for (auto v : ns(train)) all.insert(v);
  for (auto v : ns(test)) all.insert(v);
  EXPECT_EQ(all.size(), 10u);
  auto [plain_train, plain_test] = d.train_test_split(0.2, 0, /*shuffle=*/false);
  EXPECT_EQ(ns(plain_test), (std::vector<int64_t>{0, 1}));
  EXPECT_THAT([&] { d.select({10}); }, ThrowsMessage<InputError>(HasSubstr("index 10")));
}

TEST(DatasetTest, TakeSkipAndShardAreSlicesOrStrides) {
  TempDir dir;
  Dataset d = numbered(dir, 10);
  EXPECT_EQ(ns(d.take(3)), (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(ns(d.skip(8)), (std::vector<int64_t>{8, 9}));
  EXPECT_EQ(d.take(20).num_rows(), 10);
  EXPECT_EQ(d.skip(20).num_rows(), 0);
  // HF's contiguous shards of 10 rows in 3: 4, 3, 3.
  EXPECT_EQ(ns(d.shard(3, 0)), (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(ns(d.shard(3, 2)), (std::vector<int64_t>{7, 8, 9}));
  EXPECT_EQ(ns(d.shard(3, 1, /*contiguous=*/false)), (std::vector<int64_t>{1, 4, 7}));
  EXPECT_EQ(ns(d.select({9, 8, 7, 6}).shard(2, 1)), (std::vector<int64_t>{7, 6}));
  EXPECT_THAT([&] { d.shard(3, 3); }, ThrowsMessage<InputError>(HasSubstr("index 3 is outside [0, 3)")));
  EXPECT_THAT([&] { d.take(-1); }, ThrowsMessage<InputError>(HasSubstr("expected a count >= 0")));
}

TEST(DatasetTest, FilterKeepsFlaggedRowsInOrder) {
  TempDir dir;
  Dataset d = numbered(dir, 10);
  auto even = [](const Batch& b) {
    std::vector<bool> keep;
    for (auto v : b.at("n").as<Column::Int64s>()) keep.push_back(v % 2 == 0);
    return keep;
  };
  Dataset f = d.filter(even, "even", 3);
  EXPECT_EQ(ns(f), (std::vector<int64_t>{0, 2, 4, 6, 8}));
  EXPECT_EQ(f.fingerprint(), d.filter(even, "even", 3).fingerprint());
  EXPECT_THAT([&] { d.filter([](const Batch&) { return std::vector<bool>{true}; }, "bad", 4); },
              ThrowsMessage<InputError>(HasSubstr("1 flags for 4 rows")));
}

TEST(DatasetTest, RemoveAndRenameColumns) {
  TempDir dir;
  Dataset d = numbered(dir, 3).rename_column("n", "id").remove_columns({"text"});
  EXPECT_EQ(d.column_names(), std::vector<std::string>{"id"});
  EXPECT_EQ(d.row(2), Json::parse(R"({"id": 2})"));
  EXPECT_EQ(d.schema().fields[0].name, "id");
  EXPECT_THAT([&] { d.remove_columns({"text"}); }, ThrowsMessage<InputError>(HasSubstr("\"text\"")));
}

// A stand-in tokenizer: one id per character.
Batch fake_tokenize(const Batch& in) {
  Batch out;
  Column::Int32Lists ids, mask;
  for (const auto& s : in.at("text").as<Column::Strings>()) {
    std::vector<int32_t> row;
    for (unsigned char c : s) row.push_back(c);
    mask.emplace_back(row.size(), 1);
    ids.push_back(std::move(row));
  }
  out["input_ids"] = std::move(ids);
  out["attention_mask"] = std::move(mask);
  return out;
}

// run_clm's group_texts: concatenate, drop the remainder, cut into blocks, labels = input_ids.
Batch group_texts(const Batch& in, size_t block) {
  Batch out;
  for (const std::string name : {"input_ids", "attention_mask"}) {
    std::vector<int32_t> all;
    for (const auto& row : in.at(name).as<Column::Int32Lists>()) all.insert(all.end(), row.begin(), row.end());
    size_t total = all.size() / block * block;
    Column::Int32Lists blocks;
    for (size_t i = 0; i < total; i += block) blocks.emplace_back(all.begin() + i, all.begin() + i + block);
    out[name] = std::move(blocks);
  }
  out["labels"] = out.at("input_ids");
  return out;
}

TEST(DatasetMapTest, TokenizeThenGroupTextsProducesRunClmColumns) {
  TempDir dir;
  Dataset d = numbered(dir, 10);
  MapOptions tok;
  tok.batched = true;
  tok.remove_columns = {"text", "n"};
  tok.function_key = "fake_tokenize-v1";
  Dataset tokenized = d.map(fake_tokenize, tok);
  EXPECT_EQ(tokenized.column_names(), (std::vector<std::string>{"input_ids", "attention_mask"}));
  EXPECT_EQ(tokenized.schema().fields[0].type.to_string(), "list<item: int32>");
  EXPECT_EQ(tokenized.schema().fields[1].type.to_string(), "list<item: int8>");  // as datasets writes masks
  EXPECT_EQ(tokenized.row(0)["input_ids"], Json::parse("[114, 111, 119, 32, 48]"));  // "row 0"
  ASSERT_EQ(tokenized.cache_files().size(), 1u);
  EXPECT_EQ(fs::path(tokenized.cache_files()[0]).filename().string(), "cache-" + tokenized.fingerprint() + ".arrow");

  MapOptions grp;
  grp.batched = true;
  grp.function_key = "group_texts-block8";
  Dataset lm = tokenized.map([](const Batch& b) { return group_texts(b, 8); }, grp);
  EXPECT_EQ(lm.column_names(), (std::vector<std::string>{"input_ids", "attention_mask", "labels"}));
  EXPECT_EQ(lm.num_rows(), 50 / 8);  // 10 rows x 5 characters
  EXPECT_EQ(lm.row(1)["input_ids"], lm.row(1)["labels"]);
  EXPECT_EQ(lm.row(0)["attention_mask"], Json::parse("[1, 1, 1, 1, 1, 1, 1, 1]"));
  EXPECT_EQ(lm.schema().fields[1].type.to_string(), "list<item: int8>");
  EXPECT_EQ(lm.schema().fields[2].type.to_string(), "list<item: int32>");  // labels: no narrowing by name
  EXPECT_EQ(lm.batch(0, 2).at("attention_mask").as<Column::Int32Lists>()[1].to_vector(),
            (std::vector<int32_t>(8, 1)));
}

// The first batch fixes a mask column's type at int8; a later batch with a value int8 cannot hold fails the map
// with the column, the rows and the type named (datasets' writer cannot change its schema mid-file either).
TEST(DatasetMapTest, MaskValueOutsideInt8InALaterBatchIsAClearError) {
  TempDir dir;
  Dataset d = numbered(dir, 10);
  MapOptions opt;
  opt.batched = true;
  opt.batch_size = 4;
  opt.remove_columns = {"text", "n"};
  opt.function_key = "mask-overflow-v1";
  auto fn = [](const Batch& b) {
    Batch out;
    Column::Int32Lists mask;
    for (int64_t v : b.at("n").as<Column::Int64s>()) {
      const int32_t value = v < 8 ? 1 : 200;
      mask.append_row(&value, 1);
    }
    out["attention_mask"] = std::move(mask);
    return out;
  };
  EXPECT_THAT([&] { d.map(fn, opt); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("rows [8, 10)"), HasSubstr("attention_mask"),
                                              HasSubstr("200 is out of range for int8"))));
}

TEST(DatasetMapTest, SameFunctionKeyReusesTheCacheAndAnotherKeyDoesNot) {
  TempDir dir;
  Dataset d = numbered(dir, 6);
  std::atomic<int> calls{0};
  auto fn = [&](const Batch& b) {
    ++calls;
    Batch out;
    Column::Int64s doubled;
    for (auto v : b.at("n").as<Column::Int64s>()) doubled.push_back(2 * v);
    out["n2"] = std::move(doubled);
    return out;
  };
  MapOptions o;
  o.batched = true;
  o.function_key = "double-v1";
  Dataset a = d.map(fn, o);
  int after_first = calls;
  Dataset b = d.map(fn, o);
  EXPECT_EQ(calls, after_first) << "cache not reused";
  EXPECT_EQ(a.cache_files(), b.cache_files());
  EXPECT_EQ(b.column("n2"), (std::vector<Json>{0, 2, 4, 6, 8, 10}));
  EXPECT_EQ(b.column_names(), (std::vector<std::string>{"text", "n", "n2"}));
  o.function_key = "double-v2";
  Dataset c = d.map(fn, o);
  EXPECT_GT(calls, after_first);
  EXPECT_NE(c.cache_files(), a.cache_files());
  o.load_from_cache_file = false;
  int before = calls;
  d.map(fn, o);
  EXPECT_GT(calls, before);
}

TEST(DatasetMapTest, NumProcGivesTheSameRowsAndShardedCacheNames) {
  TempDir dir;
  Dataset d = numbered(dir, 11);
  MapOptions o;
  o.batched = true;
  o.batch_size = 3;
  o.function_key = "tokenize";
  o.remove_columns = {"text"};
  Dataset one = d.map(fake_tokenize, o);
  o.num_proc = 3;
  o.load_from_cache_file = false;
  Dataset three = d.map(fake_tokenize, o);
  ASSERT_EQ(three.cache_files().size(), 3u);
  EXPECT_THAT(three.cache_files()[1], HasSubstr("_00001_of_00003.arrow"));
  ASSERT_EQ(one.num_rows(), three.num_rows());
  for (int64_t i = 0; i < one.num_rows(); ++i) EXPECT_EQ(one.row(i), three.row(i)) << "row " << i;
  o.num_proc = 50;  // clamped to the number of batches (shards hold whole batches)
  EXPECT_EQ(d.map(fake_tokenize, o).cache_files().size(), 4u);
}

TEST(DatasetMapTest, BatchSensitiveFunctionGivesTheSameRowsForAnyNumProc) {
  TempDir dir;
  Dataset d = numbered(dir, 11);
  MapOptions o;
  o.batched = true;
  o.batch_size = 4;
  o.function_key = "first_of_batch";
  o.remove_columns = {"text", "n"};
  // Keeps one row per batch: the result depends on where batches start, as run_clm's group_texts does.
  auto first_of_batch = [](const Batch& b) {
    Batch out;
    out["first"] = Column::Strings{b.at("text").as<Column::Strings>()[0]};
    return out;
  };
  Dataset one = d.map(first_of_batch, o);
  o.num_proc = 2;
  o.load_from_cache_file = false;
  Dataset two = d.map(first_of_batch, o);
  ASSERT_EQ(one.num_rows(), 3);
  ASSERT_EQ(two.num_rows(), 3);
  for (int64_t i = 0; i < 3; ++i) EXPECT_EQ(one.row(i), two.row(i)) << "row " << i;
}

TEST(DatasetMapTest, UnbatchedMapSeesOneRowAtATime) {
  TempDir dir;
  Dataset d = numbered(dir, 5);
  MapOptions o;
  o.function_key = "len";
  Dataset m = d.map(
      [](const Batch& b) {
        EXPECT_EQ(b.num_rows(), 1u);
        Batch out;
        out["len"] = Column::Int64s{static_cast<int64_t>(b.at("text").as<Column::Strings>()[0].size())};
        return out;
      },
      o);
  EXPECT_EQ(m.column("len"), (std::vector<Json>{5, 5, 5, 5, 5}));
}

TEST(DatasetMapTest, ChangingRowCountWhileKeepingColumnsIsAnError) {
  TempDir dir;
  Dataset d = numbered(dir, 4);
  MapOptions o;
  o.batched = true;
  o.function_key = "halve";
  auto halve = [](const Batch&) {
    Batch out;
    out["x"] = Column::Int64s{1};
    return out;
  };
  EXPECT_THAT([&] { d.map(halve, o); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("rows [0, 4)"), HasSubstr("remove_columns"))));
  o.remove_columns = {"text", "n"};
  EXPECT_EQ(d.map(halve, o).num_rows(), 1);
  o.remove_columns = {"nope"};
  EXPECT_THAT([&] { d.map(halve, o); }, ThrowsMessage<InputError>(HasSubstr("\"nope\"")));
}

TEST(DatasetMapTest, FailedMapLeavesNoCacheFile) {
  TempDir dir;
  Dataset d = numbered(dir, 8);
  MapOptions o;
  o.batched = true;
  o.batch_size = 2;
  o.function_key = "fails";
  auto fn = [](const Batch& b) -> Batch {
    if (b.at("n").as<Column::Int64s>()[0] >= 4) throw InputError("boom");
    return Batch();
  };
  EXPECT_THROW(d.map(fn, o), InputError);
  for (const auto& e : fs::directory_iterator(dir.path())) EXPECT_EQ(e.path().filename(), "data.arrow");
}

// Map caches are not fsynced (as HF's): a set with a shard cut short, as a power loss can leave it, is computed
// again instead of being read.
TEST(DatasetMapTest, AnIncompleteCacheFileIsComputedAgain) {
  TempDir dir;
  Dataset d = numbered(dir, 11);
  MapOptions o;
  o.batched = true;
  o.batch_size = 3;
  o.num_proc = 2;
  o.function_key = "tokenize";
  o.remove_columns = {"text"};
  Dataset first = d.map(fake_tokenize, o);
  ASSERT_EQ(first.cache_files().size(), 2u);
  const std::string shard = first.cache_files()[1];
  const auto size = fs::file_size(shard);
  fs::resize_file(shard, size - 3);
  Dataset again = d.map(fake_tokenize, o);
  EXPECT_EQ(fs::file_size(shard), size) << "the cut shard was reused";
  ASSERT_EQ(again.num_rows(), first.num_rows());
  EXPECT_EQ(again.row(again.num_rows() - 1), first.row(first.num_rows() - 1));
}

TEST(DatasetMapTest, InMemoryDatasetsMapInMemory) {
  Batch b;
  b["text"] = Column::Strings{"ab", "c"};
  Dataset d = Dataset::from_batch(b);
  MapOptions o;
  o.batched = true;
  o.function_key = "tok";
  Dataset m = d.map(fake_tokenize, o);
  EXPECT_TRUE(m.cache_files().empty());
  EXPECT_EQ(m.row(0)["input_ids"], Json::parse("[97, 98]"));
}

// HF's map is decorated with transmit_format: the result keeps the format type, removed columns leave the
// formatted list, columns the map adds are formatted, and columns the parent left unformatted stay so.
TEST(DatasetMapTest, MapKeepsTheFormatOfItsDataset) {
  TempDir dir;
  Dataset d = numbered(dir, 6);
  MapOptions o;
  o.batched = true;
  o.function_key = "fake_tokenize-v1";
  o.remove_columns = {"text"};
  // All columns formatted: so are the result's.
  Dataset all = d.with_format("torch").map(fake_tokenize, o);
  EXPECT_EQ(all.format_type(), "torch");
  EXPECT_TRUE(all.format_columns().empty());
  EXPECT_FALSE(all.output_all_columns());
  // Listed columns: "text" is removed, "n" was unformatted and stays unformatted, the new columns are formatted.
  Dataset listed = d.with_format("torch", {"text"}, /*output_all_columns=*/true).map(fake_tokenize, o);
  EXPECT_EQ(listed.column_names(), (std::vector<std::string>{"n", "input_ids", "attention_mask"}));
  EXPECT_EQ(listed.format_type(), "torch");
  EXPECT_EQ(listed.format_columns(), (std::vector<std::string>{"attention_mask", "input_ids"}));
  EXPECT_TRUE(listed.output_all_columns());
  // A cached result (the second map is a cache hit) gets the format too, and keeps the map's fingerprint.
  const Dataset both = d.with_format("torch", {"text", "n"});
  Dataset first = both.map(fake_tokenize, o);
  Dataset again = both.map(fake_tokenize, o);
  ASSERT_EQ(again.cache_files(), first.cache_files());
  EXPECT_EQ(again.fingerprint(), first.fingerprint());
  EXPECT_EQ(again.format_columns(), (std::vector<std::string>{"attention_mask", "input_ids", "n"}));
  EXPECT_EQ(first.format_columns(), again.format_columns());
  // No format in, none out; num_proc shards and in-memory results alike.
  EXPECT_EQ(d.map(fake_tokenize, o).format_type(), "");
  o.num_proc = 2;
  o.load_from_cache_file = false;
  EXPECT_EQ(d.with_format("torch", {"n"}).map(fake_tokenize, o).format_columns(),
            (std::vector<std::string>{"attention_mask", "input_ids", "n"}));
  Batch b;
  b["text"] = Column::Strings{"ab", "c"};
  Dataset mem = Dataset::from_batch(b).with_format("torch").map(fake_tokenize, o);
  EXPECT_TRUE(mem.cache_files().empty());
  EXPECT_EQ(mem.format_type(), "torch");
}

TEST(DatasetSaveTest, SaveToDiskWritesHfLayoutAndLoadsBack) {
  TempDir dir;
  Dataset d = numbered(dir, 10).shuffle(3);
  std::string out = dir.file("saved");
  d.save_to_disk(out, 2);
  EXPECT_TRUE(fs::exists(out + "/data-00000-of-00002.arrow"));
  EXPECT_TRUE(fs::exists(out + "/data-00001-of-00002.arrow"));
  Json state = read_json_file(out + "/state.json");
  EXPECT_EQ(state["_data_files"], Json::parse(R"([{"filename": "data-00000-of-00002.arrow"}, {"filename": "data-00001-of-00002.arrow"}])"));
  EXPECT_EQ(state["_fingerprint"], d.fingerprint());
  EXPECT_EQ(state["_format_type"], nullptr);
  EXPECT_EQ(read_file(out + "/state.json").substr(0, 20), "{\n  \"_data_files\": [");
  Json info = read_json_file(out + "/dataset_info.json");
  EXPECT_EQ(info["features"], Json::parse(R"({"text": {"dtype": "string", "_type": "Value"}, "n": {"dtype": "int64", "_type": "Value"}})"));
  Dataset back = Dataset::load_from_disk(out);
  EXPECT_EQ(back.fingerprint(), d.fingerprint());
  EXPECT_EQ(ns(back), ns(d));
  arrow::IpcFormat format;
  arrow::read_ipc_file(out + "/data-00000-of-00002.arrow", &format);
  EXPECT_EQ(format, arrow::IpcFormat::kStream);
}

TEST(DatasetSaveTest, ListFeaturesAndDatasetDictRoundTrip) {
  TempDir dir;
  Batch b;
  b["input_ids"] = Column::Int32Lists{{1, 2}, {3}};
  DatasetDict dd{{"train", Dataset::from_batch(b)}, {"validation", Dataset::from_batch(b).select({1})}};
  save_to_disk(dd, dir.file("dd"));
  EXPECT_EQ(read_json_file(dir.file("dd/dataset_dict.json")), Json::parse(R"({"splits": ["train", "validation"]})"));
  EXPECT_EQ(read_json_file(dir.file("dd/train/dataset_info.json"))["features"],
            Json::parse(R"({"input_ids": {"feature": {"dtype": "int32", "_type": "Value"}, "_type": "List"}})"));
  DatasetDict back = load_dataset_dict_from_disk(dir.file("dd"));
  EXPECT_EQ(back.at("validation").row(0), Json::parse(R"({"input_ids": [3]})"));
  EXPECT_THAT([&] { Dataset::load_from_disk(dir.file("dd")); },
              ThrowsMessage<InputError>(HasSubstr("DatasetDict")));
}

TEST(DatasetSaveTest, LoadFromDiskErrorsNameTheFolder) {
  TempDir dir;
  EXPECT_THAT([&] { Dataset::load_from_disk(dir.file("none")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("none"), HasSubstr("state.json"))));
  fs::create_directories(dir.file("bad"));
  std::ofstream(dir.file("bad/state.json")) << R"({"_data_files": [{"filename": "../x.arrow"}]})";
  EXPECT_THAT([&] { Dataset::load_from_disk(dir.file("bad")); }, ThrowsMessage<InputError>(HasSubstr("state.json")));
}

// Integer list columns come out of batch() as int32 lists (int8/16/32, uint8/16 items) or int64 lists (int64,
// uint32 items), values copied straight when the widths match and converted one by one when they do not, across
// record batches and with empty lists.
TEST(DatasetAccessTest, IntegerListColumnsReadBackAsTypedLists) {
  TempDir dir;
  arrow::Table t;
  for (const auto& [name, item] : std::vector<std::pair<std::string, arrow::DataType>>{
           {"i32", arrow::int32()}, {"i64", arrow::int64()}, {"i16", arrow::int16()}, {"u32", arrow::uint32()}})
    t.schema.fields.push_back(arrow::field(name, arrow::list(item)));
  std::vector<std::vector<int64_t>> rows;
  for (int start = 0; start < 7; start += 3) {
    arrow::RecordBatch b;
    std::vector<arrow::ArrayBuilder> builders;
    for (const auto& f : t.schema.fields) builders.emplace_back(f.type);
    for (int r = start; r < std::min(7, start + 3); ++r) {
      std::vector<int64_t> row;
      for (int k = 0; k < (r * 5) % 4; ++k) row.push_back(r * 100 + k);  // 0, 1, 2 or 3 values
      rows.push_back(row);
      for (auto& builder : builders) {
        for (int64_t v : row) builder.child(0).append_int(v);
        builder.close_list();
      }
    }
    b.num_rows = builders[0].length();
    for (auto& builder : builders) b.columns.push_back(builder.finish());
    t.batches.push_back(std::move(b));
  }
  arrow::write_ipc_file(dir.file("lists.arrow"), t);
  for (const Dataset& d : {Dataset::from_tables({t}), Dataset::from_files({dir.file("lists.arrow")})}) {
    Batch b = d.batch(1, 7);
    for (const char* name : {"i32", "i16"}) {
      const auto& lists = b.at(name).as<Column::Int32Lists>();
      ASSERT_EQ(lists.size(), 6u) << name;
      for (size_t i = 0; i < lists.size(); ++i)
        EXPECT_EQ(std::vector<int64_t>(lists[i].begin(), lists[i].end()), rows[i + 1]) << name << " row " << i + 1;
    }
    for (const char* name : {"i64", "u32"}) {
      const auto& lists = b.at(name).as<Column::Int64Lists>();
      ASSERT_EQ(lists.size(), 6u) << name;
      for (size_t i = 0; i < lists.size(); ++i) EXPECT_EQ(lists[i], rows[i + 1]) << name << " row " << i + 1;
    }
  }
}

// The files of a folder open in parallel (one thread per core): the rows come in file order, and a broken folder
// reports the first broken file in that order, as opening them one after the other would.
TEST(DatasetSaveTest, ShardsOpenInParallelInFileOrderWithTheFirstErrorReported) {
  TempDir dir;
  Dataset d = numbered(dir, 40);
  d.save_to_disk(dir.file("s"), 5);
  Dataset back = Dataset::load_from_disk(dir.file("s"));
  EXPECT_EQ(back.num_rows(), 40);
  for (int64_t i = 0; i < 40; ++i) EXPECT_EQ(back.row(i)["n"], i);
  for (int shard : {3, 1}) {  // shard 3, then shards 1 and 3, broken: the error names the first broken one
    char name[64];
    std::snprintf(name, sizeof name, "s/data-%05d-of-00005.arrow", shard);
    std::ofstream(dir.file(name), std::ios::binary | std::ios::trunc) << "not arrow";
    EXPECT_THAT([&] { Dataset::load_from_disk(dir.file("s")); },
                ThrowsMessage<InputError>(HasSubstr(std::string(name).substr(2)))) << shard;
  }
}

TEST(DatasetSaveTest, SavingOverItsOwnSourceIsRefused) {
  TempDir dir;
  Dataset d = numbered(dir, 3);
  d.save_to_disk(dir.file("s"));
  Dataset loaded = Dataset::load_from_disk(dir.file("s"));
  EXPECT_THAT([&] { loaded.save_to_disk(dir.file("s")); }, ThrowsMessage<InputError>(HasSubstr("folder it is read from")));
}

// Rows 0..n-1 in memory (n = i, text "m i").
Dataset in_memory(int n) {
  Batch b;
  Column::Strings text;
  Column::Int64s num;
  for (int i = 0; i < n; ++i) {
    text.push_back("m " + std::to_string(i));
    num.push_back(i);
  }
  b["text"] = text;
  b["n"] = num;
  return Dataset::from_batch(b);
}

std::set<std::string> names_in(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
  return out;
}

// concatenate_datasets: the rows of each in turn, through each one's selection; zero-copy (mapped batches stay
// mapped: the files are the cache files); in-memory and mapped datasets mix; another column order is aligned to the
// first's; other columns are refused naming the dataset.
TEST(DatasetTest, ConcatenateDatasetsKeepsEachOnesRowsInTurn) {
  TempDir a_dir, b_dir;
  Dataset a = numbered(a_dir, 6), b = numbered(b_dir, 5);
  Dataset ab = concatenate_datasets({a, b});
  EXPECT_EQ(ns(ab), (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4}));
  EXPECT_EQ(ab.cache_files(), (std::vector<std::string>{a_dir.file("data.arrow"), b_dir.file("data.arrow")}));
  EXPECT_EQ(ab.row(7), Json::parse(R"({"text": "row 1", "n": 1})"));
  EXPECT_EQ(ab.fingerprint(), concatenate_datasets({a, b}).fingerprint());
  EXPECT_NE(ab.fingerprint(), concatenate_datasets({b, a}).fingerprint());

  Dataset views = concatenate_datasets({a.select({5, 0}), b.shuffle(3).select_range(0, 2), a.select_range(2, 4)});
  const auto shuffled = ns(b.shuffle(3));
  EXPECT_EQ(ns(views), (std::vector<int64_t>{5, 0, shuffled[0], shuffled[1], 2, 3}));
  EXPECT_EQ(views.cache_files().size(), 3u);  // a's file twice: zero-copy still

  Dataset mixed = concatenate_datasets({in_memory(2), a.select_range(0, 2), in_memory(1)});
  EXPECT_EQ(mixed.column("text"),
            (std::vector<Json>{"m 0", "m 1", "row 0", "row 1", "m 0"}));
  EXPECT_EQ(mixed.schema().fields[0].type, arrow::utf8());

  // b with its columns in another order (and renamed there and back): aligned to a's order, the same values.
  Dataset reordered = b.rename_column("text", "t").remove_columns({"t"});
  Batch texts;
  texts["text"] = Column::Strings{"x", "y"};
  texts["n"] = Column::Int64s{10, 11};
  Batch swapped;
  swapped["n"] = Column::Int64s{20};
  swapped["text"] = Column::Strings{"z"};
  Dataset aligned = concatenate_datasets({Dataset::from_batch(texts), Dataset::from_batch(swapped), a.select({4})});
  EXPECT_EQ(aligned.column_names(), (std::vector<std::string>{"text", "n"}));
  EXPECT_EQ(ns(aligned), (std::vector<int64_t>{10, 11, 20, 4}));
  EXPECT_EQ(aligned.row(2), Json::parse(R"({"text": "z", "n": 20})"));

  // Files storing the columns in another order, or more columns, or under other names, stay mapped: read in
  // place through column maps, which compose when a concatenation is concatenated again.
  TempDir c_dir;
  Batch c_rows;
  c_rows["n"] = Column::Int64s{30, 31, 32};
  c_rows["extra"] = Column::Strings{"e0", "e1", "e2"};
  c_rows["label"] = Column::Strings{"c 30", "c 31", "c 32"};
  Dataset::from_batch(c_rows).save_to_disk(c_dir.file("c"));
  const Dataset c = Dataset::load_from_disk(c_dir.file("c")).remove_columns({"extra"}).rename_column("label", "text");
  ASSERT_EQ(c.column_names(), (std::vector<std::string>{"n", "text"}));
  Dataset ac = concatenate_datasets({a.select_range(4, 6), c, b.select({1})});
  EXPECT_EQ(ac.column_names(), (std::vector<std::string>{"text", "n"}));
  EXPECT_EQ(ac.cache_files().size(), 3u);  // no copy in memory
  EXPECT_EQ(ns(ac), (std::vector<int64_t>{4, 5, 30, 31, 32, 1}));
  EXPECT_EQ(ac.column("text"), (std::vector<Json>{"row 4", "row 5", "c 30", "c 31", "c 32", "row 1"}));
  EXPECT_EQ(ac.row(3), Json::parse(R"({"text": "c 31", "n": 31})"));
  const Batch across = ac.batch(1, 4);  // one run per batch, each read through its own map
  EXPECT_EQ(across.at("text").as<Column::Strings>(), (std::vector<std::string>{"row 5", "c 30", "c 31"}));
  Dataset cac = concatenate_datasets({c.select({2}), ac.select({3, 0})});
  EXPECT_EQ(cac.column_names(), (std::vector<std::string>{"n", "text"}));
  EXPECT_EQ(cac.column("text"), (std::vector<Json>{"c 32", "c 31", "row 4"}));
  EXPECT_EQ(ns(cac), (std::vector<int64_t>{32, 31, 4}));
  TempDir ac_saved;
  ac.save_to_disk(ac_saved.file("ac"));
  const Dataset ac_back = Dataset::load_from_disk(ac_saved.file("ac"));
  EXPECT_EQ(ac_back.column_names(), ac.column_names());
  EXPECT_EQ(ac_back.column("text"), ac.column("text"));

  // The result maps, saves and loads as any dataset.
  TempDir saved;
  ab.save_to_disk(saved.file("ds"));
  EXPECT_EQ(ns(Dataset::load_from_disk(saved.file("ds"))), ns(ab));
  Dataset doubled = ab.map([](const Batch& in) {
    Batch out;
    Column::Int64s twice;
    for (auto v : in.at("n").as<Column::Int64s>()) twice.push_back(2 * v);
    out["twice"] = twice;
    return out;
  }, [] {
    MapOptions o;
    o.batched = true;
    o.function_key = "twice";
    return o;
  }());
  EXPECT_EQ(doubled.column("twice").back(), Json(8));

  EXPECT_THAT([&] { concatenate_datasets({a, reordered}); },
              ThrowsMessage<InputError>(HasSubstr("dataset 1 has the columns")));
  EXPECT_THAT([&] { concatenate_datasets({}); }, ThrowsMessage<InputError>(HasSubstr("needs at least one dataset")));
}

// sort: by columns in turn, stable, each ascending or descending; nulls then NaNs last or first whatever the
// direction; an index mapping over the selection it sorts; columns without an order refused by name.
TEST(DatasetTest, SortOrdersByColumnsStablyWithNullsAndNansPlaced) {
  Batch b;
  b["group"] = Column::Strings{"b", "a", "b", "a", "c", "a"};
  b["n"] = Column::Int64s{1, 2, 3, 4, 5, 6};
  b["x"] = Column::Jsons{Json(0.5), Json(nullptr), Json(std::nan("")), Json(-1.0), Json(2.0), Json(0.5)};
  b["ids"] = Column::Int32Lists{{1}, {2}, {3}, {4}, {5}, {6}};
  const Dataset d = Dataset::from_batch(b);
  EXPECT_EQ(ns(d.sort({"group"})), (std::vector<int64_t>{2, 4, 6, 1, 3, 5}));  // stable within a group
  EXPECT_EQ(ns(d.sort({"group", "n"}, {false, true})), (std::vector<int64_t>{6, 4, 2, 3, 1, 5}));
  EXPECT_EQ(ns(d.sort({"n"}, {true})), (std::vector<int64_t>{6, 5, 4, 3, 2, 1}));
  EXPECT_EQ(ns(d.sort({"x"})), (std::vector<int64_t>{4, 1, 6, 5, 3, 2}));        // -1, 0.5, 0.5, 2, NaN, null
  EXPECT_EQ(ns(d.sort({"x"}, {true})), (std::vector<int64_t>{5, 1, 6, 4, 3, 2}));  // NaN, null stay last
  EXPECT_EQ(ns(d.sort({"x"}, {}, "at_start")), (std::vector<int64_t>{2, 3, 4, 1, 6, 5}));
  EXPECT_EQ(d.sort({"x"}, {}, "first").fingerprint(), d.sort({"x"}, {}, "at_start").fingerprint());  // HF's alias
  EXPECT_EQ(ns(d.select({4, 0, 2}).sort({"n"})), (std::vector<int64_t>{1, 3, 5}));
  EXPECT_EQ(d.sort({"n"}).fingerprint(), d.sort({"n"}).fingerprint());
  EXPECT_NE(d.sort({"n"}).fingerprint(), d.sort({"n"}, {true}).fingerprint());
  EXPECT_THAT([&] { d.sort({"ids"}); }, ThrowsMessage<InputError>(HasSubstr("column \"ids\" holds list")));
  EXPECT_THAT([&] { d.sort({"nope"}); }, ThrowsMessage<InputError>(HasSubstr("no column \"nope\"")));
  EXPECT_THAT([&] { d.sort({"n"}, {}, "middle"); }, ThrowsMessage<InputError>(HasSubstr("null_placement")));
}

// A save over an earlier save replaces it whole (its extra shards go); a killed save's staging folder goes; no lock
// file or staging folder stays behind.
TEST(DatasetSaveTest, SavingOverAnEarlierSaveReplacesItWhole) {
  TempDir dir;
  numbered(dir, 10).save_to_disk(dir.file("s"), 3);
  fs::create_directory(dir.file(".s.tcpp-saving-4242-7"));  // left by a save that was killed
  in_memory(4).save_to_disk(dir.file("s"));
  EXPECT_EQ(names_in(dir.file("s")),
            (std::set<std::string>{"data-00000-of-00001.arrow", "dataset_info.json", "state.json"}));
  EXPECT_EQ(names_in(dir.path()), (std::set<std::string>{"data.arrow", "s"}));
  Dataset back = Dataset::load_from_disk(dir.file("s"));
  ASSERT_EQ(back.num_rows(), 4);
  EXPECT_EQ(back.row(3)["text"], "m 3");
}

// A folder holding other files too keeps them (as HF's save_to_disk does); the earlier save's shards and state go.
TEST(DatasetSaveTest, SavingIntoAFolderWithOtherFilesKeepsThem) {
  TempDir dir;
  numbered(dir, 10).save_to_disk(dir.file("s"), 3);
  std::ofstream(dir.file("s/README.md")) << "notes";
  in_memory(4).save_to_disk(dir.file("s"), 2);
  EXPECT_EQ(names_in(dir.file("s")), (std::set<std::string>{"README.md", "data-00000-of-00002.arrow",
                                                            "data-00001-of-00002.arrow", "dataset_info.json",
                                                            "state.json"}));
  EXPECT_EQ(read_file(dir.file("s/README.md")), "notes");
  EXPECT_EQ(Dataset::load_from_disk(dir.file("s")).num_rows(), 4);
}

// A save that fails part-way (here: a file-size limit, as a full disk would), after its first shard was written,
// leaves the earlier save as it was and no staging folder, and says which file could not be written.
TEST(DatasetSaveTest, AFailedSaveLeavesTheEarlierSaveIntact) {
  TempDir dir;
  in_memory(3).save_to_disk(dir.file("s"), 2);
  const std::string before = read_file(dir.file("s/data-00000-of-00002.arrow"));
  const std::string message = dir.file("message.txt");
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::signal(SIGXFSZ, SIG_IGN);  // a write past the limit then fails with EFBIG instead of killing the process
    rlimit limit{64 * 1024, 64 * 1024};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    try {
      Batch b;  // a small first shard, a second one past the limit
      Column::Strings text;
      for (int i = 0; i < 2000; ++i) text.push_back(std::string(i < 1000 ? 10 : 1000, 'x'));
      b["text"] = text;
      Dataset::from_batch(b).save_to_disk(dir.file("s"), 2);
    } catch (const InputError& e) {
      std::ofstream(message) << e.what();
      ::_exit(3);
    } catch (...) {
      ::_exit(4);
    }
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  ASSERT_EQ(WEXITSTATUS(status), 3);
  EXPECT_THAT(read_file(message), AllOf(HasSubstr(dir.file("s/data-00001-of-00002.arrow: ")), HasSubstr("File too large"),
                                        HasSubstr("(save_to_disk abandoned: " + dir.file("s") + " was left as it was)")));
  EXPECT_TRUE(read_file(dir.file("s/data-00000-of-00002.arrow")) == before) << "the earlier save's first shard changed";
  EXPECT_EQ(Dataset::load_from_disk(dir.file("s")).num_rows(), 3);
  EXPECT_EQ(names_in(dir.path()), (std::set<std::string>{"message.txt", "s"}));
}

// Two saves into one folder at once: the second is refused with a message naming the holder.
TEST(DatasetSaveTest, ASecondSaveIntoAFolderInUseIsRefused) {
  TempDir dir;
  auto held = DirectoryLock::acquire(dir.file("s"), "test");  // as another process's save would hold it
  EXPECT_THAT([&] { in_memory(3).save_to_disk(dir.file("s")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("save_to_disk: " + dir.file("s") + " is in use by another process (pid "),
                                              HasSubstr("wait for it to finish, or save elsewhere"))));
  EXPECT_THAT([&] { save_to_disk(DatasetDict{{"train", in_memory(3)}}, dir.file("s")); },
              ThrowsMessage<InputError>(HasSubstr("is in use by another process")));
}

TEST(DatasetSaveTest, ADatasetDictOverAnEarlierOneIsReplacedWhole) {
  TempDir dir;
  save_to_disk(DatasetDict{{"train", in_memory(5)}, {"validation", in_memory(2)}}, dir.file("dd"));
  save_to_disk(DatasetDict{{"train", in_memory(3)}}, dir.file("dd"));
  EXPECT_EQ(names_in(dir.file("dd")), (std::set<std::string>{"dataset_dict.json", "train"}));
  DatasetDict back = load_dataset_dict_from_disk(dir.file("dd"));
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back.at("train").num_rows(), 3);
}

// ---- progress and debug logging (issue #11) ----

// Run fn with progress as plain lines (a log, not a terminal) and every log line captured; returns stderr.
std::string progress_lines_of(const std::function<void()>& fn, std::vector<std::string>* logs = nullptr) {
  set_progress_style(ProgressStyle::kLines);
  const LogLevel level = log_level();
  set_log_level(LogLevel::kDebug);
  if (logs) set_log_sink([logs](LogLevel, const std::string& m) { logs->push_back(m); });
  ::testing::internal::CaptureStderr();
  try {
    fn();
  } catch (...) {
    ::testing::internal::GetCapturedStderr();
    set_log_sink(nullptr);
    set_log_level(level);
    set_progress_style(ProgressStyle::kAuto);
    throw;
  }
  std::string err = ::testing::internal::GetCapturedStderr();
  set_log_sink(nullptr);
  set_log_level(level);
  set_progress_style(ProgressStyle::kAuto);
  return err;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

TEST(DatasetProgressTest, MapShowsRowsRateAndShardsDone) {
  TempDir dir;
  Dataset d = numbered(dir, 40);
  MapOptions o;
  o.batched = true;
  o.batch_size = 4;
  o.num_proc = 2;
  o.function_key = "double";
  auto fn = [](const Batch& b) {
    Batch out;
    Column::Int64s v;
    for (int64_t x : b.at("n").as<Column::Int64s>()) v.push_back(2 * x);
    out["n2"] = std::move(v);
    return out;
  };
  std::vector<std::string> logs;
  const std::string err = progress_lines_of([&] { d.map(fn, o); }, &logs);
  EXPECT_THAT(err, HasSubstr("Map (num_proc=2): 100% 40/40 examples"));
  EXPECT_THAT(err, HasSubstr("examples/s"));
  EXPECT_THAT(err, HasSubstr("shards 2/2 done"));
  // Debug logging names the fingerprints, the miss and the files written.
  EXPECT_THAT(joined(logs), HasSubstr("map: cache miss for fingerprint "));
  EXPECT_THAT(joined(logs), HasSubstr("cache-"));
  EXPECT_THAT(joined(logs), HasSubstr("map: shard 1/2 rows [20, 40) done in "));

  // The second map is a cache hit: no bar, and the debug log says so with the fingerprint.
  logs.clear();
  const std::string again = progress_lines_of([&] { d.map(fn, o); }, &logs);
  EXPECT_THAT(again, ::testing::Not(HasSubstr("Map")));
  EXPECT_THAT(joined(logs), HasSubstr("map: cache hit for fingerprint "));
}

TEST(DatasetProgressTest, LoadDatasetConversionCountsTheRowsWritten) {
  TempDir dir;
  {
    std::ofstream f(dir.file("a.txt"));
    for (int i = 0; i < 2500; ++i) f << "line " << i << "\n";
  }
  LoadOptions o;
  o.data_files = {{"train", {dir.file("a.txt")}}};
  o.cache_dir = dir.file("cache");
  std::vector<std::string> logs;
  const std::string err = progress_lines_of([&] { load_dataset(o); }, &logs);
  EXPECT_THAT(err, HasSubstr("Generating train split: 2500 examples"));
  EXPECT_THAT(joined(logs), HasSubstr("load_dataset: cache miss for text/default-"));
  logs.clear();
  const std::string again = progress_lines_of([&] { load_dataset(o); }, &logs);
  EXPECT_THAT(again, ::testing::Not(HasSubstr("Generating")));
  EXPECT_THAT(joined(logs), HasSubstr("load_dataset: cache hit for text/default-"));
}

}  // namespace
}  // namespace tcpp::datasets
