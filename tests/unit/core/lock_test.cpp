// Tests for core/lock: a folder locked by one holder is refused to every other one with a message naming the holder's
// pid; the lock goes with its holder (release, or death by SIGKILL) and a stale lock file is taken over.
#include "tcpp/core/lock.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "tcpp/core/error.h"

namespace tcpp {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

class LockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() / ("tcpp_lock_test_" + std::to_string(::getpid()))).string();
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  // A child process that takes the lock on dir_ and holds it until killed: its pid once it holds it, or -1.
  pid_t hold_in_child() const {
    int ready[2];
    if (::pipe(ready) != 0) return -1;
    const pid_t child = ::fork();
    if (child == 0) {
      ::close(ready[0]);
      try {
        auto lock = DirectoryLock::acquire(dir_, "--output_dir");
        char c = 1;
        if (::write(ready[1], &c, 1) != 1) ::_exit(2);
        ::pause();
      } catch (...) {
      }
      ::_exit(1);
    }
    ::close(ready[1]);
    char c = 0;
    const bool holds = ::read(ready[0], &c, 1) == 1;
    ::close(ready[0]);
    return holds ? child : -1;
  }
  std::string dir_;
};

TEST_F(LockTest, ASecondHolderIsRefusedWithTheFirstOnesPid) {
  auto lock = DirectoryLock::acquire(dir_ + "/out", "--output_dir");  // creates the folder
  EXPECT_TRUE(fs::exists(dir_ + "/out/" + kLockFileName));
  // flock belongs to the open file, so a second acquire in this process conflicts like another process would.
  EXPECT_THAT([&] { DirectoryLock::acquire(dir_ + "/out", "--output_dir"); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("--output_dir: " + dir_ + "/out is in use by another process"),
                                              HasSubstr("pid " + std::to_string(::getpid()) + " on "),
                                              HasSubstr("lock_test"))));
}

TEST_F(LockTest, ReleasingRemovesTheFileAndFreesTheFolder) {
  {
    auto lock = DirectoryLock::acquire(dir_, "--output_dir");
    auto moved = std::move(lock);  // the moved-from object releases nothing
  }
  EXPECT_FALSE(fs::exists(dir_ + "/" + kLockFileName));
  auto again = DirectoryLock::acquire(dir_, "--output_dir");
  EXPECT_TRUE(fs::exists(again.path()));
}

// A holder whose folder was renamed away (save_to_disk swaps its staging folder in) must not remove the lock file of
// whoever holds the folder now; its own advice replaces the output folder's.
TEST_F(LockTest, ReleasingAfterTheFolderWasRenamedLeavesTheNewHoldersFile) {
  std::optional<DirectoryLock> first = DirectoryLock::acquire(dir_ + "/a", "--output_dir");
  fs::rename(dir_ + "/a", dir_ + "/old");
  auto second = DirectoryLock::acquire(dir_ + "/a", "save_to_disk", "Save elsewhere.");
  first.reset();
  EXPECT_TRUE(fs::exists(second.path()));
  EXPECT_THAT([&] { DirectoryLock::acquire(dir_ + "/a", "save_to_disk", "Save elsewhere."); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("is in use by another process"), HasSubstr("). Save elsewhere."))));
}

TEST_F(LockTest, AStaleLockFileOfADeadProcessIsTakenOver) {
  fs::create_directories(dir_);
  std::ofstream(dir_ + "/" + kLockFileName) << "pid 999999 on elsewhere since long ago: run_clm\n";
  auto lock = DirectoryLock::acquire(dir_, "--output_dir");
  std::ifstream in(lock.path());
  std::string line;
  std::getline(in, line);
  EXPECT_THAT(line, HasSubstr("pid " + std::to_string(::getpid())));
}

TEST_F(LockTest, AnotherProcessHoldingTheLockIsNamedAndItsDeathFreesTheFolder) {
  const pid_t child = hold_in_child();
  ASSERT_GT(child, 0) << "the child could not take the lock";
  EXPECT_THAT([&] { DirectoryLock::acquire(dir_, "--output_dir"); },
              ThrowsMessage<InputError>(HasSubstr("pid " + std::to_string(child) + " on ")));
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  // SIGKILL left the file behind, but the kernel dropped the lock with the process.
  EXPECT_TRUE(fs::exists(dir_ + "/" + kLockFileName));
  EXPECT_NO_THROW(DirectoryLock::acquire(dir_, "--output_dir"));
}

// wait_for blocks while another holds the folder (here a killed child process, then a thread of this one) and
// takes it the moment it is free: the holder's release or death.
TEST_F(LockTest, WaitForTakesTheFolderWhenTheHolderLetsGoOrDies) {
  const pid_t child = hold_in_child();
  ASSERT_GT(child, 0) << "the child could not take the lock";
  std::atomic<bool> got{false};
  std::thread waiter([&] {
    auto lock = DirectoryLock::wait_for(dir_, "load_dataset");
    got = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(got) << "wait_for did not wait for the child's lock";
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  waiter.join();
  EXPECT_TRUE(got);
  EXPECT_FALSE(fs::exists(dir_ + "/" + kLockFileName));  // the waiter released it in turn

  std::optional<DirectoryLock> held = DirectoryLock::acquire(dir_, "--output_dir");
  got = false;
  std::thread second([&] {
    auto lock = DirectoryLock::wait_for(dir_, "load_dataset");
    got = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(got);
  held.reset();
  second.join();
  EXPECT_TRUE(got);
}

TEST_F(LockTest, AFolderThatCannotBeCreatedIsAClearError) {
  fs::create_directories(dir_);
  std::ofstream(dir_ + "/file") << "x";
  EXPECT_THAT([&] { DirectoryLock::acquire(dir_ + "/file/out", "--output_dir"); },
              ThrowsMessage<InputError>(HasSubstr("--output_dir: cannot create " + dir_ + "/file/out")));
}

}  // namespace
}  // namespace tcpp
