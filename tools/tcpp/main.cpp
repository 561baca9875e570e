// The `tcpp` tool: dispatches to subcommands; the one place that turns exceptions into an error line + exit 1.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "command.h"
#include "tcpp/core/cpu_runtime.h"
#include "tcpp/core/error.h"
#include "tcpp/core/strings.h"

namespace tcpp::tools {

bool register_command(Command command) {
  auto& registry = const_cast<std::map<std::string, Command>&>(commands());
  registry[command.name] = std::move(command);
  return true;
}

const std::map<std::string, Command>& commands() {
  static std::map<std::string, Command> registry;
  return registry;
}

}  // namespace tcpp::tools

namespace {

void print_usage() {
  std::printf("usage: tcpp <command> [args...]\n\ncommands:\n");
  for (const auto& [name, cmd] : tcpp::tools::commands()) std::printf("  %-12s %s\n", name.c_str(), cmd.summary.c_str());
  std::printf("\n`tcpp <command> --help` shows a command's options.\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_usage();
    return args.empty() ? 1 : 0;
  }
  // Commands that compute with LibTorch get the OpenBLAS kernel for this CPU (may re-execute once).
  if (args[0] == "model") tcpp::prepare_cpu_runtime(argc, argv);
  const auto& registry = tcpp::tools::commands();
  auto it = registry.find(args[0]);
  if (it == registry.end()) {
    std::vector<std::string> names;
    for (const auto& [name, cmd] : registry) names.push_back(name);
    std::string msg = "tcpp: unknown command " + tcpp::quote(args[0]);
    if (auto near = tcpp::closest_match(args[0], names)) msg += " (did you mean \"" + *near + "\"?)";
    std::fprintf(stderr, "%s\nrun `tcpp --help` for the list of commands\n", msg.c_str());
    return 2;
  }
  try {
    return it->second.run(std::vector<std::string>(args.begin() + 1, args.end()));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
