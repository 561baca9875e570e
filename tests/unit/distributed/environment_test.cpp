// torchrun's environment variables: defaults, the values tcpp launch sets, and errors naming the variable.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tcpp/core/error.h"
#include "tcpp/distributed/environment.h"

namespace tcpp::distributed {
namespace {

using ::testing::HasSubstr;

TEST(EnvironmentTest, NoVariablesIsASingleProcess) {
  const auto env = environment_from({});
  EXPECT_EQ(env.world_size, 1);
  EXPECT_EQ(env.rank, 0);
  EXPECT_FALSE(env.is_distributed());
}

TEST(EnvironmentTest, ReadsTorchrunVariables) {
  const auto env = environment_from({{"RANK", "3"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "1"}, {"LOCAL_WORLD_SIZE", "2"},
                                     {"MASTER_ADDR", "10.0.0.1"}, {"MASTER_PORT", "1234"}});
  EXPECT_EQ(env.rank, 3);
  EXPECT_EQ(env.world_size, 4);
  EXPECT_EQ(env.local_rank, 1);
  EXPECT_EQ(env.local_world_size, 2);
  EXPECT_EQ(env.master_addr, "10.0.0.1");
  EXPECT_EQ(env.master_port, 1234);
  EXPECT_TRUE(env.is_distributed());
}

TEST(EnvironmentTest, WorkerEnvironmentRoundTrips) {
  DistributedEnvironment env;
  env.rank = 5;
  env.world_size = 8;
  env.local_rank = 1;
  env.local_world_size = 4;
  env.master_addr = "node0";
  env.master_port = 2000;
  const auto vars = worker_environment(env, 1);
  EXPECT_EQ(vars.at("GROUP_RANK"), "1");
  const auto back = environment_from(vars);
  EXPECT_EQ(back.rank, 5);
  EXPECT_EQ(back.local_rank, 1);
  EXPECT_EQ(back.master_addr, "node0");
  EXPECT_EQ(back.master_port, 2000);
}

TEST(EnvironmentTest, ErrorsNameTheVariable) {
  auto message = [](const std::map<std::string, std::string>& vars) {
    try {
      environment_from(vars);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_THAT(message({{"WORLD_SIZE", "two"}}), HasSubstr("WORLD_SIZE"));
  EXPECT_THAT(message({{"WORLD_SIZE", "2"}, {"RANK", "2"}, {"MASTER_PORT", "1"}}), HasSubstr("RANK"));
  EXPECT_THAT(message({{"WORLD_SIZE", "2"}, {"RANK", "1"}}), HasSubstr("MASTER_PORT"));
  EXPECT_THAT(message({{"WORLD_SIZE", "2"}, {"MASTER_PORT", "70000"}}), HasSubstr("MASTER_PORT"));
  EXPECT_THAT(message({{"WORLD_SIZE", "2"}, {"MASTER_PORT", "1"}, {"LOCAL_RANK", "3"}, {"LOCAL_WORLD_SIZE", "2"}}),
              HasSubstr("LOCAL_RANK"));
}

}  // namespace
}  // namespace tcpp::distributed
