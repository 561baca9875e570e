// Column's flat integer lists (IntLists: one values buffer + offsets) and their round trips through Arrow arrays,
// builders and Dataset batches.
#include "tcpp/datasets/column.h"

#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tcpp/core/error.h"
#include "tcpp/core/file.h"
#include "tcpp/datasets/arrow/ipc.h"
#include "tcpp/datasets/dataset.h"
#include "test_util.h"

namespace tcpp::datasets {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;
using testing::TempDir;

std::vector<std::vector<int64_t>> nested(const Column::Int64Lists& lists) {
  std::vector<std::vector<int64_t>> out;
  for (const auto& row : lists) out.push_back(row.to_vector());
  return out;
}

TEST(IntListsTest, RowsAreViewsOfOneFlatBuffer) {
  Column::Int32Lists l{{1, 2, 3}, {}, {4}};
  ASSERT_EQ(l.size(), 3u);
  EXPECT_EQ(l.values(), (std::vector<int32_t>{1, 2, 3, 4}));
  EXPECT_EQ(l.offsets(), (std::vector<int64_t>{0, 3, 3, 4}));
  EXPECT_EQ(l[0], (std::vector<int32_t>{1, 2, 3}));
  EXPECT_TRUE(l[1].empty());
  EXPECT_EQ(l.at(2).to_vector(), (std::vector<int32_t>{4}));
  EXPECT_THROW(l.at(3), std::out_of_range);
  std::vector<std::vector<int32_t>> rows(l.begin(), l.end());  // rows convert through their iterators
  EXPECT_EQ(rows, (std::vector<std::vector<int32_t>>{{1, 2, 3}, {}, {4}}));
  EXPECT_EQ(Column::Int32Lists(rows), l);
  std::ostringstream os;
  os << l;
  EXPECT_EQ(os.str(), "[[1, 2, 3], [], [4]]");
}

TEST(IntListsTest, AppendingRowsConvertsAndKeepsOffsets) {
  Column::Int64Lists l;
  EXPECT_TRUE(l.empty());
  const uint32_t ids[] = {7, 4000000000u};
  l.append_row(ids, 2);  // widened
  l.push_back(std::vector<int64_t>{});
  l.emplace_back(3, int64_t{9});  // as std::vector<int64_t>(3, 9)
  EXPECT_EQ(nested(l), (std::vector<std::vector<int64_t>>{{7, 4000000000}, {}, {9, 9, 9}}));
  l.push_back(l[0]);  // a row of the same lists, whose buffer grows while it is copied
  EXPECT_EQ(l[3], (std::vector<int64_t>{7, 4000000000}));
  l.append(l);  // appending the lists to themselves
  EXPECT_EQ(l.size(), 8u);
  EXPECT_EQ(l[7], l[3]);
  EXPECT_EQ(l.offsets().back(), static_cast<int64_t>(l.values().size()));
  l.clear();
  EXPECT_EQ(l, Column::Int64Lists{});
}

TEST(IntListsTest, ListsMovedFromAreEmptyAndUsable) {
  Column::Int32Lists a{{1}, {2, 3}};
  Column::Int32Lists b = std::move(a);
  EXPECT_EQ(b.size(), 2u);
  EXPECT_EQ(a.size(), 0u);  // NOLINT(bugprone-use-after-move): valid but unspecified, and must stay usable
  EXPECT_EQ(a, Column::Int32Lists{});
  a.push_back(std::vector<int32_t>{5});
  EXPECT_EQ(a, (Column::Int32Lists{{5}}));
}

// Copies and regrouped() share the values buffer; the first change to shared values copies them, so no other
// lists see it.
TEST(IntListsTest, CopiesShareTheValuesUntilChanged) {
  Column::Int32Lists a{{1, 2}, {3, 4, 5}};
  Column::Int32Lists b = a;
  EXPECT_EQ(b.values().data(), a.values().data());
  b.push_back(std::vector<int32_t>{6});
  EXPECT_NE(b.values().data(), a.values().data());
  EXPECT_EQ(a, (Column::Int32Lists{{1, 2}, {3, 4, 5}}));
  EXPECT_EQ(b, (Column::Int32Lists{{1, 2}, {3, 4, 5}, {6}}));

  Column::Int32Lists pairs = a.regrouped({0, 2, 4});  // the first 4 values in rows of 2
  EXPECT_EQ(pairs, (Column::Int32Lists{{1, 2}, {3, 4}}));
  EXPECT_EQ(pairs.values().data(), a.values().data());
  EXPECT_EQ(pairs.values().size(), 4u);
  pairs.push_back(std::vector<int32_t>{9});  // copies the 4 values it uses, not the 5th
  EXPECT_EQ(pairs, (Column::Int32Lists{{1, 2}, {3, 4}, {9}}));
  EXPECT_EQ(a, (Column::Int32Lists{{1, 2}, {3, 4, 5}}));
  EXPECT_THAT([&] { a.regrouped({0, 6}); }, ThrowsMessage<InputError>(HasSubstr("last offset (6) must be at most the number of values (5)")));
  EXPECT_THAT([&] { a.regrouped({1, 2}); }, ThrowsMessage<InputError>(HasSubstr("start at 0")));

  Column::Int32Lists empty;
  empty.append(a);  // an empty list takes the other's values without copying
  EXPECT_EQ(empty.values().data(), a.values().data());
  EXPECT_EQ(empty, a);
}

// borrow() reads values owned elsewhere without copying them, keeps their owner alive, and copies them on the
// first change (the owner's values stay as they were).
TEST(IntListsTest, BorrowedValuesAreKeptAliveAndCopiedOnChange) {
  auto owner = std::make_shared<std::vector<int64_t>>(std::vector<int64_t>{10, 11, 12, 13});
  const int64_t* p = owner->data();
  auto l = Column::Int64Lists::borrow(owner, p + 1, {0, 1, 3});
  std::weak_ptr<std::vector<int64_t>> watch = owner;
  owner.reset();
  ASSERT_FALSE(watch.expired());  // the lists keep it
  EXPECT_EQ(l.values().data(), p + 1);
  EXPECT_EQ(nested(l), (std::vector<std::vector<int64_t>>{{11}, {12, 13}}));
  l.push_back(std::vector<int64_t>{14});
  EXPECT_TRUE(watch.expired());  // copied, so the owner is let go
  EXPECT_EQ(nested(l), (std::vector<std::vector<int64_t>>{{11}, {12, 13}, {14}}));
  EXPECT_THAT([&] { Column::Int64Lists::borrow(nullptr, p, {0, 2, 1}); }, ThrowsMessage<InputError>(HasSubstr("offset 2 (1) is below")));
}

// Dataset::batch borrows a mapped file's list values: the batch stays valid after the dataset (and its mapping's
// other owners) are gone.
TEST(IntListsTest, BatchesBorrowingAMappedFileOutliveTheDataset) {
  TempDir dir;
  arrow::Table t;
  t.schema.fields.push_back(arrow::field("ids", arrow::list(arrow::int32())));
  arrow::ArrayBuilder b(t.schema.fields[0].type);
  append_column(Column::Int32Lists{{1, 2}, {3}, {4, 5, 6}}, b);
  arrow::RecordBatch rb;
  rb.num_rows = b.length();
  rb.columns.push_back(b.finish());
  t.batches.push_back(std::move(rb));
  arrow::write_ipc_file(dir.file("ids.arrow"), t);
  Batch batch;
  {
    Dataset d = Dataset::from_files({dir.file("ids.arrow")});
    batch = d.batch(1, 3);
  }
  EXPECT_EQ(batch.at("ids").as<Column::Int32Lists>(), (Column::Int32Lists{{3}, {4, 5, 6}}));
  EXPECT_EQ(batch.at("ids").as<Column::Int32Lists>().offsets(), (std::vector<int64_t>{0, 1, 4}));
}

TEST(IntListsTest, FlatBufferWithBadOffsetsIsAnError) {
  using L = Column::Int32Lists;
  EXPECT_EQ(L({1, 2, 3}, {0, 2, 3}), (L{{1, 2}, {3}}));
  EXPECT_EQ(L({}, {0}), L{});
  EXPECT_THAT([] { L({1}, {}); }, ThrowsMessage<InputError>(HasSubstr("start at 0")));
  EXPECT_THAT([] { L({1}, {1, 1}); }, ThrowsMessage<InputError>(HasSubstr("start at 0, got 1")));
  EXPECT_THAT([] { L({1, 2}, {0, 2, 1, 2}); }, ThrowsMessage<InputError>(HasSubstr("offset 2 (1) is below")));
  EXPECT_THAT([] { L({1, 2}, {0, 1}); }, ThrowsMessage<InputError>(HasSubstr("last offset (1) must equal the number of values (2)")));
}

TEST(IntListsTest, ColumnsOfListsGiveJsonRowsAndArrowTypes) {
  Column c = std::vector<std::vector<int32_t>>{{1, 2}, {}};  // per-row vectors are stored flat
  ASSERT_TRUE(c.holds<Column::Int32Lists>());
  EXPECT_EQ(c.size(), 2u);
  EXPECT_EQ(c.json(0), Json::parse("[1, 2]"));
  EXPECT_EQ(c.json(1), Json::parse("[]"));
  EXPECT_EQ(column_arrow_type(c).to_string(), "list<item: int32>");
  EXPECT_EQ(column_arrow_type(Column(std::vector<std::vector<int64_t>>{{1}})).to_string(), "list<item: int64>");
}

// As datasets' ArrowWriter (OptimizedTypedSequence): by column name, masks are written as list<int8> and input_ids
// as list<int32> when every value fits, else the wider type; other names keep their own type.
TEST(IntListsTest, DatasetsNarrowsMasksToInt8AndInputIdsToInt32ByName) {
  const Column mask = Column::Int32Lists{{1, 1, 0}, {1}};
  for (const char* name : {"attention_mask", "special_tokens_mask", "token_type_ids"})
    EXPECT_EQ(column_arrow_type(mask, name).to_string(), "list<item: int8>") << name;
  EXPECT_EQ(column_arrow_type(mask, "labels").to_string(), "list<item: int32>");
  EXPECT_EQ(column_arrow_type(Column(Column::Int64Lists{{0, 2}}), "token_type_ids").to_string(), "list<item: int8>");
  EXPECT_EQ(column_arrow_type(Column(Column::Int32Lists{{1, 300}}), "attention_mask").to_string(),
            "list<item: int32>");  // does not fit int8: the next type that fits
  EXPECT_EQ(column_arrow_type(Column(Column::Int32Lists{{-129}}), "attention_mask").to_string(), "list<item: int32>");
  EXPECT_EQ(column_arrow_type(Column(Column::Int64Lists{{5, 50256}}), "input_ids").to_string(), "list<item: int32>");
  EXPECT_EQ(column_arrow_type(Column(Column::Int64Lists{{int64_t(3) << 31}}), "input_ids").to_string(),
            "list<item: int64>");
  EXPECT_EQ(column_arrow_type(Column(Column::Int64Lists{{1}}), "labels").to_string(), "list<item: int64>");
  EXPECT_EQ(column_arrow_type(Column(Column::Strings{"a"}), "input_ids").to_string(), "string");

  // Written as int8 and read back widened to the same values; a value that int8 cannot hold is an error naming it.
  arrow::ArrayBuilder b(arrow::list(arrow::int8()));
  append_column(Column::Int32Lists{{1, 0, -1}, {}, {127, -128}}, b);
  arrow::Array a = b.finish();
  EXPECT_EQ(column_from_array(a, 0, 3).as<Column::Int32Lists>(), (Column::Int32Lists{{1, 0, -1}, {}, {127, -128}}));
  EXPECT_EQ(column_from_array(a, 2, 3).as<Column::Int32Lists>(), (Column::Int32Lists{{127, -128}}));
  arrow::ArrayBuilder narrow(arrow::list(arrow::int8()));
  EXPECT_THAT([&] { append_column(Column::Int64Lists{{1, 128}}, narrow); },
              ThrowsMessage<InputError>(HasSubstr("integer 128 is out of range for int8")));
}

// append_column writes a batch's flat lists in one append and one offsets pass, after rows already in the builder
// (offsets continue from them), into list<int32>, list<int64> (widened) and large_list builders; column_from_array
// reads any row range back, offsets rebased to 0.
TEST(IntListsTest, RoundTripThroughBuildersAndArrays) {
  const Column::Int32Lists first{{1, 2}, {3}}, second{{}, {4, 5, 6}, {7}};
  for (const auto& type : {arrow::list(arrow::int32()), arrow::list(arrow::int64()), arrow::large_list(arrow::int32())}) {
    arrow::ArrayBuilder b(type);
    append_column(first, b);
    append_column(Column::Int32Lists{}, b);
    append_column(second, b);
    arrow::Array a = b.finish();
    ASSERT_EQ(a.length(), 5) << type.to_string();
    EXPECT_EQ(a.to_json(3), Json::parse("[4, 5, 6]")) << type.to_string();
    Column all = column_from_array(a, 0, 5);
    Column middle = column_from_array(a, 1, 4);
    Column none = column_from_array(a, 2, 2);
    if (type.value_type().id == arrow::TypeId::kInt32) {
      EXPECT_EQ(all.as<Column::Int32Lists>(), (Column::Int32Lists{{1, 2}, {3}, {}, {4, 5, 6}, {7}})) << type.to_string();
      EXPECT_EQ(middle.as<Column::Int32Lists>(), (Column::Int32Lists{{3}, {}, {4, 5, 6}})) << type.to_string();
      EXPECT_EQ(middle.as<Column::Int32Lists>().offsets(), (std::vector<int64_t>{0, 1, 1, 4}));
      EXPECT_EQ(none.as<Column::Int32Lists>(), Column::Int32Lists{});
    } else {
      EXPECT_EQ(middle.as<Column::Int64Lists>(), (Column::Int64Lists{{3}, {}, {4, 5, 6}}));
    }
  }
}

// The cache files must not change: a flat append writes the same Arrow stream, byte for byte, as appending the rows
// one by one (close_list per row), with and without a validity bitmap (a null before them).
TEST(IntListsTest, FlatAppendWritesTheSameBytesAsRowByRow) {
  TempDir dir;
  const Column::Int32Lists lists{{1, 2, 3}, {}, {4}, {5, 6}};
  for (bool null_first : {false, true}) {
    std::string bytes[2];
    for (int flat = 0; flat < 2; ++flat) {
      arrow::Table t;
      t.schema.fields.push_back(arrow::field("ids", arrow::list(arrow::int32())));
      arrow::ArrayBuilder b(t.schema.fields[0].type);
      if (null_first) b.append_null();
      if (flat) {
        append_column(lists, b);
      } else {
        for (const auto& row : lists) {
          b.child(0).append_ints(row.data(), row.size());
          b.close_list();
        }
      }
      arrow::RecordBatch rb;
      rb.num_rows = b.length();
      rb.columns.push_back(b.finish());
      t.batches.push_back(std::move(rb));
      const std::string path = dir.file("ids-" + std::to_string(flat) + ".arrow");
      arrow::write_ipc_file(path, t);
      bytes[flat] = read_file(path);
    }
    EXPECT_FALSE(bytes[0].empty());
    EXPECT_EQ(bytes[0], bytes[1]) << "null_first " << null_first;
  }
}

TEST(IntListsTest, ListsIntoANonListBuilderAreAnError) {
  arrow::ArrayBuilder b(arrow::utf8());
  EXPECT_THAT([&] { append_column(Column::Int32Lists{{1}}, b); },
              ThrowsMessage<InputError>(HasSubstr("expected values of type string, got int32 lists")));
}

TEST(IntListsTest, CloseListsChecksTheValuesAppended) {
  arrow::ArrayBuilder b(arrow::list(arrow::int32()));
  const int32_t v[] = {1, 2, 3};
  b.child(0).append_ints(v, 3);
  const int64_t too_few[] = {0, 2};
  EXPECT_THROW(b.close_lists(too_few, 1), Error);
  const int64_t offsets[] = {10, 11, 13};  // need not start at 0: only differences count
  b.close_lists(offsets, 2);
  arrow::Array a = b.finish();
  EXPECT_EQ(a.to_json(0), Json::parse("[1]"));
  EXPECT_EQ(a.to_json(1), Json::parse("[2, 3]"));
}

// Dataset batches concatenate the flat lists of several record batches and of non-contiguous rows (an index
// mapping), in the requested order.
TEST(IntListsTest, DatasetBatchesConcatenateFlatListsAcrossRecordBatches) {
  arrow::Table t;
  t.schema.fields.push_back(arrow::field("ids", arrow::list(arrow::int32())));
  std::vector<std::vector<int32_t>> rows;
  for (int start = 0; start < 9; start += 4) {
    Column::Int32Lists part;
    for (int r = start; r < std::min(9, start + 4); ++r) {
      rows.emplace_back(static_cast<size_t>(r % 3), r);
      part.push_back(rows.back());
    }
    arrow::ArrayBuilder b(t.schema.fields[0].type);
    append_column(part, b);
    arrow::RecordBatch rb;
    rb.num_rows = b.length();
    rb.columns.push_back(b.finish());
    t.batches.push_back(std::move(rb));
  }
  Dataset d = Dataset::from_tables({t});
  EXPECT_EQ(d.batch(2, 9).at("ids").as<Column::Int32Lists>(),
            Column::Int32Lists(std::vector<std::vector<int32_t>>(rows.begin() + 2, rows.end())));
  const auto picked = d.select({8, 1, 5, 6}).batch(0, 4).at("ids").as<Column::Int32Lists>();
  EXPECT_EQ(picked, Column::Int32Lists({rows[8], rows[1], rows[5], rows[6]}));
}

}  // namespace
}  // namespace tcpp::datasets
