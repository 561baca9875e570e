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
#include <functional>
#include <memory>
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

// A clock the test moves by hand: redraws, rates and ETAs come out the same on every run.
struct FakeClock {
  std::shared_ptr<Progress::Clock::time_point> t = std::make_shared<Progress::Clock::time_point>();
  std::function<Progress::Clock::time_point()> fn() const {
    return [t = t] { return *t; };
  }
  void advance(double seconds) {
    *t += std::chrono::duration_cast<Progress::Clock::duration>(std::chrono::duration<double>(seconds));
  }
};

// Capture what the console writes (bars and the log lines printed above them) for one scope.
struct ConsoleCapture {
  std::string screen;
  ConsoleCapture() {
    set_console_writer([this](const std::string& text) { screen += text; });
  }
  ~ConsoleCapture() { set_console_writer(nullptr); }
};

TEST(ProgressTest, BarRedrawsAtMostTenTimesASecondByItsClock) {
  std::vector<std::string> out;
  FakeClock clock;
  Progress::Options o = capture(out, ProgressStyle::kBar);
  o.now = clock.fn();
  Progress p("Map", 10, o);
  ASSERT_EQ(out.size(), 1u);  // the empty bar
  clock.advance(0.05);
  p.update(1);
  EXPECT_EQ(out.size(), 1u);  // too soon
  clock.advance(0.05);
  p.update(1);
  ASSERT_EQ(out.size(), 2u);
  // 2 rows in 0.1 s: 20 rows/s, 8 to go in 0.4 s.
  EXPECT_EQ(out[1], "\rMap: [######........................] 20% 2/10 examples | 20.00 examples/s | ETA 00:00:00\x1b[K");
  p.close();
  EXPECT_EQ(out.back(), "\rMap: [######........................] 20% 2/10 examples | 20.00 examples/s | 00:00:00 elapsed\x1b[K\n");
}

TEST(ProgressTest, LinesEveryNCountsFromAnInitialCountWithACustomFormat) {
  std::vector<std::string> out;
  Progress::Options o = capture(out, ProgressStyle::kLines);
  o.initial = 4;  // resumed at 4: lines at 6, 8, then the final one
  o.line_every = 2;
  o.format = [](int64_t count, double, bool closed) {
    return "step " + std::to_string(count) + (closed ? " (done)" : "");
  };
  Progress p("", 10, o);
  EXPECT_EQ(p.count(), 4);
  for (int i = 0; i < 5; ++i) p.update(1);
  p.set_postfix("loss 1.5");
  p.close();
  EXPECT_EQ(out, (std::vector<std::string>{"step 6\n", "step 8\n", "step 9 (done) | loss 1.5\n"}));
}

TEST(ProgressTest, DefaultRateCountsOnlyWhatWasDoneAfterTheInitialCount) {
  std::vector<std::string> out;
  Progress::Options o = capture(out, ProgressStyle::kLines);
  o.initial = 50;
  FakeClock clock;
  o.now = clock.fn();
  Progress p("Train", 100, o);
  clock.advance(2);
  p.update(10);  // 60%: the first tenth crossed since the start
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], "Train: 60% 60/100 examples | 5.00 examples/s | ETA 00:00:08\n");
}

TEST(ProgressTest, NestedBarTakesTheLineOverAndGivesItBack) {
  ConsoleCapture cap;
  FakeClock clock;
  Progress::Options outer_options;
  outer_options.style = ProgressStyle::kBar;
  outer_options.now = clock.fn();
  outer_options.format = [](int64_t count, double, bool) { return "step " + std::to_string(count); };
  Progress outer("", 4, outer_options);
  clock.advance(1);
  outer.update(1);
  const std::string outer_frame = "\r[#######.......................] step 1\x1b[K";
  EXPECT_THAT(cap.screen, EndsWith(outer_frame));
  {
    Progress::Options inner_options;
    inner_options.style = ProgressStyle::kBar;
    inner_options.unit = "batches";
    inner_options.leave = false;  // as the evaluation bar during training
    inner_options.now = clock.fn();
    Progress inner("Evaluation", 2, inner_options);
    EXPECT_THAT(cap.screen, EndsWith("\rEvaluation: [..............................] 0% 0/2 batches\x1b[K"));
    clock.advance(1);
    outer.update(0);  // due for a redraw, but under the inner bar: not drawn over it
    EXPECT_THAT(cap.screen, EndsWith("0/2 batches\x1b[K"));
    inner.update(1);
    console_print_line("[INFO] a log line");
    EXPECT_THAT(cap.screen, EndsWith("\r\x1b[K[INFO] a log line\n\rEvaluation: [###############...............] 50% 1/2 "
                                     "batches | 1.00 batches/s | ETA 00:00:01\x1b[K"));
    inner.update(1);
  }
  // Erased (leave = false), and the outer bar drawn again.
  EXPECT_THAT(cap.screen, EndsWith("\r\x1b[K" + outer_frame));
  EXPECT_EQ(cap.screen.find("batches\x1b[K\n"), std::string::npos) << "the inner bar was left on the screen";
  outer.close();
  EXPECT_THAT(cap.screen, EndsWith("step 1\x1b[K\n"));
  console_print_line("after");
  EXPECT_THAT(cap.screen, EndsWith("\x1b[K\nafter\n"));  // no bar redrawn below once all are closed
}

TEST(ProgressTest, ABarClosedUnderANewerOneIsPrintedAboveIt) {
  ConsoleCapture cap;
  Progress::Options o;
  o.style = ProgressStyle::kBar;
  FakeClock clock;
  o.now = clock.fn();
  auto outer = std::make_unique<Progress>("A", 2, o);
  Progress inner("B", 2, o);
  clock.advance(1);
  outer->update(2);
  outer.reset();  // closes while B is drawn: A's last state above, then B again
  EXPECT_THAT(cap.screen, HasSubstr("\r\x1b[KA: [##############################] 100% 2/2 examples"));
  EXPECT_THAT(cap.screen, EndsWith("elapsed\x1b[K\n\rB: [..............................] 0% 0/2 examples\x1b[K"));
}

TEST(ProgressTest, FormatsHoursMinutesSeconds) {
  EXPECT_EQ(format_hms(0), "00:00:00");
  EXPECT_EQ(format_hms(3725.4), "01:02:05");
  EXPECT_EQ(format_hms(-3), "00:00:00");
}

}  // namespace
}  // namespace tcpp
