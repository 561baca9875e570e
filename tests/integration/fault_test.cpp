// Fault injection: SIGKILL at random moments while run_clm saves a checkpoint every step, and while `tcpp prepare`
// builds its dataset caches. After every kill, each checkpoint that resume could pick must be complete (its
// manifest verifies), the next run must resume, and the caches must never be trusted half-written: the final
// prepared dataset equals one built without interruptions.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>

#include "e2e_util.h"
#include "tcpp/core/error.h"
#include "tcpp/core/file.h"
#include "tcpp/core/json.h"
#include "tcpp/core/manifest.h"

namespace tcpp {
namespace {

namespace fs = std::filesystem;
using e2e::bin;
using e2e::run;

// Start `command` through the shell, SIGKILL it after `seconds` unless it ended; true when it was killed.
bool run_and_kill(const std::string& command, double seconds) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const std::string full = "exec " + command + " > /dev/null 2>&1";
    ::execl("/bin/sh", "sh", "-c", full.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid, &status, WNOHANG) == pid) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  return true;
}

// A small tmpfs mounted at `path` while it lives (root only: mounted() says whether it could be).
class SmallDisk {
 public:
  SmallDisk(std::string path, const std::string& size) : path_(std::move(path)) {
    fs::create_directories(path_);
    mounted_ = run("mount -t tmpfs -o size=" + size + " tmpfs " + path_).status == 0;
  }
  ~SmallDisk() {
    if (mounted_) run("umount " + path_);
  }
  SmallDisk(const SmallDisk&) = delete;
  SmallDisk& operator=(const SmallDisk&) = delete;
  bool mounted() const { return mounted_; }

 private:
  std::string path_;
  bool mounted_ = false;
};

class FaultTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string error;
    dir_ = e2e::make_corpus_dir("tcpp_fault_", &error);
    ASSERT_TRUE(error.empty()) << error;
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static std::string dir_;
};
std::string FaultTest::dir_;

TEST_F(FaultTest, KillsDuringCheckpointSavesNeverLeaveACheckpointThatResumeWouldTrust) {
  const std::string out = dir_ + "/ckpt";
  auto clm = [&](const std::string& output_dir) {
    return bin("run_clm") +
           " --model_type gpt2 --config_overrides n_embd=32,n_layer=2,n_head=2,n_positions=64,"
           "vocab_size=300,bos_token_id=0,eos_token_id=0 --tokenizer_name " + dir_ + "/tok --train_file " +
           dir_ + "/train.txt --block_size 32 --per_device_train_batch_size 4 --learning_rate 1e-3"
           " --logging_steps 50 --report_to none --seed 3 --do_train --save_steps 1 --save_total_limit 3"
           " --output_dir " + output_dir;
  };
  const std::string cmd = clm(out);
  // Kill moments scale with how long a clean run takes to start and save its first two checkpoints (several times
  // longer under ASan or on a loaded machine than in the normal build): a fixed window of seconds would kill every
  // run of a slow build before its first save, and the test would check nothing.
  const auto t0 = std::chrono::steady_clock::now();
  auto timing = run(clm(dir_ + "/ckpt_timing") + " --max_steps 2");
  ASSERT_EQ(timing.status, 0) << timing.output;
  const double two_saves = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::mt19937 rng(1234);
  std::uniform_real_distribution<double> when(0.5 * two_saves, 2.5 * two_saves);
  int kills = 0, staging_left = 0, checkpoints_checked = 0;
  int64_t last_step = 0;
  for (int i = 0; i < 12; ++i) {
    if (run_and_kill(cmd + " --max_steps 100000", when(rng))) ++kills;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(out, ec)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("tmp-checkpoint-", 0) == 0) ++staging_left;  // a save the kill interrupted: never resumed from
      if (name.rfind("checkpoint-", 0) != 0 || !fs::exists(entry.path() / "trainer_state.json")) continue;
      // Everything resume may pick: complete and intact.
      EXPECT_NO_THROW(verify_manifest(entry.path().string())) << name << " after kill " << i;
      EXPECT_TRUE(fs::exists(entry.path() / kManifestFile)) << name;
      const Json state = read_json_file((entry.path() / "trainer_state.json").string());
      last_step = std::max<int64_t>(last_step, state["global_step"].get<int64_t>());
      ++checkpoints_checked;
    }
  }
  EXPECT_GE(kills, 10);
  EXPECT_GT(checkpoints_checked, 0);
  // The progress made before each kill was kept: the last run resumes and finishes a few steps later.
  auto r = run(cmd + " --max_steps " + std::to_string(last_step + 3));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_THAT(r.output, ::testing::HasSubstr("resuming training at"));
  EXPECT_EQ(read_json_file(out + "/trainer_state.json")["global_step"], last_step + 3);
  for (const auto& entry : fs::directory_iterator(out))  // the interrupted saves' staging folders were cleared
    EXPECT_NE(entry.path().filename().string().rfind("tmp-checkpoint-", 0), 0u) << entry.path();
  std::printf("[ fault    ] %d kills between %.1f and %.1f s, %d interrupted saves left as staging folders, %d "
              "checkpoints verified, last step %lld\n", kills, when.a(), when.b(), staging_left, checkpoints_checked,
              static_cast<long long>(last_step));
}

TEST_F(FaultTest, KillsDuringDatasetCachingNeverCorruptTheCache) {
  // A corpus big enough that tokenizing and grouping take a while (3 MB), in two worker processes.
  const std::string big = dir_ + "/big.txt";
  {
    std::ofstream out(big);
    const std::string text = read_file(dir_ + "/train.txt");
    for (int i = 0; i < 100; ++i) out << text;
  }
  auto prepare = [&](const std::string& cache, const std::string& output) {
    return bin("tcpp") + " prepare --tokenizer_name " + dir_ + "/tok --model_type gpt2 --train_file " + big +
           " --block_size 32 --preprocessing_num_workers 2 --cache_dir " + cache + " --output " + output;
  };
  auto clean = run(prepare(dir_ + "/cache_clean", dir_ + "/prepared_clean"));
  ASSERT_EQ(clean.status, 0) << clean.output;

  // Kill at random moments within the time a clean run takes; a run that escapes its kill completes the cache,
  // which is then removed so that the next run builds (and is killed) again.
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(run(prepare(dir_ + "/cache_timing", dir_ + "/prepared_timing")).status, 0);
  const double clean_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::mt19937 rng(99);
  std::uniform_real_distribution<double> when(0.05 * clean_seconds, 0.9 * clean_seconds);
  int kills = 0;
  for (int i = 0; i < 10; ++i) {
    fs::remove_all(dir_ + "/prepared_killed");
    if (run_and_kill(prepare(dir_ + "/cache_killed", dir_ + "/prepared_killed"), when(rng))) ++kills;
    else fs::remove_all(dir_ + "/cache_killed");
  }
  EXPECT_GE(kills, 3);
  fs::remove_all(dir_ + "/prepared_killed");
  auto resumed = run(prepare(dir_ + "/cache_killed", dir_ + "/prepared_killed"));
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  auto show = [&](const std::string& path) {
    return run(bin("tcpp") + " dataset show " + path + "/train --rows all --format jsonl 2>/dev/null");
  };
  const auto a = show(dir_ + "/prepared_clean"), b = show(dir_ + "/prepared_killed");
  ASSERT_EQ(a.status, 0) << a.output.substr(0, 500);
  EXPECT_GT(a.output.size(), 1000u);
  EXPECT_TRUE(a.output == b.output) << "the dataset prepared after " << kills << " kills differs from a clean one";
  std::printf("[ fault    ] %d kills during dataset caching; final dataset identical (%zu bytes of JSON lines)\n",
              kills, a.output.size());
}

TEST_F(FaultTest, ADiskThatFillsUpWhileSavingGivesAClearErrorAndKeepsTheCompleteCheckpoints) {
  const std::string mnt = dir_ + "/small_disk";
  SmallDisk disk(mnt, "2m");  // room for about three checkpoints of this model
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a small tmpfs here (needs root); the disk-full case is not exercised";
  const std::string out = mnt + "/out";
  const std::string cmd = bin("run_clm") +
                          " --model_type gpt2 --config_overrides n_embd=32,n_layer=2,n_head=2,n_positions=64,"
                          "vocab_size=300,bos_token_id=0,eos_token_id=0 --tokenizer_name " + dir_ + "/tok --train_file " +
                          dir_ + "/train.txt --block_size 32 --per_device_train_batch_size 4 --report_to none"
                          " --disable_tqdm --do_train --save_steps 1 --max_steps 40 --cache_dir " + dir_ + "/cache_disk";
  auto r = run(cmd + " --output_dir " + out);
  EXPECT_EQ(r.status, 1) << "expected a clean error exit, not a crash\n" << r.output.substr(r.output.size() > 3000 ? r.output.size() - 3000 : 0);
  EXPECT_THAT(r.output, ::testing::HasSubstr("No space left on device"));
  EXPECT_THAT(r.output, ::testing::Not(::testing::HasSubstr("terminate called")));
  // Every checkpoint resume could pick is complete; the last one resumes on a disk with room.
  int complete = 0;
  for (const auto& entry : fs::directory_iterator(out)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("checkpoint-", 0) != 0 || !fs::exists(entry.path() / "trainer_state.json")) continue;
    EXPECT_NO_THROW(verify_manifest(entry.path().string())) << name;
    ++complete;
  }
  ASSERT_GT(complete, 0);
  const std::string moved = dir_ + "/disk_full_resumed";
  fs::copy(out, moved, fs::copy_options::recursive);
  auto resumed = run(cmd + " --output_dir " + moved + " --max_steps " + std::to_string(complete + 2));
  EXPECT_EQ(resumed.status, 0) << resumed.output.substr(resumed.output.size() > 3000 ? resumed.output.size() - 3000 : 0);
}

// The dataset side of a full disk: the caches of `tcpp prepare` (load_dataset, tokenize and group maps) on a 4 MB
// tmpfs, then its save_to_disk over an earlier prepared dataset there. Each fails with a clear error; no partial
// cache file is trusted afterwards (the caches, moved to a disk with room, finish into the same dataset a clean run
// makes), and the earlier saved dataset stays as it was.
TEST_F(FaultTest, ADiskThatFillsUpWhileCachingOrSavingADatasetTrustsNoPartialFile) {
  const std::string mnt = dir_ + "/small_disk_datasets";
  SmallDisk disk(mnt, "4m");
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a small tmpfs here (needs root); the disk-full case is not exercised";
  const std::string big = dir_ + "/big_disk_full.txt";
  {
    std::ofstream out(big);
    const std::string text = read_file(dir_ + "/train.txt");
    for (int i = 0; i < 100; ++i) out << text;  // 3.3 MB of text: its caches need more than 4 MB
  }
  auto prepare = [&](const std::string& train, const std::string& cache, const std::string& output) {
    return bin("tcpp") + " prepare --tokenizer_name " + dir_ + "/tok --model_type gpt2 --train_file " + train +
           " --block_size 32 --cache_dir " + cache + " --output " + output;
  };
  auto show = [&](const std::string& path) {
    return run(bin("tcpp") + " dataset show " + path + "/train --rows all --format jsonl 2>/dev/null");
  };
  auto tail = [](const std::string& s) { return s.substr(s.size() > 3000 ? s.size() - 3000 : 0); };

  // 1. The caches fill the disk.
  auto full = run(prepare(big, mnt + "/cache", dir_ + "/prepared_disk_full"));
  EXPECT_EQ(full.status, 1) << "expected a clean error exit, not a crash\n" << tail(full.output);
  EXPECT_THAT(full.output, ::testing::HasSubstr("No space left on device"));
  EXPECT_THAT(full.output, ::testing::HasSubstr(mnt + "/cache"));
  EXPECT_THAT(full.output, ::testing::Not(::testing::HasSubstr("terminate called")));
  EXPECT_FALSE(fs::exists(dir_ + "/prepared_disk_full"));
  // Whatever the full disk kept is reused only where complete: moved to a disk with room, the same caches finish
  // into the dataset a clean run makes.
  fs::copy(mnt + "/cache", dir_ + "/cache_after_full", fs::copy_options::recursive);
  fs::remove_all(mnt + "/cache");
  auto resumed = run(prepare(big, dir_ + "/cache_after_full", dir_ + "/prepared_after_full"));
  ASSERT_EQ(resumed.status, 0) << tail(resumed.output);
  auto clean = run(prepare(big, dir_ + "/cache_disk_full_clean", dir_ + "/prepared_disk_full_clean"));
  ASSERT_EQ(clean.status, 0) << tail(clean.output);
  const auto a = show(dir_ + "/prepared_disk_full_clean"), b = show(dir_ + "/prepared_after_full");
  ASSERT_EQ(a.status, 0);
  EXPECT_GT(a.output.size(), 1000u);
  EXPECT_TRUE(a.output == b.output) << "the dataset finished from the caches of the full disk differs from a clean one";

  // 2. save_to_disk fills the disk, over an earlier (small) prepared dataset on it.
  auto small = run(prepare(dir_ + "/train.txt", dir_ + "/cache_small", mnt + "/prepared"));
  ASSERT_EQ(small.status, 0) << tail(small.output);
  const auto before = show(mnt + "/prepared");
  ASSERT_EQ(before.status, 0);
  auto save = run(prepare(big, dir_ + "/cache_disk_full_clean", mnt + "/prepared"));
  EXPECT_EQ(save.status, 1) << tail(save.output);
  EXPECT_THAT(save.output, ::testing::HasSubstr(mnt + "/prepared/train/data-00000-of-00001.arrow: write failed: No space "
                                                "left on device (save_to_disk abandoned: " + mnt + "/prepared was left"));
  EXPECT_THAT(save.output, ::testing::Not(::testing::HasSubstr("terminate called")));
  const auto after = show(mnt + "/prepared");
  ASSERT_EQ(after.status, 0);
  EXPECT_TRUE(before.output == after.output) << "the earlier saved dataset changed";
  std::set<std::string> left;
  for (const auto& e : fs::directory_iterator(mnt)) left.insert(e.path().filename().string());
  EXPECT_EQ(left, (std::set<std::string>{"prepared"})) << "a staging folder was left on the full disk";
  std::printf("[ fault    ] full disk while caching (%zu bytes of output) and while saving: clean errors, no partial "
              "file trusted, the earlier save intact\n", full.output.size());
}

}  // namespace
}  // namespace tcpp
