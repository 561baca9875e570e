// Arrow's temporal types (date32/64, time32/64, timestamp, duration): their text against Python's datetime, their
// parsing, and their trip through Arrow IPC files, builders and saved datasets.
#include <cstdio>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tcpp/core/error.h"
#include "tcpp/core/json.h"
#include "tcpp/datasets/arrow/ipc.h"
#include "tcpp/datasets/arrow/temporal.h"
#include "tcpp/datasets/dataset.h"
#include "test_util.h"

namespace tcpp::datasets::arrow {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;
using testing::TempDir;
using testing::write_file;

// Python's datetime on each "type value" line of a file: date.isoformat() / datetime.isoformat() / time.isoformat()
// of the value (timestamps in microseconds or seconds, as Python keeps microseconds), one line each; nullopt when
// there is no /usr/bin/python3.
std::optional<std::vector<std::string>> python_isoformat(const std::vector<std::pair<std::string, int64_t>>& items) {
  TempDir dir;
  std::string lines;
  for (const auto& [type, v] : items) lines += type + " " + std::to_string(v) + "\n";
  write_file(dir.path() / "in.txt", lines);
  write_file(dir.path() / "iso.py",
             "import sys, datetime as dt\n"
             "utc = dt.timezone.utc\n"
             "epoch = dt.datetime(1970, 1, 1)\n"
             "for line in open(sys.argv[1]):\n"
             "    t, v = line.split(); v = int(v)\n"
             "    if t == 'date32': s = (dt.date(1970, 1, 1) + dt.timedelta(days=v)).isoformat()\n"
             "    elif t == 'ts_s': s = (epoch + dt.timedelta(seconds=v)).isoformat()\n"
             "    elif t == 'ts_us': s = (epoch + dt.timedelta(microseconds=v)).isoformat()\n"
             "    elif t == 'ts_us_utc': s = (epoch.replace(tzinfo=utc) + dt.timedelta(microseconds=v)).isoformat()\n"
             "    elif t == 'time_us': s = (epoch + dt.timedelta(microseconds=v)).time().isoformat()\n"
             "    print(s)\n");
  const auto run = testing::run_python((dir.path() / "iso.py").string() + " " + (dir.path() / "in.txt").string());
  if (!run) return std::nullopt;
  if (run->status != 0) throw std::runtime_error("python failed: " + run->output);
  const std::string& out = run->output;
  std::vector<std::string> result;
  for (size_t at = 0, end; (end = out.find('\n', at)) != std::string::npos; at = end + 1)
    result.push_back(out.substr(at, end - at));
  return result;
}

// Dates over Python's whole range (years 1-9999) and instants around the epoch, month ends and leap days, with and
// without fractions: the same text as Python's isoformat, and parse_temporal gives the value back.
TEST(TemporalTest, TextIsPythonsIsoformatAndParsesBack) {
  std::mt19937_64 rng(5);
  const int64_t min_day = -719162, max_day = 2932896;  // 0001-01-01 and 9999-12-31
  std::vector<std::pair<std::string, int64_t>> items;
  for (int64_t d : {min_day, max_day, int64_t{0}, int64_t{-1}, int64_t{59}, int64_t{789}, int64_t{11016}})
    items.emplace_back("date32", d);
  for (int i = 0; i < 2000; ++i) {
    const int64_t day = min_day + static_cast<int64_t>(rng() % static_cast<uint64_t>(max_day - min_day + 1));
    items.emplace_back("date32", day);
    const int64_t second = day * 86400 + static_cast<int64_t>(rng() % 86400);
    items.emplace_back("ts_s", second);
    const int64_t us = second * 1000000 + (i % 3 == 0 ? 0 : static_cast<int64_t>(rng() % 1000000));
    items.emplace_back("ts_us", us);
    items.emplace_back("ts_us_utc", us);
    items.emplace_back("time_us", static_cast<int64_t>(rng() % 86400000000ull) / (i % 2 ? 1 : 1000000) *
                                      (i % 2 ? 1 : 1000000));
  }
  const auto want = python_isoformat(items);
  if (!want) GTEST_SKIP() << "no /usr/bin/python3";
  ASSERT_EQ(want->size(), items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const auto& [kind, v] = items[i];
    const DataType t = kind == "date32"      ? date32()
                       : kind == "ts_s"      ? timestamp(TimeUnit::kSecond)
                       : kind == "ts_us"     ? timestamp(TimeUnit::kMicro)
                       : kind == "ts_us_utc" ? timestamp(TimeUnit::kMicro, "UTC")
                                             : time64(TimeUnit::kMicro);
    ASSERT_EQ(format_temporal(t, v), (*want)[i]) << kind << " " << v;
    ASSERT_EQ(parse_temporal(t, (*want)[i]), v) << kind << " " << (*want)[i];
  }
}

TEST(TemporalTest, UnitsOffsetsAndErrors) {
  const DataType ns = timestamp(TimeUnit::kNano), ms = timestamp(TimeUnit::kMilli, "Europe/Paris");
  EXPECT_EQ(format_temporal(ns, -1), "1969-12-31T23:59:59.999999999");
  EXPECT_EQ(format_temporal(ns, 1700000000123456789), "2023-11-14T22:13:20.123456789");
  EXPECT_EQ(format_temporal(ms, 1500), "1970-01-01T00:00:01.500+00:00");
  EXPECT_EQ(format_temporal(date64(), 86400000LL * 366 + 5), "1971-01-02");
  EXPECT_EQ(format_temporal(time32(TimeUnit::kMilli), 3723004), "01:02:03.004");
  EXPECT_EQ(format_temporal(date32(), 2932897), "+10000-01-01");
  EXPECT_EQ(parse_temporal(date32(), "+10000-01-01"), 2932897);
  EXPECT_EQ(parse_temporal(ns, "2023-11-14 22:13:20.123456789"), 1700000000123456789);
  EXPECT_EQ(parse_temporal(ms, "1970-01-01T01:00:01.5+01:00"), 1500);
  EXPECT_EQ(parse_temporal(ms, "1970-01-01T00:00:01.500000Z"), 1500);  // zeros past the unit are no loss
  EXPECT_EQ(parse_temporal(ms, "1970-01-02"), 86400000);
  EXPECT_EQ(parse_temporal(date64(), "2000-02-29"), 951782400000);
  EXPECT_THAT([&] { parse_temporal(ms, "1970-01-01T00:00:01.5001"); },
              ThrowsMessage<InputError>(HasSubstr("finer than the ms the type keeps")));
  EXPECT_THAT([] { parse_temporal(date32(), "2001-02-29"); },
              ThrowsMessage<InputError>(HasSubstr("\"2001-02-29\" (no such date)")));
  EXPECT_THAT([] { parse_temporal(date32(), "2001-1-9"); },
              ThrowsMessage<InputError>(HasSubstr("expected a date32[day] value as YYYY-MM-DD")));
  EXPECT_THAT([&] { parse_temporal(ns, "2300-01-01"); },
              ThrowsMessage<InputError>(HasSubstr("(out of range)")));
  EXPECT_THAT([] { parse_temporal(time32(TimeUnit::kSecond), "24:00:00"); },
              ThrowsMessage<InputError>(HasSubstr("no such time of day")));
  EXPECT_THAT([] { format_temporal(time32(TimeUnit::kSecond), 86400); },
              ThrowsMessage<InputError>(HasSubstr("is not a time of day")));
  EXPECT_THAT([] { parse_temporal(duration(TimeUnit::kSecond), "5s"); },
              ThrowsMessage<InputError>(HasSubstr("as an integer count of s")));
}

// Every temporal type with nulls, written as an Arrow stream and file, read back with its type (unit, timezone)
// and values; rows give the text, the builders take it (and integers) back.
TEST(TemporalTest, IpcFilesAndBuildersKeepTypesAndValues) {
  const std::vector<std::pair<DataType, Json>> cols = {
      {date32(), Json::parse(R"(["2024-02-29", null, "1969-12-31"])")},
      {date64(), Json::parse(R"(["0001-01-01", "9999-12-31", null])")},
      {time32(TimeUnit::kSecond), Json::parse(R"(["23:59:59", null, "00:00:00"])")},
      {time32(TimeUnit::kMilli), Json::parse(R"(["12:00:00.250", "00:00:00", null])")},
      {time64(TimeUnit::kMicro), Json::parse(R"([null, "01:02:03.000004", "01:02:03"])")},
      {time64(TimeUnit::kNano), Json::parse(R"(["01:02:03.000000005", null, "23:59:59.999999999"])")},
      {timestamp(TimeUnit::kSecond), Json::parse(R"(["1970-01-01T00:00:00", "2038-01-19T03:14:08", null])")},
      {timestamp(TimeUnit::kMilli, "UTC"), Json::parse(R"(["1969-07-20T20:17:40.123+00:00", null, null])")},
      {timestamp(TimeUnit::kMicro, "America/New_York"),
       Json::parse(R"([null, "2000-01-01T00:00:00.000001+00:00", null])")},
      {timestamp(TimeUnit::kNano),
       Json::parse(R"(["1677-09-21T00:12:43.145224192", "2262-04-11T23:47:16.854775807", null])")},
      {duration(TimeUnit::kMicro), Json::parse(R"([-5, 0, null])")},
  };
  Table t;
  RecordBatch b;
  for (size_t c = 0; c < cols.size(); ++c) {
    t.schema.fields.push_back(field("c" + std::to_string(c), cols[c].first));
    ArrayBuilder builder(cols[c].first);
    for (const auto& v : cols[c].second) builder.append_json(v);
    b.columns.push_back(builder.finish());
  }
  b.num_rows = 3;
  t.batches.push_back(std::move(b));
  TempDir dir;
  for (IpcFormat format : {IpcFormat::kStream, IpcFormat::kFile}) {
    write_ipc_file(dir.file("t.arrow"), t, format);
    const Table back = read_ipc_file(dir.file("t.arrow"));
    ASSERT_EQ(back.schema.fields.size(), cols.size());
    for (size_t c = 0; c < cols.size(); ++c) {
      EXPECT_EQ(back.schema.fields[c].type, cols[c].first) << back.schema.fields[c].type.to_string();
      EXPECT_EQ(back.schema.fields[c].type.to_string(), cols[c].first.to_string());
      for (int64_t i = 0; i < 3; ++i) EXPECT_EQ(back.batches[0].columns[c].to_json(i), cols[c].second[i]) << c;
    }
  }
  EXPECT_EQ(timestamp(TimeUnit::kMilli, "UTC").to_string(), "timestamp[ms, tz=UTC]");
  EXPECT_NE(timestamp(TimeUnit::kMilli, "UTC"), timestamp(TimeUnit::kMilli));
  EXPECT_NE(time64(TimeUnit::kMicro), time64(TimeUnit::kNano));
  // Integers are the stored values themselves; a date32 integer must fit 32 bits.
  ArrayBuilder builder(timestamp(TimeUnit::kSecond));
  builder.append_json(Json(86400));
  EXPECT_EQ(builder.finish().to_json(0), "1970-01-02T00:00:00");
  ArrayBuilder days(date32());
  EXPECT_THAT([&] { days.append_json(Json(int64_t{1} << 40)); },
              ThrowsMessage<InputError>(HasSubstr("out of range for date32[day]")));
}

// A saved dataset with a timestamp column (as a Hub dataset's metadata columns): datasets' dtype names in the
// features, rows as text, and a map that removes the column or keeps it untouched.
TEST(TemporalTest, DatasetsKeepTemporalColumnsThroughMapAndSave) {
  TempDir dir;
  Table t;
  t.schema.fields = {field("text", utf8()), field("visit_date", timestamp(TimeUnit::kNano)),
                     field("day", date32()), field("age", duration(TimeUnit::kSecond))};
  RecordBatch b;
  const std::vector<std::vector<Json>> values = {{"a", "b"},
                                                 {"2023-05-01T10:00:00", nullptr},
                                                 {"2023-05-01", "2023-05-02"},
                                                 {3600, 60}};
  for (size_t c = 0; c < values.size(); ++c) {
    ArrayBuilder builder(t.schema.fields[c].type);
    for (const auto& v : values[c]) builder.append_json(v);
    b.columns.push_back(builder.finish());
  }
  b.num_rows = 2;
  t.batches.push_back(std::move(b));
  write_ipc_file(dir.file("data.arrow"), t, IpcFormat::kStream);
  const Dataset ds = Dataset::from_files({dir.file("data.arrow")});
  EXPECT_EQ(ds.row(0), Json::parse(R"({"text": "a", "visit_date": "2023-05-01T10:00:00", "day": "2023-05-01",
                                       "age": 3600})"));
  MapOptions keep;
  keep.batched = true;
  const Dataset upper = ds.map(
      [](const Batch& in) {
        Batch out;
        Column::Strings s;
        for (size_t i = 0; i < in.num_rows(); ++i) s.push_back(in.at("text").json(i).get<std::string>() + "!");
        out["text"] = Column(std::move(s));
        return out;
      },
      keep);
  // Kept input columns come first (the map's output order), with their types.
  EXPECT_EQ(upper.column_names(), (std::vector<std::string>{"visit_date", "day", "age", "text"}));
  EXPECT_EQ(upper.schema().fields[0].type, timestamp(TimeUnit::kNano));
  EXPECT_EQ(upper.schema().fields[2].type, duration(TimeUnit::kSecond));
  EXPECT_EQ(upper.row(1), Json::parse(R"({"text": "b!", "visit_date": null, "day": "2023-05-02", "age": 60})"));
  upper.save_to_disk(dir.file("saved"));
  const Json features = read_json_file(dir.file("saved/dataset_info.json"))["features"];
  EXPECT_EQ(features["visit_date"], Json::parse(R"({"dtype": "timestamp[ns]", "_type": "Value"})"));
  EXPECT_EQ(features["day"]["dtype"], "date32");
  EXPECT_EQ(features["age"]["dtype"], "duration[s]");
  const Dataset again = Dataset::load_from_disk(dir.file("saved"));
  EXPECT_EQ(again.row(0), upper.row(0));
  MapOptions drop;
  drop.batched = true;
  drop.remove_columns = {"visit_date", "day", "age"};
  const Dataset text_only = ds.map(
      [](const Batch& in) {
        Batch out;
        out["text"] = in.at("text");
        return out;
      },
      drop);
  EXPECT_EQ(text_only.column_names(), std::vector<std::string>{"text"});
}

}  // namespace
}  // namespace tcpp::datasets::arrow
