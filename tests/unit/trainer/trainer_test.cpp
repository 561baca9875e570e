// Tests for the Trainer loop: step counting, HF log entries, accumulation equivalence, exact resume, atomic
// checkpoints, save_total_limit, best-model tracking, early stopping, NaN handling and interruption.
#include "tcpp/trainer/trainer.h"

#include <atomic>
#include <filesystem>
#include <functional>
#include <mutex>
#include <random>

#include <ATen/CPUGeneratorImpl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tcpp/collators/language_modeling.h"
#include "tcpp/core/error.h"
#include "tcpp/core/logging.h"
#include "tcpp/core/progress.h"
#include "tcpp/trainer/checkpoint.h"
#include "tiny_lm.h"

namespace tcpp::trainer {
namespace {

namespace fs = std::filesystem;
using namespace test_util;  // NOLINT: the shared tiny model and datasets
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

// The warnings (but the machine-dependent BLAS advice) logged while it lives.
struct WarningCapture {
  WarningCapture() {
    set_log_sink([this](LogLevel level, const std::string& m) {
      if (level == LogLevel::kWarning && !is_blas_warning(m)) warnings.push_back(m);
    });
  }
  ~WarningCapture() { set_log_sink(nullptr); }
  WarningCapture(const WarningCapture&) = delete;
  WarningCapture& operator=(const WarningCapture&) = delete;
  std::vector<std::string> warnings;
};

TEST(TrainerTest, SamplerPermutationMatchesTorchRandperm) {
  // torch.Generator().manual_seed(42 + epoch); torch.randperm(10, generator=g) with torch 1.13.
  EXPECT_THAT(random_permutation(10, 42, 0), ElementsAre(2, 6, 1, 8, 4, 5, 0, 9, 3, 7));
  EXPECT_THAT(random_permutation(10, 42, 1), ElementsAre(8, 4, 9, 0, 5, 1, 6, 7, 2, 3));
  EXPECT_EQ(num_batches(10, 4, /*drop_last=*/false), 3);
  EXPECT_EQ(num_batches(10, 4, /*drop_last=*/true), 2);
}

TEST(TrainerTest, LossOfTinyModelFalls) {
  TempDir dir;
  auto o = base_options(dir.path);
  o.num_train_epochs = 15;
  o.logging_steps = 5;
  o.learning_rate = 3e-2;
  auto model = make_model();
  Trainer trainer(model, o, counting_dataset(16), nullptr, collators::default_data_collator);
  auto result = trainer.train();
  auto logs = train_logs(trainer.state());
  ASSERT_GE(logs.size(), 4u);
  EXPECT_LT(logs.back()["loss"].get<double>(), 0.5 * logs.front()["loss"].get<double>());
  EXPECT_EQ(result.global_step, 60);  // 4 batches/epoch x 15 epochs
}

TEST(TrainerTest, StepCountingAndLogEntriesFollowHf) {
  TempDir dir;
  auto o = base_options(dir.path);
  o.gradient_accumulation_steps = 3;
  o.num_train_epochs = 2;
  o.logging_steps = 2;
  o.per_device_train_batch_size = 1;
  Trainer trainer(make_model(), o, counting_dataset(10), nullptr, collators::default_data_collator);
  auto result = trainer.train();
  // 10 batches, GA 3 -> 4 updates per epoch (the last window has 1 batch) -> 8 steps.
  EXPECT_EQ(trainer.state().max_steps, 8);
  EXPECT_EQ(result.global_step, 8);
  auto logs = train_logs(trainer.state());
  ASSERT_EQ(logs.size(), 4u);
  std::vector<std::string> keys;
  for (const auto& item : logs[0].items()) keys.push_back(item.key());
  EXPECT_THAT(keys, ElementsAre("epoch", "grad_norm", "learning_rate", "loss", "step"));
  EXPECT_EQ(logs[0]["step"].get<int64_t>(), 2);
  EXPECT_DOUBLE_EQ(logs[0]["epoch"].get<double>(), 0.6);  // 6 of 10 batches
  // linear schedule, no warmup: step 2 used lr0 * (8 - 1) / 8.
  EXPECT_DOUBLE_EQ(logs[0]["learning_rate"].get<double>(), 1e-2 * 7.0 / 8.0);
  const double loss = logs[0]["loss"].get<double>();
  EXPECT_DOUBLE_EQ(loss, python_round(loss, 4));
  const Json& last = trainer.state().log_history.back();
  keys.clear();
  for (const auto& item : last.items()) keys.push_back(item.key());
  EXPECT_THAT(keys, ElementsAre("epoch", "step", "total_flos", "train_loss", "train_runtime",
                                "train_samples_per_second", "train_steps_per_second"));
  EXPECT_DOUBLE_EQ(result.metrics.at("epoch"), 2.0);
  EXPECT_GT(result.metrics.at("total_flos"), 0.0);
}

TEST(TrainerTest, MaxStepsOverridesEpochs) {
  TempDir dir;
  auto o = base_options(dir.path);
  o.max_steps = 7;
  o.num_train_epochs = 100;
  Trainer trainer(make_model(), o, counting_dataset(8), nullptr, collators::default_data_collator);
  EXPECT_EQ(trainer.train().global_step, 7);
  EXPECT_EQ(trainer.state().num_train_epochs, 4);  // 2 updates per epoch
}

TEST(TrainerTest, AccumulationOfFourTimesTwoEqualsBatchOfEight) {
  auto run = [](int64_t batch, int64_t ga) {
    TempDir dir;
    auto o = base_options(dir.path);
    o.per_device_train_batch_size = batch;
    o.gradient_accumulation_steps = ga;
    o.max_steps = 1;
    o.max_grad_norm = 1e6;  // never clips, but logs the (scale-sensitive) gradient norm
    auto model = make_model();
    Trainer trainer(model, o, counting_dataset(8, /*with_ignored_labels=*/true), nullptr, collators::default_data_collator);
    trainer.train();
    const Json log = train_logs(trainer.state()).front();
    return std::make_tuple(params_of(model), log["loss"].get<double>(), log["grad_norm"].get<double>());
  };
  auto [big, big_loss, big_norm] = run(8, 1);
  auto [acc, acc_loss, acc_norm] = run(4, 2);
  for (size_t i = 0; i < big.size(); ++i) EXPECT_TRUE(torch::allclose(big[i], acc[i], 1e-5, 1e-7)) << "param " << i;
  EXPECT_NEAR(big_loss, acc_loss, 1e-4);
  EXPECT_NEAR(big_norm, acc_norm, 1e-6 * big_norm);
  // Half the data gives another gradient: the norm comparison above can fail.
  auto [single, single_loss, single_norm] = run(4, 1);
  EXPECT_GT(std::abs(single_norm - big_norm), 1e-3 * big_norm);
}

// A run of 10 steps equals one stopped after step 5 and resumed from its checkpoint-4, bitwise (weights and every
// logged loss, grad norm and learning rate), with the optimizer `optim` (its state travels in the checkpoint).
// Checkpoint-4 is taken mid-epoch with the next batch collated ahead; with `mid_epoch_eval` an evaluation draws its
// masks at step 4 too, after that batch's, and with `workers` the batches are read ahead by threads. Without a
// `collator_seed` the masks come from the global generator, between dropout's draws (HF's unseeded collator).
void expect_resumed_run_equals_uninterrupted_run(const std::string& optim, const std::string& optim_args,
                                                 bool mid_epoch_eval = false, int workers = 0,
                                                 std::optional<uint64_t> collator_seed = 42) {
  auto options = [&](const std::string& dir) {
    auto o = base_options(dir);
    if (mid_epoch_eval) {
      o.eval_strategy = "steps";
      o.eval_steps = 4;
    }
    o.dataloader_num_workers = workers;
    o.optim = optim;
    o.optim_args = optim_args;
    o.per_device_train_batch_size = 3;
    o.gradient_accumulation_steps = 2;
    o.max_steps = 10;  // 16 examples -> 6 batches -> 3 updates per epoch: resume lands mid-epoch
    o.save_strategy = "steps";
    o.save_steps = 4;
    o.warmup_steps = 2;
    o.weight_decay = 0.1;
    return o;
  };
  TempDir a_dir, b_dir;
  auto a_model = make_model(0, /*causal=*/false, /*dropout=*/0.2);
  auto eval = mid_epoch_eval ? counting_dataset(8) : nullptr;
  Trainer a(a_model, options(a_dir.path), counting_dataset(16), eval, mlm_collator(collator_seed));
  a.train();

  auto b_model = make_model(0, /*causal=*/false, /*dropout=*/0.2);
  {
    Trainer b(b_model, options(b_dir.path), counting_dataset(16), eval, mlm_collator(collator_seed));
    b.add_callback(std::make_shared<StopAt>(5));
    b.train();
  }
  ASSERT_TRUE(fs::exists(fs::path(b_dir.path) / "checkpoint-4"));
  auto c_model = make_model(123, /*causal=*/false, /*dropout=*/0.2);  // different init: weights must come from the checkpoint
  Trainer c(c_model, options(b_dir.path), counting_dataset(16), eval, mlm_collator(collator_seed));
  auto out = c.train(std::string("latest"));
  EXPECT_EQ(out.global_step, 10);
  std::vector<double> eval_a, eval_c;
  for (const auto& e : a.state().log_history)
    if (e.contains("eval_loss")) eval_a.push_back(e["eval_loss"].get<double>());
  for (const auto& e : c.state().log_history)
    if (e.contains("eval_loss")) eval_c.push_back(e["eval_loss"].get<double>());
  EXPECT_EQ(eval_a, eval_c);
  EXPECT_EQ(eval_a.size(), mid_epoch_eval ? 2u : 0u);

  const auto pa = params_of(a_model), pc = params_of(c_model);
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pc[i])) << "param " << i;
  auto la = train_logs(a.state()), lc = train_logs(c.state());
  ASSERT_EQ(la.size(), 10u);
  ASSERT_EQ(lc.size(), 10u);  // 4 from the checkpoint's log_history + 6 new
  for (size_t i = 0; i < la.size(); ++i) {
    EXPECT_EQ(la[i]["loss"], lc[i]["loss"]) << "step " << i + 1;
    EXPECT_EQ(la[i]["grad_norm"], lc[i]["grad_norm"]) << "step " << i + 1;
    EXPECT_EQ(la[i]["learning_rate"], lc[i]["learning_rate"]) << "step " << i + 1;
  }
}

TEST(TrainerTest, ResumedRunEqualsUninterruptedRunBitwise) {
  expect_resumed_run_equals_uninterrupted_run("adamw_torch", "");
}

TEST(TrainerTest, ResumedSgdWithMomentumRunEqualsUninterruptedRunBitwise) {
  expect_resumed_run_equals_uninterrupted_run("sgd", "momentum=0.9,nesterov=true");
}

// Adagrad's, RMSprop's and Adafactor's states travel as pickles too (transformers' optimizer.pt).
TEST(TrainerTest, ResumedAdagradRmspropAndAdafactorRunsEqualUninterruptedRunsBitwise) {
  expect_resumed_run_equals_uninterrupted_run("adagrad", "lr_decay=0.01");
  expect_resumed_run_equals_uninterrupted_run("rmsprop", "momentum=0.5,centered=true");
  expect_resumed_run_equals_uninterrupted_run("adafactor", "");
}

// Runs out of memory (as LibTorch's CUDA allocator reports it) in the first step of every run whose batch is larger
// than `fits`; counts the runs.
struct OutOfMemoryAbove : TrainerCallback {
  explicit OutOfMemoryAbove(int64_t fits) : fits(fits) {}
  void on_train_begin(const TrainerOptions&, TrainerState& s, TrainerControl&) override {
    batch_sizes.push_back(s.train_batch_size);
  }
  void on_step_begin(const TrainerOptions&, TrainerState& s, TrainerControl&) override {
    TORCH_CHECK(s.train_batch_size <= fits, "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 79.1 GiB total)");
  }
  int64_t fits;
  std::vector<int64_t> batch_sizes;
};

// auto_find_batch_size: 8, 7, 6 run out of memory, 5 trains (HF: int(0.9 * size) each time), and a resume starts
// at the size its checkpoint's run found. Without the option, or for another error, no retry.
TEST(TrainerTest, AutoFindBatchSizeRetriesAtNinetyPercentUntilTheBatchFits) {
  TempDir dir;
  auto o = base_options(dir.path);
  o.per_device_train_batch_size = 8;
  o.auto_find_batch_size = true;
  o.max_steps = 4;
  o.save_strategy = "steps";
  o.save_steps = 2;
  auto oom = std::make_shared<OutOfMemoryAbove>(5);
  {
    WarningCapture capture;
    Trainer t(make_model(), o, counting_dataset(40), nullptr, collators::default_data_collator);
    t.add_callback(oom);
    EXPECT_EQ(t.train().global_step, 4);
    EXPECT_EQ(t.state().train_batch_size, 5);
    EXPECT_THAT(capture.warnings,
                ElementsAre(HasSubstr("out of memory at per-device train batch size 8; retrying with 7"),
                            HasSubstr("batch size 7; retrying with 6"), HasSubstr("batch size 6; retrying with 5")));
  }
  EXPECT_THAT(oom->batch_sizes, ElementsAre(8, 7, 6, 5));
  EXPECT_EQ(TrainerState::load_from_json((fs::path(dir.path) / "checkpoint-2" / "trainer_state.json").string())
                .train_batch_size, 5);
  oom->batch_sizes.clear();
  {
    Trainer resumed(make_model(), o, counting_dataset(40), nullptr, collators::default_data_collator);
    resumed.add_callback(oom);
    resumed.train((fs::path(dir.path) / "checkpoint-2").string());
  }
  EXPECT_THAT(oom->batch_sizes, ElementsAre(5));  // the checkpoint's size, without running out again

  o.output_dir = dir.path + "/never";
  o.per_device_train_batch_size = 2;  // 2, then 1: never fits
  Trainer never(make_model(), o, counting_dataset(40), nullptr, collators::default_data_collator);
  never.add_callback(std::make_shared<OutOfMemoryAbove>(0));
  EXPECT_THAT([&] { never.train(); }, ThrowsMessage<Error>(HasSubstr("no executable batch size found, reached zero")));
  o.auto_find_batch_size = false;
  o.per_device_train_batch_size = 8;
  Trainer off(make_model(), o, counting_dataset(40), nullptr, collators::default_data_collator);
  auto once = std::make_shared<OutOfMemoryAbove>(5);
  off.add_callback(once);
  EXPECT_THAT([&] { off.train(); }, ThrowsMessage<c10::Error>(HasSubstr("CUDA out of memory")));
  EXPECT_THAT(once->batch_sizes, ElementsAre(8));
}

TEST(TrainerTest, ResumeAfterAMidEpochEvaluationEqualsUninterruptedRunBitwise) {
  expect_resumed_run_equals_uninterrupted_run("adamw_torch", "", /*mid_epoch_eval=*/true);
  expect_resumed_run_equals_uninterrupted_run("adamw_torch", "", /*mid_epoch_eval=*/true, /*workers=*/2);
}

TEST(TrainerTest, ResumeWithAnUnseededCollatorEqualsUninterruptedRunBitwise) {
  expect_resumed_run_equals_uninterrupted_run("adamw_torch", "", /*mid_epoch_eval=*/true, /*workers=*/0, std::nullopt);
  // With workers the batches of a collator drawing from the global generator are collated on the training thread.
  expect_resumed_run_equals_uninterrupted_run("adamw_torch", "", /*mid_epoch_eval=*/true, /*workers=*/2, std::nullopt);
}

// accelerate's dataloader collates each training batch before handing out the one before it, so an evaluation
// after step k draws from the collator's generator after the first batch of step k + 1 (not at an epoch's end),
// and so does whatever runs after train() stopped mid-epoch. Recorded: which batch drew which number. With
// reader threads the same evaluations draw the same numbers (their speculative reads are rewound).
TEST(TrainerTest, CollatorDrawsFollowAcceleratesOneBatchLookahead) {
  struct Draws {
    std::mutex mutex;
    std::string order;          // first input id of each training batch, E for an evaluation batch
    std::vector<int64_t> eval;  // the numbers the evaluation batches drew
  };
  std::vector<collators::Features> short_examples;  // the eval set: 3 tokens, told apart from training's 6
  for (int64_t i = 0; i < 4; ++i) {
    collators::Features f;
    f.columns["input_ids"] = {i, i + 1, i + 2};
    f.columns["labels"] = f.columns["input_ids"];
    short_examples.push_back(f);
  }
  auto run = [&](int workers) {
    auto draws = std::make_shared<Draws>();
    at::Generator gen = at::detail::createCPUGenerator(5);
    collators::DataCollator recording(
        [draws, gen](const std::vector<collators::Features>& f) mutable {
          auto batch = collators::default_data_collator(f);
          const int64_t value = torch::randint(1000, {1}, gen).item<int64_t>();
          const auto& ids = f.front().columns.at("input_ids");
          std::lock_guard<std::mutex> lock(draws->mutex);
          draws->order += ids.size() == 3 ? "E " : std::to_string(ids[0]) + " ";
          if (ids.size() == 3) draws->eval.push_back(value);
          return batch;
        },
        gen);
    TempDir dir;
    auto o = base_options(dir.path);
    o.per_device_train_batch_size = 2;
    o.per_device_eval_batch_size = 4;
    o.gradient_accumulation_steps = 2;
    o.max_steps = 5;  // 12 examples: 6 batches, 3 steps per epoch; stops in epoch 2 after 2 of its 3 steps
    o.eval_strategy = "steps";
    o.eval_steps = 1;
    o.dataloader_num_workers = workers;
    o.sequential_sampler = true;
    Trainer trainer(make_model(), o, counting_dataset(12), std::make_shared<VectorDataset>(short_examples),
                    recording);
    trainer.train();
    trainer.evaluate();
    return draws;
  };
  const auto plain = run(0);
  // Step 1 trains the batches starting at 0 and 2 and has collated 4 before its evaluation; step 3 ends the epoch
  // (nothing ahead); step 5 stops training with 10 collated, before its evaluation and the final one.
  EXPECT_EQ(plain->order, "0 2 4 E 6 8 E 10 E 0 2 4 E 6 8 E E ");
  EXPECT_EQ(run(2)->eval, plain->eval);
}

TEST(TrainerTest, CrashDuringSaveLeavesNoCheckpointThatResumePicks) {
  TempDir dir;
  auto o = base_options(dir.path);
  o.max_steps = 6;
  o.save_strategy = "steps";
  o.save_steps = 2;
  auto model = make_model();
  Trainer trainer(model, o, counting_dataset(8), nullptr, collators::default_data_collator);
  auto io = torch_archive_model_io();
  int saves = 0;
  ModelIO crashing = io;
  crashing.save = [&](const models::PreTrainedModelImpl& m, const std::string& d) {
    io.save(m, d);
    if (++saves == 2) throw std::runtime_error("simulated crash while writing " + d);
  };
  trainer.set_model_io(crashing);
  EXPECT_THROW(trainer.train(), std::runtime_error);
  EXPECT_TRUE(fs::exists(fs::path(dir.path) / "tmp-checkpoint-4" / "model.pt"));  // the half-written folder
  EXPECT_FALSE(fs::exists(fs::path(dir.path) / "checkpoint-4"));
  ASSERT_TRUE(get_last_checkpoint(dir.path).has_value());
  EXPECT_EQ(fs::path(*get_last_checkpoint(dir.path)).filename(), "checkpoint-2");

  Trainer resumed(make_model(), o, counting_dataset(8), nullptr, collators::default_data_collator);
  auto out = resumed.train(std::string("latest"));
  EXPECT_EQ(out.global_step, 6);
  EXPECT_TRUE(fs::exists(fs::path(dir.path) / "checkpoint-6" / "trainer_state.json"));
  EXPECT_FALSE(fs::exists(fs::path(dir.path) / "tmp-checkpoint-4"));  // restaged and committed
}

TEST(TrainerTest, CheckpointHasHfLayoutAndState) {
  TempDir dir;
  auto o = base_options(dir.path);
  o.max_steps = 2;
  o.save_strategy = "steps";
  o.save_steps = 2;
  Trainer trainer(make_model(), o, counting_dataset(8), nullptr, collators::default_data_collator);
  trainer.train();
  const auto ckpt = fs::path(dir.path) / "checkpoint-2";
  for (const char* f : {"model.pt", "config.json", "optimizer.pt", "scheduler.json", "rng_state.pt",
                        "trainer_state.json", "training_args.json"})
    EXPECT_TRUE(fs::exists(ckpt / f)) << f;
  const Json state = read_json_file((ckpt / "trainer_state.json").string());
  std::vector<std::string> keys;
  for (const auto& item : state.items()) keys.push_back(item.key());
  EXPECT_THAT(keys, ElementsAre("best_global_step", "best_metric", "best_model_checkpoint", "epoch", "eval_steps",
                                "global_step", "is_hyper_param_search", "is_local_process_zero",
                                "is_world_process_zero", "log_history", "logging_steps", "max_steps",
                                "num_input_tokens_seen", "num_train_epochs", "save_steps", "stateful_callbacks",
                                "total_flos", "train_batch_size", "trial_name", "trial_params"));
  EXPECT_EQ(state["global_step"], 2);
  EXPECT_TRUE(state["stateful_callbacks"].contains("TrainerControl"));
}

TEST(TrainerTest, ResumeFromMissingCheckpointNamesTheOutputDir) {
  TempDir dir;
  auto o = base_options(dir.path);
  o.max_steps = 2;
  Trainer trainer(make_model(), o, counting_dataset(8), nullptr, collators::default_data_collator);
  EXPECT_THAT([&] { trainer.train(std::string("latest")); },
              ThrowsMessage<InputError>(HasSubstr("resume_from_checkpoint: no valid checkpoint found in output directory (" + dir.path)));
  EXPECT_THAT([&] { trainer.train(dir.path + "/checkpoint-9"); },
              ThrowsMessage<InputError>(HasSubstr(dir.path + "/checkpoint-9: not a checkpoint")));
}

// compute_metrics returning a scripted "score" per evaluation.
ComputeMetricsFn scripted_score(std::vector<double> scores) {
  auto i = std::make_shared<size_t>(0);
  return [scores, i](const torch::Tensor&, const torch::Tensor&) {
    return Metrics{{"score", scores.at(std::min((*i)++, scores.size() - 1))}};
  };
}

// One step per epoch of 8 examples, saving and evaluating at every step, ranked by the "score" metric.
TrainerOptions save_and_evaluate_every_step(const std::string& dir, int64_t max_steps) {
  auto o = base_options(dir);
  o.max_steps = max_steps;
  o.per_device_train_batch_size = 8;
  o.save_strategy = "steps";
  o.save_steps = 1;
  o.eval_strategy = "steps";
  o.eval_steps = 1;
  o.metric_for_best_model = "score";
  return o;
}

// The steps of the checkpoint-N folders in dir.
std::vector<int64_t> checkpoint_steps(const std::string& dir) {
  std::vector<int64_t> steps;
  for (const auto& c : list_checkpoints(dir)) steps.push_back(c.step);
  return steps;
}

TEST(TrainerTest, SaveTotalLimitKeepsNewestAndBest) {
  TempDir dir;
  auto o = save_and_evaluate_every_step(dir.path, 5);
  o.save_total_limit = 2;
  o.load_best_model_at_end = true;
  Trainer trainer(make_model(), o, counting_dataset(8), counting_dataset(4), collators::default_data_collator);
  trainer.set_compute_metrics(scripted_score({5, 9, 3, 2, 1}));
  trainer.train();
  EXPECT_THAT(checkpoint_steps(dir.path), ElementsAre(2, 5));
  EXPECT_EQ(trainer.state().best_metric, 9.0);
  EXPECT_EQ(trainer.state().best_global_step, 2);
  EXPECT_EQ(trainer.state().best_model_checkpoint, (fs::path(dir.path) / "checkpoint-2").string());
}

// HF: with save_total_limit 1 the newest stays beside the best while training (to resume from), and once training
// is over only the best is left.
TEST(TrainerTest, SaveTotalLimitOneLeavesOnlyTheBestOnceTrainingIsOver) {
  TempDir dir;
  auto o = save_and_evaluate_every_step(dir.path, 4);
  o.save_total_limit = 1;
  Trainer trainer(make_model(), o, counting_dataset(8), counting_dataset(4), collators::default_data_collator);
  trainer.set_compute_metrics(scripted_score({5, 9, 3, 2}));
  std::vector<std::vector<int64_t>> during;
  struct Watch : TrainerCallback {
    std::string dir;
    std::vector<std::vector<int64_t>>* seen;
    std::string name() const override { return "Watch"; }
    void on_step_end(const TrainerOptions&, TrainerState&, TrainerControl&) override {
      seen->push_back(checkpoint_steps(dir));
    }
  };
  auto watch = std::make_shared<Watch>();
  watch->dir = dir.path;
  watch->seen = &during;
  trainer.add_callback(watch);
  trainer.train();
  ASSERT_EQ(during.size(), 4u);
  EXPECT_THAT(during[3], ElementsAre(2, 3));  // at step 4's end (before its save): the best and the newest
  EXPECT_THAT(checkpoint_steps(dir.path), ElementsAre(2));
  EXPECT_EQ(trainer.state().best_model_checkpoint, (fs::path(dir.path) / "checkpoint-2").string());
}

TEST(TrainerTest, LoadBestModelAtEndRestoresBestWeights) {
  TempDir dir;
  auto o = save_and_evaluate_every_step(dir.path, 3);
  o.load_best_model_at_end = true;
  auto model = make_model();
  Trainer trainer(model, o, counting_dataset(8), counting_dataset(4), collators::default_data_collator);
  trainer.set_compute_metrics(scripted_score({1, 7, 2}));
  trainer.train();
  auto best = make_model(99);
  torch_archive_model_io().load(*best, (fs::path(dir.path) / "checkpoint-2").string());
  const auto pm = params_of(model), pb = params_of(best);
  for (size_t i = 0; i < pm.size(); ++i) EXPECT_TRUE(torch::equal(pm[i], pb[i]));
}

TEST(TrainerTest, EarlyStoppingStopsAfterPatienceEvaluationsWithoutImprovement) {
  TempDir dir;
  auto o = base_options(dir.path);
  o.max_steps = 20;
  o.per_device_train_batch_size = 8;
  o.save_strategy = "steps";
  o.save_steps = 1;
  o.eval_strategy = "steps";
  o.eval_steps = 1;
  o.load_best_model_at_end = true;
  o.metric_for_best_model = "score";
  Trainer trainer(make_model(), o, counting_dataset(8), counting_dataset(4), collators::default_data_collator);
  trainer.set_compute_metrics(scripted_score({1, 2, 2, 2, 2}));
  auto early = std::make_shared<EarlyStoppingCallback>(2);
  trainer.add_callback(early);
  EXPECT_EQ(trainer.train().global_step, 4);  // best at 2, no improvement at 3 and 4
  EXPECT_EQ(early->patience_counter(), 2);
  const Json state = read_json_file((fs::path(dir.path) / "checkpoint-4" / "trainer_state.json").string());
  EXPECT_EQ(state["stateful_callbacks"]["EarlyStoppingCallback"]["attributes"]["early_stopping_patience_counter"], 2);
}

TEST(TrainerTest, EarlyStoppingWithoutLoadBestIsRejected) {
  TempDir dir;
  auto o = base_options(dir.path);
  o.max_steps = 2;
  Trainer trainer(make_model(), o, counting_dataset(8), nullptr, collators::default_data_collator);
  trainer.add_callback(std::make_shared<EarlyStoppingCallback>());
  EXPECT_THAT([&] { trainer.train(); }, ThrowsMessage<InputError>(HasSubstr("load_best_model_at_end")));
}

TEST(TrainerTest, EvalLossIsSampleWeightedMeanOfBatchMeans) {
  TempDir dir;
  auto o = base_options(dir.path);
  o.per_device_eval_batch_size = 2;
  auto model = make_model();
  auto eval = counting_dataset(5, /*with_ignored_labels=*/true);
  Trainer trainer(model, o, nullptr, eval, collators::default_data_collator);
  auto metrics = trainer.evaluate();
  torch::NoGradGuard no_grad;
  model->eval();
  double expected = 0;
  for (auto [begin, size] : std::vector<std::pair<int64_t, int64_t>>{{0, 2}, {2, 2}, {4, 1}}) {
    std::vector<collators::Features> f;
    for (int64_t i = begin; i < begin + size; ++i) f.push_back(eval->get(i));
    expected += model->forward(collators::default_data_collator(f)).loss.item<double>() * static_cast<double>(size);
  }
  EXPECT_NEAR(metrics.at("eval_loss"), expected / 5.0, 1e-6);
  EXPECT_NEAR(metrics.at("perplexity"), std::exp(metrics.at("eval_loss")), 1e-9);
  EXPECT_TRUE(metrics.count("eval_runtime"));
  EXPECT_TRUE(metrics.count("eval_samples_per_second"));
}

// The lengths the length-grouping references below were computed for: 40 examples of 1 to 11 tokens.
std::vector<int64_t> forty_lengths() {
  std::vector<int64_t> lengths;
  for (int64_t i = 0; i < 40; ++i) lengths.push_back((i * 7) % 11 + 1);
  return lengths;
}

TEST(TrainerTest, LengthGroupedPermutationMatchesHf) {
  // transformers' get_length_grouped_indices(lengths, 4, generator=torch.Generator().manual_seed(43)), torch 1.13.
  const auto lengths = forty_lengths();
  at::Generator gen = at::detail::createCPUGenerator(43);
  EXPECT_THAT(length_grouped_indices(lengths, 4, gen),
              ElementsAre(25, 17, 34, 23, 1, 15, 35, 19, 28, 14, 20, 4, 18, 38, 11, 22, 3, 39, 31, 9, 21, 27, 5, 0, 26,
                          37, 29, 32, 24, 2, 16, 33, 36, 6, 12, 7, 10, 13, 8, 30));
}

TEST(TrainerTest, LengthGroupedEpochsFollowHfsGlobalGeneratorDraws) {
  // transformers 5.12 / torch 2.14: torch.manual_seed(42), then per epoch the DataLoader iterator's base seed
  // (torch.empty((), dtype=torch.int64).random_()) and get_length_grouped_indices(lengths, 4).
  const auto lengths = forty_lengths();
  EXPECT_THAT(length_grouped_permutation(lengths, 4, 42, 0),
              ElementsAre(36, 6, 20, 9, 4, 24, 5, 30, 25, 3, 14, 17, 26, 35, 27, 11, 39, 31, 12, 18, 13, 16, 19, 33,
                          28, 34, 15, 29, 7, 38, 8, 22, 23, 1, 37, 10, 32, 21, 2, 0));
  EXPECT_THAT(length_grouped_permutation(lengths, 4, 42, 1),
              ElementsAre(25, 39, 28, 31, 26, 7, 38, 11, 14, 3, 9, 20, 23, 37, 18, 19, 6, 1, 12, 15, 21, 24, 13, 27,
                          4, 29, 32, 10, 35, 5, 8, 33, 36, 17, 34, 2, 16, 30, 22, 0));
}

TEST(TrainerTest, GroupByLengthTrainsOnPaddedBatches) {
  TempDir dir;
  auto o = base_options(dir.path);
  o.group_by_length = true;
  o.num_train_epochs = 2;
  std::vector<collators::Features> examples;
  for (int64_t i = 0; i < 12; ++i) {
    collators::Features f;
    for (int64_t t = 0; t < 2 + i % 5; ++t) f.columns["input_ids"].push_back((i + t) % 12);
    f.columns["labels"] = f.columns["input_ids"];
    examples.push_back(f);
  }
  collators::PaddingOptions padding;
  padding.pad_token_id = 0;
  Trainer trainer(make_model(), o, std::make_shared<VectorDataset>(examples), nullptr,
                  collators::DataCollatorWithPadding(padding));
  EXPECT_EQ(trainer.train().global_step, 6);
}

// HF's LengthGroupedSampler reads length_column_name only when remove_unused_columns left it in the dataset (off);
// otherwise, or when the column is missing, it measures input_ids.
TEST(TrainerTest, GroupByLengthReadsTheLengthColumnOnlyWithUnusedColumnsKept) {
  std::vector<collators::Features> examples;
  for (int64_t i = 0; i < 24; ++i) {
    collators::Features f;
    for (int64_t t = 0; t < 2 + i % 7; ++t) f.columns["input_ids"].push_back((i * 3 + t) % 12);
    f.columns["labels"] = f.columns["input_ids"];
    f.scalars["n_tokens"] = 100 - static_cast<int64_t>(f.columns["input_ids"].size()) * (i % 2 ? 1 : 3);
    examples.push_back(f);
  }
  auto dataset = std::make_shared<VectorDataset>(examples);
  EXPECT_EQ(dataset->length(3), 2 + 3);
  EXPECT_EQ(dataset->length(3, "n_tokens"), 95);
  EXPECT_EQ(dataset->length(3, "no_such_column"), 5);
  auto final_loss = [&](bool remove_unused, const std::string& column) {
    TempDir dir;
    auto o = base_options(dir.path);
    o.group_by_length = true;
    o.remove_unused_columns = remove_unused;
    o.length_column_name = column;
    collators::PaddingOptions padding;
    padding.pad_token_id = 0;
    Trainer trainer(make_model(), o, dataset, nullptr, collators::DataCollatorWithPadding(padding));
    return trainer.train().training_loss;
  };
  const double by_input_ids = final_loss(true, "n_tokens");
  EXPECT_EQ(final_loss(false, "no_such_column"), by_input_ids);
  EXPECT_NE(final_loss(false, "n_tokens"), by_input_ids);  // another grouping, other batches
}

// group_by_length groups evaluations too, as HF 4.57's _get_eval_sampler: a length-grouped order of eval_batch_size
// drawn from the same generator as the training epochs' (seeded with `seed`; each DataLoader first takes a base
// seed). A run stopped after a mid-epoch evaluation and resumed equals the uninterrupted one, evaluations included.
TEST(TrainerTest, GroupByLengthGroupsEvaluationsAndResumesExactly) {
  std::vector<collators::Features> examples;
  for (int64_t i = 0; i < 24; ++i) {
    collators::Features f;
    for (int64_t t = 0; t < 2 + (i * 5) % 7; ++t) f.columns["input_ids"].push_back((i * 3 + t) % 12);
    f.columns["labels"] = f.columns["input_ids"];
    examples.push_back(f);
  }
  auto train = std::make_shared<VectorDataset>(examples);
  auto eval = std::make_shared<VectorDataset>(std::vector<collators::Features>(examples.begin(), examples.begin() + 10));
  collators::PaddingOptions padding;
  padding.pad_token_id = 0;
  // The first evaluation (eval_on_start) sees the generator fresh from the seed: one base-seed draw, then HF's
  // grouping of the eval lengths in batches of 4. Recorded through the collator: each batch's first example.
  std::vector<int64_t> first_ids;
  collators::DataCollator recording = [&](const std::vector<collators::Features>& f) {
    first_ids.push_back(f.front().columns.at("input_ids").size());
    return collators::DataCollatorWithPadding(padding)(f);
  };
  auto options = [&](const std::string& dir) {
    auto o = base_options(dir);
    o.group_by_length = true;
    o.per_device_eval_batch_size = 4;
    o.num_train_epochs = 2;  // 24 examples, batches of 4: 6 steps per epoch
    o.eval_strategy = "steps";
    o.eval_steps = 2;
    o.save_strategy = "steps";
    o.save_steps = 5;
    return o;
  };
  TempDir ref_dir;
  {
    Trainer first(make_model(), options(ref_dir.path), train, eval, recording);
    first.evaluate();  // before any draw
  }
  std::vector<int64_t> lengths;
  for (int64_t i = 0; i < eval->size(); ++i) lengths.push_back(eval->length(i));
  at::Generator gen = at::detail::createCPUGenerator(42);
  torch::empty({}, torch::kInt64).random_(gen);
  const auto expected_order = length_grouped_indices(lengths, 4, gen);
  std::vector<int64_t> expected_first;
  for (size_t b = 0; b < expected_order.size(); b += 4) expected_first.push_back(lengths[expected_order[b]]);
  EXPECT_EQ(first_ids, expected_first);

  TempDir a_dir, b_dir;
  Trainer a(make_model(), options(a_dir.path), train, eval, collators::DataCollatorWithPadding(padding));
  a.train();
  {
    Trainer b(make_model(), options(b_dir.path), train, eval, collators::DataCollatorWithPadding(padding));
    b.add_callback(std::make_shared<StopAt>(6));  // checkpoint-5: mid-epoch, after the evaluation at step 4
    b.train();
  }
  ASSERT_TRUE(fs::exists(fs::path(b_dir.path) / "checkpoint-5"));
  fs::remove_all(fs::path(b_dir.path) / "checkpoint-6");
  Trainer c(make_model(123), options(b_dir.path), train, eval, collators::DataCollatorWithPadding(padding));
  c.train(std::string(b_dir.path + "/checkpoint-5"));
  auto entries = [](const TrainerState& s, const char* key) {
    std::vector<double> v;
    for (const auto& e : s.log_history)
      if (e.contains(key)) v.push_back(e[key].get<double>());
    return v;
  };
  EXPECT_EQ(entries(a.state(), "loss"), entries(c.state(), "loss"));
  EXPECT_EQ(entries(a.state(), "eval_loss"), entries(c.state(), "eval_loss"));
  EXPECT_EQ(entries(a.state(), "eval_loss").size(), 6u);
}

TEST(TrainerTest, LabelSmoothingLossMatchesHfFormula) {
  TempDir dir;
  auto o = base_options(dir.path);
  o.label_smoothing_factor = 0.1;
  o.per_device_eval_batch_size = 8;
  auto model = make_model();
  auto eval = counting_dataset(4, /*with_ignored_labels=*/true);
  Trainer trainer(model, o, nullptr, eval, collators::default_data_collator);
  const double got = trainer.evaluate().at("eval_loss");
  std::vector<collators::Features> f;
  for (int64_t i = 0; i < 4; ++i) f.push_back(eval->get(i));
  auto batch = collators::default_data_collator(f);
  torch::NoGradGuard no_grad;
  model->eval();
  // LabelSmoother: (1 - eps) * mean NLL + eps * mean over active tokens of mean over the vocab of -log p.
  models::ModelInputs no_labels;
  no_labels.input_ids = batch.input_ids;
  auto logits = model->forward(no_labels).logits.narrow(1, 0, 5);
  auto labels = batch.labels.narrow(1, 1, 5);
  auto logp = torch::log_softmax(logits, -1);
  auto active = labels.ne(-100);
  auto nll = -logp.gather(-1, labels.clamp_min(0).unsqueeze(-1)).squeeze(-1).masked_select(active).mean();
  auto uniform = -logp.mean(-1).masked_select(active).mean();
  EXPECT_NEAR(got, (0.9 * nll + 0.1 * uniform).item<double>(), 1e-6);
}

TEST(TrainerTest, EpochStrategiesLogEvaluateAndSaveAtEpochEnd) {
  TempDir dir;
  auto o = base_options(dir.path);
  o.num_train_epochs = 2;
  o.logging_strategy = "epoch";
  o.eval_strategy = "epoch";
  o.save_strategy = "epoch";
  Trainer trainer(make_model(), o, counting_dataset(8), counting_dataset(4), collators::default_data_collator);
  trainer.train();
  std::vector<int64_t> train_steps, eval_steps;
  for (const auto& e : trainer.state().log_history) {
    if (e.contains("loss")) train_steps.push_back(e["step"].get<int64_t>());
    if (e.contains("eval_loss")) eval_steps.push_back(e["step"].get<int64_t>());
  }
  EXPECT_THAT(train_steps, ElementsAre(2, 4));
  EXPECT_THAT(eval_steps, ElementsAre(2, 4));
  std::vector<int64_t> saved;
  for (const auto& c : list_checkpoints(dir.path)) saved.push_back(c.step);
  EXPECT_THAT(saved, ElementsAre(2, 4));
}

// eval_delay is a float in HF: 1.5 epochs first evaluates at the end of epoch 2, 2.5 steps at step 3.
TEST(TrainerTest, FractionalEvalDelayWaitsPastTheFraction) {
  auto eval_steps_of = [](TrainerOptions o) {
    Trainer trainer(make_model(), o, counting_dataset(8), counting_dataset(4), collators::default_data_collator);
    trainer.train();
    std::vector<int64_t> steps;
    for (const auto& e : trainer.state().log_history)
      if (e.contains("eval_loss")) steps.push_back(e["step"].get<int64_t>());
    return steps;
  };
  TempDir dir;
  auto o = base_options(dir.path);
  o.num_train_epochs = 3;
  o.eval_strategy = "epoch";
  o.eval_delay = 1.5;
  EXPECT_THAT(eval_steps_of(o), ElementsAre(4, 6));
  TempDir dir2;
  auto s = base_options(dir2.path);
  s.max_steps = 4;
  s.eval_strategy = "steps";
  s.eval_steps = 1;
  s.eval_delay = 2.5;
  EXPECT_THAT(eval_steps_of(s), ElementsAre(3, 4));
}

// bf16_full_eval: evaluations inside train() keep float32 weights; evaluate() afterwards casts the model to bfloat16
// (and it stays so, as HF's model.to); fp16_full_eval is refused on the CPU.
TEST(TrainerTest, Bf16FullEvalCastsTheModelOnlyOutsideTraining) {
  TempDir dir;
  auto o = base_options(dir.path);
  o.max_steps = 2;
  o.eval_strategy = "steps";
  o.eval_steps = 1;
  o.bf16_full_eval = true;
  auto model = make_model();
  Trainer trainer(model, o, counting_dataset(8), counting_dataset(4), collators::default_data_collator);
  trainer.train();
  EXPECT_EQ(model->parameters().front().scalar_type(), torch::kFloat32);
  const double bf16_loss = trainer.evaluate().at("eval_loss");  // the first evaluate() casts before running
  EXPECT_EQ(model->parameters().front().scalar_type(), torch::kBFloat16);
  TempDir dir2;
  auto plain = base_options(dir2.path);
  plain.max_steps = 2;
  auto reference = make_model();
  Trainer again(reference, plain, counting_dataset(8), counting_dataset(4), collators::default_data_collator);
  again.train();
  const double reference_loss = again.evaluate().at("eval_loss");
  EXPECT_NE(bf16_loss, reference_loss);                    // evaluated in bfloat16
  EXPECT_NEAR(bf16_loss, reference_loss, 0.05 * reference_loss);
  auto bad = base_options(dir.path);
  bad.fp16_full_eval = true;
  EXPECT_THAT([&] { Trainer t(make_model(), bad, counting_dataset(8), nullptr, collators::default_data_collator); },
              ThrowsMessage<InputError>(HasSubstr("fp16_full_eval: float16 evaluation needs a CUDA device")));
}

// full_determinism switches LibTorch to deterministic algorithms (HF's enable_full_determinism) and trains as
// before; tf32 needs a CUDA device, as HF's TrainingArguments checks.
TEST(TrainerTest, FullDeterminismAndTf32AreHonoured) {
  TempDir dir;
  auto o = base_options(dir.path);
  o.max_steps = 2;
  auto loss_of = [&](const TrainerOptions& opts) {
    Trainer trainer(make_model(), opts, counting_dataset(8), nullptr, collators::default_data_collator);
    return trainer.train().training_loss;
  };
  const double plain = loss_of(o);
  ASSERT_FALSE(at::globalContext().deterministicAlgorithms());
  o.full_determinism = true;
  const double deterministic = loss_of(o);
  EXPECT_TRUE(at::globalContext().deterministicAlgorithms());
  EXPECT_STREQ(std::getenv("CUBLAS_WORKSPACE_CONFIG"), ":16:8");
  at::globalContext().setDeterministicAlgorithms(false, false);  // process-wide: leave it as the other tests expect
  EXPECT_EQ(plain, deterministic);
  if (!torch::cuda::is_available()) {
    auto t = base_options(dir.path);
    t.tf32 = true;
    EXPECT_THAT([&] { Trainer x(make_model(), t, counting_dataset(8), nullptr, collators::default_data_collator); },
                ThrowsMessage<InputError>(HasSubstr("tf32: --tf32 requires Ampere or a newer GPU arch")));
    t.tf32 = false;  // allowed anywhere (HF turns TF32 off where it exists)
    EXPECT_NO_THROW(Trainer(make_model(), t, counting_dataset(8), nullptr, collators::default_data_collator));
  }
}

TEST(TrainerTest, ReduceLrOnPlateauHalvesLrAfterStaleEvaluation) {
  TempDir dir;
  auto o = base_options(dir.path);
  o.max_steps = 4;
  o.per_device_train_batch_size = 8;
  o.eval_strategy = "steps";
  o.eval_steps = 1;
  o.metric_for_best_model = "score";
  o.greater_is_better = true;
  o.lr_scheduler_type = "reduce_lr_on_plateau";
  o.lr_scheduler_kwargs = {{"mode", "max"}, {"patience", 0}, {"factor", 0.5}};
  Trainer trainer(make_model(), o, counting_dataset(8), counting_dataset(4), collators::default_data_collator);
  trainer.set_compute_metrics(scripted_score({1, 1, 1, 1}));
  trainer.train();
  std::vector<double> lrs;
  for (const auto& e : train_logs(trainer.state())) lrs.push_back(e["learning_rate"].get<double>());
  EXPECT_THAT(lrs, ElementsAre(1e-2, 1e-2, 5e-3, 2.5e-3));
}

// Counts get() calls, to check that resume does not read the skipped examples.
struct CountingDataset : VectorDataset {
  using VectorDataset::VectorDataset;
  collators::Features get(int64_t index) const override {
    ++gets;
    return VectorDataset::get(index);
  }
  mutable int64_t gets = 0;
};

TEST(TrainerTest, ResumeSkipsConsumedBatchesWithoutReadingThem) {
  TempDir dir;
  auto o = base_options(dir.path);
  o.max_steps = 6;  // 16 examples / 4 = 4 steps per epoch
  o.save_strategy = "steps";
  o.save_steps = 3;
  std::vector<collators::Features> examples;
  for (int64_t i = 0; i < 16; ++i) examples.push_back(counting_dataset(16)->get(i));
  Trainer first(make_model(), o, std::make_shared<CountingDataset>(examples), nullptr, collators::default_data_collator);
  first.train();
  auto data = std::make_shared<CountingDataset>(examples);
  Trainer resumed(make_model(), o, data, nullptr, collators::default_data_collator);
  resumed.train((fs::path(dir.path) / "checkpoint-3").string());
  EXPECT_EQ(data->gets, 3 * 4);  // steps 4..6 only
}

TEST(TrainerTest, SaveOnlyModelCheckpointCannotBeResumed) {
  TempDir dir;
  auto o = base_options(dir.path);
  o.max_steps = 2;
  o.save_strategy = "steps";
  o.save_steps = 2;
  o.save_only_model = true;
  Trainer trainer(make_model(), o, counting_dataset(8), nullptr, collators::default_data_collator);
  trainer.train();
  EXPECT_FALSE(fs::exists(fs::path(dir.path) / "checkpoint-2" / "optimizer.pt"));
  EXPECT_THAT([&] { trainer.train(std::string("latest")); },
              ThrowsMessage<InputError>(HasSubstr("checkpoint-2: missing optimizer.pt: the checkpoint was saved with save_only_model")));
}

TEST(TrainerTest, ResumeWithAnotherBatchSizeWarns) {
  TempDir dir;
  auto o = base_options(dir.path);
  o.max_steps = 2;
  o.save_strategy = "steps";
  o.save_steps = 2;
  Trainer(make_model(), o, counting_dataset(8), nullptr, collators::default_data_collator).train();
  o.max_steps = 3;
  o.per_device_train_batch_size = 2;
  WarningCapture capture;
  Trainer resumed(make_model(), o, counting_dataset(8), nullptr, collators::default_data_collator);
  resumed.train(std::string("latest"));
  const auto& warnings = capture.warnings;
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr("checkpoint-2, which was trained with per_device_train_batch_size=4"));
}

TEST(TrainerTest, ResumeFromADamagedCheckpointNamesTheFile) {
  TempDir dir;
  auto o = base_options(dir.path);
  o.max_steps = 2;
  o.save_strategy = "steps";
  o.save_steps = 2;
  Trainer(make_model(), o, counting_dataset(8), nullptr, collators::default_data_collator).train();
  const auto ckpt = fs::path(dir.path) / "checkpoint-2";
  ASSERT_TRUE(fs::exists(ckpt / "checkpoint_manifest.json"));
  fs::resize_file(ckpt / "optimizer.pt", fs::file_size(ckpt / "optimizer.pt") / 2);  // a truncated copy
  o.max_steps = 3;
  Trainer resumed(make_model(), o, counting_dataset(8), nullptr, collators::default_data_collator);
  EXPECT_THAT([&] { resumed.train(ckpt.string()); },
              ThrowsMessage<InputError>(HasSubstr((ckpt / "optimizer.pt").string() + ": has ")));
}

TEST(TrainerTest, TerminalProgressBarRedrawsInPlaceWithLogLinesAboveIt) {
  TempDir dir;
  auto o = base_options(dir.path);
  o.max_steps = 4;
  o.logging_steps = 2;
  Trainer trainer(make_model(), o, counting_dataset(8), nullptr, collators::default_data_collator);
  std::string screen;
  set_console_writer([&](const std::string& t) { screen += t; });
  trainer.add_callback(std::make_shared<TerminalProgressCallback>());
  const auto level = log_level();
  set_log_level(LogLevel::kInfo);
  trainer.train();
  set_log_level(level);
  set_console_writer(nullptr);
  ASSERT_NE(screen.find('\r'), std::string::npos) << screen;
  screen = screen.substr(screen.find('\r'));  // from the bar's first frame on (the startup summary comes before)
  EXPECT_EQ(screen.rfind("\r[..............................] step 0/4 (0%)", 0), 0u) << screen;
  EXPECT_THAT(screen, HasSubstr("\r\x1b[K[INFO] {\"epoch\": 1.0, \"grad_norm\""));  // the step-2 log, own line
  EXPECT_THAT(screen, HasSubstr("\r[##############################] step 4/4 (100%)"));
  EXPECT_EQ(screen.back(), '\n');
  EXPECT_EQ(screen.find("}\r["), std::string::npos) << "a log line ran into the bar";
}

// Every "\rEvaluation: ..." frame in text, with whether a newline follows it (a bar left on the screen).
std::vector<std::pair<std::string, bool>> evaluation_frames(const std::string& text) {
  std::vector<std::pair<std::string, bool>> out;
  for (size_t pos = text.find("\rEvaluation: "); pos != std::string::npos; pos = text.find("\rEvaluation: ", pos + 1)) {
    const size_t end = text.find("\x1b[K", pos);
    if (end == std::string::npos) break;
    out.emplace_back(text.substr(pos + 1, end - pos - 1), text.compare(end + 3, 1, "\n") == 0);
  }
  return out;
}

TEST(TrainerTest, EvaluationBarDrawsOverTheTrainingBarAndIsErasedAfterIt) {
  TempDir dir;
  auto o = base_options(dir.path);
  o.max_steps = 4;
  o.logging_steps = 2;
  o.eval_strategy = "steps";
  o.eval_steps = 2;
  o.per_device_eval_batch_size = 2;  // 5 examples: 3 batches
  o.include_num_input_tokens_seen = "all";  // the bar shows tokens/s
  Trainer trainer(make_model(), o, counting_dataset(8), counting_dataset(5), collators::default_data_collator);
  // A clock that moves a second each time it is read: every update is due for a redraw, whatever the machine.
  auto t = std::make_shared<Progress::Clock::time_point>();
  ProgressCallback::Options po;
  po.style = ProgressStyle::kBar;
  po.now = [t] { return *t += std::chrono::seconds(1); };
  trainer.add_callback(std::make_shared<ProgressCallback>(po));
  std::string screen;
  set_console_writer([&](const std::string& text) { screen += text; });
  const auto level = log_level();
  set_log_level(LogLevel::kInfo);
  trainer.train();
  const size_t training_end = screen.size();
  trainer.evaluate();  // on its own: the bar stays as a line (HF: leave when there is no training bar)
  set_log_level(level);
  set_console_writer(nullptr);
  const std::string during = screen.substr(0, training_end), after = screen.substr(training_end);

  const auto frames = evaluation_frames(during);
  ASSERT_FALSE(frames.empty()) << during;
  EXPECT_EQ(frames.front().first, "Evaluation: [..............................] 0% 0/3 batches");
  int full = 0;
  for (const auto& [frame, left] : frames) {
    EXPECT_FALSE(left) << "an evaluation bar was left on the screen during training: " << frame;
    full += frame.rfind("Evaluation: [##############################] 100% 3/3 batches", 0) == 0;
  }
  EXPECT_EQ(full, 4);  // in each of the evaluations at steps 2 and 4: drawn at 3/3, then again below its log line
  // The eval log line is printed above the evaluation bar, which is then erased and the training bar drawn again.
  const size_t log_at = during.find("[INFO] {\"epoch\": 1.0, \"eval_loss\"");
  ASSERT_NE(log_at, std::string::npos) << during;
  EXPECT_EQ(during.compare(log_at - 4, 4, "\r\x1b[K"), 0);
  const size_t below = during.find('\n', log_at) + 1;
  EXPECT_EQ(during.compare(below, 45, "\rEvaluation: [##############################]"), 0) << during.substr(below);
  EXPECT_THAT(during, HasSubstr("\r\x1b[K\r[###############...............] step 2/4 (50%)"));
  EXPECT_EQ(during.find("}\r"), std::string::npos) << "a log line ran into a bar";
  // The training bar's last frame: loss and lr of the last log, the epoch, and the input tokens per second.
  const size_t last = during.rfind("\r[##############################] step 4/4 (100%)");
  ASSERT_NE(last, std::string::npos) << during;
  const std::string last_frame = during.substr(last, during.find("\x1b[K", last) - last);
  EXPECT_THAT(last_frame, HasSubstr(" | loss "));
  EXPECT_THAT(last_frame, HasSubstr(" | lr "));
  EXPECT_THAT(last_frame, HasSubstr(" | epoch 2.00 | "));
  EXPECT_THAT(last_frame, ::testing::EndsWith(" tokens/s"));

  const auto standalone = evaluation_frames(after);
  ASSERT_FALSE(standalone.empty()) << after;
  EXPECT_EQ(standalone.back().first.rfind("Evaluation: [##############################] 100% 3/3 batches", 0), 0u);
  EXPECT_TRUE(standalone.back().second) << "the bar of a standalone evaluate() stays";
  EXPECT_EQ(after.back(), '\n');
}

TEST(TrainerTest, EvaluationAndPredictionProgressAsPlainLines) {
  TempDir dir;
  auto o = base_options(dir.path);
  o.per_device_eval_batch_size = 2;
  auto eval = counting_dataset(5);
  Trainer trainer(make_model(), o, nullptr, eval, collators::default_data_collator);
  std::vector<std::string> lines;
  trainer.add_callback(std::make_shared<ProgressCallback>([&](const std::string& l) { lines.push_back(l); }));
  trainer.evaluate();
  trainer.predict(*eval);
  ASSERT_EQ(lines.size(), 6u) << ::testing::PrintToString(lines);
  EXPECT_THAT(lines[0], ::testing::StartsWith("Evaluation: 33% 1/3 batches"));
  EXPECT_THAT(lines[1], ::testing::StartsWith("Evaluation: 66% 2/3 batches"));
  EXPECT_THAT(lines[2], ::testing::StartsWith("Evaluation: 100% 3/3 batches"));
  EXPECT_THAT(lines[2], HasSubstr("elapsed"));
  EXPECT_THAT(lines[5], ::testing::StartsWith("Prediction: 100% 3/3 batches"));  // closed by predict's on_predict
  for (const auto& l : lines) EXPECT_EQ(l.find_first_of("\r\n\x1b"), std::string::npos) << l;
}

TEST(TrainerTest, ProgressShowsNothingOnOtherRanksAndPlainLinesWithDisableTqdm) {
  std::vector<std::string> lines;
  ProgressCallback quiet([&](const std::string& l) { lines.push_back(l); }, 1);
  TrainerOptions options;
  TrainerControl control;
  TrainerState replica;
  replica.is_world_process_zero = false;
  replica.max_steps = 2;
  quiet.on_train_begin(options, replica, control);
  replica.global_step = 1;
  quiet.on_step_end(options, replica, control);
  quiet.on_prediction_step(options, replica, control, PredictionStep{1, 1, "Evaluation"});
  quiet.on_evaluate(options, replica, control, Metrics{});
  quiet.on_train_end(options, replica, control);
  EXPECT_TRUE(lines.empty()) << ::testing::PrintToString(lines);

  // --disable_tqdm: plain lines through the log (at INFO), even on a terminal.
  std::vector<std::string> logged;
  set_log_level(LogLevel::kInfo);
  set_log_sink([&](LogLevel, const std::string& m) { logged.push_back(m); });
  {
    auto progress = make_progress_callback(/*disable_tqdm=*/true);
    TrainerState main;
    main.max_steps = 20;
    progress->on_train_begin(options, main, control);
    main.global_step = 1;
    progress->on_step_end(options, main, control);
    progress->on_train_end(options, main, control);
  }
  set_log_sink(nullptr);
  set_log_level(LogLevel::kWarning);
  ASSERT_EQ(logged.size(), 2u) << ::testing::PrintToString(logged);
  EXPECT_THAT(logged[0], ::testing::StartsWith("step 1/20 (5%)"));
  EXPECT_THAT(logged[1], ::testing::StartsWith("step 1/20 (5%)"));  // the final line, where training stopped
}

TEST(TrainerTest, ProgressLinesShowStepRateEtaLossAndLr) {
  EXPECT_EQ(format_progress(5, 20, 0, 2.0, 1.2345, 5e-05),
            "step 5/20 (25%) | 2.50 it/s | ETA 00:00:06 | loss 1.2345 | lr 5e-05");
  EXPECT_EQ(format_progress(12, 20, 10, 1.0, std::nullopt, std::nullopt), "step 12/20 (60%) | 2.00 it/s | ETA 00:00:04");
  TempDir dir;
  auto o = base_options(dir.path);
  o.max_steps = 4;
  Trainer trainer(make_model(), o, counting_dataset(8), nullptr, collators::default_data_collator);
  std::vector<std::string> lines;
  trainer.add_callback(std::make_shared<ProgressCallback>([&](const std::string& l) { lines.push_back(l); }, 2));
  trainer.train();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[0], HasSubstr("step 2/4 (50%)"));
  EXPECT_THAT(lines[1], HasSubstr("step 4/4 (100%)"));
}

TEST(TrainerTest, TrainLogsHfStartupSummaryOnTheMainProcess) {
  TempDir dir;
  auto o = base_options(dir.path);
  o.max_steps = 3;
  o.gradient_accumulation_steps = 2;
  std::vector<std::string> info;
  set_log_level(LogLevel::kInfo);
  set_log_sink([&](LogLevel level, const std::string& m) {
    if (level == LogLevel::kInfo) info.push_back(m);
  });
  Trainer trainer(make_model(), o, counting_dataset(10), nullptr, collators::default_data_collator);
  trainer.train();
  set_log_sink(nullptr);
  set_log_level(LogLevel::kWarning);
  ASSERT_TRUE(trainer.is_world_process_zero());
  auto first = std::find(info.begin(), info.end(), "***** Running training *****");
  ASSERT_NE(first, info.end());
  // 10 examples in batches of 4 -> 3 batches, windows of 2 -> 2 updates per epoch; 3 steps take 2 epochs.
  EXPECT_THAT(std::vector<std::string>(first + 1, first + 8),
              ElementsAre("  Num examples = 10", "  Num Epochs = 2", "  Instantaneous batch size per device = 4",
                          "  Total train batch size (w. parallel, distributed & accumulation) = 8",
                          "  Gradient Accumulation steps = 2", "  Total optimization steps = 3",
                          "  Number of trainable parameters = " + std::to_string(16 * 8 + 8 + 8 + 8 * 16 + 16)));
  EXPECT_EQ(first[8], "  Device = cpu");
  EXPECT_EQ(first[9], "  Threads = " + std::to_string(at::get_num_threads()));
  EXPECT_EQ(first[10], "  Dtype = float32");
  EXPECT_THAT(first[11], ::testing::StartsWith("  BLAS = "));
  EXPECT_EQ(first[12], "  CPU allocator = caching");
}

TEST(TrainerTest, NanLossStopsWithTheStep) {
  TempDir dir;
  auto o = base_options(dir.path);
  o.max_steps = 5;
  auto model = make_model();
  model->nan_after_calls = 2;
  Trainer trainer(model, o, counting_dataset(8), nullptr, collators::default_data_collator);
  EXPECT_THAT([&] { trainer.train(); }, ThrowsMessage<Error>(HasSubstr("step 3 (epoch 1, batch 0): training loss is ")));
}

// Four steps under nan_inf_policy "skip" of a model that `inject` makes produce NaN from its third call on: every
// step counts, the skipped updates leave the weights finite; returns the warnings.
std::vector<std::string> train_skipping_nans(const std::function<void(TinyLMImpl&)>& inject, double max_grad_norm) {
  TempDir dir;
  auto o = base_options(dir.path);
  o.max_steps = 4;
  o.max_grad_norm = max_grad_norm;
  o.nan_inf_policy = "skip";
  auto model = make_model();
  inject(*model);
  WarningCapture capture;
  Trainer trainer(model, o, counting_dataset(8), nullptr, collators::default_data_collator);
  EXPECT_EQ(trainer.train().global_step, 4);
  for (const auto& p : model->parameters()) EXPECT_FALSE(p.isnan().any().item<bool>());
  return capture.warnings;
}

TEST(TrainerTest, NanLossSkipPolicyKeepsWeightsAndGoesOn) {
  const auto warnings = train_skipping_nans([](TinyLMImpl& m) { m.nan_after_calls = 2; }, 1.0);
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_THAT(warnings[0], HasSubstr("step 3"));
}

// logging_nan_inf_filter (default true) logs a skipped step's loss as the average so far; false logs the NaN, as HF.
TEST(TrainerTest, LoggingNanInfFilterDecidesWhatASkippedStepLogs) {
  for (bool filter : {true, false}) {
    TempDir dir;
    auto o = base_options(dir.path);
    o.max_steps = 4;
    o.nan_inf_policy = "skip";
    o.logging_nan_inf_filter = filter;
    auto model = make_model();
    model->nan_after_calls = 2;  // steps 3 and 4 (one batch each)
    WarningCapture capture;
    Trainer trainer(model, o, counting_dataset(16), nullptr, collators::default_data_collator);
    trainer.train();
    const auto logs = train_logs(trainer.state());
    ASSERT_EQ(logs.size(), 4u);
    EXPECT_EQ(std::isnan(logs[2]["loss"].get<double>()), !filter) << logs[2];
  }
}

// A NaN gradient under a finite loss (injected by the model's backward): the same policy as a NaN loss, checked
// before the optimizer step, with clipping (its norm) and without (max_grad_norm 0: the norm is taken for the check).
TEST(TrainerTest, NanGradientUnderAFiniteLossStopsWithTheStep) {
  TempDir dir;
  auto o = base_options(dir.path);
  o.max_steps = 5;
  o.max_grad_norm = 1.0;
  auto model = make_model();
  model->nan_grad_after_calls = 2;
  Trainer trainer(model, o, counting_dataset(8), nullptr, collators::default_data_collator);
  EXPECT_THAT([&] { trainer.train(); },
              ThrowsMessage<Error>(HasSubstr("step 3 (epoch 1): the gradient norm is NaN while the loss was finite; stopping")));
  for (const auto& p : model->parameters()) EXPECT_FALSE(p.isnan().any().item<bool>());
}

TEST(TrainerTest, NanGradientSkipPolicyWithoutClippingKeepsWeightsAndGoesOn) {
  const auto warnings = train_skipping_nans([](TinyLMImpl& m) { m.nan_grad_after_calls = 2; }, 0);
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_THAT(warnings[0], HasSubstr("step 3 (epoch 1): the gradient norm is NaN while the loss was finite; skipping"));
}

struct RequestStopAt : TrainerCallback {
  void on_step_begin(const TrainerOptions&, TrainerState& state, TrainerControl&) override {
    if (state.global_step == 2) Trainer::request_stop();  // as the SIGINT handler does, during step 3
  }
};

TEST(TrainerTest, StopRequestFinishesStepSavesAndReturns) {
  TempDir dir;
  auto o = base_options(dir.path);
  o.max_steps = 10;
  Trainer trainer(make_model(), o, counting_dataset(8), nullptr, collators::default_data_collator);
  trainer.add_callback(std::make_shared<RequestStopAt>());
  auto out = trainer.train();
  EXPECT_TRUE(out.interrupted);
  EXPECT_EQ(out.global_step, 3);
  EXPECT_TRUE(fs::exists(fs::path(dir.path) / "checkpoint-3" / "trainer_state.json"));
}

TEST(TrainerTest, InvalidOptionsNameTheField) {
  auto o = base_options("unused");
  o.load_best_model_at_end = true;
  o.eval_strategy = "epoch";
  o.save_strategy = "steps";
  EXPECT_THAT([&] { Trainer(make_model(), o, nullptr, nullptr, collators::default_data_collator); },
              ThrowsMessage<InputError>(HasSubstr("load_best_model_at_end: requires the save and eval strategy to match")));
  o = base_options("unused");
  o.logging_strategy = "step";
  EXPECT_THAT([&] { Trainer(make_model(), o, nullptr, nullptr, collators::default_data_collator); },
              ThrowsMessage<InputError>(HasSubstr("logging_strategy: expected one of no, steps, epoch")));
  o = base_options("unused");
  o.fp16 = true;  // as HF: fp16 mixed precision needs a GPU
  EXPECT_THAT([&] { Trainer(make_model(), o, nullptr, nullptr, collators::default_data_collator); },
              ThrowsMessage<InputError>(HasSubstr("fp16: fp16 mixed precision needs a CUDA device")));
  o.bf16 = true;
  EXPECT_THAT([&] { Trainer(make_model(), o, nullptr, nullptr, collators::default_data_collator); },
              ThrowsMessage<InputError>(HasSubstr("cannot both be set")));
}

TEST(TrainerTest, Bf16TrainsUnderAutocastWithFp32MasterWeights) {
  auto run = [](bool bf16, std::vector<Json>* logs) {
    TempDir dir;
    auto o = base_options(dir.path);
    o.num_train_epochs = 4;
    o.bf16 = bf16;
    auto model = make_model();
    Trainer trainer(model, o, counting_dataset(16), nullptr, collators::default_data_collator);
    trainer.train();
    *logs = train_logs(trainer.state());
    for (const auto& p : model->parameters()) EXPECT_EQ(p.scalar_type(), torch::kFloat32);  // master weights
    return params_of(model);
  };
  std::vector<Json> fp32_logs, bf16_logs;
  const auto fp32 = run(false, &fp32_logs);
  const auto bf16 = run(true, &bf16_logs);
  ASSERT_EQ(fp32_logs.size(), bf16_logs.size());
  bool any_difference = false;
  for (size_t i = 0; i < fp32_logs.size(); ++i) {
    const double a = fp32_logs[i]["loss"].get<double>(), b = bf16_logs[i]["loss"].get<double>();
    EXPECT_NEAR(a, b, 0.05 * a) << "step " << i + 1;  // bf16 has ~3 significant digits
    any_difference = any_difference || a != b;
  }
  EXPECT_TRUE(any_difference) << "bf16 gave bit-identical losses: autocast was not active";
  EXPECT_LT(bf16_logs.back()["loss"].get<double>(), bf16_logs.front()["loss"].get<double>());
}

TEST(CheckpointTest, RotationWithLimitOneKeepsBestAndNewest) {
  TempDir dir;
  for (int step : {1, 2, 3, 4}) {
    fs::create_directories(fs::path(dir.path) / ("checkpoint-" + std::to_string(step)));
    TrainerState s;
    s.global_step = step;
    s.save_to_json((fs::path(dir.path) / ("checkpoint-" + std::to_string(step)) / "trainer_state.json").string());
  }
  fs::create_directories(fs::path(dir.path) / "checkpoint-99");  // no trainer_state.json: not a checkpoint
  const auto best = (fs::path(dir.path) / "checkpoint-2").string();
  auto deleted = rotate_checkpoints(dir.path, 1, best);
  EXPECT_EQ(deleted.size(), 2u);
  std::vector<int64_t> steps;
  for (const auto& c : list_checkpoints(dir.path)) steps.push_back(c.step);
  EXPECT_THAT(steps, ElementsAre(2, 4));
}

TEST(CheckpointTest, TrainerStateMissingGlobalStepNamesTheFile) {
  EXPECT_THAT([] { TrainerState::from_json(Json{{"epoch", 1.0}}, "checkpoint-5/trainer_state.json"); },
              ThrowsMessage<InputError>(HasSubstr("checkpoint-5/trainer_state.json: missing \"global_step\"")));
}

// Found by the trainer_state fuzz target's seeds (issue #10): 1e300 as a step count was converted to int64 with
// undefined behaviour. Whole floats that fit (3.0) are still read, as Python's json would hand them to int fields.
TEST(CheckpointTest, TrainerStateCountsThatAreNotIntegersThatFitAreInputErrors) {
  const std::string where = "checkpoint-5/trainer_state.json";
  for (const char* bad : {"1e300", "-1e300", "2.5", "18446744073709551615", "\"7\"", "true"}) {
    Json j = Json::parse(std::string(R"({"global_step": )") + bad + R"(, "max_steps": 10, "log_history": []})");
    EXPECT_THAT([&] { TrainerState::from_json(j, where); },
                ThrowsMessage<InputError>(HasSubstr(where + ": \"global_step\""))) << bad;
  }
  Json ok = Json::parse(R"({"global_step": 3.0, "max_steps": 10, "log_history": [], "total_flos": 1e300})");
  EXPECT_EQ(TrainerState::from_json(ok, where).global_step, 3);
}

TEST(CheckpointTest, EarlyStoppingCounterThatIsNotAnIntegerIsAnInputError) {
  EarlyStoppingCallback cb(2);
  Json state = {{"args", Json::object()}, {"attributes", {{"early_stopping_patience_counter", 1e300}}}};
  EXPECT_THAT([&] { cb.load_state(state); },
              ThrowsMessage<InputError>(HasSubstr("\"early_stopping_patience_counter\" must be an integer")));
  state["attributes"]["early_stopping_patience_counter"] = 1;
  EXPECT_NO_THROW(cb.load_state(state));
}

}  // namespace
}  // namespace tcpp::trainer

namespace tcpp::trainer {
namespace {

// A stream over in-memory examples; with `permute`, each pass follows random_permutation(n, seed, epoch), the order
// a map-style dataset of the same examples trains in.
class VectorStream : public TrainerIterableDataset {
 public:
  VectorStream(std::shared_ptr<VectorDataset> data, std::optional<uint64_t> permute_seed)
      : data_(std::move(data)), seed_(permute_seed) {}
  void for_each(int64_t epoch, const std::function<bool(collators::Features&&)>& fn) const override {
    ++passes;
    const auto order = seed_ ? random_permutation(data_->size(), *seed_, epoch) : std::vector<int64_t>{};
    for (int64_t i = 0; i < data_->size(); ++i)
      if (!fn(data_->get(seed_ ? order[static_cast<size_t>(i)] : i))) return;
  }
  mutable std::atomic<int> passes{0};

 private:
  std::shared_ptr<VectorDataset> data_;
  std::optional<uint64_t> seed_;
};

std::vector<int64_t> first_ids(const std::vector<collators::Features>& batch) {
  std::vector<int64_t> out;
  for (const auto& f : batch) out.push_back(f.columns.at("input_ids")[0]);
  return out;
}

TEST(StreamBatcherTest, OneProcessKeepsThePartialLastBatchUnlessDropLast) {
  VectorStream stream(counting_dataset(10), std::nullopt);
  StreamBatcher batcher(stream, 0, 4, 1, 0, /*drop_last=*/false);
  EXPECT_THAT(first_ids(*batcher.next()), ElementsAre(0, 1, 2, 3));
  EXPECT_THAT(first_ids(*batcher.next()), ElementsAre(4, 5, 6, 7));
  EXPECT_THAT(first_ids(*batcher.next()), ElementsAre(8, 9));
  EXPECT_FALSE(batcher.next().has_value());
  StreamBatcher dropping(stream, 0, 4, 1, 0, /*drop_last=*/true);
  dropping.next();
  dropping.next();
  EXPECT_FALSE(dropping.next().has_value());
}

TEST(StreamBatcherTest, RanksTakeTheirSliceOfEachGlobalBatchAndDropAnIncompleteOne) {
  VectorStream stream(counting_dataset(11), std::nullopt);
  StreamBatcher rank0(stream, 0, 2, 2, 0, false), rank1(stream, 0, 2, 2, 1, false);
  EXPECT_THAT(first_ids(*rank0.next()), ElementsAre(0, 1));
  EXPECT_THAT(first_ids(*rank1.next()), ElementsAre(2, 3));
  EXPECT_THAT(first_ids(*rank0.next()), ElementsAre(4, 5));
  EXPECT_THAT(first_ids(*rank1.next()), ElementsAre(6, 7));
  EXPECT_FALSE(rank0.next().has_value());  // 8, 9, 10: not a full global batch of 4
  EXPECT_FALSE(rank1.next().has_value());
}

TEST(StreamBatcherTest, StoppingEarlyEndsTheReader) {
  VectorStream stream(counting_dataset(1000), std::nullopt);
  { StreamBatcher batcher(stream, 0, 4, 1, 0, false, /*prefetch_batches=*/2); batcher.next(); }  // joins, no hang
  SUCCEED();
}

TEST(TrainerTest, StreamedTrainingEqualsMapStyleTrainingOnTheSameOrder) {
  auto run = [](bool streamed) {
    TempDir dir;
    auto o = base_options(dir.path);
    o.max_steps = 7;  // 10 examples, batch 4, GA 2: windows of 2 + 1 batches, several passes
    o.gradient_accumulation_steps = 2;
    auto model = make_model();
    auto data = counting_dataset(10, /*with_ignored_labels=*/true);
    std::vector<Json> logs;
    if (streamed) {
      Trainer trainer(model, o, nullptr, nullptr, collators::default_data_collator);
      trainer.set_train_stream(std::make_shared<VectorStream>(data, static_cast<uint64_t>(o.seed)));
      trainer.train();
      logs = train_logs(trainer.state());
    } else {
      Trainer trainer(model, o, data, nullptr, collators::default_data_collator);
      trainer.train();
      logs = train_logs(trainer.state());
    }
    return std::make_pair(params_of(model), logs);
  };
  const auto [map_params, map_logs] = run(false);
  const auto [stream_params, stream_logs] = run(true);
  ASSERT_EQ(map_logs.size(), stream_logs.size());
  for (size_t i = 0; i < map_logs.size(); ++i) EXPECT_EQ(map_logs[i]["loss"], stream_logs[i]["loss"]) << "step " << i + 1;
  for (size_t i = 0; i < map_params.size(); ++i) EXPECT_TRUE(torch::equal(map_params[i], stream_params[i]));
}

// The same with dropout and an unseeded MLM collator (run_mlm --streaming): the masks come from the global generator,
// one batch ahead of training as accelerate collates them, between dropout's draws and before those of an
// evaluation after every step (most of them in the middle of a pass, with the next batch pending); the stream in
// the order of v5's sequential sampler.
TEST(TrainerTest, StreamedMlmTrainingWithDropoutEqualsMapStyleTraining) {
  auto run = [](bool streamed) {
    TempDir dir;
    auto o = base_options(dir.path);
    o.max_steps = 7;
    o.gradient_accumulation_steps = 2;
    o.sequential_sampler = true;
    o.eval_strategy = "steps";
    o.eval_steps = 1;
    auto model = make_model(0, /*causal=*/false, /*dropout=*/0.2);
    auto data = counting_dataset(10);
    Trainer trainer(model, o, streamed ? nullptr : data, counting_dataset(6), mlm_collator(std::nullopt));
    if (streamed) trainer.set_train_stream(std::make_shared<VectorStream>(data, std::nullopt));
    trainer.train();
    std::vector<double> losses;
    for (const auto& e : trainer.state().log_history)
      losses.push_back(e.contains("eval_loss") ? e["eval_loss"].get<double>() : e.value("loss", 0.0));
    return std::make_pair(params_of(model), losses);
  };
  const auto [map_params, map_losses] = run(false);
  const auto [stream_params, stream_losses] = run(true);
  ASSERT_EQ(map_losses.size(), 15u);  // 7 training logs, 7 evaluations, the summary
  EXPECT_EQ(map_losses, stream_losses);
  for (size_t i = 0; i < map_params.size(); ++i) EXPECT_TRUE(torch::equal(map_params[i], stream_params[i]));
}

TEST(TrainerTest, StreamedTrainingResumesExactlyAcrossPasses) {
  TempDir dir;
  auto o = base_options(dir.path);
  o.max_steps = 6;
  o.gradient_accumulation_steps = 2;
  o.save_strategy = "steps";
  o.save_steps = 3;
  auto data = counting_dataset(10);
  auto full = make_model();
  Trainer a(full, o, nullptr, nullptr, collators::default_data_collator);
  a.set_train_stream(std::make_shared<VectorStream>(data, 5));
  a.train();
  auto resumed = make_model(99);  // other weights: they must come from checkpoint-3
  Trainer b(resumed, o, nullptr, nullptr, collators::default_data_collator);
  auto stream = std::make_shared<VectorStream>(data, 5);
  b.set_train_stream(stream);
  b.train((fs::path(dir.path) / "checkpoint-3").string());  // step 3 = 1.5 passes: the replay crosses a pass
  EXPECT_GE(stream->passes.load(), 3);
  const auto pa = params_of(full), pb = params_of(resumed);
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i])) << "parameter " << i;
}

// A stream's checkpoint taken with the next batch collated ahead (unseeded MLM masks, dropout): the resumed run
// reads the replayed windows again, collates that batch from the generator as it was before it, and goes on as the
// uninterrupted run, bitwise, evaluations included.
TEST(TrainerTest, StreamedMlmTrainingResumesExactlyWithTheBatchCollatedAhead) {
  TempDir dir;
  auto o = base_options(dir.path);
  o.max_steps = 7;
  o.gradient_accumulation_steps = 2;
  o.save_strategy = "steps";
  o.save_steps = 3;  // after the first window of the second pass, with its third batch collated ahead
  o.eval_strategy = "steps";
  o.eval_steps = 2;
  auto data = counting_dataset(14);  // 4 batches (4, 4, 4, 2) a pass: 2 windows of 2
  auto full = make_model(0, /*causal=*/false, /*dropout=*/0.2);
  Trainer a(full, o, nullptr, counting_dataset(6), mlm_collator(std::nullopt));
  a.set_train_stream(std::make_shared<VectorStream>(data, 5));
  a.train();
  auto resumed = make_model(99, /*causal=*/false, /*dropout=*/0.2);
  Trainer b(resumed, o, nullptr, counting_dataset(6), mlm_collator(std::nullopt));
  b.set_train_stream(std::make_shared<VectorStream>(data, 5));
  b.train((fs::path(dir.path) / "checkpoint-3").string());
  auto losses = [](const Trainer& t) {
    std::vector<double> out;
    for (const auto& e : t.state().log_history) {
      if (e.contains("eval_loss")) out.push_back(e["eval_loss"].get<double>());
      if (e.contains("loss")) out.push_back(e["loss"].get<double>());
    }
    return out;
  };
  EXPECT_EQ(losses(a), losses(b));
  const auto pa = params_of(full), pb = params_of(resumed);
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i])) << "parameter " << i;
}

TEST(TrainerTest, StreamedTrainingNeedsMaxSteps) {
  auto o = base_options("unused");
  Trainer trainer(make_model(), o, nullptr, nullptr, collators::default_data_collator);
  trainer.set_train_stream(std::make_shared<VectorStream>(counting_dataset(4), std::nullopt));
  EXPECT_THAT([&] { trainer.train(); }, ThrowsMessage<InputError>(HasSubstr("max_steps: the train dataset is a stream")));
}

}  // namespace
}  // namespace tcpp::trainer
