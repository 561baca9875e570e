// AdamW with Hugging Face's defaults and weight-decay grouping, gradient clipping and optimizer state files
// (as Trainer.create_optimizer / get_decay_parameter_names and torch.nn.utils.clip_grad_norm_).
#include "tcpp/trainer/optimizer.h"

#include <regex>
#include <set>
#include <sstream>

#include "tcpp/core/check.h"
#include "tcpp/core/error.h"
#include "tcpp/core/file.h"
#include "tcpp/core/strings.h"

namespace tcpp::trainer {
namespace {

// HF's forbidden_name_patterns, searched in the lower-cased full parameter name.
bool name_excluded_from_decay(const std::string& name) {
  static const std::vector<std::regex> patterns = {
      std::regex("bias"), std::regex("layernorm"), std::regex("rmsnorm"), std::regex("(?:^|\\.)norm(?:$|\\.)"),
      std::regex("_norm(?:$|\\.)")};
  const std::string lower = to_lower(name);
  for (const auto& p : patterns)
    if (std::regex_search(lower, p)) return true;
  return false;
}

// HF excludes parameters inside nn.LayerNorm modules; our models may implement norms as their own classes
// (LlamaRMSNormImpl), so the class name decides.
bool is_norm_module(const torch::nn::Module& m) {
  const std::string n = to_lower(m.name());
  return n.find("layernorm") != std::string::npos || n.find("rmsnorm") != std::string::npos;
}

}  // namespace

std::vector<std::string> get_decay_parameter_names(const torch::nn::Module& model) {
  std::set<std::string> in_norm;
  for (const auto& item : model.named_modules()) {
    if (!is_norm_module(*item.value())) continue;
    const std::string prefix = item.key().empty() ? "" : item.key() + ".";
    for (const auto& p : item.value()->named_parameters(/*recurse=*/true)) in_norm.insert(prefix + p.key());
  }
  std::vector<std::string> names;
  for (const auto& p : model.named_parameters(/*recurse=*/true)) {
    if (!p.value().requires_grad()) continue;
    if (in_norm.count(p.key()) || name_excluded_from_decay(p.key())) continue;
    names.push_back(p.key());
  }
  return names;
}

std::unique_ptr<torch::optim::AdamW> create_adamw(const torch::nn::Module& model, const OptimizerOptions& options) {
  const auto decay_names = get_decay_parameter_names(model);
  const std::set<std::string> decay(decay_names.begin(), decay_names.end());
  std::vector<torch::Tensor> with_decay;
  std::vector<torch::Tensor> without_decay;
  for (const auto& p : model.named_parameters(/*recurse=*/true)) {
    if (!p.value().requires_grad()) continue;
    (decay.count(p.key()) ? with_decay : without_decay).push_back(p.value());
  }
  auto group_options = [&](double wd) {
    // LibTorch's AdamWOptions defaults weight_decay to 1e-2; HF passes it explicitly per group.
    return std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(options.learning_rate)
                                                            .betas({options.adam_beta1, options.adam_beta2})
                                                            .eps(options.adam_epsilon)
                                                            .weight_decay(wd));
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  if (!with_decay.empty()) groups.emplace_back(with_decay, group_options(options.weight_decay));
  if (!without_decay.empty()) groups.emplace_back(without_decay, group_options(0.0));
  if (groups.empty()) throw InputError("model", "has no trainable parameters (all have requires_grad=false)");
  torch::optim::AdamWOptions defaults(options.learning_rate);
  defaults.betas({options.adam_beta1, options.adam_beta2}).eps(options.adam_epsilon).weight_decay(options.weight_decay);
  return std::make_unique<torch::optim::AdamW>(std::move(groups), defaults);
}

void set_learning_rates(torch::optim::Optimizer& optimizer, const std::vector<double>& lrs) {
  auto& groups = optimizer.param_groups();
  TCPP_CHECK(groups.size() == lrs.size(), "got ", lrs.size(), " learning rates for ", groups.size(), " groups");
  for (size_t i = 0; i < groups.size(); ++i) groups[i].options().set_lr(lrs[i]);
}

std::vector<double> get_learning_rates(torch::optim::Optimizer& optimizer) {
  std::vector<double> lrs;
  for (auto& g : optimizer.param_groups()) lrs.push_back(g.options().get_lr());
  return lrs;
}

std::optional<double> clip_grad_norm(const std::vector<torch::Tensor>& parameters, double max_norm) {
  if (!(max_norm > 0)) return std::nullopt;
  // torch::nn::utils::clip_grad_norm_ returns the total norm before clipping, like the Python function.
  return torch::nn::utils::clip_grad_norm_(parameters, max_norm, /*norm_type=*/2.0);
}

void save_optimizer(torch::optim::Optimizer& optimizer, const std::string& path) {
  torch::serialize::OutputArchive archive;
  optimizer.save(archive);
  // Serialized in memory, then written atomically: LibTorch's file writer throws from its destructor when the
  // disk is full, which ends the process (std::terminate) instead of reporting an error.
  std::ostringstream bytes;
  archive.save_to(bytes);
  write_file_atomic(path, bytes.str());
}

void load_optimizer(torch::optim::Optimizer& optimizer, const std::string& path) {
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path);
    optimizer.load(archive);
  } catch (const c10::Error& e) {
    throw InputError(path, std::string("cannot read optimizer state: ") + e.what_without_backtrace());
  }
}

}  // namespace tcpp::trainer
