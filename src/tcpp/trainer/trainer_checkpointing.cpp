// The Trainer's checkpoints: checkpoint-N written (atomically, in HF's layout and transformers' own files beside
// ours) and read back for an exact resume, also from a checkpoint of transformers' Trainer; save_model, save_state.
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>

#include "tcpp/core/error.h"
#include "tcpp/core/file.h"
#include "tcpp/core/json.h"
#include "tcpp/core/logging.h"
#include "tcpp/core/manifest.h"
#include "tcpp/trainer/checkpoint.h"
#include "tcpp/trainer/hf_checkpoint.h"
#include "tcpp/trainer/optimizer.h"
#include "tcpp/trainer/torch_archive.h"
#include "tcpp/trainer/trainer.h"
#include "tcpp/trainer/trainer_internal.h"

namespace tcpp::trainer {
using detail::add_speed_metrics;
using detail::MemoryStage;
using detail::read_ahead;
using detail::seconds_since;
namespace fs = std::filesystem;

ModelIO torch_archive_model_io() {
  ModelIO io;
  io.save = [](const models::PreTrainedModelImpl& model, const std::string& dir) {
    torch::serialize::OutputArchive archive;
    for (const auto& p : model.named_parameters(/*recurse=*/true)) archive.write(p.key(), p.value().detach());
    for (const auto& b : model.named_buffers(/*recurse=*/true)) archive.write(b.key(), b.value(), /*is_buffer=*/true);
    std::ostringstream bytes;  // in memory first: LibTorch's file writer cannot report a full disk (see optimizer.cpp)
    archive.save_to(bytes);
    write_file_atomic((fs::path(dir) / "model.pt").string(), bytes.str());
    write_file_atomic((fs::path(dir) / "config.json").string(), dump_json_python(model.config_json(), 2) + "\n");
  };
  io.load = [](models::PreTrainedModelImpl& model, const std::string& dir) {
    const std::string path = (fs::path(dir) / "model.pt").string();
    check_torch_archive(path);  // LibTorch would trust the pickle's storage sizes over the records (F11)
    try {
      torch::serialize::InputArchive archive;
      archive.load_from(path);
      torch::NoGradGuard no_grad;
      for (auto& p : model.named_parameters(/*recurse=*/true)) {
        torch::Tensor t;
        if (!archive.try_read(p.key(), t)) throw InputError(path, "missing tensor \"" + p.key() + "\"");
        p.value().copy_(t);
      }
      for (auto& b : model.named_buffers(/*recurse=*/true)) {
        torch::Tensor t;
        if (archive.try_read(b.key(), t, /*is_buffer=*/true)) b.value().copy_(t);
      }
    } catch (const c10::Error& e) {
      throw InputError(path, std::string("cannot read model weights: ") + e.what_without_backtrace());
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {  // LibTorch's TorchScript importer reports a garbled archive as runtime_error
      throw InputError(path, std::string("cannot read model weights: ") + e.what());
    }
  };
  return io;
}

void Trainer::save_checkpoint() {
  const int64_t step = state_.global_step;
  // Every rank's RNG state reaches rank 0, which alone writes the checkpoint (one atomic commit, no races
  // between ranks on the staging folder).
  rewind_prefetch();  // the collator's generator as of the last batch trained on, not of those read ahead
  std::vector<std::string> rng_states, cpu_states;
  if (!options_.save_only_model) {
    RngExtras extras;
    if (lookahead_) extras.collator_lookahead = lookahead_state_;
    if (prefetcher_ && uses_worker_generators()) {  // the epoch's worker generators, as of the last batch trained on
      extras.collator_workers = prefetcher_->consumed_generator_states();
      extras.collator_worker_next = static_cast<int64_t>(prefetcher_->next_stream());
    }
    if (sampler_epoch_start_.defined()) {
      extras.sampler_epoch_start = sampler_epoch_start_;
      extras.sampler_epoch = sampler_epoch_;
    }
    if (options_.dataloader_persistent_workers) {  // the DataLoaders that keep their workers, and those workers
      extras.persistent_train_epoch = persistent_train_.start_epoch;
      const auto eval = eval_dataset_ ? persistent_eval_.find(eval_dataset_.get()) : persistent_eval_.end();
      if (eval != persistent_eval_.end() && eval->second.live) {
        extras.persistent_eval = true;
        for (at::Generator gen : eval->second.workers) {  // no evaluation runs now: nothing else draws from them
          std::lock_guard<std::mutex> lock(gen.mutex());
          extras.eval_workers.push_back(gen.get_state());
        }
      }
    }
    const std::string mine = rng_state_bytes(data_collator_.generator, extras);
    rng_states = group_ ? group_->all_gather_bytes(mine) : std::vector<std::string>{mine};
    // Each rank's global generator also goes into transformers' rng_state(_<rank>).pth.
    const torch::Tensor cpu = at::detail::getDefaultCPUGenerator().get_state();
    const std::string cpu_bytes(reinterpret_cast<const char*>(cpu.data_ptr<uint8_t>()),
                                static_cast<size_t>(cpu.numel()));
    cpu_states = group_ ? group_->all_gather_bytes(cpu_bytes) : std::vector<std::string>{cpu_bytes};
  }
  if (options_.metric_for_best_model && state_.best_global_step) {
    const auto best_dir = fs::path(options_.output_dir) / (kCheckpointPrefix + std::to_string(*state_.best_global_step));
    // Decided on rank 0 (its file system holds the checkpoints) and shared; the path is each process's own (with
    // save_on_each_node, its machine's output_dir).
    std::string best;
    if (is_world_process_zero() && (*state_.best_global_step == step || fs::exists(best_dir))) best = "yes";
    if (group_) best = group_->broadcast_bytes(best, 0);
    if (!best.empty()) state_.best_model_checkpoint = best_dir.string();
  }
  store_flos();
  if (!should_save()) {
    group_->barrier();  // return once rank 0 (each machine's first process) has committed the checkpoint
    return;
  }
  fs::create_directories(options_.output_dir);
  const std::string staging = prepare_staging_dir(options_.output_dir, step);
  model_io_.save(*model_, staging);
  if (save_extra_) save_extra_(staging);
  write_file_atomic((fs::path(staging) / kTrainingArgsFile).string(),
                    dump_json_python(training_args_json_.is_null() ? to_json(options_) : training_args_json_, 2) + "\n");
  if (!options_.save_only_model) {
    // Python's Trainer resumes this folder too: optimizer.pt is the optimizer's state_dict pickle (torch.optim's
    // and transformers' Adafactor's; a LibTorch archive for any other), scheduler.pt and rng_state.pth are its
    // files, beside our scheduler.json and
    // rng_state.pt (which hold what a resume here needs besides: the collator's generator, the epoch's start).
    const Json scheduler_state = scheduler_->state_dict();
    const auto optimizer_path = (fs::path(staging) / kOptimizerFile).string();
    if (auto hf = hf_optimizer_state(*optimizer_, scheduler_state.at("base_lrs").get<std::vector<double>>())) {
      models::save_torch_pickle(optimizer_path, *hf);
    } else {
      save_optimizer(*optimizer_, optimizer_path);
    }
    if (scaler_)
      write_file_atomic((fs::path(staging) / kScalerFile).string(), dump_json_python(scaler_->state_dict(), 2) + "\n");
    write_file_atomic((fs::path(staging) / kSchedulerFile).string(), dump_json_python(scheduler_state, 2) + "\n");
    models::save_torch_pickle((fs::path(staging) / "scheduler.pt").string(), hf_scheduler_state_dict(scheduler_state));
    for (int r = 0; r < static_cast<int>(rng_states.size()); ++r) {
      write_file_atomic((fs::path(staging) / rng_state_file(r, world_)).string(), rng_states[static_cast<size_t>(r)]);
      const std::string& bytes = cpu_states[static_cast<size_t>(r)];
      const torch::Tensor cpu = torch::from_blob(const_cast<char*>(bytes.data()), {static_cast<int64_t>(bytes.size())},
                                                 torch::kUInt8).clone();
      models::save_torch_pickle((fs::path(staging) / hf_rng_state_file(r, world_)).string(),
                                hf_rng_state_dict(static_cast<uint64_t>(options_.seed), cpu));
    }
  }
  Json stateful = Json::object();
  stateful["TrainerControl"] = {{"args",
                                 {{"should_epoch_stop", control_.should_epoch_stop},
                                  {"should_evaluate", control_.should_evaluate},
                                  {"should_log", control_.should_log},
                                  {"should_save", control_.should_save},
                                  {"should_training_stop", control_.should_training_stop}}},
                                {"attributes", Json::object()}};
  for (auto& cb : callbacks_) {
    if (auto s = cb->state()) stateful[cb->name()] = *s;
  }
  state_.stateful_callbacks = stateful;
  state_.save_to_json((fs::path(staging) / kTrainerStateFile).string());
  commit_checkpoint(staging, options_.output_dir, step);
  if (options_.save_total_limit) rotate_checkpoints(options_.output_dir, *options_.save_total_limit, state_.best_model_checkpoint);
  if (group_) group_->barrier();
}

void Trainer::load_checkpoint(const std::string& dir) {
  const auto state_path = (fs::path(dir) / kTrainerStateFile).string();
  if (!fs::exists(state_path)) throw InputError(dir, "not a checkpoint: missing trainer_state.json");
  // A checkpoint of transformers' Trainer (a run begun in Python): its pickles, read as the Trainer reads them.
  const bool from_hf = is_hf_checkpoint(dir);
  if (from_hf) log_info("resuming from " + dir + ", a checkpoint of transformers' Trainer");
  verify_manifest(dir);  // a damaged file is named before anything is loaded from the folder
  const auto optimizer_path = (fs::path(dir) / kOptimizerFile).string();
  if (!fs::exists(optimizer_path))
    throw InputError(dir, "missing optimizer.pt: the checkpoint was saved with save_only_model and cannot be resumed");
  // Each rank's data shard and RNG streams depend on the number of processes: resume with the same number.
  const int saved_world = from_hf ? hf_saved_world_size(dir) : saved_world_size(dir);
  if (saved_world != world_)
    throw InputError(dir, saved_world == 0 ? std::string("missing ") + (from_hf ? "rng_state.pth" : "rng_state.pt") +
                                                 ": the checkpoint is incomplete"
                                           : "was saved by " + std::to_string(saved_world) + " process(es) but this run has " +
                                                 std::to_string(world_) + "; resume with the same number of processes "
                                                 "(tcpp launch --nproc_per_node/--nnodes), or start a new run from its "
                                                 "weights with --model_name_or_path " + dir);
  model_io_.load(*model_, dir);
  if (from_hf) {
    load_hf_optimizer(*optimizer_, optimizer_path);
    const auto scheduler_path = (fs::path(dir) / "scheduler.pt").string();
    scheduler_->load_state_dict(hf_scheduler_state(scheduler_path, scheduler_->state_dict()), scheduler_path);
  } else {
    if (is_torch_save_pickle(optimizer_path)) {  // saved as torch.optim saves its state_dict
      load_hf_optimizer(*optimizer_, optimizer_path);
    } else {
      load_optimizer(*optimizer_, optimizer_path);
    }
    const auto scheduler_path = (fs::path(dir) / kSchedulerFile).string();
    scheduler_->load_state_dict(read_json_file(scheduler_path), scheduler_path);
  }
  set_learning_rates(*optimizer_, scheduler_->get_last_lr());
  if (scaler_ && from_hf && fs::exists(fs::path(dir) / "scaler.pt")) {
    log_warning(dir + ": the fp16 loss scale of transformers' scaler.pt is not read; it starts again at 2^16");
  } else if (scaler_) {
    const auto scaler_path = (fs::path(dir) / kScalerFile).string();
    if (fs::exists(scaler_path)) scaler_->load_state_dict(read_json_file(scaler_path), scaler_path);
  }
  TrainerState loaded = TrainerState::load_from_json(state_path);
  // As HF: the run goes on with the new values, but say so (the data order and logs change with them).
  auto warn_if_changed = [&](const char* field, int64_t old_value, int64_t new_value) {
    if (old_value != new_value)
      log_warning("resuming from " + dir + ", which was trained with " + field + "=" + std::to_string(old_value) +
                  ", but the current value is " + std::to_string(new_value) + "; using the current value");
  };
  warn_if_changed("per_device_train_batch_size", loaded.train_batch_size, state_.train_batch_size);
  warn_if_changed("logging_steps", loaded.logging_steps, state_.logging_steps);
  warn_if_changed("eval_steps", loaded.eval_steps, state_.eval_steps);
  warn_if_changed("save_steps", loaded.save_steps, state_.save_steps);
  state_.global_step = loaded.global_step;
  state_.epoch = loaded.epoch;
  state_.log_history = loaded.log_history;
  state_.best_metric = loaded.best_metric;
  state_.best_global_step = loaded.best_global_step;
  state_.best_model_checkpoint = loaded.best_model_checkpoint;
  state_.total_flos = loaded.total_flos;
  state_.num_input_tokens_seen = loaded.num_input_tokens_seen;
  // HF restores callback state only with restore_callback_states_from_checkpoint; exact resume needs it always.
  for (auto& cb : callbacks_) {
    if (loaded.stateful_callbacks.contains(cb->name())) cb->load_state(loaded.stateful_callbacks.at(cb->name()));
  }
  if (from_hf) {
    // HF keeps no collator generator (a seeded collator starts again from its seed, as HF's does) and draws each
    // epoch's order afresh, so there is nothing more to restore.
    load_hf_rng_state((fs::path(dir) / hf_rng_state_file(rank_, world_)).string());
    resumed_rng_ = RngExtras();
  } else {
    load_rng_state((fs::path(dir) / rng_state_file(rank_, world_)).string(), data_collator_.generator, &resumed_rng_);
  }
}

void Trainer::save_model(const std::string& dir) {
  if (!should_save()) {  // HF: only the main process (of each machine, with save_on_each_node) saves
    group_->barrier();
    return;
  }
  const std::string target = dir.empty() ? options_.output_dir : dir;
  fs::create_directories(target);
  model_io_.save(*model_, target);
  if (save_extra_) save_extra_(target);
  write_file_atomic((fs::path(target) / kTrainingArgsFile).string(),
                    dump_json_python(training_args_json_.is_null() ? to_json(options_) : training_args_json_, 2) + "\n");
  if (group_) group_->barrier();
}

void Trainer::save_state() {
  if (!is_world_process_zero()) return;
  fs::create_directories(options_.output_dir);
  state_.save_to_json((fs::path(options_.output_dir) / kTrainerStateFile).string());
}

}  // namespace tcpp::trainer
