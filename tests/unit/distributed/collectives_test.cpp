// Two real processes over loopback (this test binary re-launched as workers by tcpp's launcher): c10d collectives
// through ProcessGroup, the bucketed gradient reducer against locally computed averages, and a hung peer turning
// into an error within the timeout.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <torch/torch.h>

#include "tcpp/core/error.h"
#include "tcpp/distributed/gradient_reducer.h"
#include "tcpp/distributed/launcher.h"
#include "tcpp/distributed/process_group.h"

#include "self_launch.h"

namespace tcpp::distributed {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr const char* kWorkerDirVar = "TCPP_DIST_TEST_DIR";

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

// Run this binary's worker test `name` in n processes; returns the launcher's exit status.
int run_workers(const std::string& name, int n, const fs::path& dir, std::string* messages) {
  return tcpp::distributed::testing::launch_this_binary("DistributedWorker." + name, n, {{kWorkerDirVar, dir.string()}},
                                                        messages);
}

class DistributedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("tcpp_dist_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
  std::string messages_;
};

TEST_F(DistributedTest, CollectivesAndGradientReducerAcrossTwoProcesses) {
  ASSERT_EQ(run_workers("Collectives", 2, dir_, &messages_), 0) << messages_;
  for (int r = 0; r < 2; ++r) EXPECT_EQ(read(dir_ / (std::to_string(r) + ".ok")), "ok") << "rank " << r;
}

TEST_F(DistributedTest, AHungPeerBecomesAnErrorWithinTheTimeout) {
  const auto start = std::chrono::steady_clock::now();
  run_workers("HungPeer", 2, dir_, &messages_);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::string error = read(dir_ / "0.error");
  EXPECT_THAT(error, HasSubstr("distributed all_reduce (rank 0 of 2, gloo) failed"));
  EXPECT_LT(seconds, 60.0) << "the 2 s collective timeout did not end the wait";
}

// ---- workers (run only under run_workers) ----

fs::path worker_dir() {
  const char* d = std::getenv(kWorkerDirVar);
  return d ? fs::path(d) : fs::path();
}

std::shared_ptr<ProcessGroup> join(std::chrono::milliseconds timeout) {
  ProcessGroupOptions o;
  o.timeout = timeout;
  return ProcessGroup::create(environment_from_env(), o);
}

// A two-layer model whose initial weights are the same on every rank (seeded), and a rank-dependent batch.
struct TinyNet : torch::nn::Module {
  TinyNet() {
    torch::manual_seed(0);
    a = register_module("a", torch::nn::Linear(4, 3));
    b = register_module("b", torch::nn::Linear(3, 2));
  }
  torch::Tensor forward(const torch::Tensor& x) { return b->forward(torch::tanh(a->forward(x))); }
  torch::nn::Linear a{nullptr}, b{nullptr};
};

torch::Tensor batch_of(int rank, int micro) {
  auto gen = at::detail::createCPUGenerator(static_cast<uint64_t>(100 + 10 * rank + micro));
  return torch::randn({5, 4}, gen);
}

TEST(DistributedWorker, Collectives) {
  if (worker_dir().empty()) GTEST_SKIP() << "runs as a worker of CollectivesAndGradientReducerAcrossTwoProcesses";
  auto pg = join(std::chrono::seconds(60));
  const int rank = pg->rank();
  ASSERT_EQ(pg->world_size(), 2);

  auto sum = torch::full({3}, rank + 1.0);
  pg->all_reduce(sum);
  EXPECT_TRUE(torch::equal(sum, torch::full({3}, 3.0)));
  auto mx = torch::tensor({static_cast<float>(rank), 5.0F - static_cast<float>(rank)});
  pg->all_reduce_max(mx);
  EXPECT_TRUE(torch::equal(mx, torch::tensor({1.0F, 5.0F})));
  auto b = rank == 0 ? torch::tensor({7, 8}) : torch::zeros({2}, torch::kLong);
  pg->broadcast(b, 0);
  EXPECT_TRUE(torch::equal(b, torch::tensor({7, 8})));
  auto parts = pg->all_gather(torch::full({2}, static_cast<double>(rank)));
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_TRUE(torch::equal(parts[1], torch::full({2}, 1.0)));
  auto strings = pg->all_gather_bytes(rank == 0 ? std::string("a") : std::string("hello\0x", 7));
  EXPECT_EQ(strings, (std::vector<std::string>{"a", std::string("hello\0x", 7)}));
  EXPECT_EQ(pg->broadcast_bytes(rank == 1 ? "from one" : "", 1), "from one");
  auto padded = pg->all_gather_padded(rank == 0 ? torch::ones({1, 2}) : torch::full({2, 3}, 2.0), -1.0);
  EXPECT_TRUE(torch::equal(padded, torch::tensor({{1.0F, 1.0F, -1.0F}, {2.0F, 2.0F, 2.0F}, {2.0F, 2.0F, 2.0F}})));

  // Reducer: two accumulation micro-steps (no communication on the first), tiny buckets so there are several.
  TinyNet net;
  std::vector<torch::Tensor> params = net.parameters();
  {
    GradientReducer reducer(params, pg, /*bucket_cap_mb=*/1e-5);
    EXPECT_GT(reducer.num_buckets(), 1u);
    for (int micro = 0; micro < 2; ++micro) {
      reducer.prepare(/*sync=*/micro == 1);
      net.forward(batch_of(rank, micro)).pow(2).sum().backward();
    }
    reducer.finish();
  }
  // Expected: the average over ranks of each rank's accumulated gradient, computed here without communication.
  std::vector<torch::Tensor> expected;
  for (int r = 0; r < 2; ++r) {
    TinyNet ref;
    for (int micro = 0; micro < 2; ++micro) ref.forward(batch_of(r, micro)).pow(2).sum().backward();
    auto ps = ref.parameters();
    for (size_t i = 0; i < ps.size(); ++i) {
      if (r == 0) expected.push_back(ps[i].grad().clone() / 2);
      else expected[i] += ps[i].grad() / 2;
    }
  }
  for (size_t i = 0; i < params.size(); ++i)
    EXPECT_TRUE(torch::allclose(params[i].grad(), expected[i], 1e-5, 1e-6)) << "parameter " << i;

  // broadcast_tensors: rank 1's weights become rank 0's.
  torch::NoGradGuard no_grad;
  if (rank == 1) params[0].add_(1.0);
  broadcast_tensors(params, *pg, 0);
  TinyNet fresh;
  EXPECT_TRUE(torch::equal(params[0], fresh.parameters()[0]));
  pg->barrier();
  write(worker_dir() / (std::to_string(rank) + ".ok"), ::testing::Test::HasFailure() ? "failed" : "ok");
}

TEST(DistributedWorker, HungPeer) {
  if (worker_dir().empty()) GTEST_SKIP() << "runs as a worker of AHungPeerBecomesAnErrorWithinTheTimeout";
  auto pg = join(std::chrono::seconds(2));
  if (pg->rank() == 1) {  // joins, then never takes part in the collective
    std::this_thread::sleep_for(std::chrono::seconds(8));
    return;
  }
  try {
    pg->all_reduce(torch::ones({4}));
    write(worker_dir() / "0.error", "no error");
  } catch (const Error& e) {
    write(worker_dir() / "0.error", e.what());
  }
}

}  // namespace
}  // namespace tcpp::distributed
