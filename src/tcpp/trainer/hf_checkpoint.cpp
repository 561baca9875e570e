// Checkpoints of transformers' Trainer: its torch.save pickles (optimizer.state_dict(), the LR scheduler's
// state_dict(), the RNG states) read through our own unpickler (models/pytorch_bin), never running Python code, and
// written with our pickle writer.
#include "tcpp/trainer/hf_checkpoint.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <filesystem>
#include <string>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>
#include <caffe2/serialize/inline_container.h>
#include <torch/optim/adagrad.h>
#include <torch/optim/adamw.h>
#include <torch/optim/rmsprop.h>
#include <torch/optim/sgd.h>

#include "tcpp/core/error.h"
#include "tcpp/core/strings.h"
#include "tcpp/models/pytorch_bin.h"
#include "tcpp/trainer/adafactor.h"
#include "tcpp/trainer/checkpoint.h"
#include "tcpp/trainer/fused_adamw.h"

namespace tcpp::trainer {
namespace fs = std::filesystem;
using Obj = models::PickledObject;

namespace {

// Typed access to a pickled object, every error naming the file and where in it.
class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {}
  [[noreturn]] void fail(const std::string& where, const std::string& what) const {
    throw InputError(path_, where + ": " + what);
  }
  const Obj& field(const Obj& dict, const std::string& key, const std::string& where) const {
    if (dict.kind != Obj::Kind::kDict) fail(where, "expected a dict");
    const Obj* v = dict.find(key);
    if (v == nullptr) fail(where, "missing \"" + key + "\"");
    return *v;
  }
  double number(const Obj& v, const std::string& where) const {
    if (v.kind == Obj::Kind::kFloat) return v.f;
    if (v.kind == Obj::Kind::kInt || v.kind == Obj::Kind::kBool) return static_cast<double>(v.i);
    if (v.kind == Obj::Kind::kTensor && v.tensor.numel() == 1) return v.tensor.to(torch::kFloat64).item<double>();
    fail(where, "expected a number");
  }
  bool flag(const Obj& v, const std::string& where) const {
    if (v.kind != Obj::Kind::kBool) fail(where, "expected True or False");
    return v.i != 0;
  }
  const std::vector<Obj>& sequence(const Obj& v, const std::string& where) const {
    if (v.kind != Obj::Kind::kList && v.kind != Obj::Kind::kTuple) fail(where, "expected a list");
    return v.items;
  }
  std::vector<double> numbers(const Obj& v, const std::string& where) const {
    std::vector<double> out;
    for (const auto& item : sequence(v, where)) out.push_back(number(item, where));
    return out;
  }
  // A step count: a non-negative integer (torch >= 1.12 stores it as a float tensor).
  int64_t count(const Obj& v, const std::string& where) const {
    const double x = number(v, where);
    if (!(x >= 0 && x <= static_cast<double>(int64_t{1} << 53)) || x != std::floor(x))
      fail(where, "expected a step count, got " + std::to_string(x));
    return static_cast<int64_t>(x);
  }
  torch::Tensor tensor_like(const Obj& v, const torch::Tensor& param, const std::string& where) const {
    if (v.kind != Obj::Kind::kTensor) fail(where, "expected a tensor");
    if (v.tensor.sizes() != param.sizes())
      fail(where, "a tensor of shape " + shape_string(v.tensor.sizes().vec()) + " for a parameter of shape " +
                      shape_string(param.sizes().vec()) + " (saved for another model?)");
    return v.tensor.to(param.options()).clone();
  }
  // Adafactor's moments: float32 (the gradient's, as transformers' Adafactor keeps them for a low-precision
  // parameter too), of the given shape.
  torch::Tensor moment(const Obj& v, const torch::Tensor& param, const std::vector<int64_t>& shape,
                       const std::string& where) const {
    if (v.kind != Obj::Kind::kTensor) fail(where, "expected a tensor");
    if (v.tensor.sizes().vec() != shape)
      fail(where, "a tensor of shape " + shape_string(v.tensor.sizes().vec()) + " where a parameter of shape " +
                      shape_string(param.sizes().vec()) + " needs " + shape_string(shape) +
                      " (saved for another model?)");
    const bool low = param.scalar_type() == torch::kFloat16 || param.scalar_type() == torch::kBFloat16;
    return v.tensor.to(param.device(), low ? torch::kFloat32 : param.scalar_type()).clone();
  }

 private:
  std::string path_;
};

}  // namespace

bool is_hf_checkpoint(const std::string& dir) {
  std::error_code ec;
  return fs::exists(fs::path(dir) / "scheduler.pt", ec) && !fs::exists(fs::path(dir) / kSchedulerFile, ec);
}

bool is_torch_save_pickle(const std::string& path) {
  try {
    caffe2::serialize::PyTorchStreamReader reader(path);
    return reader.hasRecord("data.pkl") && !reader.hasRecord("constants.pkl");
  } catch (const c10::Error&) {
    return false;
  }
}

std::string hf_rng_state_file(int rank, int world_size) {
  return world_size > 1 ? "rng_state_" + std::to_string(rank) + ".pth" : std::string("rng_state.pth");
}

int hf_saved_world_size(const std::string& dir) { return saved_world_size(dir, ".pth"); }

namespace {

// Run `body`, turning an error LibTorch raises on the file's values (a dtype it cannot convert, a generator state
// it refuses) into an InputError naming the file.
template <typename Fn>
auto naming_the_file(const std::string& path, const char* what, Fn&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const c10::Error& e) {
    throw InputError(path, std::string("cannot read ") + what + ": " + e.what_without_backtrace());
  }
}

// load_hf_optimizer without the file named on LibTorch's errors.
void load_hf_optimizer_state(torch::optim::Optimizer& optimizer, const std::string& path) {
  const Obj root = models::load_torch_pickle(path, "optimizer state");
  const Reader r(path);
  const auto& saved_groups = r.sequence(r.field(root, "param_groups", "state_dict"), "param_groups");
  const Obj& state = r.field(root, "state", "state_dict");
  if (state.kind != Obj::Kind::kDict) r.fail("state", "expected a dict");
  auto& groups = optimizer.param_groups();
  if (saved_groups.size() != groups.size())
    r.fail("param_groups", std::to_string(saved_groups.size()) + " groups, but this optimizer has " +
                               std::to_string(groups.size()) + " (weight decay on and off: another --weight_decay?)");
  std::map<int64_t, const Obj*> state_of;  // each parameter's state by its number
  for (const auto& [k, v] : state.entries)
    if (k.kind == Obj::Kind::kInt) state_of.emplace(k.i, &v);
  int64_t index = 0;
  for (size_t g = 0; g < groups.size(); ++g) {
    const std::string where = "param_groups[" + std::to_string(g) + "]";
    const Obj& saved = saved_groups[g];
    const auto& ids = r.sequence(r.field(saved, "params", where), where + ".params");
    const auto& params = groups[g].params();
    if (ids.size() != params.size())
      r.fail(where, std::to_string(ids.size()) + " parameters, but this optimizer's group has " +
                        std::to_string(params.size()) + " (another model?)");
    auto& options = groups[g].options();
    auto* adamw = dynamic_cast<torch::optim::AdamWOptions*>(&options);
    auto* sgd = dynamic_cast<torch::optim::SGDOptions*>(&options);
    auto* adagrad = dynamic_cast<torch::optim::AdagradOptions*>(&options);
    auto* rmsprop = dynamic_cast<torch::optim::RMSpropOptions*>(&options);
    auto* adafactor = dynamic_cast<AdafactorOptions*>(&options);
    // Which optimizer class saved the group, by the hyperparameters only it has.
    const bool saved_adam = saved.find("betas") != nullptr;
    const bool saved_sgd = saved.find("momentum") != nullptr && saved.find("nesterov") != nullptr;
    const bool saved_adagrad = saved.find("lr_decay") != nullptr;
    const bool saved_rmsprop = saved.find("alpha") != nullptr && saved.find("centered") != nullptr;
    const bool saved_adafactor = saved.find("clip_threshold") != nullptr && saved.find("decay_rate") != nullptr;
    auto number = [&](const char* key) { return r.number(r.field(saved, key, where), where + "." + key); };
    auto flag = [&](const char* key) { return r.flag(r.field(saved, key, where), where + "." + key); };
    if (adamw != nullptr && saved_adam) {
      const auto betas = r.numbers(r.field(saved, "betas", where), where + ".betas");
      if (betas.size() != 2) r.fail(where + ".betas", "expected two numbers");
      adamw->lr(number("lr"));
      adamw->betas({betas[0], betas[1]});
      adamw->eps(number("eps"));
      adamw->weight_decay(number("weight_decay"));
      adamw->amsgrad(flag("amsgrad"));
    } else if (sgd != nullptr && saved_sgd) {
      sgd->lr(number("lr"));
      sgd->momentum(number("momentum"));
      sgd->dampening(number("dampening"));
      sgd->weight_decay(number("weight_decay"));
      sgd->nesterov(flag("nesterov"));
    } else if (adagrad != nullptr && saved_adagrad) {
      adagrad->lr(number("lr"));
      adagrad->lr_decay(number("lr_decay"));
      adagrad->weight_decay(number("weight_decay"));
      adagrad->initial_accumulator_value(number("initial_accumulator_value"));
      adagrad->eps(number("eps"));
    } else if (rmsprop != nullptr && saved_rmsprop) {
      rmsprop->lr(number("lr"));
      rmsprop->alpha(number("alpha"));
      rmsprop->eps(number("eps"));
      rmsprop->weight_decay(number("weight_decay"));
      rmsprop->momentum(number("momentum"));
      rmsprop->centered(flag("centered"));
    } else if (adafactor != nullptr && saved_adafactor) {
      // transformers' Adafactor: lr None (a relative step only) leaves ours, which a relative step does not read.
      if (const Obj& lr = r.field(saved, "lr", where); lr.kind != Obj::Kind::kNone) adafactor->lr(number("lr"));
      const auto eps = r.numbers(r.field(saved, "eps", where), where + ".eps");
      if (eps.size() != 2) r.fail(where + ".eps", "expected two numbers");
      adafactor->eps1(eps[0]);
      adafactor->eps2(eps[1]);
      adafactor->clip_threshold(number("clip_threshold"));
      adafactor->decay_rate(number("decay_rate"));
      const Obj& beta1 = r.field(saved, "beta1", where);
      adafactor->beta1(beta1.kind == Obj::Kind::kNone ? -1.0 : r.number(beta1, where + ".beta1"));
      if (beta1.kind != Obj::Kind::kNone && !(adafactor->beta1() >= 0 && adafactor->beta1() < 1))
        r.fail(where + ".beta1", "expected None or a number in [0, 1)");
      adafactor->weight_decay(number("weight_decay"));
      adafactor->scale_parameter(flag("scale_parameter"));
      adafactor->relative_step(flag("relative_step"));
      adafactor->warmup_init(flag("warmup_init"));
    } else {
      r.fail(where, adamw == nullptr && sgd == nullptr && adagrad == nullptr && rmsprop == nullptr &&
                            adafactor == nullptr
                        ? "this run's --optim cannot resume a transformers checkpoint (adamw_torch, adamw_torch_fused, "
                          "sgd, adagrad, rmsprop and adafactor can)"
                        : "the checkpoint's optimizer is another one than this run's --optim");
    }
    for (size_t i = 0; i < params.size(); ++i, ++index) {
      const torch::Tensor& p = params[i];
      const std::string pw = "state[" + std::to_string(index) + "]";
      if (ids[i].kind != Obj::Kind::kInt || ids[i].i != index)
        r.fail(where + ".params", "expected the parameters numbered in order across the groups");
      const auto found = state_of.find(index);
      const Obj* s = found == state_of.end() ? nullptr : found->second;
      auto& states = optimizer.state();
      const auto key = optimizer_state_key(states, p);
      if (s == nullptr) {  // no step taken for it yet
        states.erase(key);
        continue;
      }
      if (adamw != nullptr) {
        auto st = std::make_unique<torch::optim::AdamWParamState>();
        st->step(r.count(r.field(*s, "step", pw), pw + ".step"));
        st->exp_avg(r.tensor_like(r.field(*s, "exp_avg", pw), p, pw + ".exp_avg"));
        st->exp_avg_sq(r.tensor_like(r.field(*s, "exp_avg_sq", pw), p, pw + ".exp_avg_sq"));
        if (adamw->amsgrad())
          st->max_exp_avg_sq(r.tensor_like(r.field(*s, "max_exp_avg_sq", pw), p, pw + ".max_exp_avg_sq"));
        states[key] = std::move(st);
      } else if (adagrad != nullptr) {
        auto st = std::make_unique<torch::optim::AdagradParamState>();
        st->step(r.count(r.field(*s, "step", pw), pw + ".step"));
        st->sum(r.tensor_like(r.field(*s, "sum", pw), p, pw + ".sum"));
        states[key] = std::move(st);
      } else if (rmsprop != nullptr) {
        auto st = std::make_unique<torch::optim::RMSpropParamState>();
        st->step(r.count(r.field(*s, "step", pw), pw + ".step"));
        st->square_avg(r.tensor_like(r.field(*s, "square_avg", pw), p, pw + ".square_avg"));
        if (rmsprop->momentum() > 0)
          st->momentum_buffer(r.tensor_like(r.field(*s, "momentum_buffer", pw), p, pw + ".momentum_buffer"));
        if (rmsprop->centered()) st->grad_avg(r.tensor_like(r.field(*s, "grad_avg", pw), p, pw + ".grad_avg"));
        states[key] = std::move(st);
      } else if (adafactor != nullptr) {
        auto st = std::make_unique<AdafactorParamState>();
        st->step(r.count(r.field(*s, "step", pw), pw + ".step"));
        st->rms(r.number(r.field(*s, "RMS", pw), pw + ".RMS"));
        if (!std::isfinite(st->rms())) r.fail(pw + ".RMS", "not finite");
        if (adafactor->beta1() >= 0)
          st->exp_avg(r.moment(r.field(*s, "exp_avg", pw), p, p.sizes().vec(), pw + ".exp_avg"));
        if (p.dim() >= 2) {
          const auto shapes = adafactor_factored_shapes(p.sizes());
          st->exp_avg_sq_row(r.moment(r.field(*s, "exp_avg_sq_row", pw), p, shapes.row, pw + ".exp_avg_sq_row"));
          st->exp_avg_sq_col(r.moment(r.field(*s, "exp_avg_sq_col", pw), p, shapes.col, pw + ".exp_avg_sq_col"));
        } else {
          st->exp_avg_sq(r.moment(r.field(*s, "exp_avg_sq", pw), p, p.sizes().vec(), pw + ".exp_avg_sq"));
        }
        states[key] = std::move(st);
      } else {
        const Obj* buffer = s->find("momentum_buffer");
        if (buffer == nullptr || buffer->kind == Obj::Kind::kNone) {
          states.erase(key);
          continue;
        }
        auto st = std::make_unique<torch::optim::SGDParamState>();
        st->momentum_buffer(r.tensor_like(*buffer, p, pw + ".momentum_buffer"));
        states[key] = std::move(st);
      }
    }
  }
}

}  // namespace

void load_hf_optimizer(torch::optim::Optimizer& optimizer, const std::string& path) {
  naming_the_file(path, "optimizer state", [&] { load_hf_optimizer_state(optimizer, path); });
}

Json hf_scheduler_state(const std::string& path, const Json& ours) {
  const Obj root = models::load_torch_pickle(path, "scheduler state");
  const Reader r(path);
  if (root.kind != Obj::Kind::kDict) r.fail("scheduler state", "expected a dict");
  Json out = ours;
  if (const Obj* v = root.find("base_lrs")) out["base_lrs"] = r.numbers(*v, "base_lrs");
  if (const Obj* v = root.find("_last_lr")) out["_last_lr"] = r.numbers(*v, "_last_lr");
  if (const Obj* v = root.find("last_epoch")) {
    if (v->kind != Obj::Kind::kInt) r.fail("last_epoch", "expected an integer");
    out["last_epoch"] = v->i;
  }
  if (ours.contains("num_bad_epochs")) {  // ReduceLROnPlateau
    const double best = r.number(r.field(root, "best", "scheduler state"), "best");
    out["best"] = std::isfinite(best) ? Json(best) : Json(nullptr);
    out["num_bad_epochs"] = r.count(r.field(root, "num_bad_epochs", "scheduler state"), "num_bad_epochs");
    out["cooldown_counter"] = r.count(r.field(root, "cooldown_counter", "scheduler state"), "cooldown_counter");
  }
  return out;
}

void load_hf_rng_state(const std::string& path) {
  const Obj root = models::load_torch_pickle(path, "RNG state");
  const Reader r(path);
  const Obj& cpu = r.field(root, "cpu", "RNG state");
  if (cpu.kind != Obj::Kind::kTensor) r.fail("cpu", "expected a tensor");
  check_cpu_generator_state(cpu.tensor, path, "cpu");
  naming_the_file(path, "RNG state", [&] {
    at::Generator global = at::detail::getDefaultCPUGenerator();
    global.set_state(cpu.tensor);
  });
}

namespace {

Obj none() { return Obj{}; }
Obj boolean(bool b) {
  Obj o;
  o.kind = Obj::Kind::kBool;
  o.i = b;
  return o;
}
Obj integer(int64_t i) {
  Obj o;
  o.kind = Obj::Kind::kInt;
  o.i = i;
  return o;
}
Obj real(double f) {
  Obj o;
  o.kind = Obj::Kind::kFloat;
  o.f = f;
  return o;
}
Obj str(const std::string& s) {
  Obj o;
  o.kind = Obj::Kind::kString;
  o.s = s;
  return o;
}
Obj tensor(const torch::Tensor& t) {
  Obj o;
  o.kind = Obj::Kind::kTensor;
  o.tensor = t;
  return o;
}
Obj sequence(Obj::Kind kind, std::vector<Obj> items) {
  Obj o;
  o.kind = kind;
  o.items = std::move(items);
  return o;
}
Obj reals(const std::vector<double>& values) {
  std::vector<Obj> items;
  for (double v : values) items.push_back(real(v));
  return sequence(Obj::Kind::kList, std::move(items));
}
Obj dict(std::vector<std::pair<std::string, Obj>> entries) {
  Obj o;
  o.kind = Obj::Kind::kDict;
  for (auto& [k, v] : entries) o.entries.emplace_back(str(k), std::move(v));
  return o;
}

// MT19937 seeded as Python's random.seed(int) (init_by_array over the integer's 32-bit words) and numpy's legacy
// np.random.seed(int) (init_genrand).
std::vector<uint32_t> init_genrand(uint32_t s) {
  std::vector<uint32_t> mt(624);
  mt[0] = s;
  for (uint32_t i = 1; i < 624; ++i) mt[i] = 1812433253U * (mt[i - 1] ^ (mt[i - 1] >> 30)) + i;
  return mt;
}
std::vector<uint32_t> init_by_array(const std::vector<uint32_t>& key) {
  std::vector<uint32_t> mt = init_genrand(19650218U);
  const size_t n = 624;
  size_t i = 1, j = 0;
  for (size_t k = std::max(n, key.size()); k > 0; --k) {
    mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1664525U)) + key[j] + static_cast<uint32_t>(j);
    if (++i >= n) {
      mt[0] = mt[n - 1];
      i = 1;
    }
    if (++j >= key.size()) j = 0;
  }
  for (size_t k = n - 1; k > 0; --k) {
    mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1566083941U)) - static_cast<uint32_t>(i);
    if (++i >= n) {
      mt[0] = mt[n - 1];
      i = 1;
    }
  }
  mt[0] = 0x80000000U;
  return mt;
}

}  // namespace

std::optional<Obj> hf_optimizer_state(torch::optim::Optimizer& optimizer, const std::vector<double>& initial_lrs) {
  auto& groups = optimizer.param_groups();
  std::vector<Obj> saved_groups;
  Obj state;
  state.kind = Obj::Kind::kDict;
  int64_t index = 0;
  for (size_t g = 0; g < groups.size(); ++g) {
    auto& options = groups[g].options();
    const auto* adamw = dynamic_cast<const torch::optim::AdamWOptions*>(&options);
    const auto* sgd = dynamic_cast<const torch::optim::SGDOptions*>(&options);
    const auto* adagrad = dynamic_cast<const torch::optim::AdagradOptions*>(&options);
    const auto* rmsprop = dynamic_cast<const torch::optim::RMSpropOptions*>(&options);
    const auto* adafactor = dynamic_cast<const AdafactorOptions*>(&options);
    if (adamw == nullptr && sgd == nullptr && adagrad == nullptr && rmsprop == nullptr && adafactor == nullptr)
      return std::nullopt;
    std::vector<Obj> ids;
    for (const auto& p : groups[g].params()) {
      ids.push_back(integer(index));
      auto it = optimizer.state().find(optimizer_state_key(optimizer.state(), p));
      if (it != optimizer.state().end()) {
        Obj s;
        if (const auto* a = dynamic_cast<const torch::optim::AdamWParamState*>(it->second.get())) {
          std::vector<std::pair<std::string, Obj>> entries = {
              {"step", tensor(torch::tensor(static_cast<float>(a->step())))},
              {"exp_avg", tensor(a->exp_avg())},
              {"exp_avg_sq", tensor(a->exp_avg_sq())}};
          if (adamw != nullptr && adamw->amsgrad()) entries.emplace_back("max_exp_avg_sq", tensor(a->max_exp_avg_sq()));
          s = dict(std::move(entries));
        } else if (const auto* m = dynamic_cast<const torch::optim::SGDParamState*>(it->second.get())) {
          s = dict({{"momentum_buffer", m->momentum_buffer().defined() ? tensor(m->momentum_buffer()) : none()}});
        } else if (const auto* ag = dynamic_cast<const torch::optim::AdagradParamState*>(it->second.get())) {
          s = dict({{"step", tensor(torch::tensor(static_cast<float>(ag->step())))}, {"sum", tensor(ag->sum())}});
        } else if (const auto* rm = dynamic_cast<const torch::optim::RMSpropParamState*>(it->second.get())) {
          std::vector<std::pair<std::string, Obj>> entries = {
              {"step", tensor(torch::tensor(static_cast<float>(rm->step())))},
              {"square_avg", tensor(rm->square_avg())}};
          if (rm->momentum_buffer().defined()) entries.emplace_back("momentum_buffer", tensor(rm->momentum_buffer()));
          if (rm->grad_avg().defined()) entries.emplace_back("grad_avg", tensor(rm->grad_avg()));
          s = dict(std::move(entries));
        } else if (const auto* af = dynamic_cast<const AdafactorParamState*>(it->second.get())) {
          // As transformers' Adafactor keeps them: step a Python int, RMS the parameter's as a 0-d tensor.
          std::vector<std::pair<std::string, Obj>> entries = {{"step", integer(af->step())}};
          if (af->exp_avg().defined()) entries.emplace_back("exp_avg", tensor(af->exp_avg()));
          if (af->exp_avg_sq_row().defined()) {
            entries.emplace_back("exp_avg_sq_row", tensor(af->exp_avg_sq_row()));
            entries.emplace_back("exp_avg_sq_col", tensor(af->exp_avg_sq_col()));
          } else {
            entries.emplace_back("exp_avg_sq", tensor(af->exp_avg_sq()));
          }
          entries.emplace_back("RMS", tensor(torch::tensor(static_cast<float>(af->rms()))));
          s = dict(std::move(entries));
        } else {
          return std::nullopt;
        }
        state.entries.emplace_back(integer(index), std::move(s));
      }
      ++index;
    }
    std::vector<std::pair<std::string, Obj>> entries;
    if (adamw != nullptr) {
      entries = {{"lr", real(adamw->lr())},
                 {"betas", sequence(Obj::Kind::kTuple, {real(std::get<0>(adamw->betas())),
                                                        real(std::get<1>(adamw->betas()))})},
                 {"eps", real(adamw->eps())},
                 {"weight_decay", real(adamw->weight_decay())},
                 {"amsgrad", boolean(adamw->amsgrad())},
                 {"maximize", boolean(false)},
                 {"foreach", none()},
                 {"capturable", boolean(false)},
                 {"differentiable", boolean(false)},
                 {"fused", none()},
                 {"decoupled_weight_decay", boolean(true)}};
    } else if (adagrad != nullptr) {
      entries = {{"lr", real(adagrad->lr())},
                 {"lr_decay", real(adagrad->lr_decay())},
                 {"eps", real(adagrad->eps())},
                 {"weight_decay", real(adagrad->weight_decay())},
                 {"initial_accumulator_value", real(adagrad->initial_accumulator_value())},
                 {"foreach", none()},
                 {"maximize", boolean(false)},
                 {"differentiable", boolean(false)},
                 {"fused", none()}};
    } else if (rmsprop != nullptr) {
      entries = {{"lr", real(rmsprop->lr())},
                 {"momentum", real(rmsprop->momentum())},
                 {"alpha", real(rmsprop->alpha())},
                 {"eps", real(rmsprop->eps())},
                 {"centered", boolean(rmsprop->centered())},
                 {"weight_decay", real(rmsprop->weight_decay())},
                 {"capturable", boolean(false)},
                 {"foreach", none()},
                 {"maximize", boolean(false)},
                 {"differentiable", boolean(false)}};
    } else if (adafactor != nullptr) {
      entries = {{"lr", real(adafactor->lr())},
                 {"eps", sequence(Obj::Kind::kTuple, {real(adafactor->eps1()), real(adafactor->eps2())})},
                 {"clip_threshold", real(adafactor->clip_threshold())},
                 {"decay_rate", real(adafactor->decay_rate())},
                 {"beta1", adafactor->beta1() >= 0 ? real(adafactor->beta1()) : none()},
                 {"weight_decay", real(adafactor->weight_decay())},
                 {"scale_parameter", boolean(adafactor->scale_parameter())},
                 {"relative_step", boolean(adafactor->relative_step())},
                 {"warmup_init", boolean(adafactor->warmup_init())}};
    } else {
      entries = {{"lr", real(sgd->lr())},
                 {"momentum", real(sgd->momentum())},
                 {"dampening", real(sgd->dampening())},
                 {"weight_decay", real(sgd->weight_decay())},
                 {"nesterov", boolean(sgd->nesterov())},
                 {"maximize", boolean(false)},
                 {"foreach", none()},
                 {"differentiable", boolean(false)},
                 {"fused", none()}};
    }
    if (g < initial_lrs.size()) entries.emplace_back("initial_lr", real(initial_lrs[g]));
    entries.emplace_back("params", sequence(Obj::Kind::kList, std::move(ids)));
    saved_groups.push_back(dict(std::move(entries)));
  }
  Obj out;
  out.kind = Obj::Kind::kDict;
  out.entries.emplace_back(str("state"), std::move(state));
  out.entries.emplace_back(str("param_groups"), sequence(Obj::Kind::kList, std::move(saved_groups)));
  return out;
}

Obj hf_scheduler_state_dict(const Json& ours) {
  const int64_t last_epoch = ours.at("last_epoch").get<int64_t>();
  const auto last_lr = ours.at("_last_lr").get<std::vector<double>>();
  if (ours.contains("num_bad_epochs")) {  // ReduceLROnPlateau: its other fields come from its constructor
    const Json& b = ours.at("best");  // null: nothing seen yet (infinity)
    const double best = b.is_null() ? std::numeric_limits<double>::infinity() : b.get<double>();
    return dict({{"best", real(best)},
                 {"num_bad_epochs", integer(ours.at("num_bad_epochs").get<int64_t>())},
                 {"cooldown_counter", integer(ours.at("cooldown_counter").get<int64_t>())},
                 {"last_epoch", integer(last_epoch)},
                 {"_last_lr", reals(last_lr)}});
  }
  std::vector<Obj> lambdas(last_lr.size());  // None: the lambdas are functions, rebuilt by the Trainer
  return dict({{"base_lrs", reals(ours.at("base_lrs").get<std::vector<double>>())},
               {"last_epoch", integer(last_epoch)},
               {"_step_count", integer(last_epoch + 1)},
               {"_is_initial", boolean(false)},
               {"_get_lr_called_within_step", boolean(false)},
               {"_last_lr", reals(last_lr)},
               {"lr_lambdas", sequence(Obj::Kind::kList, std::move(lambdas))}});
}

Obj hf_rng_state_dict(uint64_t seed, const torch::Tensor& cpu) {
  std::vector<uint32_t> key;
  for (uint64_t a = seed;; a >>= 32) {
    key.push_back(static_cast<uint32_t>(a & 0xffffffffU));
    if ((a >> 32) == 0) break;
  }
  std::vector<Obj> python;  // random.getstate(): (3, (624 words..., index 624), None)
  for (uint32_t w : init_by_array(key)) python.push_back(integer(w));
  python.push_back(integer(624));
  std::vector<Obj> numpy;  // np.random.get_state(): ('MT19937', keys, pos, has_gauss, cached_gaussian)
  for (uint32_t w : init_genrand(static_cast<uint32_t>(seed))) numpy.push_back(integer(w));
  return dict({{"python",
                sequence(Obj::Kind::kTuple, {integer(3), sequence(Obj::Kind::kTuple, std::move(python)), none()})},
               {"numpy", sequence(Obj::Kind::kTuple, {str("MT19937"), sequence(Obj::Kind::kList, std::move(numpy)),
                                                      integer(624), integer(0), real(0.0)})},
               {"cpu", tensor(cpu)}});
}

}  // namespace tcpp::trainer
