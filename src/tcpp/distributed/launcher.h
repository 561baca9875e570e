// `tcpp launch`: start one worker process per local rank with torchrun's environment, forward signals, and stop
// every worker when one fails (as torchrun's elastic agent with max_restarts=0).
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace tcpp::distributed {

struct LaunchOptions {
  int nproc_per_node = 1;
  int nnodes = 1;
  int node_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  /// PROGRAM ARGS...: run with execvp in each worker.
  std::vector<std::string> command;
  /// After a worker fails: SIGTERM to the others, then SIGKILL to those still running after this many seconds.
  double grace_seconds = 10.0;
  /// Where the launcher's own lines go; default stderr.
  std::function<void(const std::string&)> message;
};

/// Validate the options (InputError naming the flag), start the workers and wait for all of them. Returns 0 when
/// every worker exited 0; otherwise the exit status of the first worker that failed (128 + signal number when it
/// was killed by a signal), after the others have been stopped. SIGINT/SIGTERM/SIGHUP sent to the launcher are
/// forwarded to every worker (which checkpoint and exit), and the launcher waits for them.
int launch(const LaunchOptions& options);

/// A human description of a waitpid status: "exited with code 3", "was killed by signal 9 (Killed)".
std::string describe_exit_status(int status);

}  // namespace tcpp::distributed
