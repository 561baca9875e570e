// The parquet builder on hand-assembled files whose bytes are spelled out (PLAIN, dictionary, RLE runs,
// data page v1 and v2, nulls, lists, several row groups), and on broken files: each error names the file
// (and row group and column) and what was expected; no input crashes or hangs the reader.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "parquet_test_file.h"
#include "tcpp/core/error.h"
#include "tcpp/core/file.h"
#include "tcpp/datasets/arrow/ipc.h"
#include "tcpp/datasets/builders/builders.h"
#include "tcpp/datasets/iterable_dataset.h"
#include "tcpp/datasets/load.h"
#include "tcpp/datasets/parquet/file_reader.h"
#include "test_util.h"

namespace tcpp::datasets {
namespace {

using namespace testing;  // NOLINT: the test helpers
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

class ParquetTest : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& bytes) {
    std::string path = tmp_.file(name);
    write_file_atomic(path, bytes);
    return path;
  }
  Dataset load(const std::string& path) {
    LoadOptions o;
    o.data_files["train"] = {path};  // the builder comes from the .parquet extension
    o.cache_dir = tmp_.file("cache");
    return load_dataset(o).at("train");
  }
  static std::string dump(const std::vector<Json>& values) { return Json(values).dump(); }

  TempDir tmp_;
};

// One required INT32 column "x" holding `values` in a single PLAIN data page.
std::string int32_file(const std::vector<int32_t>& values, int codec = 0, int encoding = kPlain) {
  Chunk c = chunk(kInt32, {"x"}, static_cast<int64_t>(values.size()),
                  {data_page(plain(values), static_cast<int>(values.size()), encoding)}, codec);
  return parquet_file({root(1), leaf("x", kInt32, kRequired)}, {{static_cast<int64_t>(values.size()), {c}}});
}

// ["bc", null, "a", "bc"]: a PLAIN_DICTIONARY dictionary ["a", "bc"], definition levels 1,0,1,1 as one
// bit-packed group (0b1101), indices 1,0,1 at bit width 1 (0b101).
std::string dictionary_strings_file() {
  Page dict = dictionary_page(plain_strings({"a", "bc"}), 2, kPlainDictionary);
  Page data = data_page(v1_levels("\x03\x0d") + "\x01" + "\x03\x05", 4, kPlainDictionary);
  return parquet_file({root(1), leaf("s", kByteArray, kOptional, kUtf8)},
                      {{4, {chunk(kByteArray, {"s"}, 4, {dict, data})}}});
}

// [[1, 2], [], null, [null, 4]] as a 3-level LIST: repetition levels 0,1,0,0,0,1 (bit-packed 0b00100010),
// definition levels 3,3,1,0,2,3 at bit width 2 (bytes 0x1f 0x0e), values 1, 2, 4.
std::string list_file() {
  Page data = data_page(v1_levels("\x03\x22") + v1_levels("\x03\x1f\x0e") + plain<int32_t>({1, 2, 4}), 6);
  Chunk c = chunk(kInt32, {"tokens", "list", "element"}, 6, {data});
  return parquet_file({root(1), group("tokens", kOptional, 1, /*LIST*/ 3), group("list", kRepeated, 1),
                       leaf("element", kInt32, kOptional)},
                      {{4, {c}}});
}

TEST_F(ParquetTest, RequiredInt32PlainPageReadsItsValues) {
  Dataset d = load(write("x.parquet", int32_file({1, -2, 2147483647})));
  EXPECT_EQ(d.schema().fields.at(0).type.to_string(), "int32");
  EXPECT_EQ(dump(d.column("x")), "[1,-2,2147483647]");
}

TEST_F(ParquetTest, OptionalStringsWithPlainDictionaryKeepNulls) {
  Dataset d = load(write("s.parquet", dictionary_strings_file()));
  EXPECT_EQ(d.schema().fields.at(0).type.to_string(), "string");
  EXPECT_EQ(dump(d.column("s")), R"(["bc",null,"a","bc"])");
}

TEST_F(ParquetTest, RleDictionaryDataPageV2AndASecondRowGroupWithPlainV1) {
  // Row group 0: [7, 7, 7, null, 9]: v2 levels without a length prefix as RLE runs (3 x 1, 1 x 0, 1 x 1);
  // indices as RLE runs (3 x 0, 1 x 1). Row group 1: [null, -5] in a v1 PLAIN page.
  Page dict = dictionary_page(plain<int64_t>({7, 9}), 2);
  Page v2 =
      data_page_v2(std::string("\x06\x01\x02\x00\x02\x01", 6) + "\x01" + std::string("\x06\x00\x02\x01", 4),
                   5, kRleDictionary, /*num_nulls=*/1, /*def_length=*/6);
  Chunk c0 = chunk(kInt64, {"n"}, 5, {dict, v2});
  Chunk c1 = chunk(kInt64, {"n"}, 2,
                   {data_page(v1_levels(std::string("\x02\x00\x02\x01", 4)) + plain<int64_t>({-5}), 2)});
  Dataset d =
      load(write("n.parquet", parquet_file({root(1), leaf("n", kInt64, kOptional)}, {{5, {c0}}, {2, {c1}}})));
  EXPECT_EQ(d.schema().fields.at(0).type.to_string(), "int64");
  EXPECT_EQ(dump(d.column("n")), "[7,7,7,null,9,null,-5]");
}

TEST_F(ParquetTest, BooleanFloatAndDoubleColumnsReadPlainValues) {
  Chunk b = chunk(kBoolean, {"b"}, 3, {data_page("\x05", 3)});  // bits 1,0,1
  Chunk f = chunk(kFloat, {"f"}, 3, {data_page(plain<float>({0.5f, -1.25f, 3.0f}), 3)});
  Chunk g = chunk(kDouble, {"g"}, 3, {data_page(plain<double>({0.1, 1e300, -2.0}), 3)});
  Dataset d =
      load(write("bfg.parquet", parquet_file({root(3), leaf("b", kBoolean, kRequired),
                                              leaf("f", kFloat, kRequired), leaf("g", kDouble, kRequired)},
                                             {{3, {b, f, g}}})));
  EXPECT_EQ(d.schema().to_string(), "b: bool\nf: float\ng: double\n");
  EXPECT_EQ(dump(d.column("b")), "[true,false,true]");
  EXPECT_EQ(dump(d.column("f")), "[0.5,-1.25,3.0]");
  EXPECT_EQ(dump(d.column("g")), "[0.1,1e+300,-2.0]");
}

TEST_F(ParquetTest, ThreeLevelListKeepsEmptyNullListsAndNullItems) {
  Dataset d = load(write("l.parquet", list_file()));
  EXPECT_EQ(d.schema().fields.at(0).type.to_string(), "list<item: int32>");
  EXPECT_EQ(dump(d.column("tokens")), "[[1,2],[],null,[null,4]]");
}

// DELTA_BINARY_PACKED blocks of 128 values in one miniblock: header varint(128) 0x80 0x01, 1 miniblock,
// count, zigzag(first value); then per block zigzag(min delta), the miniblock's bit width and 128 * width / 8
// bytes.
std::string delta_block(int count, int first_zigzag, int min_delta_zigzag, int width,
                        const std::string& packed) {
  std::string s = std::string("\x80\x01\x01", 3) + static_cast<char>(count) + static_cast<char>(first_zigzag);
  if (count <= 1) return s;
  std::string data = packed;
  data.resize(static_cast<size_t>(128 * width / 8), '\0');
  return s + static_cast<char>(min_delta_zigzag) + static_cast<char>(width) + data;
}

TEST_F(ParquetTest, LegacyRepeatedPrimitiveIsANonNullList) {
  // `repeated int32 ids` (no LIST group): [[1, 2], [], [3]] = repetition levels 0,1,0,0 (0b0010), definition
  // levels 1,1,0,1 (0b1011), values 1, 2, 3.
  Page data = data_page(v1_levels("\x03\x02") + v1_levels("\x03\x0b") + plain<int32_t>({1, 2, 3}), 4);
  Dataset d = load(write("ids.parquet", parquet_file({root(1), leaf("ids", kInt32, kRepeated)},
                                                     {{3, {chunk(kInt32, {"ids"}, 4, {data})}}})));
  EXPECT_EQ(d.schema().fields.at(0).type.to_string(), "list<item: int32>");
  EXPECT_EQ(dump(d.column("ids")), "[[1,2],[],[3]]");
}

TEST_F(ParquetTest, DeltaBinaryPackedIntegersDecode) {
  // Encodings.md's example 2: 7, 5, 3, 1, 2, 3, 4, 5 -> min delta -2 (zigzag 3), relative deltas
  // 0,0,0,3,3,3,3 at 2 bits: bytes 0xc0 0x3f.
  std::string body = delta_block(8, /*zigzag(7)=*/14, 3, 2, "\xc0\x3f");
  Chunk c = chunk(kInt32, {"x"}, 8, {data_page(body, 8, /*DELTA_BINARY_PACKED*/ 5)});
  Dataset d = load(write("dbp.parquet", parquet_file({root(1), leaf("x", kInt32, kRequired)}, {{8, {c}}})));
  EXPECT_EQ(dump(d.column("x")), "[7,5,3,1,2,3,4,5]");
}

TEST_F(ParquetTest, DeltaLengthAndDeltaByteArrayStringsDecode) {
  // Lengths 5,5,6,6: first 5 (zigzag 10), relative deltas 0,1,0 at 1 bit (0x02), then the bytes back to back.
  std::string dlba = delta_block(4, 10, 0, 1, "\x02") + "HelloWorldFoobarABCDEF";
  Chunk a = chunk(kByteArray, {"s"}, 4, {data_page(dlba, 4, /*DELTA_LENGTH_BYTE_ARRAY*/ 6)});
  // Encodings.md's example: axis, axle, babble, babyhood = prefixes 0,2,0,3 (deltas 2,-2,3: min -2, relative
  // 4,0,5 at 3 bits: 0x44 0x01) and suffixes axis, le, babble, yhood (lengths 4,2,6,5: first 4 = zigzag 8,
  // deltas -2,4,-1: relative 0,6,1 at 3 bits: 0x70).
  std::string dba =
      delta_block(4, 0, 3, 3, "\x44\x01") + delta_block(4, 8, 3, 3, "\x70") + "axislebabbleyhood";
  Chunk b = chunk(kByteArray, {"t"}, 4, {data_page(dba, 4, kDeltaByteArray)});
  Dataset d = load(write("dba.parquet", parquet_file({root(2), leaf("s", kByteArray, kRequired, kUtf8),
                                                      leaf("t", kByteArray, kRequired, kUtf8)},
                                                     {{4, {a, b}}})));
  EXPECT_EQ(dump(d.column("s")), R"(["Hello","World","Foobar","ABCDEF"])");
  EXPECT_EQ(dump(d.column("t")), R"(["axis","axle","babble","babyhood"])");
}

TEST_F(ParquetTest, DeltaByteArrayPrefixLongerThanThePreviousValueIsReported) {
  std::string dba =
      delta_block(2, /*zigzag(5)=*/10, 0, 0, "") + delta_block(2, 2, 0, 0, "") + "ab";  // prefix 5 of ""
  Chunk b = chunk(kByteArray, {"t"}, 2, {data_page(dba, 2, kDeltaByteArray)});
  std::string path =
      write("badprefix.parquet", parquet_file({root(1), leaf("t", kByteArray, kRequired)}, {{2, {b}}}));
  EXPECT_THAT([&] { load(path); }, ThrowsMessage<InputError>(AllOf(
                                       HasSubstr(path + ": row group 0, column \"t\""),
                                       HasSubstr("prefix length 5 exceeds the previous value's 0 bytes"))));
}

TEST_F(ParquetTest, DeltaBinaryPackedHeaderWithAbsurdSizesIsReported) {
  // Block size 2^40 values in 2^35 miniblocks: rejected before anything is allocated for them.
  std::string body =
      std::string("\x80\x80\x80\x80\x80\x20", 6) + std::string("\x80\x80\x80\x80\x80\x01\x02\x00", 8);
  Chunk c = chunk(kInt64, {"x"}, 2, {data_page(body, 2, /*DELTA_BINARY_PACKED*/ 5)});
  std::string path =
      write("absurd.parquet", parquet_file({root(1), leaf("x", kInt64, kRequired)}, {{2, {c}}}));
  EXPECT_THAT([&] { load(path); },
              ThrowsMessage<InputError>(AllOf(HasSubstr(path + ": row group 0, column \"x\""),
                                              HasSubstr("DELTA_BINARY_PACKED header"))));
}

TEST_F(ParquetTest, ConvertBuilderNameAndExtensionBothWork) {
  EXPECT_EQ(builder_for_extension("data/train-00000-of-00001.parquet"), "parquet");
  LoadOptions o;
  o.builder = "parquet";
  o.data_files["train"] = {write("x.bin", int32_file({4, 5}))};
  o.cache_dir = tmp_.file("cache");
  EXPECT_EQ(dump(load_dataset(o).at("train").column("x")), "[4,5]");
}

TEST_F(ParquetTest, StreamingYieldsTheRowsTheCacheHolds) {
  LoadOptions o;
  o.data_files["train"] = {write("l.parquet", list_file()), write("l2.parquet", list_file())};
  o.cache_dir = tmp_.file("cache");
  std::vector<Json> rows = IterableDataset::from_files(o, "train").to_rows();
  std::string four = R"({"tokens":[1,2]},{"tokens":[]},{"tokens":null},{"tokens":[null,4]})";
  EXPECT_EQ(Json(rows).dump(), "[" + four + "," + four + "]");
  Dataset cached = load_dataset(o).at("train");
  for (size_t i = 0; i < rows.size(); ++i)
    EXPECT_EQ(rows[i], cached.row(static_cast<int64_t>(i))) << "row " << i;
  EXPECT_EQ(IterableDataset::from_files(o, "train").take(3).to_rows().size(), 3u);
}

// --- bad input: InputError naming the file (row group, column) and what was expected ---

TEST_F(ParquetTest, BadMagicNamesTheFileAndTheExpectedMagic) {
  std::string bytes = int32_file({1});
  bytes.replace(bytes.size() - 4, 4, "PAR2");
  std::string path = write("bad.parquet", bytes);
  EXPECT_THAT(
      [&] { load(path); },
      ThrowsMessage<InputError>(HasSubstr(path + ": not a Parquet file: expected the magic \"PAR1\"")));
}

TEST_F(ParquetTest, TruncatedFileNamesTheFile) {
  std::string bytes = int32_file({1, 2, 3});
  std::string path = write("cut.parquet", bytes.substr(0, bytes.size() - 7));
  EXPECT_THAT([&] { load(path); }, ThrowsMessage<InputError>(HasSubstr(path + ": not a Parquet file")));
  std::string tiny = write("tiny.parquet", "PAR1");
  EXPECT_THAT([&] { load(tiny); }, ThrowsMessage<InputError>(HasSubstr("expected at least 12")));
}

TEST_F(ParquetTest, FooterLengthBeyondTheFileIsReported) {
  std::string bytes = int32_file({1});
  bytes.replace(bytes.size() - 8, 4, std::string("\xff\xff\x00\x00", 4));
  std::string path = write("len.parquet", bytes);
  EXPECT_THAT([&] { load(path); },
              ThrowsMessage<InputError>(HasSubstr(path + ": footer length 65535 exceeds")));
}

TEST_F(ParquetTest, CorruptFooterIsReported) {
  std::string bytes = int32_file({1});
  uint32_t len;
  std::memcpy(&len, bytes.data() + bytes.size() - 8, 4);
  bytes.replace(bytes.size() - 8 - len, len, std::string(len, '\x0f'));  // field type 15 does not exist
  std::string path = write("footer.parquet", bytes);
  EXPECT_THAT([&] { load(path); },
              ThrowsMessage<InputError>(HasSubstr(path + ": corrupt footer (FileMetaData)")));
}

TEST_F(ParquetTest, UnsupportedCodecNamesRowGroupColumnAndSupportedCodecs) {
  std::string path = write("lzo.parquet", int32_file({1, 2}, /*codec=LZO*/ 3));
  EXPECT_THAT([&] { load(path); },
              ThrowsMessage<InputError>(
                  AllOf(HasSubstr(path + ": row group 0, column \"x\": page 0 (DATA_PAGE)"),
                        HasSubstr("codec LZO is not supported (supported: UNCOMPRESSED, SNAPPY, GZIP"))));
}

TEST_F(ParquetTest, UnsupportedEncodingNamesTheColumn) {
  Chunk c = chunk(kByteArray, {"s"}, 1, {data_page(std::string(2, '\0'), 1, kBitPacked)});
  std::string path =
      write("delta.parquet", parquet_file({root(1), leaf("s", kByteArray, kRequired, kUtf8)}, {{1, {c}}}));
  EXPECT_THAT([&] { load(path); },
              ThrowsMessage<InputError>(
                  AllOf(HasSubstr(path + ": row group 0, column \"s\""),
                        HasSubstr("encoding BIT_PACKED of BYTE_ARRAY values is not supported"))));
}

TEST_F(ParquetTest, ValueOutsideItsAnnotatedIntegerTypeNamesTheColumn) {
  Chunk c = chunk(kInt32, {"b"}, 2, {data_page(plain<int32_t>({7, 300}), 2)});
  std::string path =
      write("int8.parquet", parquet_file({root(1), leaf("b", kInt32, kRequired, /*INT_8*/ 15)}, {{2, {c}}}));
  EXPECT_THAT([&] { load(path); },
              ThrowsMessage<InputError>(AllOf(HasSubstr(path + ": row group 0, column \"b\""),
                                              HasSubstr("integer 300 is out of range for int8"))));
}

TEST_F(ParquetTest, Int96ColumnIsRejectedByName) {
  Chunk c = chunk(kInt96, {"t"}, 0, {});
  std::string path = write("t.parquet", parquet_file({root(1), leaf("t", kInt96, kOptional)}, {{0, {c}}}));
  EXPECT_THAT([&] { load(path); },
              ThrowsMessage<InputError>(HasSubstr(
                  path + ": column \"t\": physical type INT96 (legacy timestamps) is not supported")));
}

// Names become Arrow field names and so JSON keys: one that is not UTF-8, at any depth, is refused by its path (the
// bad byte escaped), found by the parquet fuzz target in a struct member's name, which reached nlohmann's dump.
TEST_F(ParquetTest, NamesThatAreNotUtf8AreRefusedAtAnyDepth) {
  const Chunk c = chunk(kInt32, {"s", "x\xf9"}, 1, {data_page(plain<int32_t>({1}), 1)});
  const std::string nested = write(
      "nested.parquet",
      parquet_file({root(1), group("s", kRequired, 1), leaf("x\xf9", kInt32, kRequired)}, {{1, {c}}}));
  EXPECT_THAT([&] { load(nested); },
              ThrowsMessage<InputError>(HasSubstr("column \"s.x\\xf9\": the name is not valid UTF-8")));
  const Chunk top = chunk(kInt32, {"\xc3"}, 1, {data_page(plain<int32_t>({1}), 1)});
  const std::string flat =
      write("flat.parquet", parquet_file({root(1), leaf("\xc3", kInt32, kRequired)}, {{1, {top}}}));
  EXPECT_THAT([&] { load(flat); },
              ThrowsMessage<InputError>(HasSubstr("column \"\\xc3\": the name is not valid UTF-8")));
}

// DATE, TIME and TIMESTAMP leaves (LogicalType, and the legacy ConvertedType annotations) load with the temporal types
// pyarrow gives them (timestamps adjusted to UTC: tz=UTC); a DATE not stored as INT32 is refused by name.
TEST_F(ParquetTest, DatesTimesAndTimestampsLoadAsPyarrowReadsThem) {
  const std::vector<Chunk> chunks = {
      chunk(kInt32, {"d"}, 2, {data_page(plain<int32_t>({19782, -1}), 2)}),
      chunk(kInt32, {"t_ms"}, 2, {data_page(plain<int32_t>({43200250, 0}), 2)}),
      chunk(kInt64, {"t_ns"}, 2, {data_page(plain<int64_t>({1, 86399999999999}), 2)}),
      chunk(kInt64, {"ts_utc_us"}, 2, {data_page(plain<int64_t>({946684800000001, 0}), 2)}),
      chunk(kInt64, {"ts_ns"}, 2, {data_page(plain<int64_t>({-1, 1700000000123456789}), 2)}),
      chunk(kInt64, {"ts_legacy"}, 2, {data_page(plain<int64_t>({1500, 0}), 2)}),
      chunk(kInt32, {"d_legacy"}, 2, {data_page(plain<int32_t>({0, 59}), 2)}),
      chunk(kInt64, {"t_legacy"}, 2, {data_page(plain<int64_t>({3723000004, 0}), 2)}),
  };
  const std::vector<SchemaNode> schema = {
      root(8),
      logical_leaf("d", kInt32, /*DATE*/ 6),
      logical_leaf("t_ms", kInt32, /*TIME*/ 7, true, /*MILLIS*/ 1),
      logical_leaf("t_ns", kInt64, 7, false, /*NANOS*/ 3),
      logical_leaf("ts_utc_us", kInt64, /*TIMESTAMP*/ 8, true, /*MICROS*/ 2),
      logical_leaf("ts_ns", kInt64, 8, false, 3),
      leaf("ts_legacy", kInt64, kRequired, /*TIMESTAMP_MILLIS*/ 9),
      leaf("d_legacy", kInt32, kRequired, /*DATE*/ 6),
      leaf("t_legacy", kInt64, kRequired, /*TIME_MICROS*/ 8)};
  const Dataset d = load(write("temporal.parquet", parquet_file(schema, {{2, chunks}})));
  EXPECT_EQ(d.schema().to_string(),
            "d: date32[day]\nt_ms: time32[ms]\nt_ns: time64[ns]\nts_utc_us: timestamp[us, tz=UTC]\n"
            "ts_ns: timestamp[ns]\nts_legacy: timestamp[ms, tz=UTC]\nd_legacy: date32[day]\nt_legacy: time64[us]\n");
  EXPECT_EQ(dump(d.column("d")), R"(["2024-02-29","1969-12-31"])");
  EXPECT_EQ(dump(d.column("t_ms")), R"(["12:00:00.250","00:00:00"])");
  EXPECT_EQ(dump(d.column("t_ns")), R"(["00:00:00.000000001","23:59:59.999999999"])");
  EXPECT_EQ(dump(d.column("ts_utc_us")), R"(["2000-01-01T00:00:00.000001+00:00","1970-01-01T00:00:00+00:00"])");
  EXPECT_EQ(dump(d.column("ts_ns")), R"(["1969-12-31T23:59:59.999999999","2023-11-14T22:13:20.123456789"])");
  EXPECT_EQ(dump(d.column("ts_legacy")), R"(["1970-01-01T00:00:01.500+00:00","1970-01-01T00:00:00+00:00"])");
  EXPECT_EQ(dump(d.column("d_legacy")), R"(["1970-01-01","1970-03-01"])");
  EXPECT_EQ(dump(d.column("t_legacy")), R"(["01:02:03.000004","00:00:00"])");
  const std::string path =
      write("bad_date.parquet",
            parquet_file({root(1), logical_leaf("d", kInt64, 6)},
                         {{1, {chunk(kInt64, {"d"}, 1, {data_page(plain<int64_t>({1}), 1)})}}}));
  EXPECT_THAT([&] { load(path); },
              ThrowsMessage<InputError>(
                  HasSubstr("column \"d\": a date32[day] column must be stored as INT32, not INT64")));
}

// base64 of bytes (RFC 4648), for an ARROW:schema record.
std::string base64(const std::string& bytes) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t v = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) v |= static_cast<uint8_t>(bytes[i + 2]);
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    out += i + 1 < bytes.size() ? kAlphabet[v >> 6 & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[v & 63] : '=';
  }
  return out;
}

// The file's ARROW:schema (the Arrow types pyarrow and arrow-rs wrote from, an IPC schema message in base64) gives
// back what the annotations cannot say: a timezone name, a duration and a time in seconds over plain integers, a
// large string, and with pyarrow's casts a date64 stored as DATE days and a timestamp[s] stored in milliseconds (a
// stored value that is not a whole second is an error, as pyarrow's safe cast). A record that does not parse is
// ignored with a warning.
TEST_F(ParquetTest, ArrowSchemaRecordRestoresTypesTheAnnotationsCannotSay) {
  using arrow::TimeUnit;
  arrow::Table written;
  written.schema.fields = {arrow::field("dur", arrow::duration(TimeUnit::kSecond)),
                           arrow::field("ts", arrow::timestamp(TimeUnit::kMilli, "Europe/Paris")),
                           arrow::field("s", arrow::large_utf8()), arrow::field("d", arrow::date64()),
                           arrow::field("t", arrow::time32(TimeUnit::kSecond)),
                           arrow::field("ts_s", arrow::timestamp(TimeUnit::kSecond))};
  arrow::write_ipc_file(tmp_.file("schema.arrows"), written, arrow::IpcFormat::kStream);
  const std::string record = base64(read_file(tmp_.file("schema.arrows")));
  const std::vector<Chunk> chunks = {
      chunk(kInt64, {"dur"}, 2, {data_page(plain<int64_t>({3600, -5}), 2)}),
      chunk(kInt64, {"ts"}, 2, {data_page(plain<int64_t>({1500, 0}), 2)}),
      chunk(kByteArray, {"s"}, 2, {data_page(plain_strings({"caf\xc3\xa9", ""}), 2)}),
      chunk(kInt32, {"d"}, 2, {data_page(plain<int32_t>({59, 0}), 2)}),
      chunk(kInt32, {"t"}, 2, {data_page(plain<int32_t>({3723, 0}), 2)}),
      chunk(kInt64, {"ts_s"}, 2, {data_page(plain<int64_t>({86400000, -1000}), 2)})};
  const std::vector<SchemaNode> schema = {root(6),
                                          leaf("dur", kInt64, kRequired),
                                          logical_leaf("ts", kInt64, /*TIMESTAMP*/ 8, true, /*MILLIS*/ 1),
                                          leaf("s", kByteArray, kRequired, kUtf8),
                                          logical_leaf("d", kInt32, /*DATE*/ 6),
                                          leaf("t", kInt32, kRequired),
                                          logical_leaf("ts_s", kInt64, 8, false, 1)};
  const Dataset d = load(write("restored.parquet", parquet_file(schema, {{2, chunks}}, {{"ARROW:schema", record}})));
  EXPECT_EQ(d.schema().to_string(), "dur: duration[s]\nts: timestamp[ms, tz=Europe/Paris]\ns: large_string\n"
                                    "d: date64[ms]\nt: time32[s]\nts_s: timestamp[s]\n");
  EXPECT_EQ(dump(d.column("d")), R"(["1970-03-01","1970-01-01"])");
  EXPECT_EQ(dump(d.column("ts_s")), R"(["1970-01-02T00:00:00","1969-12-31T23:59:59"])");
  EXPECT_EQ(d.row(0)["ts_s"], "1970-01-02T00:00:00");
  EXPECT_EQ(dump(d.column("dur")), "[3600,-5]");
  EXPECT_EQ(dump(d.column("ts")), R"(["1970-01-01T00:00:01.500+00:00","1970-01-01T00:00:00+00:00"])");
  EXPECT_EQ(dump(d.column("s")), R"(["café",""])");
  EXPECT_EQ(dump(d.column("t")), R"(["01:02:03","00:00:00"])");
  const Dataset plain_types = load(
      write("bad_record.parquet", parquet_file(schema, {{2, chunks}}, {{"ARROW:schema", "not base64!"}})));
  EXPECT_EQ(
      plain_types.schema().to_string(),
      "dur: int64\nts: timestamp[ms, tz=UTC]\ns: string\nd: date32[day]\nt: int32\nts_s: timestamp[ms]\n");
  std::vector<Chunk> fractional = chunks;
  fractional[5] = chunk(kInt64, {"ts_s"}, 2, {data_page(plain<int64_t>({1500, 0}), 2)});
  EXPECT_THAT(
      [&] {
        load(write("fraction.parquet", parquet_file(schema, {{2, fractional}}, {{"ARROW:schema", record}})));
      },
      ThrowsMessage<InputError>(HasSubstr("column \"ts_s\": stored value 1500 is not a whole number of the "
                                          "timestamp[s] the file's ARROW:schema names")));
}

TEST_F(ParquetTest, OptionalStructKeepsNullStructsAndNullMembers) {
  // optional group pt { optional int32 a; required int64 b; }: [{a: 1, b: 10}, null, {a: null, b: 30}].
  // a: definition levels 2,0,1 at bit width 2 (0b00010010), values 1. b: levels 1,0,1 (0b101), values 10, 30.
  Chunk a = chunk(kInt32, {"pt", "a"}, 3, {data_page(v1_levels("\x03\x12") + plain<int32_t>({1}), 3)});
  Chunk b = chunk(kInt64, {"pt", "b"}, 3, {data_page(v1_levels("\x03\x05") + plain<int64_t>({10, 30}), 3)});
  Dataset d =
      load(write("pt.parquet", parquet_file({root(1), group("pt", kOptional, 2), leaf("a", kInt32, kOptional),
                                             leaf("b", kInt64, kRequired)},
                                            {{3, {a, b}}})));
  EXPECT_EQ(d.schema().fields.at(0).type.to_string(), "struct<a: int32, b: int64>");
  EXPECT_EQ(dump(d.column("pt")), R"([{"a":1,"b":10},null,{"a":null,"b":30}])");
}

TEST_F(ParquetTest, MapColumnsAndMalformedListsAreRejectedByName) {
  std::string m =
      write("map.parquet",
            parquet_file({root(1), group("m", kOptional, 1, /*MAP*/ 1), group("key_value", kRepeated, 2),
                          leaf("key", kByteArray, kRequired, kUtf8), leaf("value", kInt32, kOptional)},
                         {}));
  EXPECT_THAT([&] { load(m); },
              ThrowsMessage<InputError>(HasSubstr(m + ": column \"m\": map columns are not supported")));
  std::string l = write(
      "badlist.parquet",
      parquet_file({root(1), group("l", kOptional, 1, /*LIST*/ 3), leaf("element", kInt32, kOptional)}, {}));
  EXPECT_THAT([&] { load(l); },
              ThrowsMessage<InputError>(
                  HasSubstr(l + ": column \"l\": a LIST group must hold exactly one repeated field")));
}

TEST_F(ParquetTest, DictionaryIndexOutOfRangeIsReported) {
  Page dict = dictionary_page(plain<int32_t>({10, 20}), 2);
  Page data = data_page("\x03\x02\x05", 1, kRleDictionary);  // bit width 3, RLE run of one index 5
  std::string path = write("idx.parquet", parquet_file({root(1), leaf("x", kInt32, kRequired)},
                                                       {{1, {chunk(kInt32, {"x"}, 1, {dict, data})}}}));
  EXPECT_THAT([&] { load(path); },
              ThrowsMessage<InputError>(
                  AllOf(HasSubstr(path + ": row group 0, column \"x\": page 1 (DATA_PAGE)"),
                        HasSubstr("dictionary index 5 is out of range (the dictionary has 2 entries)"))));
}

TEST_F(ParquetTest, PageAndChunkValueCountsMustAgree) {
  auto schema = std::vector<SchemaNode>{root(1), leaf("x", kInt32, kRequired)};
  Chunk more = chunk(kInt32, {"x"}, 3, {data_page(plain<int32_t>({1, 2, 3}), 10)});
  std::string a = write("more.parquet", parquet_file(schema, {{3, {more}}}));
  EXPECT_THAT([&] { load(a); },
              ThrowsMessage<InputError>(HasSubstr("10 values, but the column chunk has 3 left")));
  Chunk fewer = chunk(kInt32, {"x"}, 5, {data_page(plain<int32_t>({1, 2, 3}), 3)});
  std::string b = write("fewer.parquet", parquet_file(schema, {{5, {fewer}}}));
  EXPECT_THAT([&] { load(b); },
              ThrowsMessage<InputError>(
                  HasSubstr(b + ": row group 0, column \"x\": column chunk ended after 3 of its 5 values")));
  Chunk rows = chunk(kInt32, {"x"}, 3, {data_page(plain<int32_t>({1, 2, 3}), 3)});
  std::string c = write("rows.parquet", parquet_file(schema, {{4, {rows}}}));
  EXPECT_THAT([&] { load(c); },
              ThrowsMessage<InputError>(HasSubstr("column \"x\": holds 3 rows, the row group has 4")));
}

TEST_F(ParquetTest, PlainDataShorterThanItsValuesIsReported) {
  Chunk c = chunk(kInt64, {"x"}, 3, {data_page(plain<int64_t>({1, 2}), 3)});
  std::string path =
      write("short.parquet", parquet_file({root(1), leaf("x", kInt64, kRequired)}, {{3, {c}}}));
  EXPECT_THAT([&] { load(path); },
              ThrowsMessage<InputError>(HasSubstr("PLAIN INT64 data holds 16 bytes, 3 values need 24")));
}

TEST_F(ParquetTest, FilesOfOneSplitMustShareTheirColumns) {
  LoadOptions o;
  o.data_files["train"] = {write("a.parquet", int32_file({1})),
                           write("b.parquet", dictionary_strings_file())};
  o.cache_dir = tmp_.file("cache");
  EXPECT_THAT([&] { load_dataset(o); },
              ThrowsMessage<InputError>(HasSubstr("b.parquet: column 0 is s: string, expected x: int32")));
}

// Every truncation and every single-byte corruption of small valid files either loads or throws InputError:
// never a crash, a hang, or another exception.
TEST_F(ParquetTest, EveryTruncationAndByteFlipFailsCleanly) {
  // ~1300 conversions: on tmpfs when there is one, as the cache writer fsyncs each file.
  std::filesystem::path dir =
      std::filesystem::exists("/dev/shm") ? std::filesystem::path("/dev/shm") : tmp_.path();
  dir /= "tcpp-parquet-fuzz-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  std::string in = (dir / "fuzz.parquet").string(), out = (dir / "fuzz.arrow").string();
  int clean_errors = 0, loads = 0;
  for (const std::string& good : {dictionary_strings_file(), list_file()}) {
    std::vector<std::string> variants;
    for (size_t n = 0; n < good.size(); ++n) variants.push_back(good.substr(0, n));
    for (size_t i = 0; i < good.size(); ++i)
      for (uint8_t x : {0x01, 0xff}) {
        std::string b = good;
        b[i] = static_cast<char>(static_cast<uint8_t>(b[i]) ^ x);
        variants.push_back(b);
      }
    for (size_t k = 0; k < variants.size(); ++k) {
      std::ofstream(in, std::ios::binary | std::ios::trunc) << variants[k];
      try {
        builders::build_parquet({in}, LoadOptions{}, out, "fp");
        ++loads;
      } catch (const InputError&) {
        ++clean_errors;
      } catch (const std::exception& e) {
        ADD_FAILURE() << "variant " << k << ": not an InputError: " << e.what();
      }
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  EXPECT_GT(clean_errors, 100);
  EXPECT_GT(loads, 0);  // some flips only change values
}

}  // namespace
}  // namespace tcpp::datasets
