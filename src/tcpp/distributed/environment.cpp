// torchrun's process environment: parsing with errors that name the variable.
#include "tcpp/distributed/environment.h"

#include <cerrno>
#include <cstdlib>

#include "tcpp/core/error.h"
#include "tcpp/core/strings.h"


namespace tcpp::distributed {
namespace {

int parse_int(const std::map<std::string, std::string>& vars, const char* name, int fallback, int min_value) {
  auto it = vars.find(name);
  if (it == vars.end() || it->second.empty()) return fallback;
  const std::string& s = it->second;
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(s.c_str(), &end, 10);
  if (errno != 0 || end == s.c_str() || *end != '\0' || v < min_value || v > 1 << 30)
    throw InputError(std::string("environment variable ") + name,
                     "expected an integer >= " + std::to_string(min_value) + ", got " + quote(s));
  return static_cast<int>(v);
}

}  // namespace

DistributedEnvironment environment_from(const std::map<std::string, std::string>& vars) {
  DistributedEnvironment env;
  env.world_size = parse_int(vars, "WORLD_SIZE", 1, 1);
  env.rank = parse_int(vars, "RANK", 0, 0);
  env.local_rank = parse_int(vars, "LOCAL_RANK", env.rank, 0);
  env.local_world_size = parse_int(vars, "LOCAL_WORLD_SIZE", env.world_size, 1);
  if (env.rank >= env.world_size)
    throw InputError("environment variable RANK", "expected a value below WORLD_SIZE (" + std::to_string(env.world_size) +
                                                      "), got " + std::to_string(env.rank));
  if (env.local_rank >= env.local_world_size)
    throw InputError("environment variable LOCAL_RANK", "expected a value below LOCAL_WORLD_SIZE (" +
                                                            std::to_string(env.local_world_size) + "), got " +
                                                            std::to_string(env.local_rank));
  if (auto it = vars.find("MASTER_ADDR"); it != vars.end() && !it->second.empty()) env.master_addr = it->second;
  if (env.is_distributed()) {
    if (vars.find("MASTER_PORT") == vars.end())
      throw InputError("environment variable MASTER_PORT",
                       "is not set but WORLD_SIZE is " + std::to_string(env.world_size) +
                           "; start the workers with `tcpp launch` or torchrun, which set it");
  }
  env.master_port = parse_int(vars, "MASTER_PORT", 29500, 1);
  if (env.master_port > 65535)
    throw InputError("environment variable MASTER_PORT", "expected a port in 1..65535, got " + std::to_string(env.master_port));
  return env;
}

DistributedEnvironment environment_from_env() {
  std::map<std::string, std::string> vars;
  for (const char* name : {"RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"}) {
    if (const char* v = std::getenv(name)) vars[name] = v;
  }
  return environment_from(vars);
}

std::map<std::string, std::string> worker_environment(const DistributedEnvironment& env, int node_rank) {
  return {{"RANK", std::to_string(env.rank)},
          {"WORLD_SIZE", std::to_string(env.world_size)},
          {"LOCAL_RANK", std::to_string(env.local_rank)},
          {"LOCAL_WORLD_SIZE", std::to_string(env.local_world_size)},
          {"GROUP_RANK", std::to_string(node_rank)},
          {"ROLE_RANK", std::to_string(env.rank)},
          {"MASTER_ADDR", env.master_addr},
          {"MASTER_PORT", std::to_string(env.master_port)}};
}

}  // namespace tcpp::distributed
