// torchrun's process environment (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT): what
// a worker reads to join its process group, and what `tcpp launch` sets for each worker it starts.
#pragma once

#include <map>
#include <string>

namespace tcpp::distributed {

struct DistributedEnvironment {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  int local_world_size = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;

  bool is_distributed() const { return world_size > 1; }
  bool is_main_process() const { return rank == 0; }
};

/// Read the variables from the process environment. No WORLD_SIZE (or WORLD_SIZE=1): a single process. Throws
/// InputError naming the variable when one is malformed or inconsistent (RANK >= WORLD_SIZE, a missing
/// MASTER_PORT with WORLD_SIZE > 1, ...).
DistributedEnvironment environment_from_env();

/// Same, from an explicit variable map (tests).
DistributedEnvironment environment_from(const std::map<std::string, std::string>& vars);

/// The variables for one worker, as torchrun sets them (plus GROUP_RANK and ROLE_RANK).
std::map<std::string, std::string> worker_environment(const DistributedEnvironment& env, int node_rank);

}  // namespace tcpp::distributed
