// Subcommand registry of the `tcpp` tool: each <name>_command.cpp registers itself with a static initialiser.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace tcpp::tools {

struct Command {
  std::string name;     // e.g. "args" or "dataset convert" is handled by the "dataset" command itself
  std::string summary;  // one line for `tcpp --help`
  /// Run with the arguments after the subcommand name; returns the process exit code. May throw tcpp::Error.
  std::function<int(const std::vector<std::string>& args)> run;
};

/// Register a subcommand; returns true so it can initialise a static bool.
bool register_command(Command command);
/// All registered subcommands by name.
const std::map<std::string, Command>& commands();

}  // namespace tcpp::tools
