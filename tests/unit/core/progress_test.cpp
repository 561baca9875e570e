// Tests for core/progress: bar frames, plain lines, thread safety, and log lines printed above a bar.
#include "tcpp/core/progress.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "tcpp/core/logging.h"

namespace tcpp {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

Progress::Options capture(std::vector<std::string>& out, ProgressStyle style) {
  Progress::Options o;
  o.style = style;
  o.write = [&out](const std::string& text) { out.push_back(text); };
  return o;
}

TEST(ProgressTest, PlainLinesAtEveryTenthAndAFinalLine) {
  std::vector<std::string> out;
  {
    Progress p("Map", 100, capture(out, ProgressStyle::kLines));
    for (int i = 0; i < 100; ++i) p.update(1);
  }
  ASSERT_EQ(out.size(), 10u);  // 10%, 20%, ..., 90%, then the final line
  EXPECT_THAT(out[0], StartsWith("Map: 10% 10/100 examples"));
  EXPECT_THAT(out[8], StartsWith("Map: 90% 90/100 examples"));
  EXPECT_THAT(out[9], StartsWith("Map: 100% 100/100 examples"));
  EXPECT_THAT(out[9], HasSubstr("elapsed"));
  for (const auto& line : out) {
    EXPECT_THAT(line, EndsWith("\n"));
    EXPECT_EQ(line.find('\r'), std::string::npos);
    EXPECT_EQ(line.find('\x1b'), std::string::npos);
  }
}

TEST(ProgressTest, UnknownTotalShowsTheCountWithoutAPercentage) {
  std::vector<std::string> out;
  Progress::Options o = capture(out, ProgressStyle::kLines);
  o.unit = "rows";
  Progress p("Generating train split", 0, o);
  p.update(1234);
  p.set_postfix("shards 1/2");
  p.close();
  p.update(5);  // ignored after close
  ASSERT_EQ(out.size(), 1u);
  EXPECT_THAT(out[0], StartsWith("Generating train split: 1234 rows"));
  EXPECT_THAT(out[0], HasSubstr("| shards 1/2"));
  EXPECT_THAT(out[0], Not(HasSubstr("%")));
}

TEST(ProgressTest, BarFramesAreWholeEvenWithManyThreads) {
  std::vector<std::string> out;
  {
    Progress p("Map (num_proc=4)", 4000, capture(out, ProgressStyle::kBar));
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&p] {
        for (int i = 0; i < 1000; ++i) p.update(1);
      });
    for (auto& t : threads) t.join();
    EXPECT_EQ(p.count(), 4000);
  }
  ASSERT_GE(out.size(), 2u);  // the empty bar when made, the full one when closed
  EXPECT_THAT(out.front(), HasSubstr("[..............................] 0% 0/4000"));
  EXPECT_THAT(out.back(), HasSubstr("[##############################] 100% 4000/4000"));
  EXPECT_THAT(out.back(), EndsWith("\x1b[K\n"));
  for (const auto& frame : out) {  // each write is one complete frame: one \r at the start, no newline inside
    EXPECT_THAT(frame, StartsWith("\rMap (num_proc=4): ["));
    EXPECT_EQ(frame.find('\r', 1), std::string::npos);
    const size_t newline = frame.find('\n');
    EXPECT_TRUE(newline == std::string::npos || newline == frame.size() - 1) << frame;
  }
}

TEST(ProgressTest, OffWritesNothingButCounts) {
  std::vector<std::string> out;
  Progress p("Map", 10, capture(out, ProgressStyle::kOff));
  p.update(10);
  p.close();
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(p.count(), 10);
}

TEST(ProgressTest, RanksOtherThanZeroShowNoProgressByDefault) {
  set_progress_style(ProgressStyle::kAuto);
  ::setenv("RANK", "1", 1);
  EXPECT_EQ(progress_style(), ProgressStyle::kOff);
  ::setenv("RANK", "0", 1);
  EXPECT_NE(progress_style(), ProgressStyle::kOff);
  ::unsetenv("RANK");
  set_progress_style(ProgressStyle::kLines);  // as --disable_tqdm
  EXPECT_EQ(progress_style(), ProgressStyle::kLines);
  set_progress_style(ProgressStyle::kAuto);
}

TEST(ProgressTest, LogLinesPrintAboveTheBarOnStderr) {
  // Capture fd 2 in a file while a bar is drawn on the console.
  const std::string path = (std::filesystem::temp_directory_path() / ("tcpp_progress_" + std::to_string(::getpid()))).string();
  std::fflush(stderr);
  const int saved = ::dup(2);
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  ::dup2(::fileno(f), 2);
  {
    Progress::Options o;
    o.style = ProgressStyle::kBar;
    Progress p("Map", 10, o);
    p.update(5);
    const LogLevel level = log_level();
    set_log_level(LogLevel::kInfo);
    log_info("cache miss");
    set_log_level(level);
    p.update(5);
  }
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  std::fclose(f);
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::filesystem::remove(path);
  const std::string text = ss.str();
  // The bar is cleared, the log line gets its own line, and the bar is drawn again below it.
  EXPECT_THAT(text, HasSubstr("\r\x1b[K[INFO] cache miss\n\rMap: ["));
  EXPECT_THAT(text, HasSubstr("100% 10/10 examples"));
  EXPECT_THAT(text, EndsWith("\n"));
}

TEST(ProgressTest, FormatsHoursMinutesSeconds) {
  EXPECT_EQ(format_hms(0), "00:00:00");
  EXPECT_EQ(format_hms(3725.4), "01:02:05");
  EXPECT_EQ(format_hms(-3), "00:00:00");
}

}  // namespace
}  // namespace tcpp
