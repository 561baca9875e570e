// AdamW with Hugging Face's defaults and weight-decay grouping, gradient clipping and optimizer state files
// (as Trainer.create_optimizer / get_decay_parameter_names and torch.nn.utils.clip_grad_norm_).
#include "tcpp/trainer/optimizer.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "tcpp/core/check.h"
#include "tcpp/core/error.h"
#include "tcpp/core/file.h"
#include "tcpp/core/strings.h"
#include "tcpp/core/logging.h"
#include "tcpp/trainer/adafactor.h"
#include "tcpp/trainer/fused_adamw.h"
#include "tcpp/trainer/torch_archive.h"

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

// Whether every element of t lies inside its storage. LibTorch's unpickler builds a loaded tensor's view from the
// archive's sizes, strides and offset without checking them against the stored bytes.
bool within_storage(const torch::Tensor& t) {
  if (!t.has_storage() || t.storage_offset() < 0) return false;
  if (t.numel() == 0) return true;
  int64_t last = t.storage_offset();  // element index of the last element the view reaches
  for (int64_t d = 0; d < t.dim(); ++d) {
    int64_t reach = 0;
    if (t.stride(d) < 0 || __builtin_mul_overflow(t.size(d) - 1, t.stride(d), &reach) ||
        __builtin_add_overflow(last, reach, &last))
      return false;
  }
  uint64_t end = 0;
  return !__builtin_mul_overflow(static_cast<uint64_t>(last) + 1, static_cast<uint64_t>(t.element_size()), &end) &&
         end <= static_cast<uint64_t>(t.storage().nbytes());
}

std::string shape_of(const torch::Tensor& t) { return shape_string(t.sizes().vec()); }

// What optimizer.load() took from the archive, checked before a step uses it (LibTorch checks only that the groups
// and their parameter counts match; it keeps this run's hyperparameters): every AdamW moment must be a tensor of
// its parameter's shape, dtype and device, within its storage, and the step count a usable number.
void check_loaded_adamw(torch::optim::Optimizer& optimizer, const std::string& path) {
  auto& groups = optimizer.param_groups();
  for (size_t g = 0; g < groups.size(); ++g) {
    const std::string group = "param_groups[" + std::to_string(g) + "]";
    const auto* options = dynamic_cast<const torch::optim::AdamWOptions*>(&groups[g].options());
    if (options == nullptr) continue;  // not AdamW: nothing of ours to check
    const auto& params = groups[g].params();
    for (size_t i = 0; i < params.size(); ++i) {
      const torch::Tensor& p = params[i];
      auto it = optimizer.state().find(optimizer_state_key(optimizer.state(), p));
      if (it == optimizer.state().end()) continue;  // no state yet: the first step creates it, as LibTorch does
      const auto* state = dynamic_cast<const torch::optim::AdamWParamState*>(it->second.get());
      const std::string where = group + ", parameter " + std::to_string(i) + " (shape " + shape_of(p) + ")";
      if (state == nullptr) throw InputError(path, where + ": not an AdamW state");
      // LibTorch adds 1 before each step and raises beta to it: a negative or huge count is refused.
      if (state->step() < 0 || state->step() > (int64_t{1} << 53))
        throw InputError(path, where + ": step " + std::to_string(state->step()) + " is not a step count");
      auto check_moment = [&](const char* name, const torch::Tensor& m) {
        if (!m.defined()) throw InputError(path, where + ": missing " + name);
        if (m.sizes() != p.sizes() || m.scalar_type() != p.scalar_type() || m.device() != p.device())
          throw InputError(path, where + ": " + name + " is a " + std::string(c10::toString(m.scalar_type())) + " " +
                                     shape_of(m) + " tensor, expected " + std::string(c10::toString(p.scalar_type())) +
                                     " " + shape_of(p) + " (saved for another model?)");
        if (!within_storage(m)) throw InputError(path, where + ": " + name + " reaches past its stored data");
      };
      check_moment("exp_avg", state->exp_avg());
      check_moment("exp_avg_sq", state->exp_avg_sq());
      if (options->amsgrad()) check_moment("max_exp_avg_sq", state->max_exp_avg_sq());
    }
  }
}

// The same for SGD: a momentum buffer, when there is one, must be a tensor of its parameter's shape, dtype and
// device within its storage.
void check_loaded_sgd(torch::optim::Optimizer& optimizer, const std::string& path) {
  auto& groups = optimizer.param_groups();
  for (size_t g = 0; g < groups.size(); ++g) {
    if (dynamic_cast<const torch::optim::SGDOptions*>(&groups[g].options()) == nullptr) continue;
    const auto& params = groups[g].params();
    for (size_t i = 0; i < params.size(); ++i) {
      const torch::Tensor& p = params[i];
      auto it = optimizer.state().find(optimizer_state_key(optimizer.state(), p));
      if (it == optimizer.state().end()) continue;
      const auto* state = dynamic_cast<const torch::optim::SGDParamState*>(it->second.get());
      const std::string where = "param_groups[" + std::to_string(g) + "], parameter " + std::to_string(i) +
                                " (shape " + shape_of(p) + ")";
      if (state == nullptr) throw InputError(path, where + ": not an SGD state (saved with another --optim?)");
      const torch::Tensor& m = state->momentum_buffer();
      if (!m.defined()) continue;
      if (m.sizes() != p.sizes() || m.scalar_type() != p.scalar_type() || m.device() != p.device())
        throw InputError(path, where + ": momentum_buffer is a " + std::string(c10::toString(m.scalar_type())) +
                                   " " + shape_of(m) + " tensor, expected " +
                                   std::string(c10::toString(p.scalar_type())) + " " + shape_of(p));
      if (!within_storage(m)) throw InputError(path, where + ": momentum_buffer reaches past its stored data");
    }
  }
}

// One tensor of an optimizer's per-parameter state, as check_loaded_states checks it.
struct StateTensor {
  const char* name;
  torch::Tensor tensor;
  bool required;                // must be there (else it may be absent)
  std::vector<int64_t> shape;   // expected sizes; empty: the parameter's
};

// The same for the states of another optimizer (Options, State): the step count must be usable (and whatever
// `numbers_ok` adds), each tensor `tensors` lists must be there when required, of its expected shape, on its
// parameter's device, in its parameter's dtype (or float32 where `float32_allowed`), within its storage.
template <typename Options, typename State>
void check_loaded_states(
    torch::optim::Optimizer& optimizer, const std::string& path, const std::string& kind,
    const std::function<std::vector<StateTensor>(const State&, const Options&, const torch::Tensor&)>& tensors,
    bool float32_allowed = false, const std::function<bool(const State&)>& numbers_ok = nullptr) {
  auto& groups = optimizer.param_groups();
  for (size_t g = 0; g < groups.size(); ++g) {
    const auto* options = dynamic_cast<const Options*>(&groups[g].options());
    if (options == nullptr) continue;
    const auto& params = groups[g].params();
    for (size_t i = 0; i < params.size(); ++i) {
      const torch::Tensor& p = params[i];
      auto it = optimizer.state().find(optimizer_state_key(optimizer.state(), p));
      if (it == optimizer.state().end()) continue;
      const auto* state = dynamic_cast<const State*>(it->second.get());
      const std::string where = "param_groups[" + std::to_string(g) + "], parameter " + std::to_string(i) +
                                " (shape " + shape_of(p) + ")";
      if (state == nullptr) throw InputError(path, where + ": not an " + kind + " state (saved with another --optim?)");
      if (state->step() < 0 || state->step() > (int64_t{1} << 53) || (numbers_ok && !numbers_ok(*state)))
        throw InputError(path, where + ": step " + std::to_string(state->step()) + " is not a step count, or the " +
                                   "state's numbers are not usable");
      for (const auto& t : tensors(*state, *options, p)) {
        if (!t.tensor.defined()) {
          if (t.required) throw InputError(path, where + ": missing " + t.name);
          continue;
        }
        const c10::IntArrayRef shape = t.shape.empty() ? p.sizes() : c10::IntArrayRef(t.shape);
        const auto dtype = t.tensor.scalar_type();
        const bool dtype_ok = dtype == p.scalar_type() || (float32_allowed && dtype == torch::kFloat32);
        if (t.tensor.sizes() != shape || !dtype_ok || t.tensor.device() != p.device())
          throw InputError(path, where + ": " + t.name + " is a " + std::string(c10::toString(dtype)) + " " +
                                     shape_of(t.tensor) + " tensor, expected " +
                                     std::string(c10::toString(p.scalar_type())) + " " + shape_of(torch::empty(shape)) +
                                     " (saved for another model?)");
        if (!within_storage(t.tensor)) throw InputError(path, where + ": " + t.name + " reaches past its stored data");
      }
    }
  }
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

namespace {

// HF's param groups: the parameters get_decay_parameter_names names with weight_decay, the other trainable ones
// with 0, each group's options from make(decay); empty groups are left out, as HF does.
std::vector<torch::optim::OptimizerParamGroup> decay_groups(
    const torch::nn::Module& model, double weight_decay,
    const std::function<std::unique_ptr<torch::optim::OptimizerOptions>(double)>& make) {
  const auto decay_names = get_decay_parameter_names(model);
  const std::set<std::string> decay(decay_names.begin(), decay_names.end());
  std::vector<torch::Tensor> with_decay;
  std::vector<torch::Tensor> without_decay;
  for (const auto& p : model.named_parameters(/*recurse=*/true)) {
    if (!p.value().requires_grad()) continue;
    (decay.count(p.key()) ? with_decay : without_decay).push_back(p.value());
  }
  std::vector<torch::optim::OptimizerParamGroup> groups;
  if (!with_decay.empty()) groups.emplace_back(with_decay, make(weight_decay));
  if (!without_decay.empty()) groups.emplace_back(without_decay, make(0.0));
  if (groups.empty()) throw InputError("model", "has no trainable parameters (all have requires_grad=false)");
  return groups;
}

}  // namespace

std::unique_ptr<torch::optim::AdamW> create_adamw(const torch::nn::Module& model, const OptimizerOptions& options) {
  auto groups = decay_groups(model, options.weight_decay, [&](double wd) {
    // LibTorch's AdamWOptions defaults weight_decay to 1e-2; HF passes it explicitly per group.
    return std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(options.learning_rate)
                                                            .betas({options.adam_beta1, options.adam_beta2})
                                                            .eps(options.adam_epsilon)
                                                            .weight_decay(wd));
  });
  torch::optim::AdamWOptions defaults(options.learning_rate);
  defaults.betas({options.adam_beta1, options.adam_beta2}).eps(options.adam_epsilon).weight_decay(options.weight_decay);
  return std::make_unique<FusedAdamW>(std::move(groups), defaults);
}

namespace {

// HF's optim_args, "k=v,k2=v2", for the torch optimizers: the keys `optim` takes, each a finite number >= 0 or, for
// the boolean ones, true / 1 / yes (anything else is false, as transformers reads them). A key the optimizer does not
// take is an error (transformers ignores it).
class OptimArgs {
 public:
  OptimArgs(const std::string& optim, const std::string& text, std::vector<std::string> keys) {
    for (const auto& item : split(text, ',')) {
      const std::string pair = trim(item);
      if (pair.empty()) continue;
      const auto eq = pair.find('=');
      const std::string key = trim(pair.substr(0, eq));
      if (std::find(keys.begin(), keys.end(), key) == keys.end())
        throw InputError("optim_args", optim + " takes " + join(keys, ", ") + ", got " + quote(key));
      values_[key] = eq == std::string::npos ? "" : trim(pair.substr(eq + 1));
    }
  }
  std::optional<double> number(const std::string& key) const {
    auto it = values_.find(key);
    if (it == values_.end()) return std::nullopt;
    auto v = parse_double(it->second);
    if (!v || !std::isfinite(*v) || *v < 0)
      throw InputError("optim_args", key + ": expected a finite number >= 0, got " + quote(it->second));
    return v;
  }
  std::optional<bool> flag(const std::string& key) const {
    auto it = values_.find(key);
    if (it == values_.end()) return std::nullopt;
    const std::string v = to_lower(it->second);
    return v == "true" || v == "1" || v == "yes";
  }

 private:
  std::map<std::string, std::string> values_;
};

// A torch optimizer over HF's groups from `base` options (each group's weight decay wins over a weight_decay in
// optim_args, as in torch, where the group's value overrides the defaults). The defaults' weight decay is 0, the
// constructor default of these optimizers: LibTorch >= 2.x gives a group field equal to its constructor default the
// optimizer's default instead, which would hand the no-decay group optim_args' weight_decay.
template <typename Optim, typename Options>
std::unique_ptr<torch::optim::Optimizer> torch_optimizer(const torch::nn::Module& model,
                                                         const OptimizerOptions& options, const Options& base) {
  auto groups = decay_groups(model, options.weight_decay, [&](double wd) {
    auto o = std::make_unique<Options>(base);
    o->weight_decay(wd);
    return o;
  });
  Options defaults = base;
  defaults.weight_decay(0.0);
  return std::make_unique<Optim>(std::move(groups), defaults);
}

// torch.optim.SGD: transformers' _get_sgd reads momentum, dampening, weight_decay and nesterov from optim_args.
std::unique_ptr<torch::optim::Optimizer> create_sgd(const torch::nn::Module& model, const OptimizerOptions& options) {
  const OptimArgs args("sgd", options.optim_args, {"momentum", "dampening", "weight_decay", "nesterov"});
  torch::optim::SGDOptions base(options.learning_rate);
  if (auto v = args.number("momentum")) base.momentum(*v);
  if (auto v = args.number("dampening")) base.dampening(*v);
  if (auto v = args.number("weight_decay")) base.weight_decay(*v);
  if (auto v = args.flag("nesterov")) base.nesterov(*v);
  if (base.nesterov() && (base.momentum() <= 0 || base.dampening() != 0))
    throw InputError("optim_args", "nesterov momentum requires a momentum and zero dampening (as torch.optim.SGD)");
  return torch_optimizer<torch::optim::SGD>(model, options, base);
}

// transformers' Adafactor as the Trainer makes it (_get_adafactor): lr=learning_rate, scale_parameter=False,
// relative_step=False, the other settings at their defaults; it reads no optim_args.
std::unique_ptr<torch::optim::Optimizer> create_adafactor(const torch::nn::Module& model,
                                                          const OptimizerOptions& options) {
  if (!trim(options.optim_args).empty())
    log_warning("--optim_args " + quote(options.optim_args) + " has no effect on adafactor (transformers passes it "
                "scale_parameter=False and relative_step=False and reads no optim_args)");
  AdafactorOptions base(options.learning_rate);
  base.scale_parameter(false).relative_step(false);
  auto groups = decay_groups(model, options.weight_decay, [&](double wd) {
    auto o = std::make_unique<AdafactorOptions>(base);
    o->weight_decay(wd);
    return o;
  });
  return std::make_unique<Adafactor>(std::move(groups), base);
}

// torch.optim.Adagrad: _get_adagrad reads lr_decay, weight_decay and eps.
std::unique_ptr<torch::optim::Optimizer> create_adagrad(const torch::nn::Module& model,
                                                        const OptimizerOptions& options) {
  const OptimArgs args("adagrad", options.optim_args, {"lr_decay", "weight_decay", "eps"});
  torch::optim::AdagradOptions base(options.learning_rate);
  if (auto v = args.number("lr_decay")) base.lr_decay(*v);
  if (auto v = args.number("weight_decay")) base.weight_decay(*v);
  if (auto v = args.number("eps")) base.eps(*v);
  return torch_optimizer<torch::optim::Adagrad>(model, options, base);
}

// torch.optim.RMSprop: _get_rmsprop reads momentum, alpha, eps, weight_decay and centered.
std::unique_ptr<torch::optim::Optimizer> create_rmsprop(const torch::nn::Module& model,
                                                        const OptimizerOptions& options) {
  const OptimArgs args("rmsprop", options.optim_args, {"momentum", "alpha", "eps", "weight_decay", "centered"});
  torch::optim::RMSpropOptions base(options.learning_rate);
  if (auto v = args.number("momentum")) base.momentum(*v);
  if (auto v = args.number("alpha")) base.alpha(*v);
  if (auto v = args.number("eps")) base.eps(*v);
  if (auto v = args.number("weight_decay")) base.weight_decay(*v);
  if (auto v = args.flag("centered")) base.centered(*v);
  return torch_optimizer<torch::optim::RMSprop>(model, options, base);
}

}  // namespace

std::unique_ptr<torch::optim::Optimizer> create_optimizer(const torch::nn::Module& model,
                                                          const OptimizerOptions& options) {
  if (options.optim == "adamw_torch" || options.optim == "adamw_torch_fused") return create_adamw(model, options);
  if (options.optim == "sgd") return create_sgd(model, options);
  if (options.optim == "adagrad") return create_adagrad(model, options);
  if (options.optim == "adafactor") return create_adafactor(model, options);
  if (options.optim == "rmsprop") return create_rmsprop(model, options);
  throw InputError("optim", quote(options.optim) + " is not implemented in trainer.cpp; use adamw_torch, "
                                                   "adamw_torch_fused, sgd, adagrad, rmsprop or adafactor");
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

double total_grad_norm(const std::vector<torch::Tensor>& parameters) {
  std::vector<torch::Tensor> norms;
  for (const auto& p : parameters)
    if (p.grad().defined()) norms.push_back(p.grad().detach().norm(2.0).to(torch::kFloat32));
  return norms.empty() ? 0.0 : torch::stack(norms).norm(2.0).item<double>();
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
  check_torch_archive(path);  // LibTorch would trust the pickle's storage sizes over the records (F11)
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path);
    optimizer.load(archive);
  } catch (const c10::Error& e) {
    throw InputError(path, std::string("cannot read optimizer state: ") + e.what_without_backtrace());
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {  // LibTorch's TorchScript importer reports a garbled archive as runtime_error
    throw InputError(path, std::string("cannot read optimizer state: ") + e.what());
  }
  check_loaded_adamw(optimizer, path);
  check_loaded_sgd(optimizer, path);
  check_loaded_states<torch::optim::AdagradOptions, torch::optim::AdagradParamState>(
      optimizer, path, "Adagrad",
      [](const torch::optim::AdagradParamState& s, const torch::optim::AdagradOptions&, const torch::Tensor&) {
        return std::vector<StateTensor>{{"sum", s.sum(), true, {}}};
      });
  check_loaded_states<torch::optim::RMSpropOptions, torch::optim::RMSpropParamState>(
      optimizer, path, "RMSprop",
      [](const torch::optim::RMSpropParamState& s, const torch::optim::RMSpropOptions& o, const torch::Tensor&) {
        return std::vector<StateTensor>{{"square_avg", s.square_avg(), true, {}},
                                        {"momentum_buffer", s.momentum_buffer(), o.momentum() > 0, {}},
                                        {"grad_avg", s.grad_avg(), o.centered(), {}}};
      });
  // Adafactor keeps its moments in float32 (the gradient's); a matrix's are factored: the parameter's shape without
  // its last dimension (rows) or its next-to-last (columns).
  check_loaded_states<AdafactorOptions, AdafactorParamState>(
      optimizer, path, "Adafactor",
      [](const AdafactorParamState& s, const AdafactorOptions& o, const torch::Tensor& p) {
        const bool factored = p.dim() >= 2;
        const auto shapes = adafactor_factored_shapes(p.sizes());
        return std::vector<StateTensor>{{"exp_avg", s.exp_avg(), o.beta1() >= 0, {}},
                                        {"exp_avg_sq_row", s.exp_avg_sq_row(), factored, shapes.row},
                                        {"exp_avg_sq_col", s.exp_avg_sq_col(), factored, shapes.col},
                                        {"exp_avg_sq", s.exp_avg_sq(), !factored, {}}};
      },
      /*float32_allowed=*/true, [](const AdafactorParamState& s) { return std::isfinite(s.rms()); });
}

}  // namespace tcpp::trainer
