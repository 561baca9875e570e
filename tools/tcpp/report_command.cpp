// `tcpp report OUTPUT_DIR`: write OUTPUT_DIR/report.html, the run's curves, arguments and metrics as one
// self-contained page (run_clm/run_mlm write it at the end of training too).
// tcpp-needs: tcpp_trainer
#include <cstdio>

#include "command.h"
#include "tcpp/core/error.h"
#include "tcpp/trainer/html_report.h"

namespace tcpp::tools {
namespace {

int run_report(const std::vector<std::string>& argv) {
  if (argv.size() != 1 || argv[0] == "--help" || argv[0] == "-h") {
    std::printf("tcpp report OUTPUT_DIR\n"
                "Write OUTPUT_DIR/report.html from the run's trainer_state.json (or its newest checkpoint's),\n"
                "training_args.json, config.json, model.safetensors and all_results.json: loss, eval loss,\n"
                "learning rate and grad norm curves (inline SVG), the arguments and the final metrics.\n"
                "Works while a run is going (from its last checkpoint) and needs no network to view.\n");
    return argv.size() == 1 ? 0 : 2;
  }
  std::printf("%s\n", trainer::write_html_report(argv[0]).c_str());
  return 0;
}

const bool kRegistered = register_command(
    {"report", "write OUTPUT_DIR/report.html: loss/lr/grad-norm curves, arguments and metrics of a run", run_report});

}  // namespace
}  // namespace tcpp::tools
