// Interop: files our Arrow IPC writer makes are read value for value by npm apache-arrow, and files
// apache-arrow writes (stream and file format, nulls, nested lists, several batches) are read by us.
// Tolerance: exact. Floats are compared as doubles after a JSON round trip (shortest repr on both sides).
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tcpp/core/file.h"
#include "tcpp/core/json.h"
#include "tcpp/datasets/arrow/ipc.h"
#include "tcpp/datasets/dataset.h"
#include "tcpp/datasets/load.h"

namespace tcpp::datasets::arrow {
namespace {

namespace fs = std::filesystem;

const std::string kScripts = std::string(TCPP_SOURCE_DIR) + "/tests/interop/arrow";
const std::string kNodeModules = std::string(TCPP_SOURCE_DIR) + "/tests/interop/node_modules";

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("tcpp-arrow-interop-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

// Run a node script; returns its stdout. Fails the test (with the reason) when node or apache-arrow is missing.
std::string run_node(const std::string& script, const std::string& arg) {
  if (!fs::exists(kNodeModules + "/apache-arrow/package.json")) {
    ADD_FAILURE() << kNodeModules << "/apache-arrow is missing: run scripts/setup.sh (it runs `npm ci` in tests/interop)";
    return "";
  }
  std::string cmd = std::string(TCPP_NODE_EXECUTABLE) + " '" + kScripts + "/" + script + "' '" + arg + "' 2>&1";
  std::FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) {
    ADD_FAILURE() << "cannot run: " << cmd;
    return "";
  }
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  int status = ::pclose(pipe);
  if (status != 0) {
    ADD_FAILURE() << "`" << cmd << "` failed (status " << status << ", is node installed? run scripts/setup.sh):\n"
                  << out;
    return "";
  }
  return out;
}

// The columns of a table in the JSON shape arrow_json.mjs prints.
Json describe(const Table& t) {
  Json fields = Json::array();
  for (const auto& f : t.schema.fields)
    fields.push_back({{"name", f.name}, {"type", f.type.to_string()}, {"nullable", f.nullable}});
  Json metadata = Json::object();
  for (const auto& [k, v] : t.schema.metadata) metadata[k] = v;
  Json columns = Json::object();
  for (int c = 0; c < t.num_columns(); ++c) {
    Json values = Json::array();
    for (const auto& b : t.batches)
      for (int64_t i = 0; i < b.num_rows; ++i) values.push_back(b.columns[c].to_json(i));
    columns[t.schema.fields[c].name] = values;
  }
  return {{"schema", {{"fields", fields}, {"metadata", metadata}}},
          {"num_batches", t.batches.size()},
          {"num_rows", t.num_rows()},
          {"columns", columns}};
}

// Compare two descriptions; report the first mismatching value by column and row.
void expect_same(const Json& ours, const Json& theirs, const std::string& who) {
  EXPECT_EQ(ours["schema"], theirs["schema"]) << who;
  EXPECT_EQ(ours["num_rows"], theirs["num_rows"]) << who;
  EXPECT_EQ(ours["num_batches"], theirs["num_batches"]) << who;
  for (const auto& [name, values] : ours["columns"].items()) {
    ASSERT_TRUE(theirs["columns"].contains(name)) << who << ": column " << name << " missing";
    const Json& other = theirs["columns"][name];
    ASSERT_EQ(values.size(), other.size()) << who << ": column " << name;
    for (size_t i = 0; i < values.size(); ++i)
      ASSERT_EQ(values[i], other[i]) << who << ": first mismatch at column " << name << " row " << i
                                     << ": ours " << values[i].dump() << ", apache-arrow " << other[i].dump();
  }
}

Table sample_table() {
  Schema schema;
  std::vector<std::pair<DataType, Json>> cols = {
      {null(), Json::parse("[null, null, null, null, null]")},
      {bool_(), Json::parse("[true, null, false, true, false]")},
      {int8(), Json::parse("[-128, 127, null, 0, 1]")},
      {int16(), Json::parse("[-32768, 32767, 1, null, 2]")},
      {int32(), Json::parse("[-2147483648, 2147483647, 0, 5, null]")},
      {int64(), Json::parse("[-9223372036854775808, 9223372036854775807, 9007199254740993, null, 42]")},
      {uint8(), Json::parse("[0, 255, null, 7, 8]")},
      {uint16(), Json::parse("[0, 65535, 3, 4, null]")},
      {uint32(), Json::parse("[0, 4294967295, null, 1, 2]")},
      {uint64(), Json::parse("[0, 18446744073709551615, 1, null, 3]")},
      {float16(), Json::parse("[0.5, -2.0, null, 65504.0, 0.000060975551605224609375]")},
      {float32(), Json::parse("[0.25, -1.5, 3.0, null, 1e10]")},
      {float64(), Json::parse("[0.1, -1e-300, null, 1.7976931348623157e308, 2.5]")},
      {utf8(), Json::parse(R"(["hello", "", null, "h\u00e9llo w\u00f6rld \ud83d\ude00", "x"])")},
      {large_utf8(), Json::parse(R"(["a", null, "bc", "", "def"])")},
      {binary(), Json::parse("[[0, 255, 1], [], null, [65], [1, 2]]")},
      {large_binary(), Json::parse("[[9], null, [], [1, 2, 3], [0]]")},
      {list(int32()), Json::parse("[[1, 2, 3], [], null, [4, null], [5]]")},
      {large_list(int64()), Json::parse("[[1], null, [2, 3], [], [-1]]")},
      {list(list(utf8())), Json::parse(R"([[["a"], ["b", "c"]], [], null, [[], null, ["d"]], [["e"]]])")},
      {struct_({field("x", int64()), field("y", list(utf8()))}),
       Json::parse(R"([{"x": 1, "y": ["p"]}, null, {"x": null, "y": []}, {"x": 3, "y": null}, {"x": 4, "y": ["q", "r"]}])")},
  };
  Table t;
  for (size_t c = 0; c < cols.size(); ++c) t.schema.fields.push_back(field("c" + std::to_string(c), cols[c].first));
  t.schema.metadata = {{"huggingface", R"({"info": {"features": {}}, "fingerprint": "abc"})"}};
  for (auto [begin, end] : {std::pair<size_t, size_t>{0, 2}, {2, 5}}) {
    RecordBatch b;
    for (auto& [type, values] : cols) {
      ArrayBuilder builder(type);
      for (size_t r = begin; r < end; ++r) builder.append_json(values[r]);
      b.columns.push_back(builder.finish());
    }
    b.num_rows = static_cast<int64_t>(end - begin);
    t.batches.push_back(std::move(b));
  }
  return t;
}

TEST(ArrowInteropTest, ApacheArrowReadsOurStreamFormatValueForValue) {
  TempDir dir;
  Table t = sample_table();
  write_ipc_file(dir.file("ours.arrow"), t, IpcFormat::kStream);
  std::string out = run_node("read_ipc.mjs", dir.file("ours.arrow"));
  ASSERT_FALSE(out.empty());
  expect_same(describe(t), Json::parse(out), "stream format");
}

TEST(ArrowInteropTest, ApacheArrowReadsOurFileFormatValueForValue) {
  TempDir dir;
  Table t = sample_table();
  write_ipc_file(dir.file("ours.arrow"), t, IpcFormat::kFile);
  std::string out = run_node("read_ipc.mjs", dir.file("ours.arrow"));
  ASSERT_FALSE(out.empty());
  expect_same(describe(t), Json::parse(out), "file format");
}

TEST(ArrowInteropTest, WeReadApacheArrowStreamAndFileFormatsValueForValue) {
  TempDir dir;
  run_node("write_ipc.mjs", dir.file(""));
  ASSERT_TRUE(fs::exists(dir.file("expected.json")));
  Json expected = read_json_file(dir.file("expected.json"));
  for (auto [name, format] : {std::pair<std::string, IpcFormat>{"js_stream.arrow", IpcFormat::kStream},
                              {"js_file.arrow", IpcFormat::kFile}}) {
    IpcFormat detected;
    Table t = read_ipc_file(dir.file(name), &detected);
    EXPECT_EQ(detected, format) << name;
    for (const auto& b : t.batches)
      for (const auto& c : b.columns) c.validate_full();
    expect_same(describe(t), expected, name);
  }
}

TEST(ArrowInteropTest, RewritingApacheArrowFilesKeepsEveryValue) {
  TempDir dir;
  run_node("write_ipc.mjs", dir.file(""));
  ASSERT_TRUE(fs::exists(dir.file("expected.json")));
  Table t = read_ipc_file(dir.file("js_stream.arrow"));
  write_ipc_file(dir.file("again.arrow"), t, IpcFormat::kFile);
  std::string out = run_node("read_ipc.mjs", dir.file("again.arrow"));
  ASSERT_FALSE(out.empty());
  expect_same(describe(t), Json::parse(out), "rewritten");
}

// Temporal columns as temporal_ipc.mjs prints them: pyarrow's type names and the stored integers.
Json describe_temporal(const Table& t) {
  Json fields = Json::array(), raw = Json::object();
  for (int c = 0; c < t.num_columns(); ++c) {
    const Field& f = t.schema.fields[c];
    fields.push_back({{"name", f.name}, {"type", f.type.to_string()}});
    Json values = Json::array();
    for (const auto& b : t.batches)
      for (int64_t i = 0; i < b.num_rows; ++i)
        values.push_back(b.columns[c].is_null(i) ? Json() : Json(b.columns[c].int_value(i)));
    raw[f.name] = values;
  }
  return {{"fields", fields}, {"raw", raw}};
}

// Dates, times, timestamps (naive and with timezones) and durations in every unit, with nulls and the int64
// extremes: apache-arrow's file read here keeps types and values, and ours (rewritten) reads there the same.
TEST(ArrowInteropTest, TemporalTypesMatchApacheArrowBothWays) {
  TempDir dir;
  run_node("temporal_ipc.mjs", dir.file(""));
  ASSERT_TRUE(fs::exists(dir.file("js_temporal.json")));
  const Json expected = read_json_file(dir.file("js_temporal.json"));
  const Table theirs = read_ipc_file(dir.file("js_temporal.arrow"));
  EXPECT_EQ(describe_temporal(theirs), expected);
  for (IpcFormat format : {IpcFormat::kStream, IpcFormat::kFile}) {
    write_ipc_file(dir.file("ours.arrow"), theirs, format);
    const std::string out = run_node("temporal_ipc.mjs", dir.file("ours.arrow"));
    ASSERT_FALSE(out.empty());
    EXPECT_EQ(Json::parse(out), expected);
  }
  // The table as parquet-wasm (arrow-rs) writes it, through load_dataset's parquet builder: every type (from the
  // annotations, and what only the file's ARROW:schema names: timezone names, durations, date64, second units) and
  // every stored value.
  LoadOptions o;
  o.data_files["train"] = {dir.file("js_temporal.parquet")};
  o.cache_dir = dir.file("cache");
  const Dataset loaded = load_dataset(o).at("train");
  EXPECT_EQ(describe_temporal(read_ipc_file(loaded.cache_files().at(0))), expected);
}

}  // namespace
}  // namespace tcpp::datasets::arrow
