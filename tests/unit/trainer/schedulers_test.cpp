// Tests for the LR schedules: values at chosen steps against torch's LambdaLR/ReduceLROnPlateau driven by HF's
// formulas (expected values printed by gen/schedules.py with Debian's torch 1.13).
#include "tcpp/trainer/schedulers.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tcpp/core/error.h"

namespace tcpp::trainer {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

// The LR of group 0 before each of steps 0..values.size()-1 (what HF logs for that optimizer step).
void expect_schedule(const SchedulerOptions& options, const std::vector<double>& expected, double lr = 1e-3) {
  auto sched = LRScheduler::create(options, {lr, lr});
  for (size_t s = 0; s < expected.size(); ++s) {
    EXPECT_NEAR(sched.get_last_lr()[0], expected[s], 1e-15 + 1e-12 * std::abs(expected[s])) << "step " << s;
    EXPECT_EQ(sched.get_last_lr()[0], sched.get_last_lr()[1]);
    sched.step();
  }
}

SchedulerOptions opts(std::string type, int64_t warmup, int64_t total, Json kwargs = Json::object()) {
  SchedulerOptions o;
  o.lr_scheduler_type = std::move(type);
  o.num_warmup_steps = warmup;
  o.num_training_steps = total;
  o.lr_scheduler_kwargs = std::move(kwargs);
  return o;
}

TEST(SchedulersTest, LinearWarmsUpFromZeroThenDecaysToZero) {
  expect_schedule(opts("linear", 3, 10),
                  {0.0, 0.0003333333333333333, 0.0006666666666666666, 0.001, 0.0008571428571428571,
                   0.0007142857142857143, 0.0005714285714285714, 0.00042857142857142855, 0.0002857142857142857,
                   0.00014285714285714284, 0.0, 0.0, 0.0});
}

TEST(SchedulersTest, CosineFollowsHalfCycleAndRisesPastTheEnd) {
  expect_schedule(opts("cosine", 2, 10),
                  {0.0, 0.0005, 0.001, 0.0009619397662556434, 0.0008535533905932737, 0.000691341716182545, 0.0005,
                   0.0003086582838174551, 0.00014644660940672628, 3.806023374435663e-05, 0.0,
                   3.806023374435658e-05});
}

TEST(SchedulersTest, CosineWithRestartsRestartsEachCycleAndStaysAtZeroAfter) {
  expect_schedule(opts("cosine_with_restarts", 2, 12, {{"num_cycles", 3}}),
                  {0.0, 0.0005, 0.001, 0.0007938926261462365, 0.0003454915028125262, 2.447174185242329e-05,
                   0.0009045084971874735, 0.0005, 9.549150281252645e-05, 0.0009755282581475769,
                   0.0006545084971874732, 0.00020610737385376327, 0.0, 0.0});
}

TEST(SchedulersTest, PolynomialDecaysToLrEndWithPower) {
  expect_schedule(opts("polynomial", 2, 10, {{"lr_end", 1e-4}, {"power", 2.0}}),
                  {0.0, 0.0005, 0.001, 0.0007890625, 0.00060625, 0.0004515625, 0.000325, 0.00022656249999999998,
                   0.00015625, 0.0001140625, 0.0001, 0.0001, 0.0001});
}

TEST(SchedulersTest, PolynomialRejectsLrEndAboveLearningRate) {
  EXPECT_THAT([] { LRScheduler::create(opts("polynomial", 0, 10, {{"lr_end", 1e-2}}), {1e-3}); },
              ThrowsMessage<InputError>(HasSubstr("lr_scheduler_kwargs.lr_end: lr_end (0.01) must be smaller")));
}

TEST(SchedulersTest, ConstantAndConstantWithWarmup) {
  expect_schedule(opts("constant", 5, 10), {0.001, 0.001, 0.001});
  expect_schedule(opts("constant_with_warmup", 4, 10), {0.0, 0.00025, 0.0005, 0.00075, 0.001, 0.001, 0.001});
}

TEST(SchedulersTest, InverseSqrtUsesWarmupAsTimescaleOrTenThousand) {
  expect_schedule(opts("inverse_sqrt", 3, 100),
                  {0.0, 0.0003333333333333333, 0.0006666666666666666, 0.001, 0.0008660254037844387,
                   0.0007745966692414834, 0.0007071067811865475, 0.000654653670707977, 0.0006123724356957945});
  expect_schedule(opts("inverse_sqrt", 0, 100),
                  {0.001, 0.0009999500037496877, 0.0009999000149975006, 0.0009998500337415647});
}

TEST(SchedulersTest, CosineWithMinLrFloorsAtMinLr) {
  expect_schedule(opts("cosine_with_min_lr", 2, 10, {{"min_lr", 1e-4}}),
                  {0.0, 0.0005, 0.001, 0.000965745789630079, 0.0008681980515339464, 0.0007222075445642904, 0.00055,
                   0.0003777924554357096, 0.00023180194846605365, 0.00013425421036992097, 0.0001,
                   0.0001342542103699209});
  expect_schedule(opts("cosine_with_min_lr", 2, 10, {{"min_lr_rate", 0.1}}), {0.0, 0.0005, 0.001});
}

TEST(SchedulersTest, CosineWithMinLrNeedsExactlyOneMinimum) {
  EXPECT_THAT([] { LRScheduler::create(opts("cosine_with_min_lr", 0, 10), {1e-3}); },
              ThrowsMessage<InputError>(HasSubstr("lr_scheduler_kwargs: cosine_with_min_lr needs exactly one")));
}

// HF's get_cosine_with_min_lr_schedule_with_warmup_lr_rate: warmup from (s + 1) / W (or from warmup_lr_rate), decay
// one step ahead of cosine_with_min_lr's, so the minimum comes at step T - 1 and without warmup step 0 is not the peak.
TEST(SchedulersTest, CosineWarmupWithMinLrStartsOneStepAhead) {
  expect_schedule(opts("cosine_warmup_with_min_lr", 3, 10, {{"min_lr_rate", 0.1}}),
                  {0.0003333333333333333, 0.0006666666666666666, 0.001, 0.0009554359905560886,
                   0.0008305704108364302, 0.0006501344202803415, 0.0004498655797196586, 0.00026942958916356994,
                   0.00014456400944391147, 0.0001, 0.0001445640094439114, 0.00026942958916356983});
  expect_schedule(opts("cosine_warmup_with_min_lr", 3, 10, {{"min_lr", 2e-4}, {"warmup_lr_rate", 0.2}}),
                  {0.0002, 0.0006000000000000001, 0.001, 0.0009603875471609677, 0.0008493959207434936,
                   0.0006890083735825258, 0.0005109916264174743, 0.0003506040792565066, 0.0002396124528390324,
                   0.0002, 0.00023961245283903235, 0.00035060407925650654});
  expect_schedule(opts("cosine_warmup_with_min_lr", 0, 4, {{"min_lr_rate", 0.0}}),
                  {0.0008535533905932737, 0.0005, 0.00014644660940672628, 0.0, 0.00014644660940672617,
                   0.0004999999999999999});
  const Json both = {{"min_lr", 1e-4}, {"min_lr_rate", 0.1}};
  EXPECT_THAT([&] { LRScheduler::create(opts("cosine_warmup_with_min_lr", 0, 10, both), {1e-3}); },
              ThrowsMessage<InputError>(HasSubstr("cosine_warmup_with_min_lr needs exactly one of \"min_lr\" or "
                                                  "\"min_lr_rate\", got both")));
}

TEST(SchedulersTest, WarmupStableDecayHasThreePhasesAndEndsAtMinRatio) {
  expect_schedule(opts("warmup_stable_decay", 2, 12,
                       {{"num_decay_steps", 4}, {"warmup_type", "1-sqrt"}, {"decay_type", "cosine"},
                        {"min_lr_ratio", 0.1}}),
                  {0.0001, 0.00036360389693210714, 0.001, 0.001, 0.001, 0.001, 0.001, 0.001, 0.001,
                   0.0008681980515339464, 0.00055, 0.00023180194846605365, 0.0001, 0.0001});
}

TEST(SchedulersTest, WarmupStableDecayNeedsNumDecaySteps) {
  EXPECT_THAT([] { LRScheduler::create(opts("warmup_stable_decay", 0, 10), {1e-3}); },
              ThrowsMessage<InputError>(HasSubstr("num_decay_steps")));
}

TEST(SchedulersTest, ReduceLrOnPlateauMatchesTorch) {
  auto sched = LRScheduler::create(
      opts("reduce_lr_on_plateau", 0, 10, {{"patience", 1}, {"factor", 0.5}, {"cooldown", 1}}), {1e-3});
  ASSERT_TRUE(sched.is_reduce_on_plateau());
  sched.step();  // per-step calls do nothing
  const std::vector<double> metrics = {1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95, 0.8, 0.9, 0.9};
  const std::vector<double> expected = {0.001,  0.001,   0.001,   0.0005,  0.0005,
                                        0.0005, 0.00025, 0.00025, 0.00025, 0.000125};
  for (size_t i = 0; i < metrics.size(); ++i) {
    sched.step_metric(metrics[i]);
    EXPECT_DOUBLE_EQ(sched.get_last_lr()[0], expected[i]) << "eval " << i;
  }
}

TEST(SchedulersTest, StateDictRoundTripContinuesTheSchedule) {
  auto a = LRScheduler::create(opts("cosine", 2, 10), {1e-3});
  for (int i = 0; i < 4; ++i) a.step();
  auto b = LRScheduler::create(opts("cosine", 2, 10), {1e-3});
  b.load_state_dict(Json::parse(dump_json_python(a.state_dict())), "scheduler.json");
  a.step();
  b.step();
  EXPECT_EQ(a.get_last_lr(), b.get_last_lr());
  EXPECT_EQ(b.last_epoch(), 5);
}

TEST(SchedulersTest, PlateauStateSurvivesJsonBeforeAnyMetric) {
  auto a = LRScheduler::create(opts("reduce_lr_on_plateau", 0, 10), {1e-3});
  auto b = LRScheduler::create(opts("reduce_lr_on_plateau", 0, 10), {1e-3});
  b.load_state_dict(Json::parse(dump_json_python(a.state_dict())), "scheduler.json");
  b.step_metric(5.0);
  EXPECT_DOUBLE_EQ(b.get_last_lr()[0], 1e-3);
}

TEST(SchedulersTest, MissingStateKeyNamesTheFile) {
  auto a = LRScheduler::create(opts("linear", 0, 10), {1e-3});
  EXPECT_THAT([&] { a.load_state_dict(Json{{"base_lrs", {1e-3}}}, "checkpoint-5/scheduler.json"); },
              ThrowsMessage<InputError>(HasSubstr("checkpoint-5/scheduler.json: missing \"_last_lr\"")));
}

// issue #10: a step counter that is not an integer (1e300 converted to int64 was undefined behaviour) is named.
TEST(SchedulersTest, NonIntegerStepCounterInTheStateNamesTheFileAndKey) {
  auto a = LRScheduler::create(opts("linear", 0, 10), {1e-3});
  for (const char* bad : {"1e300", "2.5", "\"4\""}) {
    Json state = a.state_dict();
    state["last_epoch"] = Json::parse(bad);
    EXPECT_THAT([&] { a.load_state_dict(state, "checkpoint-5/scheduler.json"); },
                ThrowsMessage<InputError>(HasSubstr("checkpoint-5/scheduler.json: \"last_epoch\" must be an integer")))
        << bad;
  }
}

// issue #10 (resume_state fuzz target): a counter that step() would overflow (2^63 - 1) or that the schedules cannot
// use (negative) is refused; 2^53 is the largest accepted.
TEST(SchedulersTest, StepCounterOutOfRangeNamesTheFileAndKey) {
  for (const char* type : {"linear", "reduce_lr_on_plateau"}) {
    auto a = LRScheduler::create(opts(type, 0, 10), {1e-3});
    const std::vector<const char*> keys = std::string(type) == "linear"
                                              ? std::vector<const char*>{"last_epoch"}
                                              : std::vector<const char*>{"last_epoch", "num_bad_epochs", "cooldown_counter"};
    for (const char* key : keys) {
      for (const char* bad : {"9223372036854775807", "18446744073709551615", "-1", "9007199254740993"}) {
        Json state = a.state_dict();
        state[key] = Json::parse(bad);
        EXPECT_THAT([&] { a.load_state_dict(state, "checkpoint-5/scheduler.json"); },
                    ThrowsMessage<InputError>(HasSubstr(std::string("checkpoint-5/scheduler.json: \"") + key +
                                                        "\" must be a count from 0 to 2^53, found " + bad)))
            << type << " " << key;
      }
      Json state = a.state_dict();
      state[key] = int64_t{1} << 53;
      EXPECT_NO_THROW(a.load_state_dict(state, "scheduler.json")) << type << " " << key;
    }
  }
}

TEST(SchedulersTest, UnknownTypeSuggestsTheClosestName) {
  EXPECT_THAT([] { LRScheduler::create(opts("cosin", 0, 10), {1e-3}); },
              ThrowsMessage<InputError>(HasSubstr("lr_scheduler_type: expected one of")));
  EXPECT_THAT([] { LRScheduler::create(opts("cosin", 0, 10), {1e-3}); },
              ThrowsMessage<InputError>(HasSubstr("did you mean \"cosine\"")));
}

TEST(SchedulersTest, UnknownKwargIsRejectedByName) {
  EXPECT_THAT([] { LRScheduler::create(opts("linear", 0, 10, {{"num_cycles", 2}}), {1e-3}); },
              ThrowsMessage<InputError>(HasSubstr("lr_scheduler_kwargs.num_cycles")));
}

TEST(SchedulersTest, WarmupStepsWinOverRatioWhichRoundsUp) {
  EXPECT_EQ(get_warmup_steps(5, 0.5, 100), 5);
  EXPECT_EQ(get_warmup_steps(0, 0.101, 100), 11);
  EXPECT_EQ(get_warmup_steps(0, 0.0, 100), 0);
}

}  // namespace
}  // namespace tcpp::trainer
