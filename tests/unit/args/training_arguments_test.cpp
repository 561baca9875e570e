// Tests for TrainingArguments' derived values (__post_init__), validation and JSON round trip.
#include "tcpp/args/training_arguments.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tcpp/core/error.h"

namespace tcpp::args {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

TEST(TrainingArgumentsTest, EvalStrategyImpliesDoEvalAndEvalStepsFallsBackToLoggingSteps) {
  TrainingArguments t;
  t.eval_strategy = "steps";
  t.logging_steps = 50;
  t.post_init();
  EXPECT_TRUE(t.do_eval);
  EXPECT_EQ(t.eval_steps, 50);
}

TEST(TrainingArgumentsTest, V5TrainSamplingStrategyNamesTheSampler) {
  TrainingArguments grouped;
  grouped.train_sampling_strategy = "group_by_length";
  grouped.post_init();
  EXPECT_TRUE(grouped.group_by_length);
  TrainingArguments sequential;
  sequential.train_sampling_strategy = "sequential";
  sequential.post_init();
  EXPECT_FALSE(sequential.group_by_length);
  TrainingArguments both;
  both.train_sampling_strategy = "sequential";
  both.group_by_length = true;
  EXPECT_THAT([&] { both.post_init(); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("--train_sampling_strategy"), HasSubstr("contradicts"))));
}

TEST(TrainingArgumentsTest, LoggingDirDefaultsUnderOutputDirRuns) {
  TrainingArguments t;
  t.output_dir = "/tmp/o";
  t.post_init();
  ASSERT_TRUE(t.logging_dir);
  EXPECT_THAT(*t.logging_dir, HasSubstr("/tmp/o/runs/"));
}

TEST(TrainingArgumentsTest, MetricForBestModelDefaultsToLossAndLowerIsBetter) {
  TrainingArguments t;
  t.load_best_model_at_end = true;
  t.eval_strategy = "steps";
  t.eval_steps = 10;
  t.save_steps = 20;
  t.post_init();
  EXPECT_EQ(t.metric_for_best_model, "loss");
  EXPECT_EQ(t.greater_is_better, false);
  TrainingArguments u;
  u.metric_for_best_model = "accuracy";
  u.post_init();
  EXPECT_EQ(u.greater_is_better, true);
}

TEST(TrainingArgumentsTest, LoadBestNeedsMatchingStrategies) {
  TrainingArguments t;
  t.load_best_model_at_end = true;
  t.eval_strategy = "epoch";
  EXPECT_THAT([&] { t.post_init(); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("--load_best_model_at_end"), HasSubstr("match"))));
}

TEST(TrainingArgumentsTest, LoadBestNeedsSaveStepsMultipleOfEvalSteps) {
  TrainingArguments t;
  t.load_best_model_at_end = true;
  t.eval_strategy = "steps";
  t.eval_steps = 30;
  t.save_steps = 50;
  EXPECT_THAT([&] { t.post_init(); }, ThrowsMessage<InputError>(HasSubstr("multiple of --eval_steps")));
}

TEST(TrainingArgumentsTest, Fp16AndBf16TogetherIsAnError) {
  TrainingArguments t;
  t.fp16 = t.bf16 = true;
  EXPECT_THAT([&] { t.post_init(); }, ThrowsMessage<InputError>(HasSubstr("fp16 and bf16")));
}

TEST(TrainingArgumentsTest, FractionalStepsAboveOneAreRejected) {
  TrainingArguments t;
  t.logging_steps = 2.5;
  EXPECT_THAT([&] { t.post_init(); }, ThrowsMessage<InputError>(HasSubstr("--logging_steps")));
}

TEST(TrainingArgumentsTest, UnimplementedOptimizerIsRejectedClearly) {
  TrainingArguments t;
  t.optim = "lion_8bit";
  EXPECT_THAT([&] { t.post_init(); }, ThrowsMessage<InputError>(AllOf(HasSubstr("--optim"), HasSubstr("lion_8bit"),
                                                                      HasSubstr("adafactor"))));
}

TEST(TrainingArgumentsTest, NoEffectFieldsProduceWarnings) {
  TrainingArguments t;
  t.push_to_hub = true;
  auto w = t.post_init();
  ASSERT_EQ(w.size(), 1u);
  EXPECT_THAT(w[0], HasSubstr("--push_to_hub"));
}

TEST(TrainingArgumentsTest, WarmupFromStepsRatioOrV5Float) {
  TrainingArguments t;
  EXPECT_EQ(t.get_warmup_steps(1000), 0);
  t.warmup_ratio = 0.1;
  EXPECT_EQ(t.get_warmup_steps(1000), 100);
  EXPECT_EQ(t.get_warmup_steps(15), 2);  // ceil(1.5)
  t.warmup_steps = 7;
  EXPECT_EQ(t.get_warmup_steps(1000), 7);
  t.warmup_steps = 0.05;  // v5: a float in (0, 1) is a ratio
  EXPECT_EQ(t.get_warmup_steps(1000), 50);
}

TEST(TrainingArgumentsTest, RatioStepsResolveAgainstMaxSteps) {
  EXPECT_EQ(TrainingArguments::resolve_steps(0.1, 95), 10);
  EXPECT_EQ(TrainingArguments::resolve_steps(500, 95), 500);
}

TEST(TrainingArgumentsTest, IncludeNumInputTokensSeenMapsBooleans) {
  TrainingArguments t;
  t.include_num_input_tokens_seen = "true";
  t.post_init();
  EXPECT_EQ(t.include_num_input_tokens_seen, "all");
}

TEST(TrainingArgumentsTest, JsonRoundTripKeepsEveryField) {
  TrainingArguments t;
  t.learning_rate = 3e-4;
  t.lr_scheduler_type = "cosine";
  t.lr_scheduler_kwargs = {{"num_cycles", 0.25}};
  t.save_total_limit = 2;
  t.label_names = {"labels"};
  t.warmup_steps = 0.1;
  t.post_init();
  Json j = t.to_json();
  std::vector<std::string> warnings;
  TrainingArguments back = TrainingArguments::from_json(j, "training_args.json", &warnings);
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ(back.to_json(), j);
  EXPECT_EQ(j["logging_steps"], 500);   // printed as int, as HF does
  EXPECT_EQ(j["warmup_steps"], 0.1);
}

TEST(TrainingArgumentsTest, FromJsonReportsUnknownKeysAsWarnings) {
  std::vector<std::string> warnings;
  TrainingArguments::from_json({{"seed", 1}, {"future_field", true}}, "training_args.json", &warnings);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr("future_field"));
}

TEST(TrainingArgumentsTest, FromJsonWrongTypeNamesFileAndKey) {
  EXPECT_THAT([] { TrainingArguments::from_json({{"seed", "x"}}, "ckpt/training_args.json", nullptr); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("ckpt/training_args.json"), HasSubstr("\"seed\""))));
}

TEST(TrainingArgumentsTest, DebugTakesHfDebugOptionsAndExplainsTheyHaveNoEffect) {
  TrainingArguments t;
  t.debug = "underflow_overflow tpu_metrics_debug";
  auto warnings = t.post_init();
  std::string all;
  for (const auto& w : warnings) all += w + "\n";
  EXPECT_THAT(all, HasSubstr("--debug underflow_overflow"));
  EXPECT_THAT(all, HasSubstr("--debug tpu_metrics_debug"));
  EXPECT_THAT(all, HasSubstr("--log_level debug"));
  EXPECT_THAT(all, ::testing::Not(HasSubstr("--debug is accepted for compatibility")));
  TrainingArguments none;
  EXPECT_TRUE(none.post_init().empty());
  // HF's --debug is not a verbosity flag: a value outside DebugOption is an error that points to --log_level.
  TrainingArguments bad;
  bad.debug = "true";
  EXPECT_THAT([&] { bad.post_init(); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("--debug"), HasSubstr("underflow_overflow"),
                                              HasSubstr("--log_level debug"))));
}

}  // namespace
}  // namespace tcpp::args
