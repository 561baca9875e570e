// Checkpoints written by transformers' Trainer (its optimizer.pt, scheduler.pt and rng_state.pth pickles), read so
// that a run begun in Python resumes here (as Trainer._load_optimizer_and_scheduler and _load_rng_state load them).
#pragma once

#include <string>

#include <torch/optim/optimizer.h>

#include "tcpp/core/json.h"

namespace tcpp::trainer {

/// True when checkpoint `dir` holds the Trainer's pickled scheduler.pt rather than our scheduler.json.
bool is_hf_checkpoint(const std::string& dir);

/// The RNG file of one process in such a checkpoint: rng_state.pth, or rng_state_<rank>.pth under data parallelism.
std::string hf_rng_state_file(int rank, int world_size);
/// How many processes saved such a checkpoint, from its RNG files (0 when it has none).
int hf_saved_world_size(const std::string& dir);

/// Load torch.optim's optimizer.state_dict() from path into `optimizer` (built for the same model and groups, as the
/// Trainer's create_optimizer builds them): each group's hyperparameters and each parameter's state, parameters
/// numbered in order across the groups. AdamW (adamw_torch, adamw_torch_fused) and SGD. Throws InputError naming
/// path when the file holds another optimizer, other groups, or states that do not fit the parameters.
void load_hf_optimizer(torch::optim::Optimizer& optimizer, const std::string& path);

/// scheduler.pt (LambdaLR's or ReduceLROnPlateau's state_dict) as our scheduler's state: `ours` (the scheduler's
/// own state_dict()) with the fields the file has. Throws InputError naming path when they are of the wrong kind.
Json hf_scheduler_state(const std::string& path, const Json& ours);

/// Restore the global CPU generator from rng_state.pth's "cpu" entry (its "python" and "numpy" states have no use
/// here; a "cuda" state is ignored). Throws InputError naming path.
void load_hf_rng_state(const std::string& path);

}  // namespace tcpp::trainer
