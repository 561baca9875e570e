// The UBSan report hook of sanitizer builds (src/tcpp/core/ubsan_report_hook.cpp): a report in a child process
// lands in TCPP_UBSAN_REPORT_DIR as ubsan.<pid>, naming the file, line and error, where scripts/asan.sh finds it.
// Only TCPP_SANITIZE builds link the hook; elsewhere the test skips.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "tcpp/core/file.h"

namespace tcpp {
namespace {

namespace fs = std::filesystem;

TEST(UbsanReportHookTest, AReportInAChildProcessLandsInTheReportFolder) {
#ifndef TCPP_UBSAN_HOOK
  GTEST_SKIP() << "only TCPP_SANITIZE builds (scripts/asan.sh) link the UBSan report hook";
#else
  const fs::path dir = fs::temp_directory_path() / ("tcpp_ubsan_hook_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setenv("TCPP_UBSAN_REPORT_DIR", dir.c_str(), 1);  // this test's folder, not the run's
    volatile int big = INT_MAX, one = 1;
    const int sum = big + one;  // signed overflow: undefined behaviour that UBSan reports
    ::_exit(sum == 0 ? 3 : 2);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);  // the child exits or, under asan.sh's UBSAN_OPTIONS, aborts
  const fs::path report = dir / ("ubsan." + std::to_string(pid));
  ASSERT_TRUE(fs::exists(report)) << "no UBSan report file from the child";
  EXPECT_THAT(read_file(report.string()), ::testing::AllOf(::testing::HasSubstr("ubsan_hook_test.cpp:"),
                                                            ::testing::HasSubstr("signed-integer-overflow")));
  fs::remove_all(dir);
#endif
}

}  // namespace
}  // namespace tcpp
