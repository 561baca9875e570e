// Tests that need real ranks run their own binary as the workers: tcpp's launcher starts it n times with a gtest
// filter that selects the worker test, on a free loopback port.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "free_port.h"
#include "tcpp/distributed/launcher.h"

namespace tcpp::distributed::testing {

/// Launch this binary as n workers running the tests that `gtest_filter` selects, with `env` set for them (and
/// unset again after); the launcher's lines are appended to *messages. Returns launch()'s status.
inline int launch_this_binary(const std::string& gtest_filter, int n,
                              const std::vector<std::pair<std::string, std::string>>& env, std::string* messages) {
  LaunchOptions o;
  o.nproc_per_node = n;
  o.master_port = free_port();
  o.command = {std::filesystem::read_symlink("/proc/self/exe").string(), "--gtest_filter=" + gtest_filter};
  o.grace_seconds = 5;
  o.message = [messages](const std::string& line) { *messages += line + "\n"; };
  for (const auto& [name, value] : env) ::setenv(name.c_str(), value.c_str(), 1);
  const int rc = launch(o);
  for (const auto& [name, value] : env) ::unsetenv(name.c_str());
  return rc;
}

}  // namespace tcpp::distributed::testing
