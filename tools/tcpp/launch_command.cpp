// `tcpp launch`: torchrun's role for our programs — start N workers with RANK/WORLD_SIZE/... and supervise them.
// tcpp-needs: tcpp_distributed
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "command.h"
#include "tcpp/core/error.h"
#include "tcpp/core/strings.h"
#include "tcpp/distributed/launcher.h"

namespace tcpp::tools {
namespace {

namespace fs = std::filesystem;

constexpr const char* kUsage =
    "tcpp launch --nproc_per_node N [--nnodes M --node_rank R] [--master_addr A] [--master_port P | --standalone]\n"
    "            [--grace_seconds S] [--] PROGRAM [ARGS...]\n"
    "Start N worker processes of PROGRAM on this node for data-parallel training (as torchrun): each gets RANK,\n"
    "WORLD_SIZE (N*M), LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT, and OMP_NUM_THREADS=1 unless set.\n"
    "Rank 0 (on the node with --node_rank 0) hosts the rendezvous at MASTER_ADDR:MASTER_PORT (default\n"
    "127.0.0.1:29500; --standalone picks a free local port). SIGINT/SIGTERM are forwarded to the workers, which\n"
    "save a checkpoint and exit. When a worker fails, the others get SIGTERM, then SIGKILL after --grace_seconds\n"
    "(10), and the launcher exits with the failed worker's status. PROGRAM may be run_clm or run_mlm by name.\n";

int parse_int_flag(const std::string& flag, const std::string& value) {
  auto v = parse_int(value);
  if (!v) throw InputError(flag, "expected an integer, got " + quote(value));
  return static_cast<int>(*v);
}

int free_local_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error("--standalone: cannot open a socket to find a free port");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  ::close(fd);
  if (port == 0) throw Error("--standalone: cannot find a free local port");
  return port;
}

// run_clm / run_mlm by bare name: next to this tool when installed, or in the build tree's examples/ folder.
std::string resolve_program(const std::string& program) {
  if (program.find('/') != std::string::npos) return program;
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return program;
  for (const fs::path& dir : {self.parent_path(), self.parent_path().parent_path() / "examples"}) {
    const fs::path candidate = dir / program;
    if (fs::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return program;  // execvp searches PATH
}

int run_launch(const std::vector<std::string>& argv) {
  distributed::LaunchOptions o;
  bool standalone = false;
  bool port_given = false;
  size_t i = 0;
  auto value = [&](const std::string& flag) -> std::string {
    if (i + 1 >= argv.size()) throw InputError(flag, "expected a value after it");
    return argv[++i];
  };
  for (; i < argv.size(); ++i) {
    std::string a = argv[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a == "-h" || a == "--help") {
      std::printf("%s", kUsage);
      return 0;
    }
    if (a.rfind("--", 0) != 0) break;  // the program
    std::string inline_value;
    bool has_inline = false;
    if (auto eq = a.find('='); eq != std::string::npos) {
      inline_value = a.substr(eq + 1);
      a = a.substr(0, eq);
      has_inline = true;
    }
    std::replace(a.begin() + 2, a.end(), '-', '_');  // torchrun accepts --nproc-per-node too
    auto get = [&]() { return has_inline ? inline_value : value(a); };
    if (a == "--nproc_per_node") o.nproc_per_node = parse_int_flag(a, get());
    else if (a == "--nnodes") o.nnodes = parse_int_flag(a, get());
    else if (a == "--node_rank") o.node_rank = parse_int_flag(a, get());
    else if (a == "--master_addr") o.master_addr = get();
    else if (a == "--master_port") {
      o.master_port = parse_int_flag(a, get());
      port_given = true;
    } else if (a == "--grace_seconds") {
      auto v = parse_double(get());
      if (!v || *v < 0) throw InputError(a, "expected seconds >= 0");
      o.grace_seconds = *v;
    } else if (a == "--standalone") {
      standalone = true;
    } else {
      throw InputError(argv[i], "unknown option of tcpp launch (see tcpp launch --help)");
    }
  }
  o.command.assign(argv.begin() + static_cast<std::ptrdiff_t>(std::min(i, argv.size())), argv.end());
  if (o.command.empty()) throw InputError("tcpp launch", "expected PROGRAM [ARGS...] after the options\n" + std::string(kUsage));
  if (standalone) {
    if (o.nnodes != 1) throw InputError("--standalone", "is for a single node; drop --nnodes or --standalone");
    if (!port_given) o.master_port = free_local_port();
  }
  o.command[0] = resolve_program(o.command[0]);
  return distributed::launch(o);
}

const bool kRegistered = register_command(
    {"launch", "run N data-parallel workers of a program (torchrun's environment; --nproc_per_node N -- PROGRAM)",
     run_launch});

}  // namespace
}  // namespace tcpp::tools
