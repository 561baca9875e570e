// Interop: Parquet files written by a real implementation (npm parquet-wasm, i.e. the Rust arrow-rs parquet
// writer) with UNCOMPRESSED / SNAPPY / ZSTD / GZIP / BROTLI / LZ4 / LZ4_RAW pages, PLAIN / dictionary /
// DELTA_BINARY_PACKED encodings, data page v1 and v2, nulls, lists and several row groups are loaded by
// load_dataset("parquet") value for value. Tolerance: exact (floats compared as doubles; the generated values
// are exactly representable).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>

#include "tcpp/core/error.h"
#include "tcpp/core/file.h"
#include "tcpp/core/json.h"
#include "tcpp/datasets/builders/builders.h"
#include "tcpp/datasets/iterable_dataset.h"
#include "tcpp/datasets/load.h"
#include "tcpp/datasets/parquet/file_reader.h"

namespace tcpp::datasets {
namespace {

namespace fs = std::filesystem;

const std::string kScripts = std::string(TCPP_SOURCE_DIR) + "/tests/interop/parquet";
const std::string kNodeModules = std::string(TCPP_SOURCE_DIR) + "/tests/interop/node_modules";

// The files parquet-wasm wrote: made once per version of the script and of the npm lock, under the build
// folder, and shared by the test processes ctest runs in parallel (written to a temp folder, then renamed).
class ParquetInteropTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::random_device rd;
    dir_ = new fs::path(fs::temp_directory_path() /
                        ("tcpp-parquet-interop-" + std::to_string(rd()) + std::to_string(rd())));
    fs::create_directories(*dir_);
    if (!fs::exists(kNodeModules + "/parquet-wasm/package.json")) {
      setup_error_ = new std::string(
          kNodeModules + "/parquet-wasm is missing: run scripts/setup.sh (npm ci in tests/interop)");
      return;
    }
    std::string key = read_file(kScripts + "/write_parquet.mjs") +
                      read_file(std::string(TCPP_SOURCE_DIR) + "/tests/interop/package-lock.json");
    files_ = new fs::path(fs::path(TCPP_BINARY_DIR) /
                          ("parquet-interop-files-" + std::to_string(std::hash<std::string>()(key))));
    if (fs::exists(*files_ / "expected.json")) return;
    fs::path tmp = *dir_ / "files";
    fs::create_directories(tmp);
    std::string cmd = std::string(TCPP_NODE_EXECUTABLE) + " '" + kScripts + "/write_parquet.mjs' '" +
                      tmp.string() + "' 2>&1";
    std::FILE* pipe = ::popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    size_t n;
    while (pipe && (n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
    int status = pipe ? ::pclose(pipe) : -1;
    if (status != 0) {
      setup_error_ = new std::string("`" + cmd + "` failed (status " + std::to_string(status) + "):\n" + out);
      return;
    }
    std::error_code ec;
    fs::rename(tmp, *files_, ec);  // another process may have won the race: its files are the same
    if (ec && !fs::exists(*files_ / "expected.json"))
      setup_error_ =
          new std::string("cannot move " + tmp.string() + " to " + files_->string() + ": " + ec.message());
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(*dir_, ec);
    delete dir_;
    delete files_;
    files_ = nullptr;
    delete setup_error_;
    setup_error_ = nullptr;
  }
  void SetUp() override {
    if (setup_error_) FAIL() << *setup_error_;
  }
  static std::string file(const std::string& name) { return (*files_ / name).string(); }
  static std::string cache() { return (*dir_ / "cache").string(); }

  static fs::path* dir_;    // this process's scratch: caches, corrupted copies
  static fs::path* files_;  // the shared files node wrote
  static std::string* setup_error_;
};

fs::path* ParquetInteropTest::files_ = nullptr;
fs::path* ParquetInteropTest::dir_ = nullptr;
std::string* ParquetInteropTest::setup_error_ = nullptr;

// Same value: numbers compare as doubles when either side is a float, else JSON equality (recursively).
bool same(const Json& want, const Json& got) {
  if (want.is_number() && got.is_number() && (want.is_number_float() || got.is_number_float()))
    return want.get<double>() == got.get<double>();
  if (want.is_object() && got.is_object()) {
    if (want.size() != got.size()) return false;
    for (auto it = want.begin(); it != want.end(); ++it)
      if (!got.contains(it.key()) || !same(it.value(), got[it.key()])) return false;
    return true;
  }
  if (want.is_array() && got.is_array()) {
    if (want.size() != got.size()) return false;
    for (size_t i = 0; i < want.size(); ++i)
      if (!same(want[i], got[i])) return false;
    return true;
  }
  return want == got;
}

void expect_matches_expected(const std::string& parquet_file, const std::string& expected_file,
                             const std::string& cache) {
  Json expected = parse_json(read_file(expected_file), expected_file);
  LoadOptions o;
  o.data_files["train"] = {parquet_file};  // builder from the .parquet extension
  o.cache_dir = cache;
  o.writer_batch_size = 700;  // batches that straddle row groups
  Dataset d = load_dataset(o).at("train");
  const auto& fields = expected["schema"]["fields"];
  arrow::Schema schema = d.schema();
  ASSERT_EQ(schema.fields.size(), fields.size()) << schema.to_string();
  for (size_t c = 0; c < fields.size(); ++c) {
    const auto& f = schema.fields[c];
    std::string name = fields[c]["name"];
    EXPECT_EQ(f.name, name);
    EXPECT_EQ(f.type.to_string(), fields[c]["type"].get<std::string>()) << "column " << name;
    const Json& want = expected["columns"][name];
    std::vector<Json> got = d.column(name);
    ASSERT_EQ(got.size(), want.size()) << "column " << name;
    for (size_t i = 0; i < got.size(); ++i)
      if (!same(want[i], got[i])) {
        ADD_FAILURE() << parquet_file << ": column " << name << ", row " << i << ": expected "
                      << want[i].dump() << ", got " << got[i].dump() << " (first mismatch)";
        break;
      }
  }
}

// What the file holds: codecs, encodings and page kinds seen, so each test proves what it covers.
struct Coverage {
  std::set<std::string> codecs, encodings;
  int row_groups = 0, v1_pages = 0, v2_pages = 0, dictionary_pages = 0;
};
Coverage coverage(const std::string& path) {
  auto f = parquet::ParquetFile::open(path);
  Coverage c;
  c.row_groups = f->num_row_groups();
  for (int g = 0; g < f->num_row_groups(); ++g) {
    for (size_t k = 0; k < f->leaves().size(); ++k) {
      const auto& md = *f->metadata().row_groups[g].columns[k].meta_data;
      c.codecs.insert(parquet::codec_name(md.codec));
      for (auto e : md.encodings) c.encodings.insert(parquet::encoding_name(e));
      auto data = f->read_column_chunk(g, static_cast<int>(k));
      c.v1_pages += data.data_pages_v1;
      c.v2_pages += data.data_pages_v2;
      c.dictionary_pages += data.dictionary_pages;
    }
  }
  return c;
}

using ::testing::Contains;

TEST_F(ParquetInteropTest, PlainUncompressedDataPageV1MatchesValueForValue) {
  auto c = coverage(file("plain_uncompressed_v1.parquet"));
  EXPECT_EQ(c.codecs, std::set<std::string>{"UNCOMPRESSED"});
  EXPECT_THAT(c.encodings, Contains("PLAIN"));
  EXPECT_EQ(c.dictionary_pages, 0);
  EXPECT_GT(c.v1_pages, 0);
  EXPECT_EQ(c.v2_pages, 0);
  EXPECT_EQ(c.row_groups, 3);
  expect_matches_expected(file("plain_uncompressed_v1.parquet"), file("expected.json"), cache());
}

TEST_F(ParquetInteropTest, DictionarySnappyDataPageV1MatchesValueForValue) {
  auto c = coverage(file("dict_snappy_v1.parquet"));
  EXPECT_EQ(c.codecs, std::set<std::string>{"SNAPPY"});
  EXPECT_THAT(c.encodings, Contains("RLE_DICTIONARY"));  // arrow-rs writes RLE_DICTIONARY in v1 files too
  EXPECT_GT(c.dictionary_pages, 0);
  EXPECT_EQ(c.v2_pages, 0);
  expect_matches_expected(file("dict_snappy_v1.parquet"), file("expected.json"), cache());
}

TEST_F(ParquetInteropTest, DictionaryZstdDataPageV2MatchesValueForValue) {
  auto c = coverage(file("dict_zstd_v2.parquet"));
  EXPECT_EQ(c.codecs, std::set<std::string>{"ZSTD"});
  EXPECT_THAT(c.encodings, Contains("RLE_DICTIONARY"));
  EXPECT_GT(c.dictionary_pages, 0);
  EXPECT_GT(c.v2_pages, 0);
  EXPECT_EQ(c.v1_pages, 0);
  expect_matches_expected(file("dict_zstd_v2.parquet"), file("expected.json"), cache());
}

TEST_F(ParquetInteropTest, PlainZstdDataPageV2MatchesValueForValue) {
  auto c = coverage(file("plain_zstd_v2.parquet"));
  EXPECT_EQ(c.codecs, std::set<std::string>{"ZSTD"});
  EXPECT_EQ(c.dictionary_pages, 0);
  EXPECT_GT(c.v2_pages, 0);
  expect_matches_expected(file("plain_zstd_v2.parquet"), file("expected.json"), cache());
}

TEST_F(ParquetInteropTest, DeltaBinaryPackedIntegersMatchValueForValue) {
  auto c = coverage(file("delta_snappy_v2.parquet"));
  EXPECT_THAT(c.encodings, Contains("DELTA_BINARY_PACKED"));
  expect_matches_expected(file("delta_snappy_v2.parquet"), file("expected.json"), cache());
}

TEST_F(ParquetInteropTest, DeltaStringsAndByteStreamSplitFloatsMatchValueForValue) {
  auto c = coverage(file("delta_strings_v2.parquet"));
  EXPECT_THAT(c.encodings, Contains("DELTA_LENGTH_BYTE_ARRAY"));
  EXPECT_THAT(c.encodings, Contains("DELTA_BYTE_ARRAY"));
  EXPECT_THAT(c.encodings, Contains("BYTE_STREAM_SPLIT"));
  expect_matches_expected(file("delta_strings_v2.parquet"), file("expected.json"), cache());
}

TEST_F(ParquetInteropTest, WriterDefaultsWithDictionaryFallbackMatchValueForValue) {
  auto c = coverage(file("defaults_v2.parquet"));
  EXPECT_THAT(c.encodings, Contains("RLE_DICTIONARY"));
  EXPECT_THAT(c.encodings, Contains("DELTA_BYTE_ARRAY"));     // the unique strings outgrow the dictionary
  EXPECT_THAT(c.encodings, Contains("DELTA_BINARY_PACKED"));  // so do the unique ids
  EXPECT_GT(c.dictionary_pages, 0);
  EXPECT_GT(c.v2_pages, 0);
  expect_matches_expected(file("defaults_v2.parquet"), file("expected.json"), cache());
}

TEST_F(ParquetInteropTest, GzipBrotliAndLz4PagesMatchValueForValue) {
  for (const auto& [name, codec] :
       std::vector<std::pair<std::string, std::string>>{{"gzip_v1", "GZIP"},
                                                        {"brotli_v2", "BROTLI"},
                                                        {"lz4_hadoop_v1", "LZ4"},
                                                        {"lz4_raw_v2", "LZ4_RAW"}}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(coverage(file(name + ".parquet")).codecs, std::set<std::string>{codec});
    expect_matches_expected(file(name + ".parquet"), file("expected.json"), cache());
  }
}

TEST_F(ParquetInteropTest, StreamingYieldsTheSameRowsAsTheCache) {
  LoadOptions o;
  o.data_files["train"] = {file("dict_zstd_v2.parquet")};
  o.cache_dir = cache();
  Dataset d = load_dataset(o).at("train");
  std::vector<Json> streamed = IterableDataset::from_files(o, "train").to_rows();
  ASSERT_EQ(static_cast<int64_t>(streamed.size()), d.num_rows());
  for (size_t i = 0; i < streamed.size(); ++i)
    if (!same(d.row(static_cast<int64_t>(i)), streamed[i])) {
      ADD_FAILURE() << "row " << i << ": cache " << d.row(static_cast<int64_t>(i)).dump() << ", streamed "
                    << streamed[i].dump() << " (first mismatch)";
      break;
    }
}

TEST_F(ParquetInteropTest, SeveralFilesLoadAsOneSplitInOrder) {
  LoadOptions o;
  o.data_files["train"] = {file("dict_snappy_v1.parquet"), file("plain_zstd_v2.parquet")};
  o.cache_dir = cache();
  Dataset d = load_dataset(o).at("train");
  ASSERT_EQ(d.num_rows(), 5000);
  EXPECT_EQ(d.row(2500), d.row(0));
  EXPECT_EQ(d.row(4999), d.row(2499));
}

// Random corruptions and truncations of real files (compressed pages, dictionaries, v2 levels) either load or
// throw InputError: never a crash, a hang or another exception. Deterministic (fixed seed).
TEST_F(ParquetInteropTest, RandomCorruptionOfRealFilesFailsCleanly) {
  fs::path dir = fs::exists("/dev/shm") ? fs::path("/dev/shm") : *dir_;  // the cache writer fsyncs each file
  dir /= "tcpp-parquet-corrupt-" + std::to_string(::getpid());
  fs::create_directories(dir);
  std::string in = (dir / "corrupt.parquet").string(), out = (dir / "corrupt.arrow").string();
  std::mt19937 rng(1234);
  int errors = 0, loads = 0;
  for (const char* name : {"dict_zstd_v2.parquet", "dict_snappy_v1.parquet", "delta_strings_v2.parquet"}) {
    std::string good = read_file(file(name));
    for (int k = 0; k < 40; ++k) {
      std::string bad = good;
      if (k < 10) {
        bad.resize(std::uniform_int_distribution<size_t>(0, good.size() - 1)(rng));
      } else {
        for (int j = 0; j < 1 + k % 3; ++j)
          bad[std::uniform_int_distribution<size_t>(0, good.size() - 1)(rng)] =
              static_cast<char>(rng() & 0xff);
      }
      std::ofstream(in, std::ios::binary | std::ios::trunc) << bad;
      try {
        builders::build_parquet({in}, LoadOptions{}, out, "fp");
        ++loads;
      } catch (const InputError&) {
        ++errors;
      } catch (const std::exception& e) {
        ADD_FAILURE() << name << " corruption " << k << ": not an InputError: " << e.what();
      }
    }
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  EXPECT_GT(errors, 30);
  EXPECT_EQ(errors + loads, 120);
}

}  // namespace
}  // namespace tcpp::datasets
