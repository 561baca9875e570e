// `tcpp schedule --max_steps N [run_clm flags]`: print the learning rate of every optimizer step of the schedule
// that run_clm would build from the same flags (type, kwargs, warmup, learning rate), to preview or plot it.
// tcpp-needs: tcpp_pipelines
#include <cstdio>

#include "command.h"
#include "tcpp/args/hf_argument_parser.h"
#include "tcpp/core/error.h"
#include "tcpp/core/json.h"
#include "tcpp/core/logging.h"
#include "tcpp/core/strings.h"
#include "tcpp/pipelines/trainer_setup.h"
#include "tcpp/trainer/trainer.h"

namespace tcpp::tools {
namespace {

int run_schedule(const std::vector<std::string>& argv) {
  if (args::wants_help(argv)) {
    std::printf("tcpp schedule --max_steps N [--learning_rate LR --lr_scheduler_type TYPE --lr_scheduler_kwargs JSON\n"
                "              --warmup_steps W | --warmup_ratio R] [any other run_clm flag, or a JSON file]\n"
                "Print, as JSON, the learning rates run_clm's schedule gives for the same flags: \"learning_rate\"[i]\n"
                "is the rate of optimizer update i + 1, which the log line at step i + 1 shows (i = 0..N-1).\n"
                "reduce_lr_on_plateau only changes with evaluation metrics, so it prints a constant.\n");
    return 0;
  }
  // The schedule needs no data, but run_clm's arguments insist on a source: name a placeholder first, so that a
  // --dataset_name or --train_file given by the user still wins (a JSON file carries its own).
  std::vector<std::string> full = argv;
  const bool json_file = argv.size() == 1 && ends_with(argv[0], ".json");
  if (!json_file) full.insert(full.begin(), {"--dataset_name", "schedule-preview"});
  auto parsed = json_file ? args::parse_json_file(args::Script::kClm, argv[0])
                          : args::parse_args(args::Script::kClm, full);
  for (const auto& w : parsed.warnings) log_warning(w);
  const trainer::TrainerOptions options = pipelines::trainer_options_from_args(parsed.training_args);
  if (options.max_steps <= 0)
    throw InputError("--max_steps", "the schedule's length in optimizer steps: expected a positive number (run_clm "
                                    "derives it from the dataset when it is not given)");
  const trainer::SchedulerOptions sched = trainer::scheduler_options(options, options.max_steps);
  auto scheduler = trainer::LRScheduler::create(sched, {options.learning_rate});
  Json lrs = Json::array();
  for (int64_t k = 0; k < options.max_steps; ++k) {
    lrs.push_back(scheduler.get_last_lr()[0]);
    scheduler.step();
  }
  Json out = {{"lr_scheduler_type", sched.lr_scheduler_type},
              {"lr_scheduler_kwargs", sched.lr_scheduler_kwargs},
              {"num_warmup_steps", sched.num_warmup_steps},
              {"num_training_steps", sched.num_training_steps},
              {"learning_rate", lrs}};
  std::printf("%s\n", dump_json_python(out, -1).c_str());
  return 0;
}

const bool kRegistered = register_command(
    {"schedule", "print the learning rate at every step of the schedule run_clm builds from the same flags",
     run_schedule});

}  // namespace
}  // namespace tcpp::tools
