// checkpoint-N folders: naming, listing, atomic commit (stage, fsync, rename), save_total_limit rotation and RNG
// state files (as transformers' Trainer._save_checkpoint / _rotate_checkpoints / get_last_checkpoint).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

namespace tcpp::trainer {

inline constexpr const char* kCheckpointPrefix = "checkpoint-";
inline constexpr const char* kOptimizerFile = "optimizer.pt";     // torch::save archive (not HF's pickle)
inline constexpr const char* kSchedulerFile = "scheduler.json";   // HF writes a pickled scheduler.pt
inline constexpr const char* kRngStateFile = "rng_state.pt";      // HF's rng_state.pth holds numpy pickles
inline constexpr const char* kTrainingArgsFile = "training_args.json";
inline constexpr const char* kScalerFile = "scaler.json";         // fp16 loss scale (HF: pickled scaler.pt)

struct CheckpointEntry {
  int64_t step = 0;
  std::string path;
};

/// Complete checkpoints in output_dir (folders named checkpoint-<digits> holding trainer_state.json), sorted by
/// step. Staging folders from an interrupted save are never listed.
std::vector<CheckpointEntry> list_checkpoints(const std::string& output_dir);

/// The complete checkpoint with the highest step, or nullopt (get_last_checkpoint).
std::optional<std::string> get_last_checkpoint(const std::string& output_dir);

/// The staging folder a checkpoint is written to before commit_checkpoint (cleared when it exists).
std::string prepare_staging_dir(const std::string& output_dir, int64_t step);

/// Write staging_dir's manifest (checkpoint_manifest.json: size and xxh64 of every file), fsync every file and the
/// folder itself, then rename it to output_dir/checkpoint-<step>
/// (replacing an existing one) and fsync output_dir; then remove staging folders that interrupted saves left.
/// Returns the final path.
std::string commit_checkpoint(const std::string& staging_dir, const std::string& output_dir, int64_t step);

/// Delete the oldest checkpoints beyond `limit` by step number, never the newest nor `best_checkpoint`
/// (with limit 1 and a best that is not the newest, both stay, as HF). Returns the deleted paths.
std::vector<std::string> rotate_checkpoints(const std::string& output_dir, int64_t limit,
                                            const std::optional<std::string>& best_checkpoint);
/// HF at the end of a completed train() with save_total_limit 1 and a best checkpoint: every other checkpoint-N
/// folder is deleted (during training the newest was kept besides the best, to resume from). Returns the deleted.
std::vector<std::string> keep_only_best_checkpoint(const std::string& output_dir, const std::string& best_checkpoint);

/// The RNG file of one process: rng_state.pt for a single process, rng_state_<rank>.pt under data parallelism
/// (HF's rng_state.pth / rng_state_<rank>.pth).
std::string rng_state_file(int rank, int world_size);
/// How many processes saved checkpoint `dir`, from its RNG files named rng_state[_<rank>]<extension> (0 when it has
/// none).
int saved_world_size(const std::string& dir, const std::string& extension = ".pt");
/// What an RNG file holds besides the global and the collator's generators (each part optional, undefined if not).
struct RngExtras {
  /// The collator generator's state before the training batch collated ahead (accelerate's one-batch lookahead)
  /// that the checkpoint's run has not trained on yet ("collator_lookahead").
  at::Tensor collator_lookahead;
  /// The global generator (HF's, which dropout and the DataLoaders draw from) when epoch `sampler_epoch` began
  /// ("sampler_epoch_start", "sampler_epoch"): a resume inside that epoch redraws its length-grouped order from it.
  at::Tensor sampler_epoch_start;
  int64_t sampler_epoch = -1;
  /// The generators of the dataloader workers that collate with generators of their own (HF's worker processes),
  /// as of the last training batch of the checkpoint's epoch ("collator_worker_<w>"), and the worker whose turn is
  /// next ("collator_worker_next"): a resume inside that epoch goes on with them.
  std::vector<at::Tensor> collator_workers;
  int64_t collator_worker_next = 0;
  /// With persistent dataloader workers: the epoch whose start made the training DataLoader's iterator
  /// ("persistent_train_epoch"; -1: none), so a resume draws no base seed after it and goes on with collator_workers;
  /// whether the evaluation DataLoader has made its iterator ("persistent_eval") and its workers' generators
  /// ("eval_worker_<w>").
  int64_t persistent_train_epoch = -1;
  bool persistent_eval = false;
  std::vector<at::Tensor> eval_workers;
};

/// Check a CPU generator state read from `path` (entry `key`) before at::Generator::set_state takes it: a 1-D uint8
/// CPU tensor of LibTorch's state size whose mt19937 position stays inside the state. Throws InputError.
void check_cpu_generator_state(const at::Tensor& state, const std::string& path, const std::string& key);

/// The global CPU generator (dropout), the collator's generator and `extras`, serialized as save_rng_state writes
/// them.
std::string rng_state_bytes(const std::optional<at::Generator>& collator_generator, const RngExtras& extras = {});
/// Save the global CPU generator (dropout) and the collator's generator into path.
void save_rng_state(const std::string& path, const std::optional<at::Generator>& collator_generator);
/// Restore what save_rng_state wrote; throws InputError naming path when it cannot be read. `extras` (optional)
/// receives the parts the file has (each generator state checked like the others).
void load_rng_state(const std::string& path, const std::optional<at::Generator>& collator_generator,
                    RngExtras* extras = nullptr);

}  // namespace tcpp::trainer
