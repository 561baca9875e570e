// AdamW with Hugging Face's defaults and weight-decay grouping, gradient clipping and optimizer state files
// (as Trainer.create_optimizer / get_decay_parameter_names and torch.nn.utils.clip_grad_norm_).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace tcpp::trainer {

/// The TrainingArguments fields the optimizer reads (HF defaults).
struct OptimizerOptions {
  /// adamw_torch / adamw_torch_fused (the same fused AdamW here), sgd, adagrad or rmsprop (torch.optim's), or
  /// adafactor (transformers').
  std::string optim = "adamw_torch";
  /// HF's optim_args "k=v,k2=v2": for sgd momentum, dampening, weight_decay and nesterov; for adagrad lr_decay,
  /// weight_decay and eps; for rmsprop momentum, alpha, eps, weight_decay and centered (as transformers reads them).
  std::string optim_args;
  double learning_rate = 5e-5;
  double weight_decay = 0.0;
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.999;
  double adam_epsilon = 1e-8;
};

/// Names of the trainable parameters that get weight decay, in named_parameters() order. As HF: everything
/// except parameters of LayerNorm/RMSNorm modules and names matching bias, layernorm, rmsnorm, (^|.)norm($|.),
/// _norm($|.) (lower-cased). Embeddings are decayed. Frozen parameters are in neither group.
std::vector<std::string> get_decay_parameter_names(const torch::nn::Module& model);

/// AdamW over two param groups, decay first then no-decay (HF's order), both at learning_rate.
/// Empty groups are left out, as HF does. Throws InputError when the model has no trainable parameters.
std::unique_ptr<torch::optim::AdamW> create_adamw(const torch::nn::Module& model, const OptimizerOptions& options);

/// The optimizer `options.optim` names, over the same two param groups as create_adamw (decay, then no decay).
/// Throws InputError naming optim or optim_args for what trainer.cpp does not implement.
std::unique_ptr<torch::optim::Optimizer> create_optimizer(const torch::nn::Module& model,
                                                          const OptimizerOptions& options);

/// Set each param group's learning rate (the scheduler's get_last_lr(), one value per group).
void set_learning_rates(torch::optim::Optimizer& optimizer, const std::vector<double>& lrs);
/// Each param group's current learning rate.
std::vector<double> get_learning_rates(torch::optim::Optimizer& optimizer);

/// Clip the global L2 norm of all gradients to max_norm (when > 0) and return the norm before clipping,
/// as HF logs it. nullopt when max_norm <= 0 (HF then logs no grad_norm).
std::optional<double> clip_grad_norm(const std::vector<torch::Tensor>& parameters, double max_norm);
/// The 2-norm of all gradients together (what clip_grad_norm returns), without clipping: the NaN/inf check of a
/// run with max_grad_norm 0.
double total_grad_norm(const std::vector<torch::Tensor>& parameters);

/// Write the optimizer state (moments, step counts, group options) as a torch::save archive.
void save_optimizer(torch::optim::Optimizer& optimizer, const std::string& path);
/// Read a save_optimizer() archive into an optimizer over the same parameters; throws InputError naming path.
void load_optimizer(torch::optim::Optimizer& optimizer, const std::string& path);

}  // namespace tcpp::trainer
