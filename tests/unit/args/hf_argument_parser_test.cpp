// Tests for HfArgumentParser semantics: every command-line form, JSON files, and each error case.
#include "tcpp/args/hf_argument_parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tcpp/core/error.h"

namespace tcpp::args {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

ParsedArguments clm(std::vector<std::string> argv) {
  argv.insert(argv.begin(), {"--train_file", "train.txt"});
  return parse_args(Script::kClm, argv);
}

std::string write_temp(const std::string& name, const std::string& content) {
  auto path = std::filesystem::temp_directory_path() / ("tcpp_args_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(path) << content;
  return path.string();
}

TEST(HfArgumentParserTest, DefaultsMatchTransformers457) {
  auto p = clm({});
  const auto& t = p.training_args;
  EXPECT_EQ(t.output_dir, "trainer_output");
  EXPECT_EQ(t.per_device_train_batch_size, 8);
  EXPECT_DOUBLE_EQ(t.learning_rate, 5e-5);
  EXPECT_DOUBLE_EQ(t.num_train_epochs, 3.0);
  EXPECT_EQ(t.max_steps, -1);
  EXPECT_EQ(t.lr_scheduler_type, "linear");
  EXPECT_EQ(t.optim, "adamw_torch");
  EXPECT_EQ(t.logging_steps, 500);
  EXPECT_EQ(t.save_strategy, "steps");
  EXPECT_EQ(t.eval_strategy, "no");
  EXPECT_EQ(t.seed, 42);
  EXPECT_DOUBLE_EQ(t.adam_epsilon, 1e-8);
  EXPECT_TRUE(p.model_args.use_fast_tokenizer);
  EXPECT_EQ(p.model_args.model_revision, "main");
  EXPECT_EQ(p.data_args.validation_split_percentage, 5);
  EXPECT_TRUE(p.data_args.keep_linebreaks);
}

TEST(HfArgumentParserTest, SpaceAndEqualsFormsBothSetValues) {
  auto p = clm({"--learning_rate", "1e-3", "--per_device_train_batch_size=4", "--output_dir=/tmp/out"});
  EXPECT_DOUBLE_EQ(p.training_args.learning_rate, 1e-3);
  EXPECT_EQ(p.training_args.per_device_train_batch_size, 4);
  EXPECT_EQ(p.training_args.output_dir, "/tmp/out");
}

TEST(HfArgumentParserTest, DashedSpellingIsAccepted) {
  auto p = clm({"--per-device-train-batch-size", "2"});
  EXPECT_EQ(p.training_args.per_device_train_batch_size, 2);
}

TEST(HfArgumentParserTest, BoolFlagAloneMeansTrue) {
  auto p = clm({"--do_train", "--do_eval"});
  EXPECT_TRUE(p.training_args.do_train);
  EXPECT_TRUE(p.training_args.do_eval);
}

TEST(HfArgumentParserTest, BoolFlagTakesExplicitValues) {
  for (auto [text, expected] : std::vector<std::pair<std::string, bool>>{
           {"true", true}, {"false", false}, {"1", true}, {"0", false}, {"yes", true}, {"no", false}}) {
    auto p = clm({"--do_train", text, "--seed", "3"});
    EXPECT_EQ(p.training_args.do_train, expected) << text;
    EXPECT_EQ(p.training_args.seed, 3);
  }
  EXPECT_FALSE(clm({"--do_train=false"}).training_args.do_train);
}

TEST(HfArgumentParserTest, NoPrefixTurnsOffTrueDefaults) {
  auto p = clm({"--no_keep_linebreaks", "--no_remove_unused_columns", "--no-use-fast-tokenizer"});
  EXPECT_FALSE(p.data_args.keep_linebreaks);
  EXPECT_FALSE(p.training_args.remove_unused_columns);
  EXPECT_FALSE(p.model_args.use_fast_tokenizer);
}

TEST(HfArgumentParserTest, NoPrefixDoesNotExistForFalseDefaults) {
  EXPECT_THAT([] { clm({"--no_do_train"}); }, ThrowsMessage<InputError>(HasSubstr("--no_do_train")));
}

TEST(HfArgumentParserTest, ListFieldTakesSeveralValues) {
  auto p = clm({"--label_names", "labels", "aux", "--seed", "1"});
  EXPECT_EQ(p.training_args.label_names, (std::vector<std::string>{"labels", "aux"}));
  EXPECT_EQ(p.training_args.seed, 1);
}

TEST(HfArgumentParserTest, ReportToNoneResolvesToEmptyList) {
  EXPECT_TRUE(clm({"--report_to", "none"}).training_args.report_to.empty());
  // "all" (4.57's default) = every integration available here.
  EXPECT_EQ(clm({}).training_args.report_to, (std::vector<std::string>{"tensorboard"}));
  auto p = clm({"--report_to", "tensorboard", "all"});
  EXPECT_EQ(p.training_args.report_to, (std::vector<std::string>{"tensorboard"}));
  EXPECT_TRUE(p.warnings.empty());
}

TEST(HfArgumentParserTest, NegativeNumbersAreValuesNotOptions) {
  auto p = clm({"--max_steps", "-1", "--local_rank", "-1"});
  EXPECT_EQ(p.training_args.max_steps, -1);
}

TEST(HfArgumentParserTest, UniquePrefixIsAcceptedLikeArgparse) {
  EXPECT_DOUBLE_EQ(clm({"--learning_r", "0.5"}).training_args.learning_rate, 0.5);
}

TEST(HfArgumentParserTest, AmbiguousPrefixListsCandidates) {
  EXPECT_THAT([] { clm({"--save_s", "3"}); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("ambiguous"), HasSubstr("--save_steps"))));
}

TEST(HfArgumentParserTest, UnknownFlagNamesItAndTheClosestValidFlag) {
  EXPECT_THAT([] { clm({"--lerning_rate", "1"}); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("--lerning_rate"), HasSubstr("did you mean --learning_rate"))));
}

TEST(HfArgumentParserTest, BadIntegerNamesFlagValueAndType) {
  EXPECT_THAT([] { clm({"--per_device_train_batch_size", "eight"}); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("--per_device_train_batch_size"), HasSubstr("\"eight\""),
                                              HasSubstr("integer"))));
}

TEST(HfArgumentParserTest, BadFloatNamesFlag) {
  EXPECT_THAT([] { clm({"--learning_rate", "fast"}); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("--learning_rate"), HasSubstr("\"fast\""))));
}

TEST(HfArgumentParserTest, BadBoolNamesFlag) {
  EXPECT_THAT([] { clm({"--do_train", "maybe"}); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("--do_train"), HasSubstr("boolean"))));
}

TEST(HfArgumentParserTest, EnumValueIsValidatedWithSuggestion) {
  EXPECT_THAT([] { clm({"--lr_scheduler_type", "cosin"}); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("--lr_scheduler_type"), HasSubstr("invalid choice"),
                                              HasSubstr("did you mean \"cosine\""))));
}

TEST(HfArgumentParserTest, MissingValueIsAnError) {
  EXPECT_THAT([] { clm({"--output_dir"}); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("--output_dir"), HasSubstr("expected one argument"))));
}

TEST(HfArgumentParserTest, StrayPositionalIsAnError) {
  EXPECT_THAT([] { clm({"--do_train", "true", "extra"}); }, ThrowsMessage<InputError>(HasSubstr("\"extra\"")));
}

TEST(HfArgumentParserTest, MissingDataSourceIsAnError) {
  EXPECT_THAT([] { parse_args(Script::kClm, {"--do_train"}); },
              ThrowsMessage<InputError>(HasSubstr("need either a dataset name")));
}

TEST(HfArgumentParserTest, UnsupportedDataExtensionIsAnError) {
  EXPECT_THAT([] { parse_args(Script::kClm, {"--train_file", "data.xlsx"}); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("--train_file"), HasSubstr("xlsx"))));
}

TEST(HfArgumentParserTest, JsonlIsAcceptedUnlikeRunClmPy) {
  EXPECT_EQ(parse_args(Script::kClm, {"--train_file", "d.jsonl"}).data_args.train_file, "d.jsonl");
}

// run_clm.py refuses "d.jsonl.gz" (its extension check sees "gz") although load_dataset reads it; here the format
// is told by the extension before the compression's.
TEST(HfArgumentParserTest, CompressedDataFilesAreToldByTheExtensionBeforeTheCompressions) {
  EXPECT_EQ(parse_args(Script::kClm, {"--train_file", "d.jsonl.gz"}).data_args.train_file, "d.jsonl.gz");
  EXPECT_EQ(parse_args(Script::kMlm, {"--train_file", "t.txt", "--validation_file", "v.TXT.zst"})
                .data_args.validation_file,
            "v.TXT.zst");
  EXPECT_THAT([] { parse_args(Script::kClm, {"--train_file", "data.gz"}); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("--train_file"), HasSubstr("optionally compressed"),
                                              HasSubstr("found extension \"\""))));
  EXPECT_THAT([] { parse_args(Script::kClm, {"--train_file", "data.xlsx.bz2"}); },
              ThrowsMessage<InputError>(HasSubstr("found extension \"xlsx\"")));
}

TEST(HfArgumentParserTest, ConfigOverridesWithModelPathIsAnError) {
  EXPECT_THAT([] { clm({"--config_overrides", "n_embd=8", "--model_name_or_path", "gpt2"}); },
              ThrowsMessage<InputError>(HasSubstr("--config_overrides")));
}

TEST(HfArgumentParserTest, MlmFieldsOnlyExistForRunMlm) {
  EXPECT_THAT([] { clm({"--mlm_probability", "0.2"}); }, ThrowsMessage<InputError>(HasSubstr("--mlm_probability")));
  auto p = parse_args(Script::kMlm, {"--train_file", "t.txt", "--mlm_probability", "0.2", "--line_by_line"});
  EXPECT_DOUBLE_EQ(p.data_args.mlm_probability, 0.2);
  EXPECT_TRUE(p.data_args.line_by_line);
  EXPECT_THAT([] { parse_args(Script::kMlm, {"--train_file", "t.txt", "--block_size", "8"}); },
              ThrowsMessage<InputError>(HasSubstr("--block_size")));
  EXPECT_THAT([] { parse_args(Script::kMlm, {"--train_file", "t.txt", "--keep_linebreaks", "true"}); },
              ThrowsMessage<InputError>(HasSubstr("--keep_linebreaks")));
}

// run_mlm.py loads text with datasets' default keep_linebreaks=False; run_clm.py's flag defaults to True.
TEST(HfArgumentParserTest, RunMlmReadsTextLinesWithoutTheirLineBreaks) {
  EXPECT_FALSE(parse_args(Script::kMlm, {"--train_file", "t.txt"}).data_args.keep_linebreaks);
  EXPECT_TRUE(clm({}).data_args.keep_linebreaks);
}

TEST(HfArgumentParserTest, ModelTypeIsCheckedPerScript) {
  EXPECT_THAT([] { clm({"--model_type", "bert"}); }, ThrowsMessage<InputError>(HasSubstr("--model_type")));
  EXPECT_EQ(clm({"--model_type", "gpt2"}).model_args.model_type, "gpt2");
}

TEST(HfArgumentParserTest, JsonFileFillsAllStructs) {
  auto path = write_temp("ok.json", R"({"model_type": "gpt2", "train_file": "t.txt", "do_train": true,
      "learning_rate": 0.001, "report_to": ["none"], "lr_scheduler_kwargs": {"num_cycles": 2}})");
  auto p = parse_args(Script::kClm, {path});
  EXPECT_EQ(p.model_args.model_type, "gpt2");
  EXPECT_TRUE(p.training_args.do_train);
  EXPECT_DOUBLE_EQ(p.training_args.learning_rate, 0.001);
  EXPECT_EQ(p.training_args.lr_scheduler_kwargs["num_cycles"], 2);
}

TEST(HfArgumentParserTest, JsonFileUnknownKeyNamesFileAndKey) {
  auto path = write_temp("bad_key.json", R"({"train_file": "t.txt", "learning_rat": 1})");
  EXPECT_THAT([&] { parse_args(Script::kClm, {path}); },
              ThrowsMessage<InputError>(AllOf(HasSubstr(path), HasSubstr("learning_rat"), HasSubstr("learning_rate"))));
}

TEST(HfArgumentParserTest, JsonFileWrongTypeNamesFileAndKey) {
  auto path = write_temp("bad_type.json", R"({"train_file": "t.txt", "seed": "abc"})");
  EXPECT_THAT([&] { parse_args(Script::kClm, {path}); },
              ThrowsMessage<InputError>(AllOf(HasSubstr(path), HasSubstr("\"seed\""), HasSubstr("integer"))));
}

TEST(HfArgumentParserTest, JsonFileSyntaxErrorNamesLine) {
  auto path = write_temp("syntax.json", "{\n\"train_file\": \"t.txt\",\n}");
  EXPECT_THAT([&] { parse_args(Script::kClm, {path}); }, ThrowsMessage<InputError>(HasSubstr(path + ":3:")));
}

TEST(HfArgumentParserTest, AliasesAcceptOldAndNewSpellings) {
  auto p = clm({"--evaluation_strategy", "steps", "--eval_steps", "10", "--dtype", "bfloat16"});
  EXPECT_EQ(p.training_args.eval_strategy, "steps");
  EXPECT_EQ(p.model_args.torch_dtype, "bfloat16");
}

TEST(HfArgumentParserTest, HelpListsEveryGroupWithDefaults) {
  std::string help = format_help(Script::kClm, "run_clm");
  EXPECT_THAT(help, HasSubstr("ModelArguments:"));
  EXPECT_THAT(help, HasSubstr("DataTrainingArguments:"));
  EXPECT_THAT(help, HasSubstr("TrainingArguments:"));
  EXPECT_THAT(help, HasSubstr("--learning_rate"));
  EXPECT_THAT(help, HasSubstr("(default: 5e-05)"));
  EXPECT_THAT(help, HasSubstr("--no_keep_linebreaks"));
  EXPECT_TRUE(wants_help({"--seed", "1", "--help"}));
}

TEST(HfArgumentParserTest, TrainerLoopFlagsParseAndShowHfHelp) {
  auto p = clm({"--eval_on_start", "--include_num_input_tokens_seen", "non_padding", "--dataloader_num_workers", "2",
                "--dataloader_prefetch_factor", "3"});
  EXPECT_TRUE(p.training_args.eval_on_start);
  EXPECT_EQ(p.training_args.include_num_input_tokens_seen, "non_padding");
  EXPECT_EQ(p.training_args.dataloader_num_workers, 2);
  EXPECT_EQ(p.training_args.dataloader_prefetch_factor, 3);
  EXPECT_EQ(clm({"--include_num_input_tokens_seen", "true"}).training_args.include_num_input_tokens_seen, "all");
  // Persistent workers take effect (no "no effect" warning) and need workers, as torch's DataLoader.
  auto persistent = clm({"--dataloader_persistent_workers", "--dataloader_num_workers", "2"});
  EXPECT_TRUE(persistent.training_args.dataloader_persistent_workers);
  EXPECT_TRUE(persistent.warnings.empty());
  EXPECT_THAT([&] { clm({"--dataloader_persistent_workers"}); },
              ThrowsMessage<InputError>(
                  HasSubstr("dataloader_persistent_workers: needs --dataloader_num_workers > 0")));
  EXPECT_THAT([&] { clm({"--include_num_input_tokens_seen", "some"}); },
              ThrowsMessage<InputError>(HasSubstr("include_num_input_tokens_seen")));
  const std::string help = format_help(Script::kClm, "run_clm");
  EXPECT_THAT(help, HasSubstr("--eval_on_start [EVAL_ON_START]"));
  EXPECT_THAT(help, HasSubstr("--include_num_input_tokens_seen INCLUDE_NUM_INPUT_TOKENS_SEEN"));
  EXPECT_THAT(help, HasSubstr("--dataset_path DATASET_PATH"));
  // trainer.cpp's NaN/inf policy (the loss, or the gradient norm under a finite loss)
  EXPECT_EQ(clm({}).training_args.nan_inf_policy, "stop");
  EXPECT_EQ(clm({"--nan_inf_policy", "skip"}).training_args.nan_inf_policy, "skip");
  EXPECT_THAT([&] { clm({"--nan_inf_policy", "ignore"}); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("--nan_inf_policy"), HasSubstr("invalid choice"))));
  EXPECT_THAT(help, HasSubstr("--nan_inf_policy {stop,skip}"));
}

TEST(HfArgumentParserTest, DatasetPathMustBeASavedDatasetFolder) {
  const auto dir = std::filesystem::temp_directory_path() / ("tcpp_args_" + std::to_string(::getpid()) + "_saved");
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "dataset_dict.json") << R"({"splits": ["train"]})";
  auto p = parse_args(Script::kMlm, {"--dataset_path", dir.string()});
  EXPECT_EQ(p.data_args.dataset_path, dir.string());
  EXPECT_THAT([&] { parse_args(Script::kClm, {"--dataset_path", "nowhere"}); },
              ThrowsMessage<InputError>(HasSubstr("--dataset_path: \"nowhere\" is not a dataset folder saved with "
                                                  "save_to_disk")));
  EXPECT_THAT([&] { parse_args(Script::kClm, {"--dataset_path", dir.string(), "--train_file", "t.txt"}); },
              ThrowsMessage<InputError>(HasSubstr("drop --dataset_name/--train_file")));
  std::filesystem::remove_all(dir);
}

// Every field that changes nothing here says so, with the reason, when the user sets it, in all three structs.
TEST(HfArgumentParserTest, FieldsWithoutEffectWarnWithTheReasonWhenSet) {
  auto p = clm({"--use_fast_tokenizer", "false", "--trust_remote_code",
                "--dataloader_pin_memory", "false", "--ddp_find_unused_parameters", "true", "--run_name", "x",
                "--eval_accumulation_steps", "4"});
  std::string all;
  for (const auto& w : p.warnings) all += w + "\n";
  for (const char* flag : {"--use_fast_tokenizer", "--trust_remote_code",
                           "--dataloader_pin_memory", "--ddp_find_unused_parameters", "--run_name",
                           "--eval_accumulation_steps"})
    EXPECT_THAT(all, HasSubstr(std::string(flag) + " is accepted for compatibility with transformers but has no "
                                                   "effect in trainer.cpp (")) << flag;
  EXPECT_THAT(all, HasSubstr("the tokenizers here are the fast (tokenizers library) kind"));
  EXPECT_TRUE(clm({}).warnings.empty());  // defaults: silent
  EXPECT_TRUE(clm({"--use_fast_tokenizer", "true", "--dataloader_pin_memory", "true"}).warnings.empty());
  // These take effect now.
  EXPECT_TRUE(clm({"--save_on_each_node", "--auto_find_batch_size", "--torch_empty_cache_steps", "2"}).warnings.empty());
  EXPECT_TRUE(clm({"--dataset_config_name", "wikitext-2-raw-v1"}).warnings.empty());  // read from the datasets cache
}

TEST(HfArgumentParserTest, ToJsonHasThreeSections) {
  auto p = clm({"--seed", "7"});
  Json j = p.to_json(Script::kClm);
  EXPECT_EQ(j["training_args"]["seed"], 7);
  EXPECT_EQ(j["data_args"]["train_file"], "train.txt");
  EXPECT_TRUE(j["model_args"]["model_name_or_path"].is_null());
}

}  // namespace
}  // namespace tcpp::args
