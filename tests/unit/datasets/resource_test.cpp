// Resource limits (issue #10). A dataset is read through its memory mapping: iterating every row of a file keeps the
// process's anonymous (heap) memory bounded by a batch, not by the file. A very long text line loads whole, or, with
// TCPP_MAX_ROW_BYTES, is refused before it is copied with an error naming the file and line. The sizes are small
// here; TCPP_RESOURCE_DATASET_MB and TCPP_RESOURCE_LINE_MB make them as large as wanted (docs/RELIABILITY.md lists
// the numbers measured with 4 GB and 1 GB).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "tcpp/core/error.h"
#include "tcpp/datasets/arrow/array.h"
#include "tcpp/datasets/arrow/ipc.h"
#include "tcpp/datasets/dataset.h"
#include "tcpp/datasets/load.h"
#include "test_util.h"

namespace tcpp::datasets {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;
using testing::TempDir;

int64_t env_mb(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoll(v) : fallback;
}

// A field of /proc/self/status in kB ("VmRSS", "RssAnon", "RssFile", "VmHWM"), or -1.
int64_t status_kb(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + ":", 0) == 0) return std::atoll(line.c_str() + key.size() + 1);
  return -1;
}

TEST(ResourceTest, IteratingAMappedDatasetKeepsHeapMemoryBoundedByABatchNotTheFile) {
  if (status_kb("RssAnon") < 0) GTEST_SKIP() << "/proc/self/status has no RssAnon";
  TempDir dir;
  const int64_t file_mb = env_mb("TCPP_RESOURCE_DATASET_MB", 48);
  const std::string path = dir.file("big.arrow");
  const std::string value(64 * 1024, 'x');  // 64 KiB rows, 64 rows (4 MiB) per record batch
  const int64_t rows = file_mb * 16;
  {
    arrow::Schema schema;
    schema.fields.push_back(arrow::field("text", arrow::utf8()));
    auto writer = arrow::IpcWriter::open(path, schema);
    for (int64_t done = 0; done < rows; done += 64) {
      arrow::ArrayBuilder b(arrow::utf8());
      for (int64_t i = done; i < std::min(rows, done + 64); ++i) {
        std::string v = value;
        std::snprintf(v.data(), 32, "%031lld", static_cast<long long>(i));  // every row different
        b.append_string(v);
      }
      writer->write_batch({b.finish()});
    }
    writer->close();
  }
  const int64_t anon_before = status_kb("RssAnon");
  int64_t anon_peak = anon_before, seen = 0, bytes = 0;
  Dataset d = Dataset::from_files({path});
  ASSERT_EQ(d.num_rows(), rows);
  d.for_each_batch(64, [&](const Batch& b) {
    for (const auto& s : b.at("text").as<Column::Strings>()) {
      EXPECT_EQ(std::atoll(s.substr(0, 31).c_str()), seen);
      bytes += static_cast<int64_t>(s.size());
      ++seen;
    }
    anon_peak = std::max(anon_peak, status_kb("RssAnon"));
  });
  EXPECT_EQ(seen, rows);
  EXPECT_EQ(bytes, rows * static_cast<int64_t>(value.size()));
  const int64_t growth_mb = (anon_peak - anon_before) / 1024;
  std::printf("[ resource ] read %lld MB mapped: heap (RssAnon) grew by %lld MB at most; RssFile now %lld MB\n",
              static_cast<long long>(file_mb), static_cast<long long>(growth_mb),
              static_cast<long long>(status_kb("RssFile") / 1024));
  // A batch is 4 MiB and is copied into a Batch once: the heap must not grow with the file.
  EXPECT_LT(growth_mb, 16) << "reading a " << file_mb << " MB file grew the heap by " << growth_mb << " MB";
}

class LongLineTest : public ::testing::Test {
 protected:
  void TearDown() override { ::unsetenv("TCPP_MAX_ROW_BYTES"); }
  // A file "short\n<line of n bytes>\nend\n"; the long line has a space every 64 bytes, like text.
  static void write_long_line(const std::string& path, int64_t n) {
    std::ofstream out(path, std::ios::binary);
    out << "short\n";
    std::string chunk(1 << 20, 'a');
    for (size_t i = 63; i < chunk.size(); i += 64) chunk[i] = ' ';
    for (int64_t left = n; left > 0; left -= static_cast<int64_t>(chunk.size()))
      out.write(chunk.data(), std::min<int64_t>(left, static_cast<int64_t>(chunk.size())));
    out << "\nend\n";
  }
  static Dataset load(const TempDir& dir, const std::string& file) {
    LoadOptions options;
    options.data_files = {{"train", {dir.file(file)}}};
    options.cache_dir = dir.file("cache");
    return load_dataset(options).at("train");
  }
};

TEST_F(LongLineTest, ALongLineLoadsWholeAsOneRow) {
  TempDir dir;
  const int64_t n = env_mb("TCPP_RESOURCE_LINE_MB", 16) << 20;
  write_long_line(dir.file("long.txt"), n);
  const int64_t rss_before = status_kb("VmRSS");
  std::FILE* clear = std::fopen("/proc/self/clear_refs", "w");  // "5" resets VmHWM to the current RSS
  if (clear) {
    std::fputs("5", clear);
    std::fclose(clear);
  }
  Dataset d = load(dir, "long.txt");
  const int64_t peak_growth_mb = (status_kb("VmHWM") - rss_before) / 1024;
  ASSERT_EQ(d.num_rows(), 3);
  auto b = d.batch(1, 2);
  EXPECT_EQ(static_cast<int64_t>(b.at("text").as<Column::Strings>()[0].size()), n);
  std::printf("[ resource ] a %lld MB line: load_dataset's peak RSS grew by %lld MB (file mapping included)\n",
              static_cast<long long>(n >> 20), static_cast<long long>(peak_growth_mb));
  // Measured: about 3 times the line (the mapped file, the builder's copy, the record batch written from it).
  if (clear) EXPECT_LT(peak_growth_mb, 4 * (n >> 20) + 16);
}

TEST_F(LongLineTest, ALineOverTheLimitIsAnErrorNamingFileAndLineBeforeItIsCopied) {
  TempDir dir;
  write_long_line(dir.file("long.txt"), 3 << 20);
  ::setenv("TCPP_MAX_ROW_BYTES", "1000000", 1);
  EXPECT_THAT([&] { load(dir, "long.txt"); },
              ThrowsMessage<InputError>(HasSubstr(dir.file("long.txt") + ":2: a row of 3145728 bytes is longer than "
                                                  "the limit of 1000000 bytes (set by TCPP_MAX_ROW_BYTES)")));
  ::setenv("TCPP_MAX_ROW_BYTES", "lots", 1);
  EXPECT_THAT([&] { load(dir, "long.txt"); },
              ThrowsMessage<InputError>(HasSubstr("TCPP_MAX_ROW_BYTES: expected a positive number of bytes")));
  ::setenv("TCPP_MAX_ROW_BYTES", "4000000", 1);  // under the limit: loads
  EXPECT_EQ(load(dir, "long.txt").num_rows(), 3);
}

}  // namespace
}  // namespace tcpp::datasets
