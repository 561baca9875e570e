// Arrow IPC reader/writer round trips, type coverage, and hostile-input handling.
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tcpp/core/error.h"
#include "tcpp/core/file.h"
#include "tcpp/datasets/arrow/batch_index.h"
#include "tcpp/datasets/arrow/ipc.h"
#include "test_util.h"

namespace tcpp::datasets::arrow {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;
using testing::TempDir;

// Under AddressSanitizer every buffer stays on its checked heap (no mappings of ArrayBuilder's own).
constexpr bool kOwnMappings = !testing::kAddressSanitizer;

Array build(const DataType& type, const Json& values) {
  ArrayBuilder b(type);
  for (const auto& v : values) b.append_json(v);
  return b.finish();
}

Json column_json(const Table& t, int col) {
  Json out = Json::array();
  for (const auto& b : t.batches)
    for (int64_t i = 0; i < b.num_rows; ++i) out.push_back(b.columns[col].to_json(i));
  return out;
}

// One column per supported type, with nulls, nested lists and a struct.
struct Sample {
  Schema schema;
  std::vector<Json> values;  // per column, all rows
};

Sample all_types_sample() {
  Sample s;
  auto add = [&](const std::string& name, DataType t, Json v) {
    s.schema.fields.push_back(field(name, std::move(t)));
    s.values.push_back(std::move(v));
  };
  add("nul", null(), Json::parse("[null, null, null, null, null]"));
  add("b", bool_(), Json::parse("[true, false, null, true, false]"));
  add("i8", int8(), Json::parse("[-128, 127, null, 0, 1]"));
  add("i16", int16(), Json::parse("[-32768, 32767, 1, null, 2]"));
  add("i32", int32(), Json::parse("[-2147483648, 2147483647, 0, 5, null]"));
  add("i64", int64(), Json::parse("[-9223372036854775808, 9223372036854775807, 0, null, 42]"));
  add("u8", uint8(), Json::parse("[0, 255, null, 7, 8]"));
  add("u16", uint16(), Json::parse("[0, 65535, 3, 4, null]"));
  add("u32", uint32(), Json::parse("[0, 4294967295, null, 1, 2]"));
  add("u64", uint64(), Json::parse("[0, 18446744073709551615, 1, null, 3]"));
  add("f16", float16(), Json::parse("[0.5, -2.0, null, 65504.0, 0.000060975551605224609375]"));
  add("f32", float32(), Json::parse("[0.25, -1.5, 3.0, null, 1e10]"));
  add("f64", float64(), Json::parse("[0.1, -1e-300, null, 1.7976931348623157e308, 2.5]"));
  add("s", utf8(), Json::parse(R"(["hello", "", null, "h\u00e9llo w\u00f6rld", "x"])"));
  add("ls", large_utf8(), Json::parse(R"(["a", null, "bc", "", "def"])"));
  add("bin", binary(), Json::parse("[[0, 255, 1], [], null, [65], [1, 2]]"));
  add("lbin", large_binary(), Json::parse("[[9], null, [], [1, 2, 3], [0]]"));
  add("li", list(int32()), Json::parse("[[1, 2, 3], [], null, [4, null], [5]]"));
  add("lli", large_list(int64()), Json::parse("[[1], null, [2, 3], [], [-1]]"));
  add("nested", list(list(utf8())), Json::parse(R"([[["a"], ["b", "c"]], [], null, [[], null, ["d"]], [["e"]]])"));
  add("st", struct_({field("x", int64()), field("y", list(utf8()))}),
      Json::parse(R"([{"x": 1, "y": ["p"]}, null, {"x": null, "y": []}, {"x": 3, "y": null}, {"x": 4, "y": ["q", "r"]}])"));
  return s;
}

Table make_table(const Sample& s, int64_t rows_per_batch) {
  Table t;
  t.schema = s.schema;
  size_t rows = s.values[0].size();
  for (size_t start = 0; start < rows; start += rows_per_batch) {
    RecordBatch b;
    for (size_t c = 0; c < s.values.size(); ++c) {
      Json part = Json::array();
      for (size_t r = start; r < std::min(rows, start + rows_per_batch); ++r) part.push_back(s.values[c][r]);
      b.columns.push_back(build(s.schema.fields[c].type, part));
    }
    b.num_rows = b.columns[0].length();
    t.batches.push_back(std::move(b));
  }
  return t;
}

void expect_same_values(const Table& got, const Sample& want) {
  ASSERT_EQ(got.schema.fields.size(), want.schema.fields.size());
  for (size_t c = 0; c < want.values.size(); ++c) {
    EXPECT_EQ(got.schema.fields[c].name, want.schema.fields[c].name);
    EXPECT_EQ(got.schema.fields[c].type, want.schema.fields[c].type) << got.schema.fields[c].type.to_string();
    EXPECT_EQ(column_json(got, static_cast<int>(c)), want.values[c]) << "column " << want.schema.fields[c].name;
  }
}

TEST(ArrowIpcTest, StreamFormatRoundTripsEveryTypeWithNullsAcrossBatches) {
  TempDir dir;
  Sample s = all_types_sample();
  std::string path = dir.file("all.arrow");
  write_ipc_file(path, make_table(s, 2), IpcFormat::kStream);
  IpcFormat format;
  Table t = read_ipc_file(path, &format);
  EXPECT_EQ(format, IpcFormat::kStream);
  EXPECT_EQ(t.batches.size(), 3u);
  EXPECT_EQ(t.num_rows(), 5);
  expect_same_values(t, s);
}

TEST(ArrowIpcTest, FileFormatRoundTripsEveryTypeAndStartsAndEndsWithMagic) {
  TempDir dir;
  Sample s = all_types_sample();
  std::string path = dir.file("all.arrow");
  write_ipc_file(path, make_table(s, 3), IpcFormat::kFile);
  std::string bytes = read_file(path);
  EXPECT_EQ(bytes.substr(0, 6), "ARROW1");
  EXPECT_EQ(bytes.substr(bytes.size() - 6), "ARROW1");
  IpcFormat format;
  Table t = read_ipc_file(path, &format);
  EXPECT_EQ(format, IpcFormat::kFile);
  EXPECT_EQ(t.batches.size(), 2u);
  expect_same_values(t, s);
}

TEST(ArrowIpcTest, SchemaAndFieldMetadataArePreserved) {
  TempDir dir;
  Schema schema;
  Field f = field("text", utf8());
  f.metadata = {{"k", "v"}};
  schema.fields.push_back(f);
  schema.metadata = {{"huggingface", R"({"info": {"features": {}}})"}, {"other", ""}};
  Table t;
  t.schema = schema;
  t.batches.push_back({1, {build(utf8(), Json::parse(R"(["a"])"))}});
  for (auto format : {IpcFormat::kStream, IpcFormat::kFile}) {
    write_ipc_file(dir.file("m.arrow"), t, format);
    Table got = read_ipc_file(dir.file("m.arrow"));
    EXPECT_EQ(got.schema.metadata, schema.metadata);
    EXPECT_EQ(got.schema.metadata_value("huggingface"), schema.metadata[0].second);
    EXPECT_EQ(got.schema.fields[0].metadata, f.metadata);
  }
}

TEST(ArrowIpcTest, BuffersAreEightByteAlignedAndZeroCopy) {
  TempDir dir;
  Table t;
  t.schema.fields.push_back(field("ids", list(int32())));
  t.batches.push_back({2, {build(list(int32()), Json::parse("[[1, 2, 3], [4]]"))}});
  t.batches.push_back({1, {build(list(int32()), Json::parse("[[5, 6]]"))}});
  write_ipc_file(dir.file("a.arrow"), t);
  EXPECT_EQ(read_file(dir.file("a.arrow")).size() % 8, 0u);
  Table got = read_ipc_file(dir.file("a.arrow"));
  for (const auto& b : got.batches) {
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b.columns[0].values().values_data()) % 8, 0u);
  }
  const Array& values = got.batches[1].columns[0].values();
  EXPECT_EQ(values.value<int32_t>(0), 5);
  EXPECT_EQ(values.value<int32_t>(1), 6);
}

TEST(ArrowIpcTest, EmptyTableAndEmptyBatchRoundTrip) {
  TempDir dir;
  Table t;
  t.schema.fields.push_back(field("s", utf8()));
  write_ipc_file(dir.file("e.arrow"), t);
  EXPECT_EQ(read_ipc_file(dir.file("e.arrow")).num_rows(), 0);
  t.batches.push_back({0, {build(utf8(), Json::array())}});
  write_ipc_file(dir.file("e.arrow"), t, IpcFormat::kFile);
  Table got = read_ipc_file(dir.file("e.arrow"));
  EXPECT_EQ(got.batches.size(), 1u);
  EXPECT_EQ(got.num_rows(), 0);
}

TEST(ArrowIpcTest, UnclosedWriterLeavesNoFile) {
  TempDir dir;
  Schema schema;
  schema.fields.push_back(field("x", int64()));
  {
    auto w = IpcWriter::open(dir.file("x.arrow"), schema);
    w->write_batch({build(int64(), Json::parse("[1]"))});
  }
  EXPECT_FALSE(std::filesystem::exists(dir.file("x.arrow")));
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

// Builder buffers of 2 MiB and more come from their own 2 MiB aligned mappings (BufferAllocator): values survive
// growing across that size, finish() hands them over intact, and a reset builder reuses its buffers.
// The writer hands its bytes to the file in 4 MiB pieces: batches that end inside a piece, straddle pieces, and
// one larger than a piece all read back value for value, in both formats, and the file's size is every byte written.
TEST(ArrowIpcTest, BatchesAcrossTheWritersBufferPiecesReadBack) {
  TempDir dir;
  for (IpcFormat format : {IpcFormat::kStream, IpcFormat::kFile}) {
    Table t;
    t.schema.fields.push_back(field("ids", list(int32())));
    int32_t next = 0;
    for (int64_t rows : {10, 700, 3, 1500, 1}) {  // 1500 rows of 1024 ids: a 6 MB batch
      ArrayBuilder b(t.schema.fields[0].type);
      std::vector<int32_t> row(1024);
      for (int64_t r = 0; r < rows; ++r) {
        for (auto& v : row) v = next++;
        b.child(0).append_ints(row.data(), row.size());
        b.close_list();
      }
      RecordBatch rb;
      rb.num_rows = rows;
      rb.columns.push_back(b.finish());
      t.batches.push_back(std::move(rb));
    }
    const std::string path = dir.file(format == IpcFormat::kStream ? "s.arrow" : "f.arrow");
    auto w = IpcWriter::open(path, t.schema, format, Durability::kPageCache);
    for (const auto& b : t.batches) w->write_batch(b);
    w->close();  // the end-of-stream marker (and footer) too
    EXPECT_EQ(static_cast<int64_t>(std::filesystem::file_size(path)), w->bytes_written());
    Table back = read_ipc_file(path);
    ASSERT_EQ(back.batches.size(), t.batches.size());
    int32_t expect = 0;
    for (const auto& b : back.batches) {
      const Array& values = b.columns[0].values();
      for (int64_t i = 0; i < values.length(); ++i, ++expect)
        if (values.int_value(i) != expect) FAIL() << "value " << expect << " reads back as " << values.int_value(i);
    }
    EXPECT_EQ(expect, next);
  }
}

TEST(ArrowIpcTest, BuilderBuffersGrowPastHugePageSizeIntact) {
  ArrayBuilder b(list(int32()));
  std::vector<int32_t> row(1024);
  for (int round = 0; round < 2; ++round) {
    for (int r = 0; r < 3000; ++r) {  // 12 MB of values, 12 KB of offsets
      for (int k = 0; k < 1024; ++k) row[static_cast<size_t>(k)] = r * 1024 + k + round;
      b.child(0).append_ints(row.data(), row.size());
      b.close_list();
    }
    Array a = round == 0 ? b.borrow() : b.finish();
    ASSERT_EQ(a.length(), 3000);
    const Array& values = a.values();
    EXPECT_EQ(reinterpret_cast<uintptr_t>(values.values_data()) % 64, 0u);
    for (int64_t i = 0; i < 3000 * 1024; i += 997) EXPECT_EQ(values.int_value(i), i + round) << i;
    EXPECT_EQ(a.list_range(2999), std::make_pair(int64_t{2999 * 1024}, int64_t{3000 * 1024}));
    if (round == 0) b.reset();
  }
  ByteBuffer big(size_t{5} << 20, 7), small(100, 3);
  big.resize(size_t{9} << 20, 8);
  EXPECT_EQ(big[(size_t{5} << 20) - 1], 7);
  EXPECT_EQ(big[size_t{5} << 20], 8);
  if (kOwnMappings) {
    EXPECT_EQ(reinterpret_cast<uintptr_t>(big.data()) % (size_t{2} << 20), 0u);
  }
  EXPECT_EQ(small[99], 3);
}

// A freed buffer of 2 MiB or more keeps its mapping for the next buffer of the same rounded size, in any thread
// (its pages stay warm: a fresh mapping's first touches are what map(num_proc=2)'s threads lost time to), up to
// 64 MiB in all; release_buffer_cache() unmaps them.
TEST(ArrowIpcTest, AFreedBigBufferIsReusedByTheNextOfItsSizeInAnyThread) {
  if (!kOwnMappings) GTEST_SKIP() << "under AddressSanitizer buffers stay on its checked heap";
  release_buffer_cache();
  const size_t mib = size_t{1} << 20;
  void* a = allocate_buffer(3 * mib);  // rounded up to 4 MiB
  std::memset(a, 1, 3 * mib);
  deallocate_buffer(a, 3 * mib);
  void* b = nullptr;
  std::thread([&] { b = allocate_buffer(4 * mib - 5); }).join();
  EXPECT_EQ(b, a);
  void* c = allocate_buffer(6 * mib);  // another size: a mapping of its own
  EXPECT_NE(c, a);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(c) % (2 * mib), 0u);
  deallocate_buffer(b, 4 * mib - 5);
  deallocate_buffer(c, 6 * mib);
  EXPECT_EQ(release_buffer_cache(), 10 * mib);
  EXPECT_EQ(release_buffer_cache(), 0u);
  // At most 64 MiB are kept: of 20 freed 4 MiB buffers, 16.
  std::vector<void*> held;
  for (int i = 0; i < 20; ++i) held.push_back(allocate_buffer(4 * mib));
  for (void* p : held) deallocate_buffer(p, 4 * mib);
  EXPECT_EQ(release_buffer_cache(), 64 * mib);
  // Small buffers are the heap's.
  void* small = allocate_buffer(1000);
  deallocate_buffer(small, 1000);
  EXPECT_EQ(release_buffer_cache(), 0u);
}

// The builder writes no validity bitmap until the first null: wherever that null comes (a byte boundary or not,
// after single and bulk appends), every element reads back as valid or null as appended, in memory and from a file.
TEST(ArrowIpcTest, NullsAfterAnyNumberOfValidElementsReadBack) {
  TempDir dir;
  for (int64_t first_null : {0, 1, 7, 8, 9, 63, 64, 100}) {
    Schema schema;
    schema.fields = {field("i", int64()), field("s", utf8()), field("l", list(int32()))};
    ArrayBuilder i(int64()), s(utf8()), l(list(int32()));
    std::vector<bool> valid;
    for (int64_t r = 0; r < 150; ++r) {
      const bool is_valid = r < first_null || r % 3 != 0;
      valid.push_back(is_valid);
      if (!is_valid) {
        i.append_null(), s.append_null(), l.append_null();
        continue;
      }
      i.append_int(r);
      s.append_string("row " + std::to_string(r));
      const int32_t ids[3] = {static_cast<int32_t>(r), 1, 2};
      l.child(0).append_ints(ids, static_cast<size_t>(r % 4 == 0 ? 3 : 1));
      l.close_list();
    }
    Table t;
    t.schema = schema;
    t.batches.push_back(RecordBatch{150, {i.finish(), s.finish(), l.finish()}});
    const std::string path = dir.file("nulls.arrow");
    write_ipc_file(path, t);
    for (const Table& got : {t, read_ipc_file(path)}) {
      const auto& cols = got.batches.at(0).columns;
      for (int64_t r = 0; r < 150; ++r) {
        for (const auto& c : cols) ASSERT_EQ(c.is_valid(r), valid[static_cast<size_t>(r)]) << "first null " << first_null << ", row " << r;
        if (valid[static_cast<size_t>(r)]) {
          EXPECT_EQ(cols[0].to_json(r), r);
          EXPECT_EQ(cols[1].to_json(r), "row " + std::to_string(r));
          EXPECT_EQ(cols[2].to_json(r).size(), r % 4 == 0 ? 3u : 1u);
        }
      }
      EXPECT_EQ(cols[0].null_count(), first_null >= 150 ? 0 : std::count(valid.begin(), valid.end(), false));
    }
  }
}

TEST(ArrowIpcTest, BuilderRejectsOutOfRangeAndWrongTypes) {
  ArrayBuilder b(int8());
  EXPECT_THAT([&] { b.append_json(Json(300)); }, ThrowsMessage<InputError>(HasSubstr("out of range for int8")));
  ArrayBuilder s(utf8());
  EXPECT_THAT([&] { s.append_json(Json(1)); }, ThrowsMessage<InputError>(HasSubstr("expected a value of type string")));
}

TEST(ArrowIpcTest, HalfFloatConversionRoundsToNearestEven) {
  EXPECT_EQ(float_to_half(1.0f), 0x3c00);
  EXPECT_EQ(float_to_half(65504.0f), 0x7bff);
  EXPECT_EQ(float_to_half(1e6f), 0x7c00);
  EXPECT_EQ(half_to_float(0x0001), 5.960464477539063e-08f);
  EXPECT_EQ(float_to_half(1.0f + 1.0f / 2048), 0x3c00);  // tie -> even
  for (uint32_t h = 0; h < 0x7c00; ++h) ASSERT_EQ(float_to_half(half_to_float(static_cast<uint16_t>(h))), h);
}

// ---- hostile input ----

std::string write_sample(const TempDir& dir, IpcFormat format) {
  std::string path = dir.file("sample.arrow");
  write_ipc_file(path, make_table(all_types_sample(), 2), format);
  return read_file(path);
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Reading must either succeed or throw InputError; touching every value must do the same.
void read_everything(const Table& t) {
  for (const auto& b : t.batches)
    for (const auto& c : b.columns) {
      c.validate_full();
      for (int64_t i = 0; i < c.length(); ++i) c.to_json(i);
    }
}

// Parse bytes held in memory (the fuzz loops would spend their time in the file system otherwise).
void read_everything(const std::string& bytes, const std::string& name) {
  auto owned = std::make_shared<std::string>(bytes);
  read_everything(read_ipc_buffer(owned, reinterpret_cast<const uint8_t*>(owned->data()),
                                  static_cast<int64_t>(owned->size()), name));
}

TEST(ArrowIpcTest, EveryTruncationOfAStreamFailsCleanlyOrReadsWholeBatches) {
  TempDir dir;
  std::string bytes = write_sample(dir, IpcFormat::kStream);
  for (size_t n = 0; n < bytes.size(); ++n) {
    try {
      read_everything(bytes.substr(0, n), "cut.arrow");
    } catch (const InputError& e) {
      ASSERT_THAT(e.what(), HasSubstr("cut.arrow")) << "cut at " << n;
    }
  }
}

TEST(ArrowIpcTest, TruncatedFileFormatReportsMissingFooter) {
  TempDir dir;
  std::string bytes = write_sample(dir, IpcFormat::kFile);
  std::string path = dir.file("cut.arrow");
  write_bytes(path, bytes.substr(0, bytes.size() - 3));
  EXPECT_THAT([&] { read_ipc_file(path); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("cut.arrow"), HasSubstr("truncated"))));
  for (size_t n = 0; n < bytes.size(); ++n)
    EXPECT_THROW(read_everything(bytes.substr(0, n), "cut.arrow"), InputError) << "cut at " << n;
}

// ipc_file_complete (what load_dataset and map check before reusing a cache file that was not fsynced): true for
// what close() wrote, in both formats and with either durability (the same bytes), false for every shorter prefix
// of a stream (the caches' format) and for a sample of a file's.
TEST(ArrowIpcTest, EveryPrefixOfAClosedFileIsIncomplete) {
  TempDir dir;
  Sample s = all_types_sample();
  for (IpcFormat format : {IpcFormat::kStream, IpcFormat::kFile}) {
    std::string bytes;
    for (Durability durability : {Durability::kFsync, Durability::kPageCache}) {
      const std::string path = dir.file("whole.arrow");
      Table t = make_table(s, 2);
      auto w = IpcWriter::open(path, t.schema, format, durability);
      for (const auto& b : t.batches) w->write_batch(b);
      w->close();
      EXPECT_TRUE(ipc_file_complete(path));
      expect_same_values(read_ipc_file(path), s);
      if (!bytes.empty()) {
        EXPECT_EQ(read_file(path), bytes);
      }
      bytes = read_file(path);
    }
    for (size_t n = 0; n < bytes.size(); ++n) {
      if (format == IpcFormat::kFile && n % 7 != 0 && n + 16 < bytes.size()) continue;
      std::filesystem::remove(dir.file("cut.arrow"));  // not truncated: ext4 flushes a truncated file on close
      write_bytes(dir.file("cut.arrow"), bytes.substr(0, n));
      ASSERT_FALSE(ipc_file_complete(dir.file("cut.arrow"))) << "cut at " << n;
    }
  }
  EXPECT_FALSE(ipc_file_complete(dir.file("missing.arrow")));
}

TEST(ArrowIpcTest, BodyCutShortNamesTheFileAndTheMessage) {
  TempDir dir;
  std::string bytes = write_sample(dir, IpcFormat::kStream);
  std::string path = dir.file("short.arrow");
  write_bytes(path, bytes.substr(0, bytes.size() - 40));
  EXPECT_THAT([&] { read_ipc_file(path); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("short.arrow"), HasSubstr("runs past the end"))));
}

TEST(ArrowIpcTest, RandomlyCorruptedFilesNeverCrash) {
  TempDir dir;
  std::mt19937 rng(1234);
  for (auto format : {IpcFormat::kStream, IpcFormat::kFile}) {
    std::string bytes = write_sample(dir, format);
    for (int trial = 0; trial < 2000; ++trial) {
      std::string bad = bytes;
      int flips = 1 + static_cast<int>(rng() % 4);
      for (int k = 0; k < flips; ++k) bad[rng() % bad.size()] = static_cast<char>(rng());
      try {
        read_everything(bad, "bad.arrow");
      } catch (const InputError& e) {
        ASSERT_THAT(e.what(), HasSubstr("bad.arrow"));
      }
    }
  }
}

TEST(ArrowIpcTest, HostileStringOffsetsAreReportedOnAccess) {
  TempDir dir;
  Table t;
  t.schema.fields.push_back(field("s", utf8()));
  t.batches.push_back({2, {build(utf8(), Json::parse(R"(["ab", "cd"])"))}});
  write_ipc_file(dir.file("o.arrow"), t);
  std::string bytes = read_file(dir.file("o.arrow"));
  // The offsets buffer [0, 2, 4] is followed by the data "abcd"; make the last offset point far away.
  std::string needle("\x00\x00\x00\x00\x02\x00\x00\x00\x04\x00\x00\x00", 12);
  size_t at = bytes.find(needle);
  ASSERT_NE(at, std::string::npos);
  bytes[at + 8] = 0x40;
  write_bytes(dir.file("o.arrow"), bytes);
  Table got = read_ipc_file(dir.file("o.arrow"));
  EXPECT_EQ(got.batches[0].columns[0].string_value(0), "ab");
  EXPECT_THAT([&] { got.batches[0].columns[0].string_value(1); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("o.arrow"), HasSubstr("column \"s\""),
                                              HasSubstr("row 1"))));
}

TEST(ArrowIpcTest, InvalidUtf8InAStringColumnIsReportedOnAccessAsJson) {
  // Found by tests/fuzz arrow_ipc: the bytes reached nlohmann's dump, which threw type_error 316.
  TempDir dir;
  Table t;
  t.schema.fields.push_back(field("s", utf8()));
  t.batches.push_back({2, {build(utf8(), Json::parse(R"(["ab", "cd"])"))}});
  write_ipc_file(dir.file("u.arrow"), t);
  std::string bytes = read_file(dir.file("u.arrow"));
  size_t at = bytes.find("abcd");
  ASSERT_NE(at, std::string::npos);
  bytes[at + 3] = '\xff';
  write_bytes(dir.file("u.arrow"), bytes);
  Table got = read_ipc_file(dir.file("u.arrow"));
  EXPECT_EQ(got.batches[0].columns[0].to_json(0), "ab");
  EXPECT_THAT([&] { got.batches[0].columns[0].to_json(1); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("u.arrow"), HasSubstr("column \"s\""), HasSubstr("row 1"),
                                              HasSubstr("invalid UTF-8 at byte 1"))));
}

TEST(ArrowIpcTest, FieldNameThatIsNotUtf8IsRejectedWhenReading) {
  // Found by tests/fuzz arrow_ipc: the name became a JSON key in Dataset::row, whose dump threw type_error 316.
  TempDir dir;
  Table t;
  t.schema.fields.push_back(field("colname", utf8()));
  t.batches.push_back({1, {build(utf8(), Json::parse(R"(["x"])"))}});
  write_ipc_file(dir.file("n.arrow"), t);
  std::string bytes = read_file(dir.file("n.arrow"));
  size_t at = bytes.find("colname");
  ASSERT_NE(at, std::string::npos);
  bytes[at + 3] = '\x8a';
  write_bytes(dir.file("n.arrow"), bytes);
  EXPECT_THAT([&] { read_ipc_file(dir.file("n.arrow")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("n.arrow"), HasSubstr("name is not valid UTF-8 (byte 3)"))));
}

TEST(ArrowIpcTest, NonArrowFileIsRejectedWithItsName) {
  TempDir dir;
  write_bytes(dir.file("notes.txt"), "hello world, this is not arrow");
  EXPECT_THAT([&] { read_ipc_file(dir.file("notes.txt")); }, ThrowsMessage<InputError>(HasSubstr("notes.txt")));
  write_bytes(dir.file("empty.arrow"), "");
  EXPECT_THAT([&] { read_ipc_file(dir.file("empty.arrow")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("empty.arrow"), HasSubstr("no schema"))));
  EXPECT_THAT([&] { read_ipc_file(dir.file("missing.arrow")); },
              ThrowsMessage<InputError>(HasSubstr("missing.arrow")));
}

// ---- lazy reader (IpcFileReader: what Dataset opens files with) ----

TEST(ArrowIpcLazyReaderTest, IndexesBatchesAtOpenAndReadsTheSameValuesAsTheEagerReader) {
  TempDir dir;
  Sample s = all_types_sample();
  for (auto format : {IpcFormat::kStream, IpcFormat::kFile}) {
    std::string path = dir.file(format == IpcFormat::kFile ? "f.arrow" : "s.arrow");
    write_ipc_file(path, make_table(s, 2), format);
    auto reader = IpcFileReader::open(path);
    EXPECT_EQ(reader->format(), format);
    EXPECT_EQ(reader->schema().fields.size(), s.schema.fields.size());
    Table eager = read_ipc_file(path);
    ASSERT_EQ(reader->num_batches(), eager.batches.size());
    ASSERT_GT(reader->num_batches(), 1u);
    for (size_t b = 0; b < eager.batches.size(); ++b) EXPECT_EQ(reader->batch_num_rows(b), eager.batches[b].num_rows);
    EXPECT_EQ(reader->num_rows(), eager.num_rows());
    // Batches in any order, and the same batch twice (cached).
    EXPECT_EQ(&reader->batch(1), &reader->batch(1));
    Table lazy = reader->read_all();
    for (int c = 0; c < static_cast<int>(s.schema.fields.size()); ++c)
      EXPECT_EQ(column_json(lazy, c), column_json(eager, c)) << s.schema.fields[static_cast<size_t>(c)].name;
  }
}

// Our stream files of many batches get a batch index beside them (arrow/batch_index.h): reopening then reads it
// instead of walking every message. It must give what walking gives, be ignored when it does not match the file
// (and then be rewritten), and never be trusted past what the file itself says.
TEST(ArrowIpcLazyReaderTest, BatchIndexIsUsedWhenItMatchesIgnoredWhenStaleAndCheckedOnUse) {
  TempDir dir;
  const std::string path = dir.file("many.arrow"), index = batch_index_path(path);
  Schema schema;
  schema.fields.push_back(field("x", int64()));
  auto write = [&](int batches, int64_t first) {
    auto w = IpcWriter::open(path, schema);
    for (int b = 0; b < batches; ++b) {
      ArrayBuilder x(int64());
      for (int r = 0; r <= b % 3; ++r) x.append_int(first + b * 10 + r);
      w->write_batch({x.finish()});
    }
    w->close();
    return read_file(path);
  };
  auto same_as_walking = [&](const std::string& file) {
    auto lazy = IpcFileReader::open(file);
    Table eager = read_ipc_file(file);
    ASSERT_EQ(lazy->num_batches(), eager.batches.size());
    EXPECT_EQ(lazy->num_rows(), eager.num_rows());
    for (size_t b = 0; b < eager.batches.size(); ++b) EXPECT_EQ(lazy->batch_num_rows(b), eager.batches[b].num_rows);
    EXPECT_EQ(column_json(lazy->read_all(), 0), column_json(eager, 0));
  };

  write(kMinBatchesForIndex - 1, 0);  // few batches: no index
  EXPECT_FALSE(std::filesystem::exists(index));
  const std::string a = write(100, 0);
  ASSERT_TRUE(std::filesystem::exists(index));
  same_as_walking(path);
  write(80, 5000);
  same_as_walking(path);

  // The file replaced behind the index's back (as Python rewriting it would): the stale index is ignored and
  // brought up to date.
  write_bytes(path, a);
  same_as_walking(path);
  BatchEntries entries;
  int fd = ::open(path.c_str(), O_RDONLY);
  EXPECT_TRUE(read_batch_index(path, fd, entries));
  ::close(fd);
  EXPECT_EQ(entries.size(), 100u);

  // A damaged index is ignored.
  std::string damaged = read_file(index);
  damaged[damaged.size() / 2] ^= 0x40;
  write_bytes(index, damaged);
  same_as_walking(path);

  // An index that matches the file's key but lies about a batch: num_rows follows it, but using the batch is a
  // clear error naming the index, never a wrong row.
  for (auto& e : entries) e.second += 1;
  write_batch_index(path, entries);
  auto lying = IpcFileReader::open(path);
  EXPECT_THAT([&] { lying->batch(0); }, ThrowsMessage<InputError>(HasSubstr("tcpp-index")));
  std::filesystem::remove(index);
  same_as_walking(path);  // and without any index, as for files Python wrote

  // A stream file without an index (as Python writes them) gets one at its first open, the same as walking gives;
  // the next open uses it. A file-format file (its footer is its index) and a file of few batches get none.
  ASSERT_TRUE(std::filesystem::exists(index));
  BatchEntries walked;
  {
    Table eager = read_ipc_file(path);
    fd = ::open(path.c_str(), O_RDONLY);
    EXPECT_TRUE(read_batch_index(path, fd, walked));
    ::close(fd);
    ASSERT_EQ(walked.size(), eager.batches.size());
    for (size_t b = 0; b < walked.size(); ++b) EXPECT_EQ(walked[b].second, eager.batches[b].num_rows);
  }
  same_as_walking(path);
  std::filesystem::remove(index);
  write(kMinBatchesForIndex - 1, 0);
  same_as_walking(path);
  EXPECT_FALSE(std::filesystem::exists(index));
  const std::string file_format = dir.file("many-file-format.arrow");
  {
    auto w = IpcWriter::open(file_format, schema, IpcFormat::kFile);
    for (int b = 0; b < 100; ++b) {
      ArrayBuilder x(int64());
      x.append_int(b);
      w->write_batch({x.finish()});
    }
    w->close();
  }
  same_as_walking(file_format);
  EXPECT_FALSE(std::filesystem::exists(batch_index_path(file_format)));
}

TEST(ArrowIpcLazyReaderTest, TruncatedOrCorruptedFilesFailCleanlyAtOpenOrAtFirstUse) {
  TempDir dir;
  std::mt19937 rng(99);
  for (auto format : {IpcFormat::kStream, IpcFormat::kFile}) {
    std::string bytes = write_sample(dir, format);
    std::string path = dir.file("bad.arrow");
    for (int trial = 0; trial < 400; ++trial) {
      std::string bad = bytes;
      if (trial % 2 == 0) {
        bad.resize(rng() % bytes.size());
      } else {
        for (int k = 1 + static_cast<int>(rng() % 4); k > 0; --k) bad[rng() % bad.size()] = static_cast<char>(rng());
      }
      write_bytes(path, bad);
      try {
        read_everything(IpcFileReader::open(path)->read_all());
      } catch (const InputError& e) {
        ASSERT_THAT(e.what(), HasSubstr("bad.arrow")) << "trial " << trial;
      }
    }
  }
  // A body cut short is found by the index, before any batch is used.
  std::string bytes = write_sample(dir, IpcFormat::kStream);
  write_bytes(dir.file("cut.arrow"), bytes.substr(0, bytes.size() - 40));
  EXPECT_THAT([&] { IpcFileReader::open(dir.file("cut.arrow")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("cut.arrow"), HasSubstr("runs past the end"))));
}

}  // namespace
}  // namespace tcpp::datasets::arrow
