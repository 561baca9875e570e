// `tcpp args`: parse a command line exactly as run_clm does and print the three argument structs as JSON.
// tcpp-needs: tcpp_args
#include <cstdio>

#include "command.h"
#include "tcpp/args/hf_argument_parser.h"
#include "tcpp/core/logging.h"

namespace tcpp::tools {
namespace {

int run_args(const std::vector<std::string>& argv_in) {
  std::vector<std::string> argv = argv_in;
  args::Script script = args::Script::kClm;
  if (!argv.empty() && (argv[0] == "--script=mlm" || argv[0] == "--script=clm")) {
    script = argv[0] == "--script=mlm" ? args::Script::kMlm : args::Script::kClm;
    argv.erase(argv.begin());
  }
  if (args::wants_help(argv)) {
    std::printf("tcpp args [--script=clm|mlm] [FLAGS... | FILE.json]\n"
                "Parse FLAGS as run_clm (or run_mlm) would and print the resolved arguments as JSON.\n\n%s",
                args::format_help(script, script == args::Script::kClm ? "run_clm" : "run_mlm").c_str());
    return 0;
  }
  auto parsed = args::parse_args(script, argv);
  for (const auto& w : parsed.warnings) log_warning(w);
  std::printf("%s\n", dump_json_python(parsed.to_json(script), 2).c_str());
  return 0;
}

const bool kRegistered = register_command(
    {"args", "parse run_clm/run_mlm flags (or a JSON file) and print the resolved arguments as JSON", run_args});

}  // namespace
}  // namespace tcpp::tools
