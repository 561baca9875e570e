// tcpp launch's supervisor: the environment each worker gets, and stopping every worker when one fails.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tcpp/core/error.h"
#include "tcpp/distributed/launcher.h"

namespace tcpp::distributed {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class LauncherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("tcpp_launch_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  LaunchOptions options(int n, const std::string& script) {
    LaunchOptions o;
    o.nproc_per_node = n;
    o.master_port = 29999;
    o.command = {"/bin/sh", "-c", script};
    o.message = [this](const std::string& line) { messages_ += line + "\n"; };
    return o;
  }
  static std::string read(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  fs::path dir_;
  std::string messages_;
};

TEST_F(LauncherTest, EachWorkerGetsTorchrunsEnvironment) {
  auto o = options(3, "echo $RANK $WORLD_SIZE $LOCAL_RANK $LOCAL_WORLD_SIZE $MASTER_ADDR $MASTER_PORT $OMP_NUM_THREADS > " +
                          dir_.string() + "/$RANK");
  o.nnodes = 2;
  o.node_rank = 1;
  ::unsetenv("OMP_NUM_THREADS");
  EXPECT_EQ(launch(o), 0) << messages_;
  EXPECT_EQ(read(dir_ / "3"), "3 6 0 3 127.0.0.1 29999 1\n");
  EXPECT_EQ(read(dir_ / "5"), "5 6 2 3 127.0.0.1 29999 1\n");
  EXPECT_THAT(messages_, HasSubstr("started 3 worker(s) on node 1 of 2, world size 6"));
}

TEST_F(LauncherTest, AFailingWorkerStopsTheOthersAndNamesItsRank) {
  // Rank 1 fails at once; rank 0 would run for a minute and then leave a file behind.
  auto o = options(2, "if [ $RANK = 1 ]; then exit 3; fi; sleep 60; touch " + dir_.string() + "/finished");
  o.grace_seconds = 5;
  EXPECT_EQ(launch(o), 3);
  EXPECT_THAT(messages_, HasSubstr("rank 1 (local rank 1"));
  EXPECT_THAT(messages_, HasSubstr("exited with code 3; stopping the other 1 worker(s)"));
  EXPECT_FALSE(fs::exists(dir_ / "finished"));
}

TEST_F(LauncherTest, AWorkerThatIgnoresSigtermIsKilledAfterTheGracePeriod) {
  auto o = options(2, "if [ $RANK = 0 ]; then sleep 1; exit 1; fi; trap '' TERM; sleep 60; touch " + dir_.string() + "/finished");
  o.grace_seconds = 1;
  EXPECT_EQ(launch(o), 1);
  EXPECT_THAT(messages_, HasSubstr("killing them"));
  EXPECT_FALSE(fs::exists(dir_ / "finished"));
}

// As torchrun (start_new_session + killpg): stopping a worker stops the processes it started too — a shell's
// background job here, which would otherwise run on after the launcher returned.
TEST_F(LauncherTest, StoppingAWorkerStopsTheProcessesItStarted) {
  auto o = options(2, "if [ $RANK = 1 ]; then sleep 1; exit 3; fi; sleep 60 & echo $! > " + dir_.string() +
                          "/child; wait");
  o.grace_seconds = 5;
  EXPECT_EQ(launch(o), 3) << messages_;
  const std::string pid_text = read(dir_ / "child");
  ASSERT_FALSE(pid_text.empty()) << messages_;
  const pid_t child = static_cast<pid_t>(std::stol(pid_text));
  // Gone, or a zombie about to be reaped by init: either way no longer running.
  auto running = [&] {
    std::ifstream stat("/proc/" + std::to_string(child) + "/stat");
    std::string pid, comm, state;
    return static_cast<bool>(stat >> pid >> comm >> state) && state != "Z";
  };
  for (int i = 0; i < 100 && running(); ++i) ::usleep(50 * 1000);
  EXPECT_FALSE(running()) << "the worker's child " << child << " still runs";
}

TEST_F(LauncherTest, AProgramThatCannotStartIsReported) {
  LaunchOptions o = options(1, "");
  o.command = {(dir_ / "no-such-program").string()};
  EXPECT_EQ(launch(o), 127);
}

TEST_F(LauncherTest, BadOptionsNameTheFlag) {
  auto message = [&](LaunchOptions o) {
    try {
      launch(o);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  auto o = options(0, "true");
  EXPECT_THAT(message(o), HasSubstr("--nproc_per_node"));
  o = options(1, "true");
  o.node_rank = 2;
  EXPECT_THAT(message(o), HasSubstr("--node_rank"));
  o = options(1, "true");
  o.command.clear();
  EXPECT_THAT(message(o), HasSubstr("program"));
}

TEST(DescribeExitStatusTest, CodesAndSignals) {
  EXPECT_EQ(describe_exit_status(3 << 8), "exited with code 3");
  EXPECT_THAT(describe_exit_status(9), HasSubstr("killed by signal 9"));
}

}  // namespace
}  // namespace tcpp::distributed
