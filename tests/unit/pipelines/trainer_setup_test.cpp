// Tests for the args -> Trainer glue and the Arrow dataset adapter.
#include "tcpp/pipelines/trainer_setup.h"

#include <gtest/gtest.h>

#include "tcpp/trainer/schedulers.h"

namespace tcpp::pipelines {
namespace {

using datasets::Column;

TEST(TrainerSetupTest, MapsTrainingArgumentsFieldsByName) {
  args::TrainingArguments a;
  a.learning_rate = 1e-3;
  a.gradient_accumulation_steps = 4;
  a.save_total_limit = 2;
  a.resume_from_checkpoint = "true";
  a.post_init();
  auto o = trainer_options_from_args(a);
  EXPECT_DOUBLE_EQ(o.learning_rate, 1e-3);
  EXPECT_EQ(o.gradient_accumulation_steps, 4);
  EXPECT_EQ(o.save_total_limit, 2);
  EXPECT_EQ(o.resume_from_checkpoint, "true");
}

// The parser's choices for --lr_scheduler_type and the schedules the trainer builds are two lists (args does not
// link LibTorch); a name accepted by one and refused by the other failed only once training started.
TEST(TrainerSetupTest, EverySchedulerTheParserAcceptsIsBuilt) {
  EXPECT_EQ(args::scheduler_type_names(), trainer::scheduler_type_names());
  for (const std::string& name : args::scheduler_type_names()) {
    trainer::SchedulerOptions o;
    o.lr_scheduler_type = name;
    o.num_warmup_steps = 2;
    o.num_training_steps = 10;
    if (name.find("min_lr") != std::string::npos) o.lr_scheduler_kwargs = {{"min_lr_rate", 0.1}};
    if (name == "warmup_stable_decay") o.lr_scheduler_kwargs = {{"num_decay_steps", 3}};
    EXPECT_NO_THROW(trainer::LRScheduler::create(o, {1e-3})) << name;
  }
}

TEST(TrainerSetupTest, LoopOptionsReachTheTrainer) {
  args::TrainingArguments a;
  a.eval_on_start = true;
  a.include_num_input_tokens_seen = "True";  // post_init: a boolean means "all"
  a.dataloader_num_workers = 3;
  a.dataloader_prefetch_factor = 4;
  a.group_by_length = true;
  a.nan_inf_policy = "skip";
  a.post_init();
  auto o = trainer_options_from_args(a);
  EXPECT_TRUE(o.eval_on_start);
  EXPECT_EQ(o.include_num_input_tokens_seen, "all");
  EXPECT_EQ(o.dataloader_num_workers, 3);
  EXPECT_EQ(o.dataloader_prefetch_factor, 4);
  EXPECT_TRUE(o.group_by_length);
  EXPECT_EQ(o.nan_inf_policy, "skip");
}

TEST(TrainerSetupTest, V5FloatWarmupStepsBecomesARatio) {
  args::TrainingArguments a;
  a.warmup_steps = 0.25;
  auto o = trainer_options_from_args(a);
  EXPECT_DOUBLE_EQ(o.warmup_ratio, 0.25);
  EXPECT_EQ(o.warmup_steps, 0);
  a.warmup_steps = 10;
  EXPECT_EQ(trainer_options_from_args(a).warmup_steps, 10);
}

TEST(TrainerSetupTest, ArrowDatasetRowsBecomeFeatures) {
  datasets::Batch b;
  b["input_ids"] = Column::Int32Lists{{1, 2, 3}, {4, 5, 6}};
  b["labels"] = Column::Int64Lists{{1, 2, 3}, {4, 5, 6}};
  b["text"] = Column::Strings{"a", "b"};
  ArrowTrainerDataset ds(datasets::Dataset::from_batch(b));
  ASSERT_EQ(ds.size(), 2);
  auto f = ds.get(1);
  EXPECT_EQ(f.columns.at("input_ids"), (std::vector<int64_t>{4, 5, 6}));
  EXPECT_EQ(f.columns.at("labels"), (std::vector<int64_t>{4, 5, 6}));
  EXPECT_EQ(f.columns.count("text"), 0u);
}

}  // namespace
}  // namespace tcpp::pipelines
