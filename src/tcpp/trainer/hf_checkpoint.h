// Checkpoints in transformers' Trainer's own files (its optimizer.pt, scheduler.pt and rng_state.pth pickles): read
// so that a run begun in Python resumes here (as Trainer._load_optimizer_and_scheduler and _load_rng_state load
// them), and written beside ours so that Python's Trainer resumes a run begun here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <torch/optim/optimizer.h>

#include "tcpp/core/json.h"
#include "tcpp/models/pytorch_bin.h"

namespace tcpp::trainer {

/// True when checkpoint `dir` holds the Trainer's pickled scheduler.pt rather than our scheduler.json.
bool is_hf_checkpoint(const std::string& dir);

/// True when path is a torch.save pickle (a zip with data.pkl), not a TorchScript archive as LibTorch's
/// torch::serialize writes (those also hold constants.pkl). False when it cannot be opened as a zip.
bool is_torch_save_pickle(const std::string& path);

/// The RNG file of one process in such a checkpoint: rng_state.pth, or rng_state_<rank>.pth under data parallelism.
std::string hf_rng_state_file(int rank, int world_size);
/// How many processes saved such a checkpoint, from its RNG files (0 when it has none).
int hf_saved_world_size(const std::string& dir);

/// Load an optimizer's state_dict() (torch.optim's, or transformers' Adafactor's) from path into `optimizer` (built
/// for the same model and groups, as the Trainer's create_optimizer builds them): each group's hyperparameters and
/// each parameter's state, parameters numbered in order across the groups. AdamW (adamw_torch, adamw_torch_fused),
/// SGD, Adagrad, RMSprop, Adafactor. Throws InputError naming path when the file holds another optimizer, other
/// groups, or states that do not fit the parameters.
void load_hf_optimizer(torch::optim::Optimizer& optimizer, const std::string& path);

/// scheduler.pt (LambdaLR's or ReduceLROnPlateau's state_dict) as our scheduler's state: `ours` (the scheduler's
/// own state_dict()) with the fields the file has. Throws InputError naming path when they are of the wrong kind.
Json hf_scheduler_state(const std::string& path, const Json& ours);

/// Restore the global CPU generator from rng_state.pth's "cpu" entry (its "python" and "numpy" states have no use
/// here; a "cuda" state is ignored). Throws InputError naming path.
void load_hf_rng_state(const std::string& path);

/// optimizer.state_dict() as torch.optim's AdamW, SGD, Adagrad or RMSprop, or transformers' Adafactor, returns it
/// (torch 2.x's group keys; parameters numbered in order across the groups; `initial_lrs`, the schedule's base rates,
/// as LambdaLR adds them to the groups); nullopt for any other optimizer, whose state Python's Trainer cannot take
/// from us.
std::optional<models::PickledObject> hf_optimizer_state(torch::optim::Optimizer& optimizer,
                                                        const std::vector<double>& initial_lrs);

/// Our scheduler's state (LRScheduler::state_dict()) as torch's LambdaLR state_dict(), or ReduceLROnPlateau's when
/// it has the plateau fields.
models::PickledObject hf_scheduler_state_dict(const Json& ours);

/// rng_state.pth as Trainer._save_rng_state writes it: Python's and numpy's generators as set_seed(seed) left them
/// (the Trainer draws from neither) and `cpu`, a CPU generator state (the global one's).
models::PickledObject hf_rng_state_dict(uint64_t seed, const torch::Tensor& cpu);

}  // namespace tcpp::trainer
