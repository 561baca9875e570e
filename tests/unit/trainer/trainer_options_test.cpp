// Tests for TrainingArguments the Trainer loop honours beyond the basics: eval_on_start,
// include_num_input_tokens_seen, dataloader_num_workers (batches read ahead, same results as without workers),
// logging_first_step, data_seed, dataloader_drop_last; the order of callback events; SIGTERM.
#include <signal.h>

#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>

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
  // HF: state.epoch is the int 0 before the first step ("epoch": 0), a float after each step ("epoch": 0.5).
  EXPECT_TRUE(history.front()["epoch"].is_number_integer()) << history.front();
  EXPECT_EQ(history.front()["epoch"], 0);
  EXPECT_TRUE(history[1]["epoch"].is_number_float()) << history[1];
  std::ifstream jsonl(fs::path(dir.path) / "trainer_log.jsonl");
  std::string probe_line, first_line;
  std::getline(jsonl, probe_line);  // the probe's evaluate(), outside training: no epoch
  std::getline(jsonl, first_line);
  EXPECT_THAT(probe_line, ::testing::Not(HasSubstr("\"epoch\"")));
  EXPECT_THAT(first_line, ::testing::StartsWith("{\"epoch\": 0, \"eval_loss\": "));
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

MlmRun run_mlm(const std::string& dir, int64_t workers, collators::DataCollator collator = mlm_collator()) {
  auto model = make_model(0, /*causal=*/false, /*dropout=*/0.2);
  Trainer trainer(model, mlm_options(dir, workers), counting_dataset(16), counting_dataset(5), std::move(collator));
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
      // An MLM evaluation whose batches drew no mask has a NaN loss, in both runs alike.
      const auto nan = [](const Json& v) { return v.is_number_float() && std::isnan(v.get<double>()); };
      if (a[i].contains(key) && !(nan(a[i][key]) && nan(b[i][key]))) {
        EXPECT_EQ(a[i][key], b[i][key]) << "entry " << i << " key " << key;
      }
    }
  }
}

// A collator that cannot draw from another generator (no with_generator: here the MLM collator's function and
// generator handed over by hand) is read ahead by the workers and collated in order from its own generator: the
// run equals one without workers, and checkpoints hold that generator as of the last batch trained on.
TEST(DataloaderWorkersTest, ACollatorWithOneGeneratorTrainsExactlyAsWithoutWorkers) {
  auto one_generator = [] {
    collators::DataCollator mlm = mlm_collator();
    return collators::DataCollator(mlm.collate, *mlm.generator);
  };
  TempDir a_dir, b_dir;
  const auto without = run_mlm(a_dir.path, 0, one_generator());
  const auto with = run_mlm(b_dir.path, 2, one_generator());
  expect_same_history(without.history, with.history);
  size_t evals = 0;
  for (const auto& e : with.history) evals += e.contains("eval_loss") ? 1 : 0;
  EXPECT_EQ(evals, 3u);  // steps 3, 6 and 9
  for (size_t i = 0; i < without.params.size(); ++i) EXPECT_TRUE(torch::equal(without.params[i], with.params[i])) << i;
  EXPECT_EQ(without.eval_after, with.eval_after);
  for (const char* ckpt : {"checkpoint-4", "checkpoint-8", "checkpoint-10"})
    EXPECT_TRUE(torch::equal(saved_collator_state(fs::path(a_dir.path) / ckpt),
                             saved_collator_state(fs::path(b_dir.path) / ckpt))) << ckpt;
}

// What the MLM collator made of one batch, in whichever worker: the batch's first id and its labels (the masks).
struct Collated {
  int64_t first_id;
  torch::Tensor labels;
};

// The MLM collator (seeded) recording every batch each worker's copy collates into `seen`.
collators::DataCollator recording_mlm_collator(uint64_t seed, std::shared_ptr<std::vector<Collated>> seen) {
  auto mutex = std::make_shared<std::mutex>();
  collators::DataCollator recording = mlm_collator(seed);
  auto with = recording.with_generator;
  recording.with_generator = [with, seen, mutex](at::Generator gen) -> collators::CollateFn {
    auto collate = with(std::move(gen));
    return [collate, seen, mutex](const std::vector<collators::Features>& f) {
      auto batch = collate(f);
      std::lock_guard<std::mutex> lock(*mutex);
      seen->push_back({f.front().columns.at("input_ids").front(), batch.labels.clone()});
      return batch;
    };
  };
  return recording;
}

// 8 examples in batches of 2 read in order by 2 workers, one batch ahead each: 4 batches per epoch, 6 steps (the
// second epoch stops after 2 of them).
TrainerOptions two_worker_options(const std::string& dir) {
  auto o = base_options(dir);
  o.per_device_train_batch_size = 2;
  o.max_steps = 6;
  o.sequential_sampler = true;
  o.dataloader_num_workers = 2;
  o.dataloader_prefetch_factor = 1;
  return o;
}

// The MLM collator with workers collates as HF's worker processes: each iterator (every epoch, every evaluation)
// deals its batches to the workers in turn, and worker w draws from a generator of its own; a seeded collator's
// from seed + w, afresh in each iterator (so each epoch repeats the first one's masks, as HF's do). The masks
// follow the worker count, and a run repeats exactly.
TEST(DataloaderWorkersTest, MasksComeFromEachWorkersOwnGeneratorAsInHfWorkerProcesses) {
  auto seen = std::make_shared<std::vector<Collated>>();
  collators::DataCollator recording = recording_mlm_collator(/*seed=*/42, seen);
  TempDir dir;
  auto o = two_worker_options(dir.path);
  Trainer trainer(make_model(0, /*causal=*/false), o, counting_dataset(8), nullptr, recording);
  trainer.train();
  // Worker w's batches, w, w + 2, ..., from a fresh collator drawing from 42 + w.
  const auto data = counting_dataset(8);
  std::vector<torch::Tensor> expected(4);
  for (uint64_t w = 0; w < 2; ++w) {
    auto reference = mlm_collator(/*seed=*/42 + w);
    for (size_t k = w; k < 4; k += 2) {
      const auto first = static_cast<int64_t>(2 * k);
      std::vector<collators::Features> f = {data->get(first), data->get(first + 1)};
      expected[k] = reference.collate(f).labels;
    }
  }
  ASSERT_GE(seen->size(), 6u);  // epoch 2 may have read a batch ahead
  for (size_t j = 0; j < 6; ++j) {
    const size_t k = j % 4;  // each epoch starts again from the workers' seeds
    EXPECT_EQ((*seen)[j].first_id, static_cast<int64_t>(2 * k)) << j;
    EXPECT_TRUE(torch::equal((*seen)[j].labels, expected[k])) << "batch " << j;
  }
  EXPECT_FALSE(torch::equal(expected[0], expected[2]));  // worker 0's second batch: its generator went on

  // Unseeded (run_mlm.py's collator): the workers' generators come from each iterator's base seed.
  TempDir a_dir, b_dir, c_dir;
  const auto two = run_mlm(a_dir.path, 2, mlm_collator(std::nullopt));
  const auto again = run_mlm(b_dir.path, 2, mlm_collator(std::nullopt));
  expect_same_history(two.history, again.history);
  for (size_t i = 0; i < two.params.size(); ++i) EXPECT_TRUE(torch::equal(two.params[i], again.params[i])) << i;
  EXPECT_EQ(two.eval_after, again.eval_after);
  const auto none = run_mlm(c_dir.path, 0, mlm_collator(std::nullopt));
  EXPECT_NE(none.eval_after, two.eval_after);  // other masks
}

// A checkpoint saved while the workers read ahead holds each worker's generator as of the last batch trained on and
// whose turn is next: the resumed run equals the uninterrupted one (HF's resumed iterator starts its workers afresh).
TEST(DataloaderWorkersTest, ResumeFromACheckpointSavedWhileReadingAheadIsExact) {
  for (std::optional<uint64_t> seed : {std::optional<uint64_t>(42), std::optional<uint64_t>()}) {
    TempDir a_dir, b_dir;
    const auto uninterrupted = run_mlm(a_dir.path, 2, mlm_collator(seed));
    {
      Trainer b(make_model(0, false, 0.2), mlm_options(b_dir.path, 2), counting_dataset(16), counting_dataset(5),
                mlm_collator(seed));
      b.add_callback(std::make_shared<StopAt>(5));
      b.train();
    }
    ASSERT_TRUE(fs::exists(fs::path(b_dir.path) / "checkpoint-4"));
    auto c_model = make_model(123, false, 0.2);  // other weights: they must come from the checkpoint
    Trainer c(c_model, mlm_options(b_dir.path, 2), counting_dataset(16), counting_dataset(5), mlm_collator(seed));
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
}

// --dataloader_persistent_workers: HF's DataLoader keeps its workers, so a later epoch deals its batches from worker 0
// again to generators that go on from where the last epoch left them (a seeded collator's masks no longer repeat).
TEST(DataloaderWorkersTest, PersistentWorkersGoOnWithTheirGeneratorsInTheNextEpoch) {
  auto seen = std::make_shared<std::vector<Collated>>();
  collators::DataCollator recording = recording_mlm_collator(/*seed=*/42, seen);
  TempDir dir;
  auto o = two_worker_options(dir.path);
  o.dataloader_persistent_workers = true;
  Trainer trainer(make_model(0, /*causal=*/false), o, counting_dataset(8), nullptr, recording);
  trainer.train();
  // Worker w collates the batches w, w + 2 of epoch 1, then w of epoch 2, from one collator seeded 42 + w.
  const auto data = counting_dataset(8);
  std::vector<torch::Tensor> expected;  // in training order
  std::vector<collators::DataCollator> reference = {mlm_collator(42), mlm_collator(43)};
  for (size_t j = 0; j < 6; ++j) {
    const size_t k = j % 4, w = k % 2;
    const auto first = static_cast<int64_t>(2 * k);
    std::vector<collators::Features> f = {data->get(first), data->get(first + 1)};
    expected.push_back(reference[w].collate(f).labels);
  }
  ASSERT_GE(seen->size(), 6u);
  for (size_t j = 0; j < 6; ++j) {
    EXPECT_EQ((*seen)[j].first_id, static_cast<int64_t>(2 * (j % 4))) << j;
    EXPECT_TRUE(torch::equal((*seen)[j].labels, expected[j])) << "batch " << j;
  }
  EXPECT_FALSE(torch::equal(expected[4], expected[0]));  // not the first epoch's masks again
}

// A persistent DataLoader takes one base seed from the global generator, at its first iterator: after 4 epochs and 3
// evaluations the global generator has made 2 draws (the training and the evaluation DataLoader's), where
// non-persistent ones make one per epoch and per evaluation.
TEST(DataloaderWorkersTest, PersistentDataLoadersDrawOneBaseSeedEach) {
  for (bool persistent : {true, false}) {
    TempDir dir;
    auto o = mlm_options(dir.path, 2);
    o.dataloader_persistent_workers = persistent;
    o.save_strategy = "no";
    Trainer trainer(make_model(0, /*causal=*/true), o, counting_dataset(16), counting_dataset(5),
                    collators::default_data_collator);
    trainer.train();
    at::Generator expected = at::detail::createCPUGenerator(static_cast<uint64_t>(o.seed));
    const int draws = persistent ? 2 : 4 + 3;  // 10 steps of 3 per epoch: 4 epochs; evaluations at 3, 6, 9
    for (int i = 0; i < draws; ++i) draw_dataloader_base_seed(expected);
    EXPECT_TRUE(torch::equal(at::detail::getDefaultCPUGenerator().get_state(), expected.get_state()))
        << (persistent ? "persistent" : "not persistent");
  }
}

// With persistent workers a checkpoint also holds the evaluation workers' generators and which DataLoaders have
// their iterators: resumed inside an epoch or at its end, the run equals the uninterrupted one (HF's resume makes
// new DataLoaders with new workers), and differs from a run without persistent workers.
TEST(DataloaderWorkersTest, PersistentWorkersResumeExactly) {
  auto options = [](const std::string& dir, int64_t save_steps) {
    auto o = mlm_options(dir, 2);
    o.dataloader_persistent_workers = true;
    o.save_steps = save_steps;
    return o;
  };
  for (std::optional<uint64_t> seed : {std::optional<uint64_t>(42), std::optional<uint64_t>()}) {
    TempDir a_dir, plain_dir;
    auto a_model = make_model(0, false, 0.2);
    Trainer a(a_model, options(a_dir.path, 4), counting_dataset(16), counting_dataset(5), mlm_collator(seed));
    a.train();
    const auto uninterrupted = params_of(a_model);
    const auto a_history = a.state().log_history;
    const double a_eval = a.evaluate().at("eval_loss");
    EXPECT_NE(a_eval, run_mlm(plain_dir.path, 2, mlm_collator(seed)).eval_after);  // persistence changes the masks
    // 3 updates per epoch: checkpoint-3 ends epoch 1; checkpoint-4 and checkpoint-8 are inside epochs 2 and 3.
    for (const auto& [save_steps, stop] : {std::pair<int64_t, int64_t>{3, 4}, {4, 5}, {4, 9}}) {
      TempDir b_dir;
      {
        Trainer b(make_model(0, false, 0.2), options(b_dir.path, save_steps), counting_dataset(16),
                  counting_dataset(5), mlm_collator(seed));
        b.add_callback(std::make_shared<StopAt>(stop));
        b.train();
      }
      fs::remove_all(fs::path(b_dir.path) / ("checkpoint-" + std::to_string(stop)));
      auto c_model = make_model(123, false, 0.2);
      Trainer c(c_model, options(b_dir.path, save_steps), counting_dataset(16), counting_dataset(5),
                mlm_collator(seed));
      c.train(std::string("latest"));
      const auto pc = params_of(c_model);
      for (size_t i = 0; i < pc.size(); ++i)
        EXPECT_TRUE(torch::equal(uninterrupted[i], pc[i])) << "param " << i << ", stopped at " << stop;
      std::vector<Json> expected, got;
      for (const auto& e : a_history)
        if (!e.contains("train_loss")) expected.push_back(e);
      for (const auto& e : c.state().log_history)
        if (!e.contains("train_loss")) got.push_back(e);
      expect_same_history(expected, got);
      EXPECT_EQ(c.evaluate().at("eval_loss"), a_eval) << "stopped at " << stop;
    }
  }
}

TEST(DataloaderWorkersTest, NegativeWorkersAreRejected) {
  auto o = base_options("unused");
  o.dataloader_num_workers = -1;
  EXPECT_THAT([&] { Trainer t(make_model(), o, counting_dataset(8), nullptr, collators::default_data_collator); },
              ThrowsMessage<InputError>(HasSubstr("dataloader_num_workers: expected >= 0, got -1")));
}

TEST(LoggingFirstStepTest, LogsStepOneAsWellAsEveryLoggingSteps) {
  TempDir dir;
  auto o = base_options(dir.path);
  o.max_steps = 4;
  o.logging_steps = 3;
  auto steps_logged = [&](bool first) {
    o.logging_first_step = first;
    Trainer trainer(make_model(), o, counting_dataset(8), nullptr, collators::default_data_collator);
    trainer.train();
    std::vector<int64_t> steps;
    for (const auto& e : train_logs(trainer.state())) steps.push_back(e["step"].get<int64_t>());
    return steps;
  };
  EXPECT_EQ(steps_logged(false), (std::vector<int64_t>{3}));
  EXPECT_EQ(steps_logged(true), (std::vector<int64_t>{1, 3}));
}

// A custom collator (any callable) that records the examples it batches, by the first input id (= the index).
struct RecordingCollator {
  std::shared_ptr<std::vector<int64_t>> seen = std::make_shared<std::vector<int64_t>>();
  models::ModelInputs operator()(const std::vector<collators::Features>& features) const {
    for (const auto& f : features) seen->push_back(f.columns.at("input_ids").at(0));
    return collators::default_data_collator(features);
  }
};

TEST(DataSeedTest, DataOrderFollowsDataSeedNotSeedAndCustomCollatorsPlugIn) {
  TempDir dir;
  auto order = [&](int64_t seed, std::optional<int64_t> data_seed) {
    auto o = base_options(dir.path);
    o.max_steps = 2;  // one epoch of 8 examples in batches of 4
    o.seed = seed;
    o.data_seed = data_seed;
    RecordingCollator collator;
    Trainer trainer(make_model(), o, counting_dataset(8), nullptr, collator);
    trainer.train();
    return *collator.seen;
  };
  const auto with_7 = order(1, 7);
  EXPECT_EQ(with_7, random_permutation(8, 7, 0));  // the sampler's permutation of (data_seed, epoch 0)
  EXPECT_EQ(order(2, 7), with_7);                  // seed changes nothing in the data order
  EXPECT_EQ(order(7, std::nullopt), with_7);       // data_seed unset: seed is used
  EXPECT_NE(order(1, 8), with_7);
}

TEST(DataSeedTest, SequentialSamplerGivesDatasetOrderEveryEpoch) {
  TempDir dir;
  auto o = base_options(dir.path);
  o.num_train_epochs = 2;
  o.sequential_sampler = true;  // transformers v5's train_sampling_strategy="sequential"
  RecordingCollator collator;
  Trainer trainer(make_model(), o, counting_dataset(8), nullptr, collator);
  trainer.train();
  EXPECT_EQ(*collator.seen, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7}));
}

TEST(DataloaderDropLastTest, DropsTheIncompleteBatchFromTheStepCount) {
  TempDir dir;
  auto o = base_options(dir.path);
  o.num_train_epochs = 2;
  RecordingCollator kept;
  Trainer full(make_model(), o, counting_dataset(10), nullptr, kept);  // 10 examples: batches of 4, 4, 2
  full.train();
  EXPECT_EQ(full.state().max_steps, 6);
  EXPECT_EQ(kept.seen->size(), 20u);
  o.dataloader_drop_last = true;
  RecordingCollator dropped;
  Trainer trainer(make_model(), o, counting_dataset(10), nullptr, dropped);
  trainer.train();
  EXPECT_EQ(trainer.state().max_steps, 4);
  EXPECT_EQ(dropped.seen->size(), 16u);
}

// Records the events of the loop by name.
struct EventRecorder : TrainerCallback {
  std::vector<std::string> events;
  void on_train_begin(const TrainerOptions&, TrainerState&, TrainerControl&) override {
    events.push_back("train_begin");
  }
  void on_train_end(const TrainerOptions&, TrainerState&, TrainerControl&) override { events.push_back("train_end"); }
  void on_epoch_begin(const TrainerOptions&, TrainerState&, TrainerControl&) override {
    events.push_back("epoch_begin");
  }
  void on_epoch_end(const TrainerOptions&, TrainerState&, TrainerControl&) override { events.push_back("epoch_end"); }
  void on_step_begin(const TrainerOptions&, TrainerState&, TrainerControl&) override { events.push_back("step_begin"); }
  void on_step_end(const TrainerOptions&, TrainerState&, TrainerControl&) override { events.push_back("step_end"); }
  void on_log(const TrainerOptions&, TrainerState&, TrainerControl&, const Json&) override { events.push_back("log"); }
  void on_prediction_step(const TrainerOptions&, TrainerState&, TrainerControl&, const PredictionStep& s) override {
    events.push_back("prediction_step " + std::to_string(s.step) + "/" + std::to_string(s.num_batches));
  }
  void on_evaluate(const TrainerOptions&, TrainerState&, TrainerControl&, const Metrics&) override {
    events.push_back("evaluate");
  }
  void on_predict(const TrainerOptions&, TrainerState&, TrainerControl&, const Metrics&) override {
    events.push_back("predict");
  }
  void on_save(const TrainerOptions&, TrainerState&, TrainerControl&) override { events.push_back("save"); }
};

TEST(CallbackEventsTest, FireInHfOrderWithEpochStrategies) {
  TempDir dir;
  auto o = base_options(dir.path);
  o.num_train_epochs = 2;  // 8 examples in batches of 4: 2 steps per epoch
  o.logging_strategy = "epoch";
  o.eval_strategy = "epoch";
  o.save_strategy = "epoch";
  o.per_device_eval_batch_size = 2;  // 3 examples: 2 batches
  auto eval = counting_dataset(3);
  Trainer trainer(make_model(), o, counting_dataset(8), eval, collators::default_data_collator);
  auto recorder = std::make_shared<EventRecorder>();
  trainer.add_callback(recorder);
  trainer.train();
  // As HF's _inner_training_loop: epoch_end, then the epoch's log, evaluation (its batches, its log) and save.
  const std::vector<std::string> epoch = {"epoch_begin", "step_begin", "step_end", "step_begin", "step_end",
                                          "epoch_end", "log", "prediction_step 1/2", "prediction_step 2/2",
                                          "log", "evaluate", "save"};
  std::vector<std::string> expected = {"train_begin"};
  for (int e = 0; e < 2; ++e) expected.insert(expected.end(), epoch.begin(), epoch.end());
  expected.insert(expected.end(), {"log", "train_end"});  // the train metrics, then the end
  EXPECT_EQ(recorder->events, expected);
  recorder->events.clear();
  trainer.predict(*eval);
  EXPECT_EQ(recorder->events, (std::vector<std::string>{"prediction_step 1/2", "prediction_step 2/2", "predict"}));
}

struct RaiseSigtermAt : TrainerCallback {
  void on_step_begin(const TrainerOptions&, TrainerState& state, TrainerControl&) override {
    if (state.global_step == 2) std::raise(SIGTERM);  // as `kill -TERM` during step 3
  }
};

TEST(SignalTest, SigtermFinishesTheStepSavesACheckpointAndReturns) {
  TempDir dir;
  auto o = base_options(dir.path);
  o.max_steps = 10;
  o.handle_signals = true;
  Trainer trainer(make_model(), o, counting_dataset(8), nullptr, collators::default_data_collator);
  trainer.add_callback(std::make_shared<RaiseSigtermAt>());
  auto out = trainer.train();
  EXPECT_TRUE(out.interrupted);
  EXPECT_EQ(out.global_step, 3);
  EXPECT_TRUE(fs::exists(fs::path(dir.path) / "checkpoint-3" / "trainer_state.json"));
  // The handler is removed when train() returns: the previous one (the default) is back.
  struct sigaction current {};
  ::sigaction(SIGTERM, nullptr, &current);
  EXPECT_EQ(current.sa_handler, SIG_DFL);
}

}  // namespace
}  // namespace tcpp::trainer
