// Tests for core/file: read errors name the path; atomic writes replace whole files.
#include "tcpp/core/file.h"
#include "tcpp/core/proc_status.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "tcpp/core/error.h"

namespace tcpp {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

TEST(FileTest, MissingFileErrorNamesPath) {
  EXPECT_THAT([] { read_file("/nonexistent/dir/x.txt"); },
              ThrowsMessage<InputError>(HasSubstr("/nonexistent/dir/x.txt")));
}

TEST(FileTest, AtomicWriteReplacesContentAndLeavesNoTempFile) {
  fs::path dir = fs::temp_directory_path() / ("tcpp_file_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::string path = (dir / "a.json").string();
  write_file_atomic(path, "first");
  write_file_atomic(path, "second");
  EXPECT_EQ(read_file(path), "second");
  size_t n = 0;
  for (auto& e : fs::directory_iterator(dir)) (void)e, ++n;
  EXPECT_EQ(n, 1u);
  fs::remove_all(dir);
}

// The memory figures the resource tests and benchmarks bound: a real field is a positive kB count, a missing one -1.
TEST(ProcStatusTest, ReadsFieldsOfThisProcessAndMissingOnesAreMinusOne) {
  if (proc_status_kb("VmRSS") < 0) GTEST_SKIP() << "no /proc/self/status here";
  EXPECT_GT(proc_status_kb("VmRSS"), 0);
  EXPECT_GE(proc_status_kb("VmHWM"), proc_status_kb("VmRSS") / 2);
  EXPECT_EQ(proc_status_kb("NoSuchField"), -1);
  EXPECT_EQ(proc_status_kb("VmRS"), -1) << "a prefix of a field name is not the field";
}

}  // namespace
}  // namespace tcpp
