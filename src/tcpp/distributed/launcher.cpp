// `tcpp launch`: fork/exec the workers with torchrun's environment, forward signals, stop all when one fails.
#include "tcpp/distributed/launcher.h"

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <thread>

#include "tcpp/core/error.h"
#include "tcpp/distributed/environment.h"

namespace tcpp::distributed {
namespace {

constexpr int kMaxWorkers = 1024;
// Read by the signal handler: plain arrays of pids (async-signal-safe access only).
pid_t g_pids[kMaxWorkers];
std::atomic<int> g_num_pids{0};
std::atomic<int> g_forwarded_signal{0};

extern "C" void tcpp_launch_forward_signal(int sig) {
  g_forwarded_signal.store(sig);
  const int n = g_num_pids.load();
  // Each worker leads its own session (as torchrun's start_new_session): the signal reaches the worker's whole
  // process group, so children it started (a shell's commands, helper processes) stop with it. Until the child has
  // called setsid() there is no such group yet: then the worker alone.
  for (int i = 0; i < n; ++i) {
    if (g_pids[i] > 0 && ::kill(-g_pids[i], sig) != 0) ::kill(g_pids[i], sig);
  }
}

class ForwardSignals {
 public:
  ForwardSignals() {
    struct sigaction sa {};
    sa.sa_handler = tcpp_launch_forward_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: waitpid returns EINTR and the loop re-checks
    for (int i = 0; i < 3; ++i) ::sigaction(kSignals[i], &sa, &old_[i]);
  }
  ~ForwardSignals() {
    for (int i = 0; i < 3; ++i) ::sigaction(kSignals[i], &old_[i], nullptr);
  }

 private:
  static constexpr int kSignals[3] = {SIGINT, SIGTERM, SIGHUP};
  struct sigaction old_[3];
};

void check_positive(const char* flag, int value, int min_value) {
  if (value < min_value)
    throw InputError(flag, "expected an integer >= " + std::to_string(min_value) + ", got " + std::to_string(value));
}

}  // namespace

std::string describe_exit_status(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const char* name = ::strsignal(sig);
    return "was killed by signal " + std::to_string(sig) + (name ? std::string(" (") + name + ")" : std::string());
  }
  return "ended with status " + std::to_string(status);
}

int launch(const LaunchOptions& o) {
  check_positive("--nproc_per_node", o.nproc_per_node, 1);
  check_positive("--nnodes", o.nnodes, 1);
  if (o.node_rank < 0 || o.node_rank >= o.nnodes)
    throw InputError("--node_rank", "expected a value in 0.." + std::to_string(o.nnodes - 1) + ", got " +
                                        std::to_string(o.node_rank));
  if (o.master_port < 1 || o.master_port > 65535)
    throw InputError("--master_port", "expected a port in 1..65535, got " + std::to_string(o.master_port));
  if (o.command.empty()) throw InputError("tcpp launch", "expected a program to run after the options (or after --)");
  if (o.nproc_per_node > kMaxWorkers) throw InputError("--nproc_per_node", "at most " + std::to_string(kMaxWorkers));
  auto say = [&](const std::string& line) {
    if (o.message) o.message(line);
    else std::cerr << line << std::endl;
  };

  const int n = o.nproc_per_node;
  const int world = n * o.nnodes;
  std::vector<char*> argv;
  for (const auto& a : o.command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  // torchrun: one OpenMP thread per worker unless the user chose, so N workers do not oversubscribe the cores.
  const bool set_omp = std::getenv("OMP_NUM_THREADS") == nullptr && n > 1;
  if (set_omp)
    say("tcpp launch: setting OMP_NUM_THREADS=1 for each worker (set it yourself to choose another value)");

  g_forwarded_signal.store(0);
  g_num_pids.store(0);
  ForwardSignals forward;
  std::vector<pid_t> pids(static_cast<size_t>(n), -1);
  std::vector<int> ranks(static_cast<size_t>(n));
  for (int local = 0; local < n; ++local) {
    DistributedEnvironment env;
    env.rank = o.node_rank * n + local;
    env.world_size = world;
    env.local_rank = local;
    env.local_world_size = n;
    env.master_addr = o.master_addr;
    env.master_port = o.master_port;
    ranks[static_cast<size_t>(local)] = env.rank;
    const auto vars = worker_environment(env, o.node_rank);
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) {
      const std::string err = std::strerror(errno);
      tcpp_launch_forward_signal(SIGKILL);
      while (::waitpid(-1, nullptr, 0) > 0) {
      }
      throw Error("tcpp launch: cannot start worker " + std::to_string(env.rank) + ": fork failed: " + err);
    }
    if (pid == 0) {
      ::setsid();  // own session and process group, as torchrun; the launcher signals the group
      for (const auto& [k, v] : vars) ::setenv(k.c_str(), v.c_str(), 1);
      if (set_omp) ::setenv("OMP_NUM_THREADS", "1", 1);
      ::execvp(argv[0], argv.data());
      const std::string msg = "tcpp launch: cannot run " + o.command[0] + ": " + std::strerror(errno) + "\n";
      (void)!::write(2, msg.data(), msg.size());
      ::_exit(127);
    }
    pids[static_cast<size_t>(local)] = pid;
    g_pids[local] = pid;
    g_num_pids.store(local + 1);
    say("tcpp launch: rank " + std::to_string(env.rank) + " pid " + std::to_string(pid));
  }
  say("tcpp launch: started " + std::to_string(n) + " worker(s) on node " + std::to_string(o.node_rank) + " of " +
      std::to_string(o.nnodes) + ", world size " + std::to_string(world) + ", master " + o.master_addr + ":" +
      std::to_string(o.master_port));

  int running = n;
  int first_failure = 0;
  bool stopping = false;
  auto kill_deadline = std::chrono::steady_clock::time_point::max();
  while (running > 0) {
    int status = 0;
    const bool deadline_armed = kill_deadline != std::chrono::steady_clock::time_point::max();
    const pid_t pid = ::waitpid(-1, &status, deadline_armed ? WNOHANG : 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;  // ECHILD: nothing left
    }
    if (pid == 0) {
      if (std::chrono::steady_clock::now() >= kill_deadline) {
        say("tcpp launch: workers still running " + std::to_string(o.grace_seconds) + " s after SIGTERM; killing them");
        tcpp_launch_forward_signal(SIGKILL);
        kill_deadline = std::chrono::steady_clock::time_point::max();
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      continue;
    }
    int local = -1;
    for (int i = 0; i < n; ++i) {
      if (pids[static_cast<size_t>(i)] == pid) local = i;
    }
    if (local < 0) continue;
    --running;
    g_pids[local] = -1;
    pids[static_cast<size_t>(local)] = -1;
    const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (ok) continue;
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (first_failure == 0) first_failure = code;
    if (!stopping && g_forwarded_signal.load() == 0) {
      say("tcpp launch: rank " + std::to_string(ranks[static_cast<size_t>(local)]) + " (local rank " +
          std::to_string(local) + ", pid " + std::to_string(pid) + ") " + describe_exit_status(status) +
          (running > 0 ? "; stopping the other " + std::to_string(running) + " worker(s)" : ""));
      stopping = true;
      if (running > 0) {
        tcpp_launch_forward_signal(SIGTERM);
        g_forwarded_signal.store(0);
        kill_deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(o.grace_seconds * 1000.0));
      }
    }
  }
  return first_failure;
}

}  // namespace tcpp::distributed
