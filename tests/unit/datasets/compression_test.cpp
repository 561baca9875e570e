// Compressed data files: load_dataset and streaming read gzip, bzip2, xz, zstd and lz4 files as the files they hold
// (as datasets' extract step), concatenated members included; corrupt, truncated and archive inputs are clear errors
// that leave nothing behind in the cache.
#include <bzlib.h>
#include <lz4frame.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tcpp/core/error.h"
#include "tcpp/core/file.h"
#include "tcpp/datasets/compression.h"
#include "tcpp/datasets/iterable_dataset.h"
#include "tcpp/datasets/load.h"
#include "test_util.h"

namespace tcpp::datasets {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using ::testing::ThrowsMessage;
using testing::TempDir;

// One member / stream / frame of each format, made by the reference libraries' own encoders (with integrity checks
// where the format has them optional: zstd's and lz4's content checksums).
std::string gzip_member(const std::string& data) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, data.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string bzip2_stream(const std::string& data) {
  std::string out(data.size() + data.size() / 100 + 600, '\0');
  auto n = static_cast<unsigned>(out.size());
  EXPECT_EQ(BZ2_bzBuffToBuffCompress(out.data(), &n, const_cast<char*>(data.data()),
                                     static_cast<unsigned>(data.size()), 1, 0, 0),
            BZ_OK);
  out.resize(n);
  return out;
}

std::string xz_stream(const std::string& data) {
  std::string out(lzma_stream_buffer_bound(data.size()), '\0');
  size_t n = 0;
  EXPECT_EQ(lzma_easy_buffer_encode(1, LZMA_CHECK_CRC64, nullptr, reinterpret_cast<const uint8_t*>(data.data()),
                                    data.size(), reinterpret_cast<uint8_t*>(out.data()), &n, out.size()),
            LZMA_OK);
  out.resize(n);
  return out;
}

std::string zstd_frame(const std::string& data) {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
  std::string out(ZSTD_compressBound(data.size()), '\0');
  const size_t n = ZSTD_compress2(c, out.data(), out.size(), data.data(), data.size());
  ZSTD_freeCCtx(c);
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

std::string lz4_frame(const std::string& data) {
  LZ4F_preferences_t prefs{};
  prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
  std::string out(LZ4F_compressFrameBound(data.size(), &prefs), '\0');
  const size_t n = LZ4F_compressFrame(out.data(), out.size(), data.data(), data.size(), &prefs);
  EXPECT_FALSE(LZ4F_isError(n));
  out.resize(n);
  return out;
}

struct Format {
  const char* ext;
  Compression compression;
  std::function<std::string(const std::string&)> encode;
};

const std::vector<Format>& formats() {
  static const std::vector<Format> f = {{".gz", Compression::kGzip, gzip_member},
                                        {".bz2", Compression::kBzip2, bzip2_stream},
                                        {".xz", Compression::kXz, xz_stream},
                                        {".zst", Compression::kZstd, zstd_frame},
                                        {".lz4", Compression::kLz4, lz4_frame}};
  return f;
}

// data as two members / streams / frames cut at a byte that is not a line end (gzip: zero padding between them and
// after, which Python's gzip skips), so a reader that stops after the first loses rows.
std::string compress_in_two(const Format& f, const std::string& data) {
  const size_t cut = data.size() / 3 + 1;
  std::string out = f.encode(data.substr(0, cut));
  if (f.compression == Compression::kGzip) out += std::string(5, '\0');
  out += f.encode(data.substr(cut));
  if (f.compression == Compression::kGzip) out += std::string(3, '\0');
  return out;
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::vector<Json> rows_of(const Dataset& d) {
  std::vector<Json> out;
  for (int64_t i = 0; i < d.num_rows(); ++i) out.push_back(d.row(i));
  return out;
}

// 5.5 MiB of text (so streaming reads it in several pieces): numbered lines, non-ASCII, a blank line, "\r\n".
std::string long_text() {
  std::string s;
  std::mt19937 rng(11);
  for (int i = 0; s.size() < (size_t{11} << 19); ++i) {
    s += "line " + std::to_string(i) + " caf\xC3\xA9 " + std::string(rng() % 120, 'x');
    s += i % 1000 == 999 ? "\r\n" : i % 777 == 0 ? "\n\n" : "\n";
  }
  return s + "last line without a line break";
}

std::string long_json_lines() {
  std::string s;
  for (int i = 0; s.size() < (size_t{11} << 19); ++i)
    s += "{\"id\": " + std::to_string(i) + ", \"text\": \"r\xC3\xA9sum\xC3\xA9 " + std::to_string(i * 7) + "\"}\n";
  return s;
}

// The message of the InputError fn throws ("" when it throws none).
std::string input_error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

class CompressionTest : public ::testing::Test {
 protected:
  DatasetDict load(const std::string& path, const std::string& builder = "") {
    LoadOptions o;
    o.builder = builder;
    o.cache_dir = cache_.path().string();
    o.data_files = {{"train", {path}}};
    return load_dataset(o);
  }
  std::vector<Json> stream_rows(const std::string& path, const std::string& builder = "") {
    LoadOptions o;
    o.builder = builder;
    o.data_files = {{"train", {path}}};
    return IterableDataset::from_files(o, "train").to_rows();
  }
  // Files the cache folder holds besides complete conversions: decompressed inputs or partial cache files.
  std::vector<std::string> cache_leftovers() const {
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(cache_.path())) {
      const std::string name = e.path().filename().string();
      if (e.is_regular_file() && name.rfind("decompressed-", 0) == 0) out.push_back(name);
    }
    return out;
  }
  TempDir dir_, cache_;
};

TEST_F(CompressionTest, EachFormatLoadsTheRowsOfTheFileItHolds) {
  const std::string text = long_text(), json = long_json_lines();
  write_bytes(dir_.file("plain.txt"), text);
  write_bytes(dir_.file("plain.jsonl"), json);
  const std::vector<Json> text_rows = rows_of(load(dir_.file("plain.txt")).at("train"));
  const std::vector<Json> json_rows = rows_of(load(dir_.file("plain.jsonl")).at("train"));
  ASSERT_GT(text_rows.size(), 40000u);
  ASSERT_GT(json_rows.size(), 40000u);
  for (const auto& f : formats()) {
    SCOPED_TRACE(f.ext);
    const std::string t = dir_.file(std::string("data.txt") + f.ext), j = dir_.file(std::string("data.jsonl") + f.ext);
    write_bytes(t, compress_in_two(f, text));
    write_bytes(j, compress_in_two(f, json));
    EXPECT_EQ(detect_compression(t), f.compression);
    // The builder is told by the extension before the compression's.
    EXPECT_EQ(builder_for_extension(t), "text");
    EXPECT_EQ(builder_for_extension(j), "json");
    EXPECT_EQ(rows_of(load(t).at("train")), text_rows);
    EXPECT_EQ(rows_of(load(j).at("train")), json_rows);
    // Streamed without a file on disk, in pieces: the same rows.
    EXPECT_EQ(stream_rows(t), text_rows);
    EXPECT_EQ(stream_rows(j), json_rows);
    // Content decides, as datasets' extractors decide by magic number: a gzip file without .gz is read too.
    const std::string unnamed = dir_.file(std::string("unnamed") + f.ext + ".jsonl");
    write_bytes(unnamed, f.encode("{\"a\": 1}\n"));
    EXPECT_EQ(rows_of(load(unnamed).at("train")), std::vector<Json>{Json({{"a", 1}})});
  }
  EXPECT_THAT(cache_leftovers(), ::testing::IsEmpty());
  // The conversion is cached as any other: the second load decompresses nothing (the file may even go away).
  const std::string gz = dir_.file("data.jsonl.gz");
  const auto before = fs::last_write_time(gz);
  EXPECT_EQ(load(gz).at("train").num_rows(), static_cast<int64_t>(json_rows.size()));
  EXPECT_EQ(fs::last_write_time(gz), before);
}

TEST_F(CompressionTest, CsvAndParquetBuildersReadCompressedFilesToo) {
  write_bytes(dir_.file("t.csv.gz"), gzip_member("a,b\n1,x\n2,y\n"));
  write_bytes(dir_.file("t.tsv.xz"), xz_stream("a\tb\n1\tx\n"));
  EXPECT_EQ(rows_of(load(dir_.file("t.csv.gz")).at("train")),
            (std::vector<Json>{{{"a", 1}, {"b", "x"}}, {{"a", 2}, {"b", "y"}}}));
  EXPECT_EQ(rows_of(load(dir_.file("t.tsv.xz")).at("train")), (std::vector<Json>{{{"a", 1}, {"b", "x"}}}));
}

TEST_F(CompressionTest, ErrorsNameTheCompressedFileAndTheLineInIt) {
  // A bad line past the first streaming piece: the same file:line as the uncompressed file gives.
  std::string json = long_json_lines();
  const size_t at = json.find('\n', json.size() - (size_t{1} << 18)) + 1;
  ASSERT_GT(at, size_t{9} << 19);
  json.insert(at, "{\"id\": oops}\n");
  write_bytes(dir_.file("bad.jsonl"), json);
  write_bytes(dir_.file("bad.jsonl.gz"), gzip_member(json));
  const std::string plain_message = input_error_of([&] { stream_rows(dir_.file("bad.jsonl")); });
  ASSERT_THAT(plain_message, HasSubstr("invalid JSON"));
  const std::string where = plain_message.substr(plain_message.find(".jsonl:") + 6);
  EXPECT_THAT([&] { stream_rows(dir_.file("bad.jsonl.gz")); },
              ThrowsMessage<InputError>(AllOf(StartsWith(dir_.file("bad.jsonl.gz") + ":"), HasSubstr(where))));
  // Invalid UTF-8 past the first piece: line and offset as in the uncompressed file, when loaded and streamed.
  std::string text = long_text();
  const size_t bad = text.find('\n', text.size() - (size_t{1} << 18)) + 3;
  ASSERT_GT(bad, size_t{9} << 19);
  text.insert(bad, "\xff");
  write_bytes(dir_.file("bad.txt"), text);
  write_bytes(dir_.file("bad.txt.zst"), zstd_frame(text));
  const std::string utf8_message = input_error_of([&] { load(dir_.file("bad.txt")); });
  ASSERT_THAT(utf8_message, HasSubstr("invalid UTF-8"));
  const std::string tail = utf8_message.substr(utf8_message.find(".txt:") + 4);
  EXPECT_THAT([&] { load(dir_.file("bad.txt.zst")); },
              ThrowsMessage<InputError>(AllOf(StartsWith(dir_.file("bad.txt.zst") + " (decompressed):"),
                                              HasSubstr(tail))));
  EXPECT_THAT([&] { stream_rows(dir_.file("bad.txt.zst")); },
              ThrowsMessage<InputError>(AllOf(StartsWith(dir_.file("bad.txt.zst") + ":"), HasSubstr(tail))));
  EXPECT_THAT(cache_leftovers(), ::testing::IsEmpty());
}

TEST_F(CompressionTest, TruncatedAndCorruptFilesAreClearErrorsThatLeaveNothingBehind) {
  const std::string json = long_json_lines();
  for (const auto& f : formats()) {
    SCOPED_TRACE(f.ext);
    const std::string whole = f.encode(json);
    for (const size_t keep : {whole.size() / 2, whole.size() - 1}) {
      const std::string path = dir_.file(std::string("cut.jsonl") + f.ext);
      write_bytes(path, whole.substr(0, keep));
      const auto message =
          AllOf(StartsWith(path + ": "), HasSubstr(std::string(" ") + compression_name(f.compression)));
      EXPECT_THAT([&] { load(path); }, ThrowsMessage<InputError>(message));
      EXPECT_THAT([&] { stream_rows(path); }, ThrowsMessage<InputError>(message));
    }
    // A flipped byte in the middle: every format here checks its data (CRC32, block CRCs, CRC64, content
    // checksums).
    std::string flipped = whole;
    flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x55);
    const std::string path = dir_.file(std::string("flipped.jsonl") + f.ext);
    write_bytes(path, flipped);
    EXPECT_THAT([&] { load(path); }, ThrowsMessage<InputError>(StartsWith(path + ": ")));
  }
  // Bytes after a gzip member that are not another member (nor zero padding): an error, as in Python's gzip.
  write_bytes(dir_.file("trailing.jsonl.gz"), gzip_member("{\"a\": 1}\n") + "garbage");
  EXPECT_THAT([&] { load(dir_.file("trailing.jsonl.gz")); },
              ThrowsMessage<InputError>(HasSubstr("corrupt gzip data after 9 decompressed bytes")));
  EXPECT_THAT(cache_leftovers(), ::testing::IsEmpty());
  for (const auto& e : fs::recursive_directory_iterator(cache_.path()))
    EXPECT_FALSE(e.is_regular_file() && e.path().extension() == ".arrow") << e.path();
  // After a complete bzip2 or xz stream, data that does not begin another is ignored, as Python's bz2 and lzma
  // ignore it (xz's stream padding too, where the xz tool would read on).
  write_bytes(dir_.file("trailing.jsonl.bz2"), bzip2_stream("{\"a\": 1}\n") + "garbage");
  write_bytes(dir_.file("trailing.jsonl.xz"), xz_stream("{\"a\": 1}\n") + std::string(4, '\0') +
                                                  xz_stream("{\"a\": 2}\n"));
  for (const char* f : {"trailing.jsonl.bz2", "trailing.jsonl.xz"}) {
    EXPECT_EQ(rows_of(load(dir_.file(f)).at("train")), std::vector<Json>{Json({{"a", 1}})}) << f;
    EXPECT_EQ(stream_rows(dir_.file(f)), std::vector<Json>{Json({{"a", 1}})}) << f;
  }
}

TEST_F(CompressionTest, ArchivesAreRefusedAndTextThatLooksLikeAMagicNumberIsText) {
  write_bytes(dir_.file("a.zip"), std::string("PK\x03\x04", 4) + std::string(100, 'z'));
  EXPECT_THAT([&] { load(dir_.file("a.zip"), "json"); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("a.zip: a zip archive"), HasSubstr("extract it"))));
  std::string tar(1024, '\0');
  tar.replace(0, 10, "train.json");
  tar.replace(257, 5, "ustar");
  write_bytes(dir_.file("a.tar.gz"), gzip_member(tar));
  EXPECT_THAT([&] { load(dir_.file("a.tar.gz"), "json"); },
              ThrowsMessage<InputError>(HasSubstr("a.tar.gz: a gzip-compressed tar archive")));
  EXPECT_THAT(cache_leftovers(), ::testing::IsEmpty());
  // datasets takes any file beginning with "BZh" for bzip2; the whole bzip2 signature is checked here.
  write_bytes(dir_.file("bzh.txt"), "BZh is how this line begins\n");
  EXPECT_EQ(detect_compression(dir_.file("bzh.txt")), Compression::kNone);
  EXPECT_EQ(rows_of(load(dir_.file("bzh.txt")).at("train")),
            std::vector<Json>{Json({{"text", "BZh is how this line begins"}})});
  // Arrow files are memory-mapped in place, so a compressed one is refused; streamed parquet and csv likewise.
  write_bytes(dir_.file("t.arrow.gz"), gzip_member("ARROW1"));
  EXPECT_THAT([&] { load(dir_.file("t.arrow.gz")); },
              ThrowsMessage<InputError>(HasSubstr("a gzip-compressed Arrow file")));
  write_bytes(dir_.file("t.parquet.gz"), gzip_member("PAR1"));
  EXPECT_THAT([&] { stream_rows(dir_.file("t.parquet.gz")); },
              ThrowsMessage<InputError>(HasSubstr("a gzip-compressed parquet file does not stream")));
  // A csv record may hold line feeds inside quotes, so compressed csv is not cut into pieces: loaded, not streamed.
  write_bytes(dir_.file("t.csv.zst"), zstd_frame("a\n1\n"));
  EXPECT_THAT([&] { stream_rows(dir_.file("t.csv.zst")); },
              ThrowsMessage<InputError>(HasSubstr("a zstd-compressed csv file does not stream here; load it without")));
  EXPECT_EQ(rows_of(load(dir_.file("t.csv.zst")).at("train")), std::vector<Json>{Json({{"a", 1}})});
}

TEST_F(CompressionTest, AKilledConversionsDecompressedFilesAreRemovedByTheNext) {
  write_bytes(dir_.file("d.jsonl.gz"), gzip_member("{\"a\": 1}\n{\"a\": 2}\n"));
  ASSERT_EQ(load(dir_.file("d.jsonl.gz")).at("train").num_rows(), 2);
  // As a process killed while decompressing leaves them (its cache file never written).
  fs::path folder;
  for (const auto& e : fs::recursive_directory_iterator(cache_.path()))
    if (e.path().extension() == ".arrow") folder = e.path().parent_path();
  ASSERT_FALSE(folder.empty());
  for (const auto& e : fs::directory_iterator(folder)) fs::remove(e.path());
  write_bytes((folder / "decompressed-train-0.tmp").string(), "{\"a\": 1}\n");
  write_bytes((folder / "decompressed-validation-3.tmp").string(), "partial");
  EXPECT_EQ(rows_of(load(dir_.file("d.jsonl.gz")).at("train")),
            (std::vector<Json>{Json({{"a", 1}}), Json({{"a", 2}})}));
  EXPECT_THAT(cache_leftovers(), ::testing::IsEmpty());
}

TEST_F(CompressionTest, DatasetFoldersReadCompressedFiles) {
  const fs::path d = dir_.path() / "folder";
  fs::create_directories(d);
  write_bytes((d / "train.csv.gz").string(), gzip_member("text\nfirst\nsecond\n"));
  write_bytes((d / "test.csv.bz2").string(), bzip2_stream("text\nheld out\n"));
  LoadOptions o;
  o.cache_dir = cache_.path().string();
  const DatasetDict dd = load_dataset_folder(d.string(), "", o);
  EXPECT_EQ(rows_of(dd.at("train")), (std::vector<Json>{Json({{"text", "first"}}), Json({{"text", "second"}})}));
  EXPECT_EQ(rows_of(dd.at("test")), std::vector<Json>{Json({{"text", "held out"}})});
}

TEST(CompressionExtensionTest, OneCompressionExtensionIsDropped) {
  EXPECT_EQ(without_compression_extension("a/train.jsonl.gz"), "a/train.jsonl");
  EXPECT_EQ(without_compression_extension("T.CSV.ZST"), "T.CSV");
  EXPECT_EQ(without_compression_extension("x.txt.lz4"), "x.txt");
  EXPECT_EQ(without_compression_extension("x.tar.bz2"), "x.tar");
  EXPECT_EQ(without_compression_extension("x.xz"), "x");
  EXPECT_EQ(without_compression_extension(".gz"), ".gz");
  EXPECT_EQ(without_compression_extension("notes.txt"), "notes.txt");
  EXPECT_EQ(builder_for_extension("x.parquet.gz"), "parquet");
  EXPECT_EQ(builder_for_extension("x.gz"), "");
}

}  // namespace
}  // namespace tcpp::datasets
