// HfArgumentParser: turns the three argument structs into command-line options (or reads one JSON file), as
// transformers' HfArgumentParser does for run_clm.py / run_mlm.py.
#pragma once

#include <string>
#include <vector>

#include "tcpp/args/data_training_arguments.h"
#include "tcpp/args/model_arguments.h"
#include "tcpp/args/training_arguments.h"
#include "tcpp/core/json.h"

namespace tcpp::args {

struct ParsedArguments {
  ModelArguments model_args;
  DataTrainingArguments data_args;
  TrainingArguments training_args;
  /// Things the user should hear about (no-effect fields, deprecated spellings); the caller logs them.
  std::vector<std::string> warnings;

  /// {"model_args": {...}, "data_args": {...}, "training_args": {...}}.
  Json to_json(Script script);
};

/// Parse a command line (without the program name). Forms: `--name value`, `--name=value`, `--name-with-dashes`,
/// unique prefixes (argparse's allow_abbrev), booleans as `--flag` / `--flag false` / `--no_flag`, lists as
/// `--report_to a b`, and a single `*.json` argument holding all fields. Runs every struct's post_init.
/// Throws InputError naming the flag (and the closest valid flag for an unknown one).
ParsedArguments parse_args(Script script, const std::vector<std::string>& argv);
/// Read every field from a JSON object file; unknown keys are an error naming them and the file.
ParsedArguments parse_json_file(Script script, const std::string& path);
/// True when argv asks for help (-h / --help anywhere).
bool wants_help(const std::vector<std::string>& argv);
/// argparse-style help: every field grouped by struct, with its default and help text.
std::string format_help(Script script, const std::string& prog);

}  // namespace tcpp::args
