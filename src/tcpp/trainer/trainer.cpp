// The training loop: train() with Hugging Face's step counting, loss normalisation, logging, evaluation and save
// strategies and exact resume (as transformers' Trainer); evaluation in trainer_evaluation.cpp, checkpoints in
// trainer_checkpointing.cpp.
#include "tcpp/trainer/trainer.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>

#include <ATen/CPUGeneratorImpl.h>

#include "tcpp/core/check.h"
#include "tcpp/core/error.h"
#include "tcpp/core/file.h"
#include "tcpp/core/logging.h"
#include "tcpp/core/strings.h"
#include "tcpp/distributed/gradient_reducer.h"
#include "tcpp/trainer/checkpoint.h"
#include "tcpp/trainer/mixed_precision.h"
#include "tcpp/trainer/fused_adamw.h"
#include "tcpp/trainer/optimizer.h"
#include "tcpp/trainer/torch_runtime.h"
#include "tcpp/trainer/training_summary.h"
#include "tcpp/trainer/trainer_internal.h"

namespace tcpp::trainer {
namespace fs = std::filesystem;
using detail::add_speed_metrics;
using detail::MemoryStage;
using detail::read_ahead;
using detail::seconds_since;
namespace {

std::atomic<int> g_stop_requested{0};

extern "C" void tcpp_trainer_stop_handler(int) { g_stop_requested.store(1); }

// Installs SIGINT/SIGTERM handlers for the duration of train() and restores the previous ones.
class SignalScope {
 public:
  explicit SignalScope(bool enabled) : enabled_(enabled) {
    if (!enabled_) return;
    old_int_ = std::signal(SIGINT, tcpp_trainer_stop_handler);
    old_term_ = std::signal(SIGTERM, tcpp_trainer_stop_handler);
  }
  ~SignalScope() {
    if (!enabled_) return;
    std::signal(SIGINT, old_int_);
    std::signal(SIGTERM, old_term_);
  }

 private:
  bool enabled_;
  void (*old_int_)(int) = SIG_DFL;
  void (*old_term_)(int) = SIG_DFL;
};

void check_one_of(const char* field, const std::string& value, const std::vector<std::string>& allowed) {
  if (std::find(allowed.begin(), allowed.end(), value) == allowed.end())
    throw InputError(field, "expected one of " + join(allowed, ", ") + ", got " + quote(value));
}

// HF: a value < 1 is a ratio of max_steps, rounded up.
int64_t resolve_steps(double value, int64_t max_steps) {
  if (value > 0 && value < 1) return static_cast<int64_t>(std::ceil(static_cast<double>(max_steps) * value));
  return static_cast<int64_t>(value);
}

// transformers' enable_full_determinism (the seed is set by the caller). The variables only take effect when CUDA
// has not read them yet; an existing setting is kept.
void enable_full_determinism() {
  ::setenv("CUDA_LAUNCH_BLOCKING", "1", /*overwrite=*/0);
  ::setenv("CUBLAS_WORKSPACE_CONFIG", ":16:8", 0);
  ::setenv("FLASH_ATTENTION_DETERMINISTIC", "1", 0);
  at::globalContext().setDeterministicAlgorithms(true, /*warn_only=*/false);
  at::globalContext().setDeterministicCuDNN(true);
  at::globalContext().setBenchmarkCuDNN(false);
}

// CPU generators restored from the states a checkpoint saved (the dataloader workers' collator generators).
std::vector<at::Generator> generators_from_states(const std::vector<at::Tensor>& states) {
  std::vector<at::Generator> gens;
  for (const auto& state : states) {
    gens.push_back(at::detail::createCPUGenerator(0));
    gens.back().set_state(state);
  }
  return gens;
}

}  // namespace

SchedulerOptions scheduler_options(const TrainerOptions& options, int64_t max_steps) {
  SchedulerOptions sched;
  sched.lr_scheduler_type = options.lr_scheduler_type;
  sched.lr_scheduler_kwargs = options.lr_scheduler_kwargs;
  sched.num_training_steps = max_steps;
  sched.num_warmup_steps = get_warmup_steps(options.warmup_steps, options.warmup_ratio, max_steps);
  return sched;
}

double python_round(double x, int ndigits) {
  if (!std::isfinite(x)) return x;
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", ndigits, x);  // glibc rounds the exact binary value, ties to even
  return std::strtod(buf, nullptr);
}

Trainer::Trainer(models::PreTrainedModel model, TrainerOptions options,
                 std::shared_ptr<const TrainerDataset> train_dataset,
                 std::shared_ptr<const TrainerDataset> eval_dataset, collators::DataCollator data_collator)
    : model_(std::move(model)),
      options_(std::move(options)),
      train_dataset_(std::move(train_dataset)),
      eval_dataset_(std::move(eval_dataset)),
      data_collator_(std::move(data_collator)),
      model_io_(torch_archive_model_io()),
      memory_(options_.skip_memory_metrics) {
  memory_.start("init");
  TCPP_CHECK(model_ != nullptr, "Trainer needs a model");
  if (options_.remove_unused_columns)
    data_collator_ = collators::remove_unused_columns(std::move(data_collator_), options_.label_names);
  prepare_torch_runtime();  // threads and the caching CPU allocator, once per process
  // As HF's Trainer.__init__ (set_seed, or enable_full_determinism): dropout, the DataLoaders' base seeds and an
  // unseeded collator draw from the global generator seeded here.
  auto& o = options_;
  if (o.full_determinism) enable_full_determinism();
  torch::manual_seed(static_cast<uint64_t>(options_.seed));
  if (o.tf32) {  // as TrainingArguments.__post_init__
    if (*o.tf32 && !torch::cuda::is_available())
      throw InputError("tf32", "--tf32 requires Ampere or a newer GPU arch, cuda>=11 and torch>=1.7; there is no "
                               "CUDA device here");
    at::globalContext().setAllowTF32CuBLAS(*o.tf32);
    at::globalContext().setAllowTF32CuDNN(*o.tf32);
  }
  if (o.per_device_train_batch_size < 1)
    throw InputError("per_device_train_batch_size", "expected >= 1, got " + std::to_string(o.per_device_train_batch_size));
  if (o.per_device_eval_batch_size < 1)
    throw InputError("per_device_eval_batch_size", "expected >= 1, got " + std::to_string(o.per_device_eval_batch_size));
  if (o.gradient_accumulation_steps < 1)
    throw InputError("gradient_accumulation_steps", "expected >= 1, got " + std::to_string(o.gradient_accumulation_steps));
  check_one_of("logging_strategy", o.logging_strategy, {"no", "steps", "epoch"});
  check_one_of("eval_strategy", o.eval_strategy, {"no", "steps", "epoch"});
  check_one_of("save_strategy", o.save_strategy, {"no", "steps", "epoch", "best"});
  check_one_of("nan_inf_policy", o.nan_inf_policy, {"stop", "skip"});
  check_one_of("include_num_input_tokens_seen", o.include_num_input_tokens_seen, {"no", "all", "non_padding"});
  if (o.dataloader_num_workers < 0)
    throw InputError("dataloader_num_workers", "expected >= 0, got " + std::to_string(o.dataloader_num_workers));
  if (o.dataloader_prefetch_factor && *o.dataloader_prefetch_factor < 1)
    throw InputError("dataloader_prefetch_factor", "expected >= 1, got " + std::to_string(*o.dataloader_prefetch_factor));
  if (o.dataloader_num_workers > 0 && collator_draws_from_global() && !uses_worker_generators())
    log_warning("dataloader_num_workers=" + std::to_string(o.dataloader_num_workers) + ": the collator draws from the "
                "global generator and cannot draw from a worker's generator instead (no with_generator), so its "
                "batches are collated on the training thread, not read ahead by workers");
  if (o.bf16 && o.fp16) throw InputError("bf16", "--bf16 and --fp16 cannot both be set");
  if (o.fp16 && model_device_type() == c10::DeviceType::CPU)
    throw InputError("fp16", "fp16 mixed precision needs a CUDA device; the model is on the CPU (use --bf16 there)");
  if (o.bf16_full_eval && o.fp16_full_eval)
    throw InputError("bf16_full_eval", "at most one of bf16_full_eval and fp16_full_eval can be set");
  if (o.fp16_full_eval && model_device_type() == c10::DeviceType::CPU)
    throw InputError("fp16_full_eval", "float16 evaluation needs a CUDA device; the model is on the CPU (use "
                                       "--bf16_full_eval there)");
  if (o.logging_strategy == "steps" && !(o.logging_steps > 0))
    throw InputError("logging_steps", "expected > 0 with logging_strategy \"steps\", got " + python_float_repr(o.logging_steps));
  if (o.save_strategy == "steps" && !(o.save_steps > 0))
    throw InputError("save_steps", "expected > 0 with save_strategy \"steps\", got " + python_float_repr(o.save_steps));
  if (o.eval_strategy == "steps" && (!o.eval_steps || *o.eval_steps == 0)) {
    if (!(o.logging_steps > 0))
      throw InputError("eval_steps", "eval_strategy \"steps\" needs eval_steps or logging_steps > 0");
    o.eval_steps = o.logging_steps;  // HF: eval_steps defaults to logging_steps
  }
  if (o.neftune_noise_alpha && !(*o.neftune_noise_alpha >= 0))
    throw InputError("neftune_noise_alpha", "expected >= 0, got " + python_float_repr(*o.neftune_noise_alpha));
  if (o.label_smoothing_factor < 0 || o.label_smoothing_factor >= 1)
    throw InputError("label_smoothing_factor", "expected a value in [0, 1), got " + python_float_repr(o.label_smoothing_factor));
  if (!o.metric_for_best_model && (o.load_best_model_at_end || o.lr_scheduler_type == "reduce_lr_on_plateau"))
    o.metric_for_best_model = "loss";
  if (o.save_strategy == "best" && !o.metric_for_best_model)
    throw InputError("metric_for_best_model", "save_strategy \"best\" needs metric_for_best_model");
  if (o.metric_for_best_model && !o.greater_is_better)
    o.greater_is_better = !ends_with(*o.metric_for_best_model, "loss");
  if (o.load_best_model_at_end && o.save_strategy != "best") {
    if (o.eval_strategy != o.save_strategy)
      throw InputError("load_best_model_at_end", "requires the save and eval strategy to match, got save_strategy \"" +
                                                     o.save_strategy + "\" and eval_strategy \"" + o.eval_strategy + "\"");
    if (o.eval_strategy == "steps") {
      const double ratio = o.save_steps / *o.eval_steps;
      if (std::abs(ratio - std::round(ratio)) > 1e-9)
        throw InputError("save_steps", "load_best_model_at_end requires save_steps (" + python_float_repr(o.save_steps) +
                                           ") to be a multiple of eval_steps (" + python_float_repr(*o.eval_steps) + ")");
    }
  }
  if (o.lr_scheduler_type == "reduce_lr_on_plateau" && o.eval_strategy == "no")
    throw InputError("lr_scheduler_type", "reduce_lr_on_plateau requires an eval_strategy other than \"no\"");
  if (o.ddp_timeout <= 0) throw InputError("ddp_timeout", "expected seconds > 0, got " + std::to_string(o.ddp_timeout));
  if (o.ddp_bucket_cap_mb && *o.ddp_bucket_cap_mb <= 0)
    throw InputError("ddp_bucket_cap_mb", "expected > 0, got " + std::to_string(*o.ddp_bucket_cap_mb));
  // Under `tcpp launch` / torchrun (WORLD_SIZE > 1) join the process group, as TrainingArguments does on first use.
  {
    distributed::ProcessGroupOptions pgo;
    pgo.backend = o.ddp_backend.value_or("");
    pgo.timeout = std::chrono::seconds(o.ddp_timeout);
    const auto params = model_->parameters();
    pgo.device = params.empty() ? "cpu" : params.front().device().str();
    group_ = distributed::init_process_group(pgo);
    if (group_) {
      rank_ = group_->rank();
      world_ = group_->world_size();
      local_rank_ = distributed::environment_from_env().local_rank;
    }
  }
  state_.is_world_process_zero = is_world_process_zero();  // as HF's TrainerState made in __init__
  // floating_point_ops counts non-embedding parameters (HF's num_parameters(exclude_embeddings=True)).
  for (const auto& m : model_->named_modules()) {
    const bool embedding = to_lower(m.value()->name()).find("embedding") != std::string::npos;
    if (embedding) continue;
    for (const auto& p : m.value()->named_parameters(/*recurse=*/false)) non_embedding_params_ += p.value().numel();
  }
  Metrics none;
  memory_.stop_and_update_metrics("init", none);
}

Trainer::~Trainer() = default;

void Trainer::request_stop() { g_stop_requested.store(1); }

void Trainer::add_callback(std::shared_ptr<TrainerCallback> callback) { callbacks_.push_back(std::move(callback)); }

models::ModelInputs Trainer::collate(const TrainerDataset& dataset, const std::vector<int64_t>& indices) {
  std::vector<collators::Features> features;
  features.reserve(indices.size());
  for (int64_t i : indices) features.push_back(dataset.get(i));
  return collate_features(features);
}

models::ModelInputs Trainer::collate_features(const std::vector<collators::Features>& features) {
  return to_model_device(data_collator_.collate(features));
}

models::ModelInputs Trainer::to_model_device(models::ModelInputs batch) const {
  // Collators build CPU tensors; move them to the model's device.
  const auto params = model_->parameters();
  if (!params.empty() && !params.front().device().is_cpu()) {
    const auto device = params.front().device();
    for (torch::Tensor* t : {&batch.input_ids, &batch.attention_mask, &batch.token_type_ids, &batch.position_ids,
                             &batch.labels}) {
      if (t->defined()) *t = t->to(device, /*non_blocking=*/true);
    }
  }
  return batch;
}

torch::Tensor Trainer::compute_loss(const models::ModelInputs& inputs, const models::ModelOutput& outputs,
                                    std::optional<int64_t> num_items_in_batch) const {
  if (options_.label_smoothing_factor == 0.0 || !inputs.labels.defined()) {
    if (!outputs.loss.defined())
      throw InputError("labels", "the model returned no loss; the batches need a \"labels\" column");
    return outputs.loss;
  }
  // LabelSmoother, with the same normalisation as the model loss (num_items_in_batch over the window when
  // training), so gradient accumulation stays equivalent to one big batch.
  auto logits = outputs.logits;
  auto labels = inputs.labels;
  if (model_->is_causal_lm()) {
    logits = logits.narrow(1, 0, logits.size(1) - 1);
    labels = labels.narrow(1, 1, labels.size(1) - 1);
  }
  auto log_probs = -torch::log_softmax(logits.to(torch::kFloat32), -1);
  auto padding = labels.eq(-100);
  auto nll = log_probs.gather(-1, labels.clamp_min(0).unsqueeze(-1)).squeeze(-1).masked_fill(padding, 0.0);
  auto smoothed = log_probs.sum(-1).masked_fill(padding, 0.0);
  const double denom = num_items_in_batch ? static_cast<double>(*num_items_in_batch)
                                          : static_cast<double>(padding.logical_not().sum().item<int64_t>());
  const double eps = options_.label_smoothing_factor;
  return (1.0 - eps) * nll.sum() / denom + eps * smoothed.sum() / (denom * static_cast<double>(log_probs.size(-1)));
}

void Trainer::store_flos() {
  // HF sums every rank's floating point operations.
  state_.total_flos += group_ ? mean_over_ranks(current_flos_) * world_ : current_flos_;
  current_flos_ = 0.0;
}

c10::DeviceType Trainer::model_device_type() const {
  const auto params = model_->parameters();
  return params.empty() ? c10::DeviceType::CPU : params.front().device().type();
}

c10::ScalarType Trainer::mixed_precision_dtype() const { return options_.fp16 ? torch::kHalf : torch::kBFloat16; }

double Trainer::mean_over_ranks(double value) {
  if (!group_) return value;
  auto t = torch::tensor({value}, torch::kFloat64);
  group_->all_reduce(t);
  return t.item<double>() / static_cast<double>(world_);
}

std::vector<std::vector<int64_t>> Trainer::epoch_batches(const std::vector<int64_t>& order, int64_t batch_size) const {
  return shard_batches(order, batch_size, world_, rank_, options_.dataloader_drop_last);
}

std::vector<int64_t> Trainer::sampler_lengths(const TrainerDataset& dataset) const {
  // HF's sampler reads length_column_name only from what _remove_unused_columns left (not a model input, so only
  // with remove_unused_columns off), else len(input_ids).
  const std::string column = options_.remove_unused_columns ? "" : options_.length_column_name;
  std::vector<int64_t> lengths;
  lengths.reserve(static_cast<size_t>(dataset.size()));
  for (int64_t i = 0; i < dataset.size(); ++i) lengths.push_back(dataset.length(i, column));
  return lengths;
}

bool Trainer::collator_draws_from_global() const {
  return data_collator_.generator && data_collator_.generator->unsafeGetGeneratorImpl() ==
                                         at::detail::getDefaultCPUGenerator().unsafeGetGeneratorImpl();
}

bool Trainer::uses_worker_generators() const {
  return options_.dataloader_num_workers > 0 && data_collator_.generator && data_collator_.with_generator &&
         (data_collator_.seed || collator_draws_from_global());
}

std::vector<at::Generator> Trainer::worker_generators(int64_t base_seed, bool training) const {
  const int n = static_cast<int>(options_.dataloader_num_workers);
  std::vector<uint64_t> seeds;
  if (data_collator_.seed) {
    // HF's DataCollatorForLanguageModeling(seed=s) in worker w: torch.Generator().manual_seed(s + w), made anew
    // in each iterator's worker processes.
    for (int w = 0; w < n; ++w) seeds.push_back(*data_collator_.seed + static_cast<uint64_t>(w));
  } else {
    seeds = dataloader_worker_seeds(base_seed, n, rank_, training);
  }
  std::vector<at::Generator> out;
  for (uint64_t seed : seeds) out.push_back(at::detail::createCPUGenerator(seed));
  return out;
}

std::vector<CollateStream> Trainer::worker_streams(const std::vector<at::Generator>& generators) const {
  std::vector<CollateStream> streams;
  for (const auto& gen : generators) streams.push_back({data_collator_.with_generator(gen), gen});
  return streams;
}

std::vector<int64_t> Trainer::epoch_start_draws(const std::vector<int64_t>& lengths, int64_t batch_size,
                                                int64_t epoch, bool resumed_inside) {
  const bool new_iterator = new_train_iterator(epoch);
  auto draw = [&](at::Generator gen) {
    sampler_epoch_start_ = gen.get_state();
    sampler_epoch_ = epoch;
    if (options_.group_by_length)
      return new_iterator ? next_length_grouped_order(lengths, batch_size, gen, &epoch_base_seed_)
                          : length_grouped_indices(lengths, batch_size, gen);
    if (new_iterator) epoch_base_seed_ = draw_dataloader_base_seed(gen);
    return std::vector<int64_t>();
  };
  if (!resumed_inside) return draw(at::detail::getDefaultCPUGenerator());
  // The checkpoint was taken inside this epoch, so its state is after the epoch's draws (HF restores the generator
  // after the epoch's iterator drew too): the order comes from a copy set to the epoch's start, the global
  // generator goes on as restored.
  at::Generator gen = at::detail::createCPUGenerator(static_cast<uint64_t>(options_.seed));
  if (resumed_rng_.sampler_epoch_start.defined() && resumed_rng_.sampler_epoch == epoch) {
    gen.set_state(resumed_rng_.sampler_epoch_start);
  } else if (options_.group_by_length) {
    // A checkpoint of an earlier version, without that state: the epochs' draws replayed from the seed, as those
    // runs drew them (from a generator of their own).
    gen = length_grouped_generator(static_cast<uint64_t>(options_.seed), static_cast<int64_t>(lengths.size()), epoch);
  }
  resumed_rng_.sampler_epoch_start = torch::Tensor();
  resumed_rng_.sampler_epoch = -1;
  return draw(gen);
}

bool Trainer::new_train_iterator(int64_t epoch) const {
  // A persistent DataLoader makes its iterator (a base seed) at its first epoch only; later epochs reset it.
  return !options_.dataloader_persistent_workers || persistent_train_.start_epoch < 0 ||
         persistent_train_.start_epoch == epoch;
}

void Trainer::rewind_prefetch() {
  if (prefetcher_) prefetcher_->rewind();
}

void Trainer::count_input_tokens(const std::vector<models::ModelInputs>& batches) {
  // As HF's training step: input_ids.numel(), or for "non_padding" attention_mask.sum() (all tokens, with a
  // warning, when there is no attention mask: the Trainer has no tokenizer to know the pad id).
  int64_t tokens = 0;
  for (const auto& b : batches) {
    if (!b.input_ids.defined()) continue;
    if (options_.include_num_input_tokens_seen == "non_padding" && b.attention_mask.defined()) {
      tokens += b.attention_mask.sum().item<int64_t>();
    } else {
      if (options_.include_num_input_tokens_seen == "non_padding" && !warned_token_count_) {
        log_warning("include_num_input_tokens_seen=non_padding: the batches have no attention_mask; counting all "
                    "input tokens");
        warned_token_count_ = true;
      }
      tokens += b.input_ids.numel();
    }
  }
  if (group_) {  // HF: accelerator.gather(input_tokens).sum()
    auto t = torch::tensor({tokens}, torch::kInt64);
    group_->all_reduce(t);
    tokens = t.item<int64_t>();
  }
  state_.num_input_tokens_seen += tokens;
}

void Trainer::log(Json logs) {
  // HF sets state.epoch = 0, a Python int, before the first step and a float after each one, so a log before
  // step 1 (eval_on_start) has "epoch": 0 where later ones have 1.0.
  if (state_.epoch) logs["epoch"] = state_.global_step == 0 && *state_.epoch == 0.0 ? Json(0) : Json(*state_.epoch);
  if (options_.include_num_input_tokens_seen != "no") logs["num_input_tokens_seen"] = state_.num_input_tokens_seen;
  Json entry = logs;
  entry["step"] = state_.global_step;
  state_.log_history.push_back(entry);
  if (is_world_process_zero()) log_info(dump_json_python(entry, -1));
  if (!options_.output_dir.empty() && is_world_process_zero()) {
    // JSON Lines copy of log_history, appended as training goes (HF only has it inside trainer_state.json).
    std::error_code ec;
    fs::create_directories(options_.output_dir, ec);
    std::ofstream out(fs::path(options_.output_dir) / "trainer_log.jsonl", std::ios::app);
    out << dump_json_python(entry, -1) << "\n";
  }
  control_.should_log = false;
  for_each_callback([&](TrainerCallback& cb) { cb.on_log(options_, state_, control_, logs); });
}

bool Trainer::determine_best_metric(const Metrics& metrics) {
  if (!options_.metric_for_best_model) return false;
  const std::string key = eval_metric_key(*options_.metric_for_best_model);
  auto it = metrics.find(key);
  if (it == metrics.end()) {
    std::vector<std::string> names;
    for (const auto& m : metrics) names.push_back(m.first);
    throw InputError("metric_for_best_model", "the metric \"" + key + "\" was not found in the evaluation metrics (" +
                                                  join(names, ", ") + ")");
  }
  const double value = it->second;
  const bool greater = options_.greater_is_better.value_or(false);
  if (!state_.best_metric || (greater ? value > *state_.best_metric : value < *state_.best_metric)) {
    state_.best_metric = value;
    state_.best_global_step = state_.global_step;
    return true;
  }
  return false;
}

void Trainer::maybe_log_save_evaluate(torch::Tensor& tr_loss, std::optional<double> grad_norm, double learning_rate) {
  if (control_.should_log && state_.global_step > globalstep_last_logged_) {
    const double tr_loss_scalar = mean_over_ranks(tr_loss.item<double>());  // HF: _nested_gather(tr_loss).mean()
    tr_loss.zero_();
    Json logs = Json::object();
    logs["loss"] = python_round(tr_loss_scalar / static_cast<double>(state_.global_step - globalstep_last_logged_), 4);
    if (grad_norm) logs["grad_norm"] = *grad_norm;
    logs["learning_rate"] = learning_rate;
    total_loss_scalar_ += tr_loss_scalar;
    globalstep_last_logged_ = state_.global_step;
    store_flos();
    log(logs);
  }
  if (control_.should_evaluate) {
    const Metrics metrics = evaluate();
    const bool is_new_best = determine_best_metric(metrics);
    if (options_.save_strategy == "best") control_.should_save = is_new_best;
  }
  if (control_.should_save) {
    save_checkpoint();
    control_.should_save = false;
    for_each_callback([&](TrainerCallback& cb) { cb.on_save(options_, state_, control_); });
  }
}

namespace {

// accelerate's should_reduce_batch_size: the allocator of the device (CUDA, HIP, XPU: "... out of memory.") or of the
// CPU (LibTorch's "DefaultCPUAllocator: can't allocate memory") ran out, or cuDNN refused the shapes; here also a
// std::bad_alloc from our own buffers.
bool is_out_of_memory(const std::exception& e) {
  if (dynamic_cast<const std::bad_alloc*>(&e) != nullptr) return true;
  const std::string what = e.what();
  for (const char* s : {" out of memory.", "cuDNN error: CUDNN_STATUS_NOT_SUPPORTED.",
                        "DefaultCPUAllocator: can't allocate memory",
                        "FATAL ERROR :: MODULE:PT_DEVMEM Allocation failed"})
    if (what.find(s) != std::string::npos) return true;
  return false;
}

}  // namespace

std::string Trainer::resolve_resume(const std::optional<std::string>& resume_from_checkpoint) const {
  std::string resume = resume_from_checkpoint.value_or(options_.resume_from_checkpoint);
  if (resume == "true" || resume == "latest" || resume == "True") {
    auto last = get_last_checkpoint(options_.output_dir);
    if (!last)
      throw InputError("resume_from_checkpoint",
                       "no valid checkpoint found in output directory (" + options_.output_dir + ")");
    return *last;
  }
  if (resume == "false" || resume == "False") return "";
  return resume;
}

TrainOutput Trainer::train(const std::optional<std::string>& resume_from_checkpoint) {
  MemoryStage memory_stage(memory_, "train");
  struct InTrain {  // HF's is_in_train, also when train() ends by an exception
    bool& flag;
    explicit InTrain(bool& f) : flag(f) { flag = true; }
    ~InTrain() { flag = false; }
  } in_train(in_train_);
  const std::string resume = resolve_resume(resume_from_checkpoint);
  int64_t batch_size = options_.per_device_train_batch_size;
  if (!options_.auto_find_batch_size) return train_loop(resume, batch_size, memory_stage);
  // HF's auto_find_batch_size (accelerate's find_executable_batch_size): run the whole loop again, from the start
  // (or from the checkpoint again), at 90% of the batch size each time the memory runs out. Like HF's, a retry
  // keeps what the failed attempt's steps did to the weights (the memory runs out in the first step as a rule).
  if (group_)
    throw InputError("auto_find_batch_size", "is not supported under data parallelism here (a rank that runs out of "
                                             "memory alone would leave the others waiting): set the batch size");
  if (!resume.empty()) {  // HF: the batch size the checkpoint's run found
    const auto state_path = fs::path(resume) / kTrainerStateFile;
    if (fs::exists(state_path)) {
      const int64_t saved = TrainerState::load_from_json(state_path.string()).train_batch_size;
      if (saved > 0) batch_size = saved;
    }
  }
  empty_accelerator_cache();
  while (true) {
    try {
      return train_loop(resume, batch_size, memory_stage);
    } catch (const std::exception& e) {
      if (!is_out_of_memory(e)) throw;
      const auto smaller = static_cast<int64_t>(static_cast<double>(batch_size) * 0.9);
      if (smaller == 0)
        throw Error("auto_find_batch_size: no executable batch size found, reached zero (" + std::string(e.what()) +
                    ")");
      log_warning("out of memory at per-device train batch size " + std::to_string(batch_size) + "; retrying with " +
                  std::to_string(smaller) + " (auto_find_batch_size)");
      batch_size = smaller;
      empty_accelerator_cache();
    }
  }
}

TrainOutput Trainer::train_loop(const std::string& resume, int64_t batch_size, detail::MemoryStage& memory_stage) {
  if (!train_dataset_ && !train_stream_) throw InputError("train_dataset", "Trainer.train() needs a train dataset");
  // A streamed dataset (HF's IterableDataset) has no length: max_steps decides, and epochs are passes over it.
  const bool streaming = !train_dataset_;
  if (streaming && options_.max_steps <= 0)
    throw InputError("max_steps", "the train dataset is a stream with no length (--streaming): set max_steps > 0, as "
                                  "HF's Trainer requires");
  if (streaming && options_.group_by_length)
    throw InputError("group_by_length", "needs every example's length, which a streamed dataset does not have");
  if (options_.eval_strategy != "no" && !eval_dataset_)
    throw InputError("eval_strategy", "evaluation (eval_strategy \"" + options_.eval_strategy + "\") needs an eval dataset");
  if (options_.eval_on_start && !eval_dataset_)
    throw InputError("eval_on_start", "an evaluation before the first step needs an eval dataset");
  const auto& o = options_;
  const int64_t B = batch_size;
  const int64_t GA = o.gradient_accumulation_steps;
  // Batches per epoch of this process (its shard of each epoch's batches under data parallelism).
  const int64_t N = streaming ? -1 : sharded_num_batches(train_dataset_->size(), B, world_, o.dataloader_drop_last);
  if (N == 0)
    throw InputError("train_dataset", "has " + std::to_string(train_dataset_->size()) +
                                          " examples: not one batch of " + std::to_string(B) + " (dataloader_drop_last)");

  // HF step counting (transformers >= 4.46): a partial last accumulation window still makes an update.
  const int64_t upd_per_epoch = streaming ? o.max_steps : std::max<int64_t>(N / GA + (N % GA > 0 ? 1 : 0), 1);
  int64_t max_steps;
  int64_t num_train_epochs;
  if (streaming) {  // HF: "go as many times as necessary over the iterator"
    max_steps = o.max_steps;
    num_train_epochs = std::numeric_limits<int32_t>::max();
  } else if (o.max_steps > 0) {
    max_steps = o.max_steps;
    num_train_epochs = max_steps / upd_per_epoch + (max_steps % upd_per_epoch > 0 ? 1 : 0);
  } else {
    max_steps = static_cast<int64_t>(std::ceil(o.num_train_epochs * static_cast<double>(upd_per_epoch)));
    num_train_epochs = static_cast<int64_t>(std::ceil(o.num_train_epochs));
  }
  if (max_steps <= 0) throw InputError("num_train_epochs", "gives no training step: " + python_float_repr(o.num_train_epochs));

  state_ = TrainerState{};
  state_.epoch = 0.0;  // HF: state.epoch = 0 before the first step (what an eval_on_start log shows)
  state_.is_world_process_zero = is_world_process_zero();
  control_ = TrainerControl{};
  state_.max_steps = max_steps;
  state_.num_train_epochs = num_train_epochs;
  state_.train_batch_size = B;
  state_.logging_steps = resolve_steps(o.logging_steps, max_steps);
  state_.eval_steps = resolve_steps(o.eval_steps.value_or(o.logging_steps), max_steps);
  state_.save_steps = resolve_steps(o.save_steps, max_steps);
  globalstep_last_logged_ = 0;
  total_loss_scalar_ = 0.0;
  current_flos_ = 0.0;

  OptimizerOptions opt_options;
  opt_options.optim = o.optim;
  opt_options.optim_args = o.optim_args;
  opt_options.learning_rate = o.learning_rate;
  opt_options.weight_decay = o.weight_decay;
  opt_options.adam_beta1 = o.adam_beta1;
  opt_options.adam_beta2 = o.adam_beta2;
  opt_options.adam_epsilon = o.adam_epsilon;
  optimizer_ = create_optimizer(*model_, opt_options);
  std::vector<torch::Tensor> params;
  for (auto& g : optimizer_->param_groups())
    for (auto& p : g.params()) params.push_back(p);
  scheduler_ = LRScheduler::create(scheduler_options(o, max_steps), get_learning_rates(*optimizer_));
  set_learning_rates(*optimizer_, scheduler_->get_last_lr());
  if (is_world_process_zero()) {  // HF's "***** Running training *****" block, plus device, threads, dtype, BLAS
    TrainingSummary summary;
    summary.num_examples = streaming ? -1 : train_dataset_->size();
    summary.num_epochs = num_train_epochs;
    summary.per_device_train_batch_size = B;
    summary.world_size = world_;
    summary.gradient_accumulation_steps = GA;
    summary.max_steps = max_steps;
    for (const auto& p : params) summary.trainable_parameters += p.requires_grad() ? p.numel() : 0;
    summary.device = params.empty() ? "cpu" : params.front().device().str();
    summary.dtype = params.empty() ? "float32" : dtype_name(c10::toString(params.front().scalar_type()));
    summary.num_threads = at::get_num_threads();
    if (summary.device == "cpu") summary.cpu_allocator = describe_cpu_allocator();
    log_training_summary(summary);
  }

  // DistributedDataParallel: every rank starts from rank 0's weights, and gradients are averaged over ranks.
  std::unique_ptr<distributed::GradientReducer> reducer;
  if (group_) {
    std::vector<torch::Tensor> tensors = model_->parameters();
    for (auto& b : model_->buffers()) tensors.push_back(b);
    distributed::broadcast_tensors(tensors, *group_, 0);
    reducer = std::make_unique<distributed::GradientReducer>(params, group_,
                                                             static_cast<double>(o.ddp_bucket_cap_mb.value_or(25)));
  }
  scaler_.reset();
  if (o.fp16) scaler_.emplace();
  persistent_train_ = PersistentLoader();  // each train() makes its training DataLoader
  if (!resume.empty()) load_checkpoint(resume);
  if (!resume.empty() && o.dataloader_persistent_workers) {
    // The checkpoint's run had its persistent DataLoaders running: go on with them (HF makes new ones, with new
    // workers, so its masks and dropout after a resume differ from an uninterrupted run's; ours do not).
    persistent_train_.start_epoch = resumed_rng_.persistent_train_epoch;
    persistent_train_.workers = generators_from_states(resumed_rng_.collator_workers);
    if (eval_dataset_) {
      PersistentLoader eval;
      eval.live = resumed_rng_.persistent_eval;
      eval.workers = generators_from_states(resumed_rng_.eval_workers);
      persistent_eval_[eval_dataset_.get()] = std::move(eval);
    }
  }

  // Data-order restore: whole epochs already done are skipped outright, then whole windows of the current epoch,
  // without loading their examples (HF reads and discards them for iterable data; §5 #1).
  // A stream is replayed from its start, window by window (passes that ended early included), so the data order
  // after a resume is exact there too.
  const int64_t epochs_trained = o.ignore_data_skip || streaming ? 0 : state_.global_step / upd_per_epoch;
  int64_t windows_to_skip = o.ignore_data_skip ? 0 : streaming ? state_.global_step : state_.global_step % upd_per_epoch;
  const uint64_t data_seed = static_cast<uint64_t>(o.data_seed.value_or(o.seed));
  const std::vector<int64_t> lengths = o.group_by_length ? sampler_lengths(*train_dataset_) : std::vector<int64_t>();
  const int64_t start_global_step = state_.global_step;
  int64_t tokens_this_run = 0;  // include_tokens_per_second: this process's input tokens trained on in this run
  globalstep_last_logged_ = state_.global_step;  // HF: the first log after a resume averages only new steps

  g_stop_requested.store(0);
  SignalScope signals(o.handle_signals);
  if (o.gradient_checkpointing) model_->set_gradient_checkpointing(true);  // HF: gradient_checkpointing_enable()
  // HF's activate_neftune: noise on the input embeddings while training, removed when train() ends (however).
  struct NeftuneScope {
    models::PreTrainedModelImpl& model;
    explicit NeftuneScope(models::PreTrainedModelImpl& m) : model(m) {}
    NeftuneScope(const NeftuneScope&) = delete;
    NeftuneScope& operator=(const NeftuneScope&) = delete;
    ~NeftuneScope() { model.set_neftune_noise_alpha(std::nullopt); }
  };
  std::optional<NeftuneScope> neftune;
  if (o.neftune_noise_alpha) {
    try {
      model_->set_neftune_noise_alpha(o.neftune_noise_alpha);
    } catch (const NotImplemented& e) {
      throw InputError("neftune_noise_alpha", e.what());
    }
    neftune.emplace(*model_);
  }
  model_->train();
  const auto start_time = std::chrono::steady_clock::now();
  control_.should_training_stop = false;
  for_each_callback([&](TrainerCallback& cb) { cb.on_train_begin(o, state_, control_); });
  // HF's _evaluate(skip_scheduler=True) before the first step, also after a resume (logged at the current step).
  if (o.eval_on_start) evaluate_impl(nullptr, "eval", /*step_scheduler=*/false);

  // Batches read ahead are dropped (and the collator's generator rewound) however train() ends.
  struct PrefetchReset {
    std::unique_ptr<BatchPrefetcher>& prefetcher;
    ~PrefetchReset() { prefetcher.reset(); }
  } prefetch_reset{prefetcher_};

  auto tr_loss = torch::zeros({}, torch::kFloat32);
  zero_grad_set_to_none(*optimizer_);
  bool interrupted = false;
  std::optional<double> grad_norm;
  double learning_rate = scheduler_->get_last_lr().front();

  for (int64_t epoch = epochs_trained; epoch < num_train_epochs && !control_.should_training_stop; ++epoch) {
    // This epoch's batches: known up front for a map-style dataset, pulled from a background reader for a stream.
    std::vector<std::vector<int64_t>> batches_of_epoch;
    std::unique_ptr<StreamBatcher> stream;
    // First what the epoch's DataLoader iterator draws from the global generator (as HF's, before any batch).
    if (streaming) {
      // A pass the checkpoint's run had begun (its windows replayed now) drew before the restored state.
      if (windows_to_skip == 0 && new_train_iterator(epoch)) {
        at::Generator gen = at::detail::getDefaultCPUGenerator();
        draw_dataloader_base_seed(gen);
      }
      stream = std::make_unique<StreamBatcher>(*train_stream_, epoch, B, world_, rank_, o.dataloader_drop_last);
    } else {
      const bool resumed_inside = epoch == epochs_trained && windows_to_skip > 0;
      std::vector<int64_t> order = epoch_start_draws(lengths, B * GA, epoch, resumed_inside);  // grouped: the order
      if (!o.group_by_length && o.sequential_sampler) {
        order.resize(static_cast<size_t>(train_dataset_->size()));
        std::iota(order.begin(), order.end(), int64_t{0});
      } else if (!o.group_by_length) {
        order = random_permutation(train_dataset_->size(), data_seed, epoch);
      }
      batches_of_epoch = epoch_batches(order, B);
    }
    if (o.dataloader_persistent_workers && persistent_train_.start_epoch < 0) persistent_train_.start_epoch = epoch;
    control_.should_epoch_stop = false;
    for_each_callback([&](TrainerCallback& cb) { cb.on_epoch_begin(o, state_, control_); });
    int64_t batch_pos = 0;  // batches of this epoch consumed
    int64_t windows_in_epoch = 0;
    if (!streaming && epoch == epochs_trained) {
      batch_pos = std::min(windows_to_skip * GA, N);  // skipped without reading the examples
      windows_to_skip = 0;
    }
    // accelerate's dataloader hands out each batch only after collating the next one (to know whether it was the
    // last), so the collator's generator is one batch ahead of training within an epoch: a mid-epoch evaluation
    // draws its MLM masks after the next training batch's, and an unseeded collator's masks come before the
    // dropout of the batch trained on. With a random collator, collate that batch at the same point (the
    // lookahead), for a stream too (accelerate's dispatcher fetches one batch ahead alike). A checkpoint taken with
    // one pending stores the generator's state before it, and the resumed run collates it from there before going
    // on from the saved state (a stream: once its replayed windows are read again).
    // With worker generators (HF's worker processes) the collator never draws from a generator that training
    // draws from too, so it makes no difference when a batch is collated: no lookahead.
    const bool per_worker = !streaming && uses_worker_generators();
    const bool lookahead = data_collator_.generator.has_value() && !per_worker;
    lookahead_.reset();
    // The batch pending at the checkpoint, collated from the generator's state before it; the saved state after.
    auto collate_resumed_lookahead = [&](auto&& collate_it) {
      at::Generator gen = *data_collator_.generator;
      const torch::Tensor saved = gen.get_state();
      gen.set_state(resumed_rng_.collator_lookahead);
      lookahead_ = collate_it();
      lookahead_state_ = resumed_rng_.collator_lookahead;
      gen.set_state(saved);
    };
    if (resumed_rng_.collator_lookahead.defined() && !streaming) {
      if (lookahead && epoch == epochs_trained && batch_pos < N && !o.ignore_data_skip)
        collate_resumed_lookahead(
            [&] { return collate(*train_dataset_, batches_of_epoch[static_cast<size_t>(batch_pos)]); });
      resumed_rng_.collator_lookahead = torch::Tensor();
    }
    if (per_worker) {
      // HF's worker w collates the iterator's batches w, w + N, w + 2N, ... from a generator of its own. A resume
      // inside this epoch goes on with the checkpoint's worker generators (HF's resumed iterator starts afresh, so
      // its masks after a resume differ from an uninterrupted run's; ours do not), else with new ones (another
      // worker count, a checkpoint without them, ignore_data_skip), dealt from the first batch read.
      std::vector<at::Generator> gens;
      size_t first_worker = 0;
      const auto saved_workers = static_cast<int64_t>(resumed_rng_.collator_workers.size());
      const bool resumed_workers =
          epoch == epochs_trained && batch_pos > 0 && saved_workers == o.dataloader_num_workers;
      const bool persistent_workers =
          o.dataloader_persistent_workers && persistent_train_.start_epoch != epoch &&
          static_cast<int64_t>(persistent_train_.workers.size()) == o.dataloader_num_workers;
      if (resumed_workers) {
        gens = generators_from_states(resumed_rng_.collator_workers);
        first_worker = static_cast<size_t>(resumed_rng_.collator_worker_next);
      } else if (persistent_workers) {
        gens = persistent_train_.workers;  // HF's persistent workers go on with their generators, from worker 0
      } else {
        if (epoch == epochs_trained && batch_pos > 0)
          log_info("resuming inside epoch " + std::to_string(epoch) + " with new dataloader worker generators (the "
                   "checkpoint has none for " + std::to_string(o.dataloader_num_workers) + " workers)");
        gens = worker_generators(epoch_base_seed_, /*training=*/true);
      }
      resumed_rng_.collator_workers.clear();
      if (o.dataloader_persistent_workers) persistent_train_.workers = gens;  // handles: they follow the prefetcher
      std::vector<std::vector<int64_t>> rest(batches_of_epoch.begin() + batch_pos, batches_of_epoch.end());
      prefetcher_ = std::make_unique<BatchPrefetcher>(*train_dataset_, std::move(rest), worker_streams(gens),
                                                      first_worker, static_cast<int>(o.dataloader_num_workers),
                                                      read_ahead(o));
    } else if (!streaming && o.dataloader_num_workers > 0 && !collator_draws_from_global()) {
      // the rest of this epoch, read and collated ahead
      const int64_t first = batch_pos + (lookahead_ ? 1 : 0);
      std::vector<std::vector<int64_t>> rest(batches_of_epoch.begin() + first, batches_of_epoch.end());
      prefetcher_ = std::make_unique<BatchPrefetcher>(*train_dataset_, std::move(rest), data_collator_.collate,
                                                      data_collator_.generator,
                                                      static_cast<int>(o.dataloader_num_workers), read_ahead(o));
    }
    // The next window: up to GA batches (fewer at the end of an epoch, as HF's partial last window).
    auto next_window = [&](bool load) {
      std::vector<std::vector<collators::Features>> raw;
      std::vector<std::vector<int64_t>> indices;
      for (int64_t i = 0; i < GA; ++i) {
        if (streaming) {
          if (i == 0 && lookahead_) {  // already read and collated: its place in the window
            raw.emplace_back();
            continue;
          }
          auto b = stream->next();
          if (!b) break;
          raw.push_back(std::move(*b));
        } else {
          if (batch_pos + i >= N) break;
          indices.push_back(batches_of_epoch[static_cast<size_t>(batch_pos + i)]);
        }
      }
      std::vector<models::ModelInputs> out;
      const size_t n = streaming ? raw.size() : indices.size();
      for (size_t i = 0; load && i < n; ++i) {
        if (i == 0 && lookahead_) {
          out.push_back(std::move(*lookahead_));
          lookahead_.reset();
        } else if (streaming) {
          out.push_back(collate_features(raw[i]));
        } else if (prefetcher_) {  // the same batches, in the same order, already collated
          auto b = prefetcher_->next();
          TCPP_CHECK(b.has_value(), "the prefetcher ran out of batches before the epoch did");
          out.push_back(to_model_device(std::move(*b)));
        } else {
          out.push_back(collate(*train_dataset_, indices[i]));
        }
      }
      batch_pos += static_cast<int64_t>(n);
      if (load && lookahead && n > 0 && streaming) {  // the next batch of the pass, if there is one
        if (auto b = stream->next()) {
          lookahead_state_ = data_collator_.generator->get_state();
          lookahead_ = collate_features(*b);
        }
      } else if (load && lookahead && n > 0 && batch_pos < N) {  // the next batch, as accelerate collates it now
        if (prefetcher_) {
          lookahead_state_ = prefetcher_->consumed_generator_state();
          auto b = prefetcher_->next();
          TCPP_CHECK(b.has_value(), "the prefetcher ran out of batches before the epoch did");
          lookahead_ = to_model_device(std::move(*b));
        } else {
          at::Generator gen = *data_collator_.generator;
          lookahead_state_ = gen.get_state();
          lookahead_ = collate(*train_dataset_, batches_of_epoch[static_cast<size_t>(batch_pos)]);
        }
      }
      return std::make_pair(static_cast<int64_t>(n), std::move(out));
    };

    while (true) {
      if (windows_to_skip > 0) {  // a stream after a resume: replay the windows already trained on
        if (next_window(/*load=*/false).first == 0) break;
        --windows_to_skip;
        ++windows_in_epoch;
        continue;
      }
      if (streaming && resumed_rng_.collator_lookahead.defined()) {
        if (lookahead && !o.ignore_data_skip) {
          if (auto b = stream->next()) collate_resumed_lookahead([&] { return collate_features(*b); });
        }
        resumed_rng_.collator_lookahead = torch::Tensor();
      }
      auto [window_batches, batches] = next_window(/*load=*/true);
      if (window_batches == 0) break;
      ++windows_in_epoch;
      if (o.include_num_input_tokens_seen != "no") count_input_tokens(batches);
      if (o.include_tokens_per_second)
        for (const auto& b : batches) tokens_this_run += b.input_ids.defined() ? b.input_ids.numel() : 0;
      const int64_t w_first_batch = batch_pos - window_batches;  // for messages
      std::optional<int64_t> num_items;
      for (const auto& b : batches) {
        if (b.labels.defined()) num_items = num_items.value_or(0) + b.labels.ne(-100).sum().item<int64_t>();
      }
      // HF (average_tokens_across_devices): the loss is normalised by the label tokens of every rank's window and
      // multiplied by the world size, which DDP's gradient averaging divides out: N ranks == N accumulation steps.
      const bool scale_by_world = group_ && num_items && o.average_tokens_across_devices;
      if (scale_by_world) {
        auto t = torch::tensor({*num_items}, torch::kInt64);
        group_->all_reduce(t);
        num_items = t.item<int64_t>();
      }
      bool skip_update = false;
      std::string nonfinite_where;  // the first micro-step of this window whose loss was NaN/inf on this rank
      for (int64_t i = 0; i < window_batches; ++i) {
        if (i == 0) {
          control_.should_log = control_.should_evaluate = control_.should_save = false;
          for_each_callback([&](TrainerCallback& cb) { cb.on_step_begin(o, state_, control_); });
        }
        auto inputs = batches[static_cast<size_t>(i)];
        inputs.num_items_in_batch = num_items;
        models::ModelInputs forward_inputs = inputs;
        if (o.label_smoothing_factor > 0) forward_inputs.labels = torch::Tensor();
        // Training needs only the loss: causal LMs may use the fused chunked head (no (B, T, V) logits).
        forward_inputs.logits_optional = true;
        torch::Tensor loss;
        {
          AutocastGuard autocast(model_device_type(), mixed_precision_dtype(), o.bf16 || o.fp16);
          auto outputs = model_->forward(forward_inputs);
          loss = compute_loss(inputs, outputs, num_items);
        }
        if (o.torch_empty_cache_steps && state_.global_step % *o.torch_empty_cache_steps == 0)
          empty_accelerator_cache();  // where HF's training_step empties it: after the forward, before backward
        if (!num_items) loss = loss / static_cast<double>(window_batches);  // HF: no token count -> divide by GA
        if (scale_by_world) loss = loss * static_cast<double>(world_);
        const double loss_value = loss.item<double>();
        const bool finite = std::isfinite(loss_value);
        if (!finite && nonfinite_where.empty())
          nonfinite_where = "step " + std::to_string(state_.global_step + 1) + " (epoch " + std::to_string(epoch) +
                            ", batch " + std::to_string(w_first_batch + i) + (group_ ? ", rank " + std::to_string(rank_) : "") +
                            "): training loss is " + python_float_repr(loss_value);
        if (!finite && !reducer) {
          if (o.nan_inf_policy == "stop")
            throw Error(nonfinite_where + "; stopping (lower learning_rate, check the data, or set nan_inf_policy=\"skip\")");
          log_warning(nonfinite_where + "; skipping this update");
          skip_update = true;
        } else {
          // Under data parallelism every rank runs the same collectives in the same order, so backward runs even
          // on a NaN loss; the window's verdict is shared after it.
          if (reducer) reducer->prepare(/*sync=*/i == window_batches - 1);
          (scaler_ ? scaler_->scale(loss) : loss).backward();
        }
        if (finite) {
          tr_loss = tr_loss + loss.detach().to(torch::kFloat32);
        } else if (o.logging_nan_inf_filter) {
          tr_loss = tr_loss + tr_loss / static_cast<double>(1 + state_.global_step - globalstep_last_logged_);
        } else {  // HF without the filter: the NaN/inf goes into the logged average (reached with nan_inf_policy skip)
          tr_loss = tr_loss + loss.detach().to(torch::kFloat32);
        }
        if (inputs.input_ids.defined())
          current_flos_ += 6.0 * static_cast<double>(inputs.input_ids.numel()) * static_cast<double>(non_embedding_params_);
      }

      bool stop_requested = g_stop_requested.load() != 0;
      if (reducer) {
        reducer->finish();
        // One verdict for all ranks: a NaN/inf loss anywhere, and a stop request (SIGINT/SIGTERM) anywhere.
        auto flags = torch::tensor({nonfinite_where.empty() ? 0.0F : 1.0F, stop_requested ? 1.0F : 0.0F});
        group_->all_reduce_max(flags);
        stop_requested = flags[1].item<float>() > 0;
        if (flags[0].item<float>() > 0) {
          const std::string what = !nonfinite_where.empty()
                                       ? nonfinite_where
                                       : "step " + std::to_string(state_.global_step + 1) + ": the training loss of another rank is not finite";
          if (o.nan_inf_policy == "stop")
            throw Error(what + "; stopping (lower learning_rate, check the data, or set nan_inf_policy=\"skip\")");
          log_warning(what + "; skipping this update");
          skip_update = true;
        }
      }
      bool overflow = false;  // fp16: the loss scaler found inf/NaN gradients
      if (skip_update) {
        zero_grad_set_to_none(*optimizer_);
        grad_norm.reset();
      } else {
        // fp16: unscale before clipping; an inf/NaN gradient skips the step and backs the scale off (GradScaler).
        overflow = scaler_ && !scaler_->unscale(params);
        grad_norm = clip_grad_norm(params, o.max_grad_norm);
        // A gradient that is not finite while the loss was (an overflow inside backward, a bad op): the loss's
        // policy, before the optimizer writes it into every weight. Every rank sees the same reduced gradients.
        const double norm = overflow ? 0.0 : grad_norm ? *grad_norm : total_grad_norm(params);
        if (!std::isfinite(norm)) {
          const std::string what = "step " + std::to_string(state_.global_step + 1) + " (epoch " + std::to_string(epoch) +
                                   "): the gradient norm is " + python_float_repr(norm) + " while the loss was finite";
          if (o.nan_inf_policy == "stop")
            throw Error(what + "; stopping (lower learning_rate, check the data, or set nan_inf_policy=\"skip\")");
          log_warning(what + "; skipping this update");
          grad_norm.reset();
        } else if (!overflow) {
          optimizer_->step();
        }
        if (scaler_) {
          scaler_->update(overflow);
          if (overflow)
            log_warning("step " + std::to_string(state_.global_step + 1) + ": fp16 gradient overflow, step skipped; "
                        "loss scale lowered to " + python_float_repr(scaler_->get_scale()));
        }
      }
      learning_rate = scheduler_->get_last_lr().front();  // the LR this step used (logged, as HF 4.5x)
      // As accelerate: a step the loss scaler skipped does not advance the schedule.
      if (!overflow) scheduler_->step();
      set_learning_rates(*optimizer_, scheduler_->get_last_lr());
      zero_grad_set_to_none(*optimizer_);
      state_.global_step += 1;
      // HF divides by the epoch's batches, or by max_steps * GA for a stream of unknown length.
      state_.epoch = static_cast<double>(epoch) +
                     static_cast<double>(batch_pos) / static_cast<double>(streaming ? max_steps * GA : N);

      // DefaultFlowCallback.on_step_end, then the user's callbacks.
      const int64_t gs = state_.global_step;
      if (gs == 1 && o.logging_first_step) control_.should_log = true;
      if (o.logging_strategy == "steps" && gs % state_.logging_steps == 0) control_.should_log = true;
      if (o.eval_strategy == "steps" && gs % state_.eval_steps == 0 && o.eval_delay <= gs) control_.should_evaluate = true;
      if (o.save_strategy == "steps" && state_.save_steps > 0 && gs % state_.save_steps == 0) control_.should_save = true;
      if (gs >= max_steps) {
        control_.should_training_stop = true;
        if (o.save_strategy == "steps") control_.should_save = true;
      }
      if (stop_requested) {
        log_warning("interrupted: saving a checkpoint at step " + std::to_string(gs) + " and stopping");
        control_.should_save = true;
        control_.should_training_stop = true;
        interrupted = true;
      }
      for_each_callback([&](TrainerCallback& cb) { cb.on_step_end(o, state_, control_); });
      maybe_log_save_evaluate(tr_loss, grad_norm, learning_rate);
      if (control_.should_epoch_stop || control_.should_training_stop) break;
    }
    prefetcher_.reset();  // rewinds the collator's generator when training stopped mid-epoch
    if (streaming && windows_in_epoch == 0)
      throw InputError("train_dataset", "the stream yielded no batch of " + std::to_string(B) + " x " +
                                            std::to_string(world_) + " process(es) in epoch " + std::to_string(epoch));

    for_each_callback([&](TrainerCallback& cb) { cb.on_epoch_end(o, state_, control_); });
    if (!interrupted) {
      if (o.logging_strategy == "epoch") control_.should_log = true;
      if (o.eval_strategy == "epoch" && o.eval_delay <= epoch + 1) control_.should_evaluate = true;
      if (o.save_strategy == "epoch") control_.should_save = true;
      maybe_log_save_evaluate(tr_loss, grad_norm, learning_rate);
    }
  }

  lookahead_.reset();  // collated and never trained on, as accelerate's last lookahead: its draws stay made
  if (o.load_best_model_at_end && state_.best_model_checkpoint && !interrupted) {
    log_info("loading best model from " + *state_.best_model_checkpoint + " (score: " +
             python_float_repr(state_.best_metric.value_or(0.0)) + ")");
    model_io_.load(*model_, *state_.best_model_checkpoint);
  }
  // HF: once training is over, save_total_limit 1 leaves the best checkpoint alone (not after an interruption,
  // whose checkpoint is the one to resume from).
  if (o.save_total_limit == 1 && state_.best_model_checkpoint && !interrupted && should_save()) {
    for (const auto& gone : keep_only_best_checkpoint(o.output_dir, *state_.best_model_checkpoint))
      log_info("deleting " + gone + ": save_total_limit 1 keeps only the best checkpoint once training is over");
  }

  total_loss_scalar_ += mean_over_ranks(tr_loss.item<double>());  // HF adds only the local remainder; we average
  store_flos();
  const double runtime = seconds_since(start_time);
  // HF divides by global_step, which is wrong after a resume (only this run's losses are summed); divide by the
  // steps this run trained.
  const double steps_run = std::max(static_cast<double>(state_.global_step - start_global_step), 0.001);
  const double train_loss = total_loss_scalar_ / steps_run;
  const double num_samples = o.max_steps > 0 ? static_cast<double>(max_steps * B * GA * world_)
                                             : static_cast<double>(train_dataset_->size()) * o.num_train_epochs;
  Metrics metrics;
  add_speed_metrics(metrics, "train", runtime, num_samples, static_cast<double>(max_steps),
                    o.include_tokens_per_second ? std::optional<double>(static_cast<double>(tokens_this_run))
                                                : std::nullopt);
  metrics["total_flos"] = state_.total_flos;
  metrics["train_loss"] = train_loss;
  memory_stage.finish(metrics);
  Json logs = metrics_to_json(metrics);
  log(logs);
  if (state_.epoch) metrics["epoch"] = *state_.epoch;
  for_each_callback([&](TrainerCallback& cb) { cb.on_train_end(o, state_, control_); });

  TrainOutput out;
  out.global_step = state_.global_step;
  out.training_loss = train_loss;
  out.metrics = metrics;
  out.interrupted = interrupted;
  return out;
}

}  // namespace tcpp::trainer
