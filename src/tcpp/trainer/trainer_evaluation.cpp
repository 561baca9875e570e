// The Trainer's evaluation: evaluation_loop (sharded under data parallelism, gathered in order), evaluate with HF's
// metric names and speed metrics, predict.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>

#include "tcpp/core/error.h"
#include "tcpp/core/logging.h"
#include "tcpp/core/strings.h"
#include "tcpp/trainer/data_loader.h"
#include "tcpp/trainer/mixed_precision.h"
#include "tcpp/trainer/optimizer.h"
#include "tcpp/trainer/trainer.h"
#include "tcpp/trainer/trainer_internal.h"

namespace tcpp::trainer {
using detail::add_speed_metrics;
using detail::MemoryStage;
using detail::read_ahead;
using detail::seconds_since;
namespace {

// Concatenate (B, T, ...) tensors along dim 0, padding dim 1 with -100 where lengths differ (HF's nested_concat).
torch::Tensor concat_padded(const std::vector<torch::Tensor>& parts) {
  if (parts.empty()) return {};
  if (parts.front().dim() < 2) return torch::cat(parts, 0);
  int64_t T = 0;
  for (const auto& p : parts) T = std::max(T, p.size(1));
  std::vector<torch::Tensor> padded;
  for (const auto& p : parts) {
    if (p.size(1) == T) {
      padded.push_back(p);
      continue;
    }
    auto sizes = p.sizes().vec();
    sizes[1] = T;
    auto out = torch::full(sizes, -100, p.options());
    out.narrow(1, 0, p.size(1)).copy_(p);
    padded.push_back(out);
  }
  return torch::cat(padded, 0);
}

}  // namespace

struct Trainer::EvalLoopOutput {
  torch::Tensor predictions;
  torch::Tensor label_ids;
  Metrics metrics;
  int64_t num_samples = 0;
};

Trainer::EvalLoopOutput Trainer::evaluation_loop(const TrainerDataset& dataset, const std::string& prefix,
                                                 bool keep_predictions, const std::string& description,
                                                 bool persistent) {
  const int64_t B = options_.per_device_eval_batch_size;
  std::vector<int64_t> order(static_cast<size_t>(dataset.size()));
  for (int64_t i = 0; i < dataset.size(); ++i) order[static_cast<size_t>(i)] = i;
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  int64_t base_seed = 0;  // the iterator's, which seeds its workers' generators
  // HF keeps the evaluation DataLoader with persistent workers: its iterator (a base seed) is made once.
  PersistentLoader* loader =
      persistent && options_.dataloader_persistent_workers ? &persistent_eval_[&dataset] : nullptr;
  const bool new_iterator = loader == nullptr || !loader->live;
  if (options_.group_by_length) {
    // HF 4.57's _get_eval_sampler: a LengthGroupedSampler of eval_batch_size, drawing from the global generator
    // after the DataLoader's base seed.
    order = new_iterator ? next_length_grouped_order(sampler_lengths(dataset), options_.per_device_eval_batch_size,
                                                     gen, &base_seed)
                         : length_grouped_indices(sampler_lengths(dataset), options_.per_device_eval_batch_size, gen);
  } else if (new_iterator) {
    base_seed = draw_dataloader_base_seed(gen);  // as HF's eval DataLoader iterator: dropout after it draws as HF's
  }
  // Under data parallelism each rank evaluates its shard and each step's results are gathered in rank order (the
  // global batch order), as accelerate's gather_for_metrics.
  auto batches = epoch_batches(order, B);
  const int64_t n = dataset.size();
  std::vector<int64_t> reals;  // the examples of each batch that are not wrap-around duplicates
  for (size_t step = 0; step < batches.size(); ++step) {
    auto& indices = batches[step];
    // Under data parallelism, global batch g = step * world + rank holds positions [g * B, g * B + B) of the eval
    // order; those past the end are the wrap-around duplicates. Better than accelerate (which averages them into
    // the last batch's loss): evaluate only the real examples, so the metrics equal a single process's exactly.
    int64_t real = static_cast<int64_t>(indices.size());
    if (group_ && !options_.dataloader_drop_last) {
      const int64_t first = (static_cast<int64_t>(step) * world_ + rank_) * B;
      real = std::clamp<int64_t>(n - first, 0, real);
      if (real > 0) indices.resize(static_cast<size_t>(real));
    }
    reals.push_back(real);
  }
  // The collator's generator as of the last training batch (evaluation during training draws after it), then the
  // eval batches read ahead too when there are workers.
  rewind_prefetch();
  std::unique_ptr<BatchPrefetcher> ahead;
  if (uses_worker_generators()) {
    // HF's eval workers, generators of their own (no seed_worker for evaluation: torch's base_seed + w); persistent
    // ones go on with theirs, from worker 0.
    const bool kept = loader != nullptr && loader->live &&
                      static_cast<int64_t>(loader->workers.size()) == options_.dataloader_num_workers;
    std::vector<at::Generator> gens = kept ? loader->workers : worker_generators(base_seed, false);
    if (loader != nullptr) loader->workers = gens;
    ahead = std::make_unique<BatchPrefetcher>(dataset, batches, worker_streams(gens), 0,
                                              static_cast<int>(options_.dataloader_num_workers), read_ahead(options_));
  } else if (options_.dataloader_num_workers > 0 && !collator_draws_from_global()) {
    ahead = std::make_unique<BatchPrefetcher>(dataset, batches, data_collator_.collate, data_collator_.generator,
                                              static_cast<int>(options_.dataloader_num_workers), read_ahead(options_));
  }
  if (loader != nullptr) loader->live = true;
  // HF: full bf16/fp16 evaluation outside train() casts the model itself (and it stays cast).
  if (!in_train_ && (options_.bf16_full_eval || options_.fp16_full_eval))
    model_->to(options_.bf16_full_eval ? torch::kBFloat16 : torch::kFloat16);
  const bool was_training = model_->is_training();
  model_->eval();
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> losses, preds, labels;
  EvalLoopOutput out;
  for (size_t step = 0; step < batches.size(); ++step) {
    const auto& indices = batches[step];
    const int64_t real = reals[step];
    auto inputs = ahead ? to_model_device(*ahead->next()) : collate(dataset, indices);
    models::ModelInputs forward_inputs = inputs;
    if (options_.label_smoothing_factor > 0) forward_inputs.labels = torch::Tensor();
    AutocastGuard autocast(model_device_type(), mixed_precision_dtype(), options_.bf16 || options_.fp16);
    auto outputs = model_->forward(forward_inputs);
    // A batch of duplicates only (real == 0) still runs, for the shapes of the collectives, and keeps zero rows.
    auto rows = [&](const torch::Tensor& t) { return real == static_cast<int64_t>(indices.size()) ? t : t.narrow(0, 0, real); };
    auto gather = [&](const torch::Tensor& t, double pad) { return group_ ? group_->all_gather_padded(t, pad) : t; };
    if (inputs.labels.defined()) {
      // HF gathers loss.repeat(batch_size): the mean over samples of per-batch mean losses.
      auto loss = compute_loss(inputs, outputs, std::nullopt).detach().to(torch::kFloat32).reshape({1});
      losses.push_back(gather(loss.repeat({real}), 0.0));
    }
    if (keep_predictions && outputs.logits.defined()) {
      preds.push_back(gather(rows(preprocess_logits_ ? preprocess_logits_(outputs.logits, inputs.labels) : outputs.logits), -100.0));
      if (inputs.labels.defined()) labels.push_back(gather(rows(inputs.labels), -100.0));
    }
    out.num_samples += real;
    const PredictionStep progress{static_cast<int64_t>(step) + 1, static_cast<int64_t>(batches.size()), description};
    for_each_callback([&](TrainerCallback& cb) { cb.on_prediction_step(options_, state_, control_, progress); });
  }
  if (was_training) model_->train();
  if (group_) {  // every rank's examples: all of them once, or the full rounds kept by drop_last
    out.num_samples = options_.dataloader_drop_last ? static_cast<int64_t>(batches.size()) * B * world_ : n;
  }
  if (!losses.empty()) out.metrics[prefix + "_loss"] = torch::cat(losses).mean().item<double>();
  out.predictions = concat_padded(preds);
  out.label_ids = concat_padded(labels);
  if (compute_metrics_ && out.predictions.defined() && out.label_ids.defined()) {
    for (const auto& [k, v] : compute_metrics_(out.predictions, out.label_ids))
      out.metrics[starts_with(k, prefix + "_") ? k : prefix + "_" + k] = v;
  }
  return out;
}

Metrics Trainer::evaluate(std::shared_ptr<const TrainerDataset> dataset, const std::string& metric_key_prefix) {
  return evaluate_impl(std::move(dataset), metric_key_prefix, /*step_scheduler=*/true);
}

Metrics Trainer::evaluate_impl(std::shared_ptr<const TrainerDataset> dataset, const std::string& metric_key_prefix,
                               bool step_scheduler) {
  auto ds = dataset ? dataset : eval_dataset_;
  if (!ds) throw InputError("eval_dataset", "Trainer: evaluation requires an eval_dataset");
  MemoryStage memory_stage(memory_, "eval");  // not measured inside train(), as HF's nested stages
  const auto start = std::chrono::steady_clock::now();
  auto out = evaluation_loop(*ds, metric_key_prefix, /*keep_predictions=*/static_cast<bool>(compute_metrics_),
                             "Evaluation", /*persistent=*/true);
  const double steps = std::ceil(static_cast<double>(out.num_samples) / static_cast<double>(options_.per_device_eval_batch_size));
  add_speed_metrics(out.metrics, metric_key_prefix, seconds_since(start), static_cast<double>(out.num_samples), steps);
  log(metrics_to_json(out.metrics));
  Metrics metrics = out.metrics;
  if (state_.epoch) metrics["epoch"] = *state_.epoch;
  if (step_scheduler && scheduler_ && scheduler_->is_reduce_on_plateau() && options_.metric_for_best_model) {
    auto it = metrics.find(eval_metric_key(*options_.metric_for_best_model));
    if (it != metrics.end()) {
      scheduler_->step_metric(it->second);
      set_learning_rates(*optimizer_, scheduler_->get_last_lr());
    }
  }
  control_.should_evaluate = false;
  for_each_callback([&](TrainerCallback& cb) { cb.on_evaluate(options_, state_, control_, metrics); });
  memory_stage.finish(metrics);  // HF: returned, not logged
  // As run_clm/run_mlm: perplexity = exp(eval_loss), inf on overflow (returned, not logged).
  if (auto it = metrics.find(metric_key_prefix + "_loss"); it != metrics.end()) metrics["perplexity"] = std::exp(it->second);
  return metrics;
}

PredictionOutput Trainer::predict(const TrainerDataset& dataset, const std::string& metric_key_prefix) {
  MemoryStage memory_stage(memory_, "test");
  const auto start = std::chrono::steady_clock::now();
  auto out = evaluation_loop(dataset, metric_key_prefix, /*keep_predictions=*/true, "Prediction");
  const double steps = std::ceil(static_cast<double>(out.num_samples) / static_cast<double>(options_.per_device_eval_batch_size));
  add_speed_metrics(out.metrics, metric_key_prefix, seconds_since(start), static_cast<double>(out.num_samples), steps);
  PredictionOutput result;
  result.predictions = out.predictions;
  result.label_ids = out.label_ids;
  result.metrics = out.metrics;
  for_each_callback([&](TrainerCallback& cb) { cb.on_predict(options_, state_, control_, result.metrics); });
  memory_stage.finish(result.metrics);
  return result;
}

}  // namespace tcpp::trainer
