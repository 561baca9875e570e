// Tests for TrainingArguments the Trainer loop honours beyond the basics: eval_on_start,
// include_num_input_tokens_seen and dataloader_num_workers (batches read ahead, same results as without workers).
#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tcpp/core/error.h"
#include "tcpp/core/json.h"
#include "tcpp/trainer/trainer.h"
#include "tiny_lm.h"

namespace tcpp::trainer {
namespace {

namespace fs = std::filesystem;
using namespace test_util;  // NOLINT: the shared tiny model and datasets
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

std::vector<Json> eval_logs(const TrainerState& s) {
  std::vector<Json> out;
  for (const auto& e : s.log_history)
    if (e.contains("eval_loss")) out.push_back(e);
  return out;
}

TEST(EvalOnStartTest, EvaluatesTheUntrainedModelAndLogsItAtStepZero) {
  TempDir dir;
  auto o = base_options(dir.path);
  o.max_steps = 3;
  o.eval_on_start = true;  // eval_strategy stays "no": this is the only evaluation
  auto eval = counting_dataset(5, /*with_ignored_labels=*/true);
  Trainer probe(make_model(), o, nullptr, eval, collators::default_data_collator);
  const double untrained = probe.evaluate().at("eval_loss");

  Trainer trainer(make_model(), o, counting_dataset(8), eval, collators::default_data_collator);
  trainer.train();
  const auto& history = trainer.state().log_history;
  ASSERT_FALSE(history.empty());
  EXPECT_TRUE(history.front().contains("eval_loss"));  // before any training log
  EXPECT_EQ(history.front()["step"], 0);
  EXPECT_EQ(history.front()["epoch"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(history.front()["eval_loss"].get<double>(), untrained);
  EXPECT_EQ(eval_logs(trainer.state()).size(), 1u);
  EXPECT_EQ(train_logs(trainer.state()).size(), 3u);
}

TEST(EvalOnStartTest, OffByDefaultAndNeedsAnEvalDataset) {
  TempDir dir;
  auto o = base_options(dir.path);
  o.max_steps = 2;
  Trainer quiet(make_model(), o, counting_dataset(8), counting_dataset(4), collators::default_data_collator);
  quiet.train();
  EXPECT_TRUE(eval_logs(quiet.state()).empty());
  o.eval_on_start = true;
  Trainer trainer(make_model(), o, counting_dataset(8), nullptr, collators::default_data_collator);
  EXPECT_THAT([&] { trainer.train(); }, ThrowsMessage<InputError>(HasSubstr("eval_on_start: an evaluation before the "
                                                                           "first step needs an eval dataset")));
}

// counting_dataset with an attention mask: example i ends in i % 3 padding positions.
std::shared_ptr<VectorDataset> padded_dataset(int64_t n, int64_t* total_attended) {
  std::vector<collators::Features> examples;
  *total_attended = 0;
  const auto base = counting_dataset(n);
  for (int64_t i = 0; i < n; ++i) {
    auto f = base->get(i);
    std::vector<int64_t> mask(6, 1);
    for (int64_t t = 0; t < i % 3; ++t) mask[static_cast<size_t>(5 - t)] = 0;
    for (int64_t m : mask) *total_attended += m;
    f.columns["attention_mask"] = mask;
    examples.push_back(f);
  }
  return std::make_shared<VectorDataset>(examples);
}

TEST(NumInputTokensSeenTest, AllCountsEveryInputIdInEachLogAndTheState) {
  TempDir dir;
  auto o = base_options(dir.path);  // batch 4 of 6 tokens: 24 per step
  o.max_steps = 4;
  o.save_strategy = "steps";
  o.save_steps = 2;
  o.include_num_input_tokens_seen = "all";
  int64_t attended = 0;
  Trainer trainer(make_model(), o, padded_dataset(8, &attended), nullptr, collators::default_data_collator);
  trainer.train();
  const auto logs = train_logs(trainer.state());
  ASSERT_EQ(logs.size(), 4u);
  for (const auto& log : logs) EXPECT_EQ(log["num_input_tokens_seen"], 24 * log["step"].get<int64_t>()) << log;
  EXPECT_EQ(trainer.state().log_history.back()["num_input_tokens_seen"], 96);  // the train metrics too
  EXPECT_EQ(trainer.state().num_input_tokens_seen, 96);
  const Json saved = read_json_file((fs::path(dir.path) / "checkpoint-2" / "trainer_state.json").string());
  EXPECT_EQ(saved["num_input_tokens_seen"], 48);
}

TEST(NumInputTokensSeenTest, NonPaddingCountsTheAttentionMask) {
  TempDir dir;
  auto o = base_options(dir.path);
  o.max_steps = 4;  // 8 examples, batch 4: two epochs, every example twice
  o.logging_steps = 2;
  o.include_num_input_tokens_seen = "non_padding";
  int64_t attended = 0;
  Trainer trainer(make_model(), o, padded_dataset(8, &attended), nullptr, collators::default_data_collator);
  trainer.train();
  const auto logs = train_logs(trainer.state());
  ASSERT_EQ(logs.size(), 2u);
  EXPECT_EQ(logs[0]["num_input_tokens_seen"], attended);
  EXPECT_EQ(logs[1]["num_input_tokens_seen"], 2 * attended);
  EXPECT_LT(attended, 48);  // the padding was left out
}

TEST(NumInputTokensSeenTest, NoIsTheDefaultAndLogsNothing) {
  TempDir dir;
  auto o = base_options(dir.path);
  o.max_steps = 2;
  Trainer trainer(make_model(), o, counting_dataset(8), nullptr, collators::default_data_collator);
  trainer.train();
  for (const auto& e : trainer.state().log_history) EXPECT_FALSE(e.contains("num_input_tokens_seen")) << e;
  EXPECT_EQ(trainer.state().num_input_tokens_seen, 0);
  o.include_num_input_tokens_seen = "some";
  EXPECT_THAT([&] { Trainer bad(make_model(), o, counting_dataset(8), nullptr, collators::default_data_collator); },
              ThrowsMessage<InputError>(HasSubstr("include_num_input_tokens_seen: expected one of no, all, non_padding")));
}

TEST(NumInputTokensSeenTest, ResumeContinuesTheCount) {
  TempDir dir;
  auto o = base_options(dir.path);
  o.max_steps = 5;
  o.save_strategy = "steps";
  o.save_steps = 2;
  o.include_num_input_tokens_seen = "all";
  {
    Trainer first(make_model(), o, counting_dataset(8), nullptr, collators::default_data_collator);
    first.add_callback(std::make_shared<StopAt>(3));
    first.train();
  }
  Trainer resumed(make_model(), o, counting_dataset(8), nullptr, collators::default_data_collator);
  resumed.train(std::string("latest"));  // from checkpoint-2: 48 tokens
  const auto logs = train_logs(resumed.state());
  ASSERT_EQ(logs.size(), 5u);
  for (const auto& log : logs) EXPECT_EQ(log["num_input_tokens_seen"], 24 * log["step"].get<int64_t>()) << log;
  EXPECT_EQ(resumed.state().num_input_tokens_seen, 120);
}

// MLM (random masks from the collator's generator), dropout (the global generator), evaluation during training
// (drawing masks from the same collator generator) and a stop mid-epoch: everything workers could perturb.
TrainerOptions mlm_options(const std::string& dir, int64_t workers) {
  auto o = base_options(dir);
  o.per_device_train_batch_size = 3;
  o.gradient_accumulation_steps = 2;
  o.max_steps = 10;  // 16 examples -> 6 batches -> 3 updates per epoch: ends and saves mid-epoch
  o.save_strategy = "steps";
  o.save_steps = 4;
  o.eval_strategy = "steps";
  o.eval_steps = 3;
  o.per_device_eval_batch_size = 2;
  o.warmup_steps = 2;
  o.dataloader_num_workers = workers;
  return o;
}

// The collator generator's state in a checkpoint's rng_state.pt.
torch::Tensor saved_collator_state(const fs::path& checkpoint) {
  torch::serialize::InputArchive archive;
  archive.load_from((checkpoint / "rng_state.pt").string());
  torch::Tensor state;
  archive.read("collator", state);
  return state;
}

struct MlmRun {
  std::vector<torch::Tensor> params;
  std::vector<Json> history;  // up to the end of train()
  double eval_after = 0;  // an evaluation after train(): draws masks from where training left the generator
};

MlmRun run_mlm(const std::string& dir, int64_t workers) {
  auto model = make_model(0, /*causal=*/false, /*dropout=*/0.2);
  Trainer trainer(model, mlm_options(dir, workers), counting_dataset(16), counting_dataset(5), mlm_collator());
  trainer.train();
  MlmRun run;
  run.params = params_of(model);
  run.history = trainer.state().log_history;
  run.eval_after = trainer.evaluate().at("eval_loss");
  return run;
}

void expect_same_history(const std::vector<Json>& a, const std::vector<Json>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    for (const char* key : {"loss", "grad_norm", "learning_rate", "eval_loss", "step"}) {
      ASSERT_EQ(a[i].contains(key), b[i].contains(key)) << "entry " << i << " key " << key;
      if (a[i].contains(key)) {
        EXPECT_EQ(a[i][key], b[i][key]) << "entry " << i << " key " << key;
      }
    }
  }
}

TEST(DataloaderWorkersTest, TwoWorkersTrainExactlyAsNoWorkers) {
  TempDir a_dir, b_dir;
  const auto without = run_mlm(a_dir.path, 0);
  const auto with = run_mlm(b_dir.path, 2);
  expect_same_history(without.history, with.history);
  size_t evals = 0;
  for (const auto& e : with.history) evals += e.contains("eval_loss") ? 1 : 0;
  EXPECT_EQ(evals, 3u);  // steps 3, 6 and 9
  for (size_t i = 0; i < without.params.size(); ++i) EXPECT_TRUE(torch::equal(without.params[i], with.params[i])) << i;
  EXPECT_EQ(without.eval_after, with.eval_after);
  // The checkpoint holds the generator as of the last batch trained on, not of those read ahead.
  for (const char* ckpt : {"checkpoint-4", "checkpoint-8", "checkpoint-10"})
    EXPECT_TRUE(torch::equal(saved_collator_state(fs::path(a_dir.path) / ckpt),
                             saved_collator_state(fs::path(b_dir.path) / ckpt))) << ckpt;
}

TEST(DataloaderWorkersTest, ResumeFromACheckpointSavedWhileReadingAheadIsExact) {
  TempDir a_dir, b_dir;
  const auto uninterrupted = run_mlm(a_dir.path, 0);
  {
    Trainer b(make_model(0, false, 0.2), mlm_options(b_dir.path, 2), counting_dataset(16), counting_dataset(5),
              mlm_collator());
    b.add_callback(std::make_shared<StopAt>(5));
    b.train();
  }
  ASSERT_TRUE(fs::exists(fs::path(b_dir.path) / "checkpoint-4"));
  auto c_model = make_model(123, false, 0.2);  // other weights: they must come from the checkpoint
  Trainer c(c_model, mlm_options(b_dir.path, 2), counting_dataset(16), counting_dataset(5), mlm_collator());
  c.train(std::string("latest"));
  const auto pc = params_of(c_model);
  for (size_t i = 0; i < pc.size(); ++i) EXPECT_TRUE(torch::equal(uninterrupted.params[i], pc[i])) << "param " << i;
  // The resumed history: the checkpoint's (up to step 4) then steps 5..10, as the uninterrupted run's.
  std::vector<Json> expected;
  for (const auto& e : uninterrupted.history)
    if (!e.contains("train_loss")) expected.push_back(e);
  std::vector<Json> got;
  for (const auto& e : c.state().log_history)
    if (!e.contains("train_loss")) got.push_back(e);
  expect_same_history(expected, got);
}

TEST(DataloaderWorkersTest, NegativeWorkersAreRejected) {
  auto o = base_options("unused");
  o.dataloader_num_workers = -1;
  EXPECT_THAT([&] { Trainer t(make_model(), o, counting_dataset(8), nullptr, collators::default_data_collator); },
              ThrowsMessage<InputError>(HasSubstr("dataloader_num_workers: expected >= 0, got -1")));
}

}  // namespace
}  // namespace tcpp::trainer
