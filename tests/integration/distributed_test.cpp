// Data-parallel run_clm under `tcpp launch` over loopback: 2 ranks x batch 4 equal 1 process x batch 4 x 2
// accumulation steps (losses and final weights), two "machines" (two launchers, --nnodes 2), resume with the same
// world size (and a clear error with another), and a killed or hung rank ending the job with a clear error.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <torch/torch.h>

#include "../unit/distributed/free_port.h"
#include "e2e_util.h"
#include "tcpp/core/file.h"
#include "tcpp/core/json.h"
#include "tcpp/models/safetensors.h"
#include "tcpp/trainer/checkpoint.h"

namespace tcpp {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using e2e::bin;
using e2e::run;

int next_port() {
  // A port nothing listens on now, picked by the kernel. (Counting up from 20000 + pid % 20000 let two of these
  // tests, started by ctest -j2 as processes with nearby pids, pick the same port: one launch then failed.)
  return distributed::testing::free_port();
}

class DistributedRunClmTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string error;
    dir_ = e2e::make_corpus_dir("tcpp_ddp_", &error);
    ASSERT_TRUE(error.empty()) << error;
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  // No dropout, so one process with accumulation and two ranks compute the same function.
  static std::string clm_args(const std::string& out) {
    return e2e::tiny_clm_args(dir_, out, ",resid_pdrop=0.0,embd_pdrop=0.0,attn_pdrop=0.0", /*logging_steps=*/1);
  }
  static std::string launch(int nproc, const std::string& extra = "", const std::string& program = "run_clm") {
    return bin("tcpp") + " launch --nproc_per_node " + std::to_string(nproc) + " --master_port " +
           std::to_string(next_port()) + " " + extra + " -- " + bin(program);
  }
  static std::vector<double> logged(const std::string& out, const char* key) {
    std::vector<double> v;
    const Json state = read_json_file(out + "/trainer_state.json");
    for (const auto& e : state["log_history"])
      if (e.contains(key)) v.push_back(e[key].get<double>());
    return v;
  }
  static void expect_same_weights(const std::string& a, const std::string& b, double rtol) {
    auto ta = models::load_checkpoint_tensors(a);
    auto tb = models::load_checkpoint_tensors(b);
    ASSERT_EQ(ta.size(), tb.size());
    std::map<std::string, torch::Tensor> by_name(tb.begin(), tb.end());
    for (const auto& [name, t] : ta) {
      ASSERT_TRUE(by_name.count(name)) << name;
      const auto& other = by_name.at(name);
      // atol 1e-5: the two runs sum gradients in another order, and Adam turns a rounding-level difference in a
      // near-zero gradient (attention biases) into a visible one (its update is about +-lr whatever the gradient's
      // size); a wrong average or a missed rank moves weights by 1e-4 and more.
      EXPECT_TRUE(torch::allclose(t, other, rtol, 1e-5))
          << name << ": max difference " << (t - other).abs().max().item<double>();
    }
  }

  static std::string dir_;
};
std::string DistributedRunClmTest::dir_;

TEST_F(DistributedRunClmTest, TwoRanksEqualOneProcessAccumulatingTwoBatches) {
  const std::string single = dir_ + "/single", ddp = dir_ + "/ddp";
  auto a = run(bin("run_clm") + clm_args(single) + " --do_train --do_eval --max_steps 6 --save_steps 3"
               " --gradient_accumulation_steps 2");
  ASSERT_EQ(a.status, 0) << a.output;
  auto b = run(launch(2) + clm_args(ddp) + " --do_train --do_eval --max_steps 6 --save_steps 3");
  ASSERT_EQ(b.status, 0) << b.output;

  const auto la = logged(single, "loss"), lb = logged(ddp, "loss");
  ASSERT_EQ(la.size(), 6u);
  ASSERT_EQ(lb.size(), la.size());
  for (size_t i = 0; i < la.size(); ++i) EXPECT_NEAR(la[i], lb[i], 2e-4) << "step " << i + 1;
  const auto ga = logged(single, "grad_norm"), gb = logged(ddp, "grad_norm");
  ASSERT_EQ(ga.size(), gb.size());
  for (size_t i = 0; i < ga.size(); ++i) EXPECT_NEAR(ga[i], gb[i], 1e-4 * ga[i]) << "step " << i + 1;
  expect_same_weights(single, ddp, 1e-4);

  // Evaluation is sharded over the ranks and gathered: same loss, same sample count, no duplicates.
  Json ea = read_json_file(single + "/eval_results.json"), eb = read_json_file(ddp + "/eval_results.json");
  EXPECT_NEAR(ea["eval_loss"].get<double>(), eb["eval_loss"].get<double>(), 1e-5);
  EXPECT_NEAR(ea["eval_accuracy"].get<double>(), eb["eval_accuracy"].get<double>(), 1e-6);
  EXPECT_EQ(ea["eval_samples"], eb["eval_samples"]);
  // Rank 0 alone writes: one log line per step, per-rank RNG files in the checkpoint.
  std::ifstream jsonl(ddp + "/trainer_log.jsonl");
  int lines = 0;
  for (std::string line; std::getline(jsonl, line);) lines += line.find("\"loss\"") != std::string::npos ? 1 : 0;
  EXPECT_EQ(lines, 6);
  EXPECT_TRUE(fs::exists(ddp + "/checkpoint-3/rng_state_0.pt"));
  EXPECT_TRUE(fs::exists(ddp + "/checkpoint-3/rng_state_1.pt"));
  EXPECT_FALSE(fs::exists(ddp + "/checkpoint-3/rng_state.pt"));
  EXPECT_TRUE(fs::exists(ddp + "/checkpoint-3/rng_state_0.pth"));  // transformers' files, for Python's Trainer
  EXPECT_TRUE(fs::exists(ddp + "/checkpoint-3/rng_state_1.pth"));
  EXPECT_FALSE(fs::exists(ddp + "/checkpoint-3/rng_state.pth"));
  EXPECT_EQ(read_json_file(ddp + "/train_results.json")["train_samples"],
            read_json_file(single + "/train_results.json")["train_samples"]);

  // Resume with the same world size continues exactly; with another it is refused, naming both sizes.
  const std::string part = dir_ + "/ddp_part";
  fs::create_directories(part);
  fs::copy(ddp + "/checkpoint-3", part + "/checkpoint-3", fs::copy_options::recursive);
  auto c = run(launch(2) + clm_args(part) + " --do_train --max_steps 6 --save_steps 3");
  ASSERT_EQ(c.status, 0) << c.output;
  EXPECT_EQ(read_file(ddp + "/model.safetensors"), read_file(part + "/model.safetensors"));
  // The same checkpoint with transformers' files alone (each rank's rng_state_<rank>.pth) resumes the same.
  const std::string hf = dir_ + "/ddp_hf_files";
  fs::create_directories(hf);
  fs::copy(ddp + "/checkpoint-3", hf + "/checkpoint-3", fs::copy_options::recursive);
  for (const char* ours : {"scheduler.json", "rng_state_0.pt", "rng_state_1.pt", "checkpoint_manifest.json"})
    ASSERT_TRUE(fs::remove(hf + "/checkpoint-3/" + ours)) << ours;
  auto h = run(launch(2) + clm_args(hf) + " --do_train --max_steps 6 --save_steps 3");
  ASSERT_EQ(h.status, 0) << h.output;
  EXPECT_THAT(h.output, HasSubstr("a checkpoint of transformers' Trainer"));
  EXPECT_EQ(read_file(ddp + "/model.safetensors"), read_file(hf + "/model.safetensors"));
  const std::string other = dir_ + "/ddp_other";
  fs::create_directories(other);
  fs::copy(ddp + "/checkpoint-3", other + "/checkpoint-3", fs::copy_options::recursive);
  auto d = run(bin("run_clm") + clm_args(other) + " --do_train --max_steps 6 --save_steps 3");
  EXPECT_NE(d.status, 0);
  EXPECT_THAT(d.output, HasSubstr("was saved by 2 process(es) but this run has 1"));

  // Two "machines": two launchers with --nnodes 2, one worker each, meeting at node 0's address.
  const std::string nodes = dir_ + "/nodes";
  const std::string port = std::to_string(next_port());
  const std::string node = bin("tcpp") + " launch --nnodes 2 --nproc_per_node 1 --master_addr 127.0.0.1 --master_port " +
                           port + " --node_rank ";
  const std::string job = " -- " + bin("run_clm") + clm_args(nodes) + " --do_train --max_steps 6 --save_steps 3";
  auto e = run("sh -c '" + node + "0" + job + " > " + dir_ + "/node0.log 2>&1 & p0=$!; " + node + "1" + job + " > " +
               dir_ + "/node1.log 2>&1 & p1=$!; wait $p0; r0=$?; wait $p1; r1=$?; exit $((r0 + r1))'");
  ASSERT_EQ(e.status, 0) << read_file(dir_ + "/node0.log") << read_file(dir_ + "/node1.log");
  const auto ln = logged(nodes, "loss");
  ASSERT_EQ(ln.size(), lb.size());
  for (size_t i = 0; i < ln.size(); ++i) EXPECT_NEAR(ln[i], lb[i], 1e-6) << "step " << i + 1;
  expect_same_weights(ddp, nodes, 1e-6);

  // Machines without a shared file system (save_on_each_node, each with its own output_dir): each machine's first
  // process writes whole checkpoints (every rank's RNG files) and the model; rank 0 alone the results and the log.
  // Rerun, each resumes from its own checkpoint-3.
  const std::string own = dir_ + "/own";
  auto both = [&](const std::string& extra) {
    const std::string p2 = std::to_string(next_port());
    auto job_on = [&](int r) {
      return bin("tcpp") + " launch --nnodes 2 --nproc_per_node 1 --master_addr 127.0.0.1 --master_port " + p2 +
             " --node_rank " + std::to_string(r) + " -- " + bin("run_clm") + clm_args(own + std::to_string(r)) +
             " --do_train --max_steps 6 --save_steps 3 --save_on_each_node true" + extra + " > " + own +
             std::to_string(r) + ".log 2>&1";
    };
    return run("sh -c '" + job_on(0) + " & p0=$!; " + job_on(1) + " & p1=$!; wait $p0; r0=$?; wait $p1; r1=$?; "
               "exit $((r0 + r1))'");
  };
  auto f = both("");
  ASSERT_EQ(f.status, 0) << read_file(own + "0.log") << read_file(own + "1.log");
  for (const std::string& d : {own + "0", own + "1"}) {
    for (const char* file : {"checkpoint-3/rng_state_0.pt", "checkpoint-3/rng_state_1.pt", "checkpoint-6/optimizer.pt",
                             "model.safetensors"})
      EXPECT_TRUE(fs::exists(d + "/" + file)) << d << "/" << file;
    expect_same_weights(ddp, d, 1e-6);
  }
  EXPECT_TRUE(fs::exists(own + "0/train_results.json"));
  EXPECT_FALSE(fs::exists(own + "1/train_results.json"));
  EXPECT_FALSE(fs::exists(own + "1/trainer_log.jsonl"));
  for (const std::string& d : {own + "0", own + "1"}) {
    fs::remove_all(d + "/checkpoint-6");
    fs::remove(d + "/model.safetensors");
  }
  auto g = both("");
  ASSERT_EQ(g.status, 0) << read_file(own + "0.log") << read_file(own + "1.log");
  EXPECT_THAT(read_file(own + "1.log"), HasSubstr("checkpoint-3"));
  for (const std::string& d : {own + "0", own + "1"}) expect_same_weights(ddp, d, 1e-6);
}

// Start `command` in the background (its own process); output to log.
pid_t spawn(const std::string& command, const std::string& log) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const std::string full = "exec " + command + " > " + log + " 2>&1";
    ::execl("/bin/sh", "sh", "-c", full.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

// The worker of `launcher` whose RANK is `rank` (from /proc), or -1.
pid_t worker_pid(pid_t launcher, int rank) {
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    std::getline(stat, line);
    const auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid != launcher) continue;
    std::ifstream env_file(entry.path() / "environ");
    bool match = false;
    for (std::string var; std::getline(env_file, var, '\0');) match = match || var == "RANK=" + std::to_string(rank);
    if (match)
      return static_cast<pid_t>(std::stoi(name));
  }
  return -1;
}

// Wait up to `seconds` for pid to exit; returns its waitpid status, or -1 after killing it on timeout.
int wait_for(pid_t pid, double seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid, &status, WNOHANG) == pid) return status;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  return -1;
}

bool wait_until(const std::function<bool()>& cond, double seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

// Wait up to 180 s for the job under `launcher` to write path; false as soon as the launcher has exited instead
// (a job that failed at its start is reported at once, with its log, rather than after the whole wait).
bool written_while_running(pid_t launcher, const std::string& path) {
  bool exited = false;
  wait_until([&] {
    int status = 0;
    exited = ::waitpid(launcher, &status, WNOHANG) == launcher;
    return exited || fs::exists(path);
  }, 180);
  return !exited && fs::exists(path);
}

// run_mlm on 2 ranks with 2 dataloader workers each (HF's seed_worker reseeds each rank's workers apart): every
// rank's RNG file holds its workers' generators, and a resume from a checkpoint taken mid-epoch continues exactly.
TEST_F(DistributedRunClmTest, MlmWithDataloaderWorkersResumesExactlyOnTwoRanks) {
  auto mlm_args = [&](const std::string& out) {
    return " --model_type bert --config_overrides hidden_size=32,num_hidden_layers=1,num_attention_heads=2,"
           "intermediate_size=64,max_position_embeddings=64,vocab_size=300 --tokenizer_name " + dir_ + "/tok"
           " --train_file " + dir_ + "/train.txt --validation_file " + dir_ + "/validation.txt --max_seq_length 32"
           " --per_device_train_batch_size 2 --logging_steps 1 --report_to none --seed 3 --do_train --max_steps 4"
           " --save_steps 2 --dataloader_num_workers 2 --output_dir " + out;
  };
  const std::string whole = dir_ + "/mlm_workers_ddp", part = dir_ + "/mlm_workers_ddp_part";
  auto a = run(launch(2, "", "run_mlm") + mlm_args(whole));
  ASSERT_EQ(a.status, 0) << a.output;
  ASSERT_LT(read_json_file(whole + "/checkpoint-2/trainer_state.json")["epoch"].get<double>(), 1.0);
  for (int rank = 0; rank < 2; ++rank) {
    trainer::RngExtras extras;
    trainer::load_rng_state(whole + "/checkpoint-2/rng_state_" + std::to_string(rank) + ".pt",
                            at::detail::createCPUGenerator(0), &extras);
    EXPECT_EQ(extras.collator_workers.size(), 2u) << "rank " << rank;
  }
  fs::create_directories(part);
  fs::copy(whole + "/checkpoint-2", part + "/checkpoint-2", fs::copy_options::recursive);
  auto b = run(launch(2, "", "run_mlm") + mlm_args(part));
  ASSERT_EQ(b.status, 0) << b.output;
  EXPECT_EQ(logged(whole, "loss"), logged(part, "loss"));
  EXPECT_EQ(read_file(whole + "/model.safetensors"), read_file(part + "/model.safetensors"));
}

TEST_F(DistributedRunClmTest, AKilledRankEndsTheJobWithAClearErrorAndKeepsTheLastCheckpoint) {
  const std::string out = dir_ + "/killed", log = dir_ + "/killed.log";
  const pid_t launcher = spawn(launch(2, "--grace_seconds 5") + clm_args(out) +
                                   " --do_train --max_steps 100000 --save_steps 2 --ddp_timeout 60",
                               log);
  ASSERT_TRUE(written_while_running(launcher, out + "/checkpoint-2/trainer_state.json")) << read_file(log);
  const pid_t victim = worker_pid(launcher, 1);
  ASSERT_GT(victim, 0) << "no worker with RANK=1 under the launcher";
  ::kill(victim, SIGKILL);
  const int status = wait_for(launcher, 90);
  ASSERT_NE(status, -1) << "the job did not end within 90 s of a rank dying\n" << read_file(log);
  EXPECT_FALSE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_THAT(read_file(log), HasSubstr("rank 1 (local rank 1, pid " + std::to_string(victim) + ") was killed by signal 9"));
  auto last = trainer::get_last_checkpoint(out);
  ASSERT_TRUE(last.has_value());
  EXPECT_NO_THROW(read_json_file(*last + "/trainer_state.json"));
}

TEST_F(DistributedRunClmTest, AHungRankEndsTheJobWithinTheTimeout) {
  const std::string out = dir_ + "/hung", log = dir_ + "/hung.log";
  const pid_t launcher = spawn(launch(2, "--grace_seconds 2") + clm_args(out) +
                                   " --do_train --max_steps 100000 --save_steps 2 --ddp_timeout 5",
                               log);
  ASSERT_TRUE(written_while_running(launcher, out + "/checkpoint-2/trainer_state.json")) << read_file(log);
  const pid_t victim = worker_pid(launcher, 1);
  ASSERT_GT(victim, 0);
  ::kill(victim, SIGSTOP);  // alive but silent: only the collective timeout can notice
  const int status = wait_for(launcher, 90);
  ::kill(victim, SIGKILL);
  ASSERT_NE(status, -1) << "the job did not end within 90 s of a rank hanging (ddp_timeout 5 s)\n" << read_file(log);
  EXPECT_FALSE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  const std::string text = read_file(log);
  EXPECT_THAT(text, HasSubstr("(rank 0 of 2, gloo) failed"));
  EXPECT_THAT(text, HasSubstr("rank 0 (local rank 0"));
}

}  // namespace
}  // namespace tcpp
