// NaN/inf under data parallelism: two real ranks over loopback (this test binary re-launched as workers by tcpp's
// launcher), one of them injecting a NaN into its loss or, under a finite loss, into its gradients. Every rank must
// reach the same verdict at the same step: all stop with a message naming the step, or all skip that update and end
// with the same finite weights.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "../distributed/self_launch.h"
#include "tiny_lm.h"

namespace tcpp::trainer {
namespace {

namespace fs = std::filesystem;
using namespace test_util;  // NOLINT: the shared tiny model and options
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr const char* kDirVar = "TCPP_DDP_NAN_TEST_DIR";
constexpr const char* kModeVar = "TCPP_DDP_NAN_MODE";

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// What a worker reports: its train() outcome, whether its weights are finite, and their sum (to compare ranks).
struct Report {
  std::string outcome, finite, sum;
};

Report report_of(const fs::path& dir, int rank) {
  std::istringstream in(slurp(dir / (std::to_string(rank) + ".txt")));
  Report r;
  std::getline(in, r.outcome);
  std::getline(in, r.finite);
  std::getline(in, r.sum);
  return r;
}

class DdpNanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("tcpp_ddp_nan_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Two workers in `mode`; both must report (they catch the trainer's error themselves).
  void run_workers(const std::string& mode) {
    std::string messages;
    const int rc = distributed::testing::launch_this_binary("DdpNanWorker.Run", 2,
                                                            {{kDirVar, dir_.string()}, {kModeVar, mode}}, &messages);
    ASSERT_EQ(rc, 0) << messages;
    for (int r = 0; r < 2; ++r) ASSERT_TRUE(fs::exists(dir_ / (std::to_string(r) + ".txt"))) << "rank " << r << "\n" << messages;
  }
  fs::path dir_;
};

TEST_F(DdpNanTest, ALossNaNOnOneRankStopsEveryRankAtThatStep) {
  run_workers("loss-stop");
  const Report r0 = report_of(dir_, 0), r1 = report_of(dir_, 1);
  EXPECT_THAT(r1.outcome, HasSubstr("error step 3 (epoch 1, batch 0, rank 1): training loss is NaN; stopping"));
  EXPECT_THAT(r0.outcome, HasSubstr("error step 3: the training loss of another rank is not finite; stopping"));
  EXPECT_EQ(r0.finite, "finite");
  EXPECT_EQ(r1.finite, "finite");
  EXPECT_EQ(r0.sum, r1.sum) << "the ranks' weights differ";
}

TEST_F(DdpNanTest, ALossNaNOnOneRankSkipsThatUpdateOnEveryRank) {
  run_workers("loss-skip");
  const Report r0 = report_of(dir_, 0), r1 = report_of(dir_, 1);
  EXPECT_EQ(r0.outcome, "ok 4");
  EXPECT_EQ(r1.outcome, "ok 4");
  EXPECT_EQ(r0.finite, "finite");
  EXPECT_EQ(r1.finite, "finite");
  EXPECT_EQ(r0.sum, r1.sum) << "the ranks' weights differ";
}

TEST_F(DdpNanTest, AGradientNaNOnOneRankUnderAFiniteLossStopsEveryRankBeforeTheStep) {
  run_workers("grad-stop");
  for (int rank = 0; rank < 2; ++rank) {
    const Report r = report_of(dir_, rank);
    EXPECT_THAT(r.outcome, StartsWith("error step 3 (epoch 1): the gradient norm is NaN while the loss was finite; "
                                      "stopping")) << "rank " << rank;
    EXPECT_EQ(r.finite, "finite") << "rank " << rank;
  }
  EXPECT_EQ(report_of(dir_, 0).sum, report_of(dir_, 1).sum);
}

// ---- the worker (runs only when launched by DdpNanTest) ----

TEST(DdpNanWorker, Run) {
  const char* dir = std::getenv(kDirVar);
  const char* mode_var = std::getenv(kModeVar);
  const char* rank_var = std::getenv("RANK");
  if (!dir || !mode_var || !rank_var) GTEST_SKIP() << "runs only as a worker launched by DdpNanTest";
  const std::string mode = mode_var;
  const int rank = std::atoi(rank_var);
  auto o = base_options((fs::path(dir) / "out").string());
  o.max_steps = 4;
  o.ddp_timeout = 60;
  if (mode == "loss-skip") o.nan_inf_policy = "skip";
  auto model = make_model();  // the same initial weights on both ranks
  if (rank == 1) (mode == "grad-stop" ? model->nan_grad_after_calls : model->nan_after_calls) = 2;
  std::string outcome;
  try {
    Trainer trainer(model, o, counting_dataset(16), nullptr, collators::default_data_collator);
    outcome = "ok " + std::to_string(trainer.train().global_step);
  } catch (const Error& e) {
    outcome = std::string("error ") + e.what();
  }
  bool finite = true;
  double sum = 0;
  for (const auto& p : model->parameters()) {
    finite = finite && torch::isfinite(p).all().item<bool>();
    sum += p.sum().item<double>();
  }
  char sum_text[64];
  std::snprintf(sum_text, sizeof sum_text, "%.17g", sum);
  std::ofstream(fs::path(dir) / (std::to_string(rank) + ".txt"))
      << outcome << "\n" << (finite ? "finite" : "not finite") << "\n" << sum_text << "\n";
}

}  // namespace
}  // namespace tcpp::trainer
