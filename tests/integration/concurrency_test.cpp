// Two processes on one folder at the same time: two run_clm on one --output_dir (the second is refused with the
// first one's pid, the first is undisturbed, and the lock dies with its holder), and two `tcpp prepare` building the
// same dataset caches in one --cache_dir at once (both succeed, with results identical to a run alone, and a third
// run reuses the caches); a save into a dataset folder another process is saving into is refused.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "e2e_util.h"
#include "tcpp/core/file.h"
#include "tcpp/core/lock.h"
#include "tcpp/core/manifest.h"

namespace tcpp {
namespace {

namespace fs = std::filesystem;
using e2e::bin;
using e2e::run;
using ::testing::HasSubstr;

// A command started through the shell (exec, so the pid is the program's), its output in a file.
struct Child {
  pid_t pid = -1;
  std::string log;
  int wait() {
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
};

Child start(const std::string& command, const std::string& log) {
  Child c;
  c.log = log;
  c.pid = ::fork();
  if (c.pid == 0) {
    const std::string full = "exec " + command + " > " + log + " 2>&1";
    ::execl("/bin/sh", "sh", "-c", full.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return c;
}

class ConcurrencyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string error;
    dir_ = e2e::make_corpus_dir("tcpp_concurrency_", &error);
    ASSERT_TRUE(error.empty()) << error;
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static std::string dir_;
};
std::string ConcurrencyTest::dir_;

TEST_F(ConcurrencyTest, ASecondRunOnTheSameOutputDirIsRefusedWithTheFirstOnesPid) {
  const std::string out = dir_ + "/out";
  const std::string cmd = bin("run_clm") + e2e::tiny_clm_args(dir_, out, "", 50) +
                          " --do_train --save_steps 5 --save_total_limit 2 --disable_tqdm --cache_dir " + dir_ +
                          "/cache";
  // The first run trains "forever"; the test waits until it holds the folder.
  Child first = start(cmd + " --max_steps 1000000", dir_ + "/first.log");
  const std::string lock_file = out + "/" + kLockFileName;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  auto has_checkpoint = [&] {  // any complete one: with save_total_limit 2 the early ones are soon rotated away
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(out, ec))
      if (entry.path().filename().string().rfind("checkpoint-", 0) == 0 && fs::exists(entry.path() / "trainer_state.json"))
        return true;
    return false;
  };
  while (!has_checkpoint() && std::chrono::steady_clock::now() < deadline) {
    ASSERT_EQ(::waitpid(first.pid, nullptr, WNOHANG), 0) << "the first run ended early:\n" << read_file(first.log);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(fs::exists(lock_file)) << "no lock file after the first checkpoint:\n" << read_file(first.log);
  EXPECT_THAT(read_file(lock_file), HasSubstr("pid " + std::to_string(first.pid) + " on "));

  // The same command again, and one that would start over: both refused, naming the first run, and nothing written.
  for (const std::string extra : {"", " --overwrite_output_dir"}) {
    auto second = run(cmd + " --max_steps 3" + extra);
    EXPECT_EQ(second.status, 1) << second.output;
    EXPECT_THAT(second.output, HasSubstr("--output_dir: " + out + " is in use by another process (pid " +
                                         std::to_string(first.pid) + " on "));
    EXPECT_THAT(second.output, ::testing::Not(HasSubstr("***** Running training *****")));
  }
  ASSERT_EQ(::waitpid(first.pid, nullptr, WNOHANG), 0) << "the first run did not survive the second";

  // SIGKILL: the file stays, the lock goes; a resumed run takes the folder over and continues from a checkpoint
  // that verifies, and removes the lock file when it ends.
  ::kill(first.pid, SIGKILL);
  first.wait();
  EXPECT_TRUE(fs::exists(lock_file));
  int64_t last = 0;
  for (const auto& entry : fs::directory_iterator(out)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("checkpoint-", 0) != 0 || !fs::exists(entry.path() / "trainer_state.json")) continue;
    EXPECT_NO_THROW(verify_manifest(entry.path().string())) << name;
    last = std::max<int64_t>(last, std::stoll(name.substr(11)));
  }
  ASSERT_GE(last, 5);
  auto resumed = run(cmd + " --max_steps " + std::to_string(last + 2));
  ASSERT_EQ(resumed.status, 0) << resumed.output.substr(resumed.output.size() > 3000 ? resumed.output.size() - 3000 : 0);
  EXPECT_THAT(resumed.output, HasSubstr("resuming training at " + out + "/checkpoint-" + std::to_string(last)));
  EXPECT_FALSE(fs::exists(lock_file));
}

TEST_F(ConcurrencyTest, TwoPreparesOnOneCacheDirAtOnceBothSucceedWithIdenticalResults) {
  // A corpus that takes a few seconds to tokenize and group, so that the two runs overlap.
  const std::string big = dir_ + "/big.txt";
  {
    std::ofstream out(big);
    const std::string text = read_file(dir_ + "/train.txt");
    for (int i = 0; i < 60; ++i) out << text;
  }
  auto prepare = [&](const std::string& cache, const std::string& output) {
    return bin("tcpp") + " prepare --tokenizer_name " + dir_ + "/tok --model_type gpt2 --train_file " + big +
           " --block_size 32 --preprocessing_num_workers 2 --cache_dir " + cache + " --output " + output;
  };
  auto alone = run(prepare(dir_ + "/cache_alone", dir_ + "/prepared_alone"));
  ASSERT_EQ(alone.status, 0) << alone.output;

  const std::string shared = dir_ + "/cache_shared";
  Child a = start(prepare(shared, dir_ + "/prepared_a"), dir_ + "/a.log");
  Child b = start(prepare(shared, dir_ + "/prepared_b"), dir_ + "/b.log");
  const int status_a = a.wait(), status_b = b.wait();
  ASSERT_EQ(status_a, 0) << read_file(a.log);
  ASSERT_EQ(status_b, 0) << read_file(b.log);
  // No temp file of either writer is left behind in the shared cache.
  for (const auto& entry : fs::recursive_directory_iterator(shared))
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << entry.path();

  auto show = [&](const std::string& path) {
    return run(bin("tcpp") + " dataset show " + path + "/train --rows all --format jsonl 2>/dev/null");
  };
  const auto expected = show(dir_ + "/prepared_alone");
  ASSERT_EQ(expected.status, 0) << expected.output.substr(0, 500);
  EXPECT_GT(expected.output.size(), 1000u);
  EXPECT_TRUE(show(dir_ + "/prepared_a").output == expected.output) << "first concurrent run differs from a run alone";
  EXPECT_TRUE(show(dir_ + "/prepared_b").output == expected.output) << "second concurrent run differs from a run alone";

  // A third run finds every cache complete and reuses it.
  auto third = run(prepare(shared, dir_ + "/prepared_c"));
  ASSERT_EQ(third.status, 0) << third.output;
  EXPECT_THAT(third.output, HasSubstr("loading cached result"));
  EXPECT_THAT(third.output, ::testing::Not(HasSubstr("converting")));
  EXPECT_TRUE(show(dir_ + "/prepared_c").output == expected.output);
}

// Two saves into one dataset folder at once: while another process saves there (its lock held here, by this test
// process), `tcpp prepare --output` is refused with the holder's pid and leaves the folder alone; once free, the
// same command saves.
TEST_F(ConcurrencyTest, ASaveIntoADatasetFolderInUseIsRefusedWithTheHoldersPid) {
  const std::string out = dir_ + "/prepared_locked";
  const std::string cmd = bin("tcpp") + " prepare --tokenizer_name " + dir_ + "/tok --model_type gpt2 --train_file " +
                          dir_ + "/train.txt --block_size 32 --cache_dir " + dir_ + "/cache_locked --output " + out;
  {
    auto held = DirectoryLock::acquire(out, "test");
    auto refused = run(cmd);
    EXPECT_EQ(refused.status, 1) << refused.output;
    EXPECT_THAT(refused.output, HasSubstr("save_to_disk: " + out + " is in use by another process (pid " +
                                          std::to_string(::getpid()) + " on "));
    EXPECT_THAT(refused.output, HasSubstr("Two saves into one folder at once would mix their files"));
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(out)) names.push_back(e.path().filename().string());
    EXPECT_EQ(names, std::vector<std::string>{kLockFileName});
  }
  auto saved = run(cmd);
  ASSERT_EQ(saved.status, 0) << saved.output;
  EXPECT_TRUE(fs::exists(out + "/dataset_dict.json"));
  EXPECT_FALSE(fs::exists(out + "/" + kLockFileName));
}

}  // namespace
}  // namespace tcpp
