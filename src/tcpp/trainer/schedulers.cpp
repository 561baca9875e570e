// Learning-rate schedules with Hugging Face's exact multipliers (as transformers' optimization.py get_scheduler,
// plus torch.optim.lr_scheduler.ReduceLROnPlateau).
#include "tcpp/trainer/schedulers.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <utility>

#include "tcpp/core/error.h"
#include "tcpp/core/strings.h"

namespace tcpp::trainer {
namespace {

constexpr double kPi = 3.14159265358979323846;

// Reads typed values out of lr_scheduler_kwargs and rejects keys the schedule does not take (HF raises TypeError).
class Kwargs {
 public:
  Kwargs(const Json& kwargs, std::string type) : kwargs_(kwargs), type_(std::move(type)) {
    if (!kwargs_.is_null() && !kwargs_.is_object())
      throw InputError("lr_scheduler_kwargs", "expected a JSON object, got " + kwargs_.dump());
  }

  bool has(const std::string& key) {
    used_.insert(key);
    return kwargs_.is_object() && kwargs_.contains(key) && !kwargs_.at(key).is_null();
  }
  double number(const std::string& key, double fallback) {
    if (!has(key)) return fallback;
    const Json& v = kwargs_.at(key);
    if (!v.is_number())
      throw InputError("lr_scheduler_kwargs." + key, "expected a number, got " + v.dump());
    return v.get<double>();
  }
  int64_t integer(const std::string& key, int64_t fallback) {
    if (!has(key)) return fallback;
    const Json& v = kwargs_.at(key);
    if (!v.is_number_integer())
      throw InputError("lr_scheduler_kwargs." + key, "expected an integer, got " + v.dump());
    return v.get<int64_t>();
  }
  std::string string(const std::string& key, const std::string& fallback, const std::vector<std::string>& allowed) {
    if (!has(key)) return fallback;
    const Json& v = kwargs_.at(key);
    if (!v.is_string() || std::find(allowed.begin(), allowed.end(), v.get<std::string>()) == allowed.end())
      throw InputError("lr_scheduler_kwargs." + key, "expected one of " + join(allowed, ", ") + ", got " + v.dump());
    return v.get<std::string>();
  }
  /// Throw for keys that no accessor asked for.
  void reject_unused() const {
    if (!kwargs_.is_object()) return;
    for (const auto& item : kwargs_.items()) {
      if (used_.count(item.key()) == 0)
        throw InputError("lr_scheduler_kwargs." + item.key(),
                         "not an argument of lr_scheduler_type \"" + type_ + "\"");
    }
  }

 private:
  const Json& kwargs_;
  std::string type_;
  std::set<std::string> used_;
};

double warmup_fraction(int64_t s, int64_t w) { return static_cast<double>(s) / static_cast<double>(std::max<int64_t>(1, w)); }

// (s - W) / max(1, T - W), as every HF decay phase computes its progress.
double progress_after_warmup(int64_t s, int64_t w, int64_t t) {
  return static_cast<double>(s - w) / static_cast<double>(std::max<int64_t>(1, t - w));
}

}  // namespace

int64_t get_warmup_steps(int64_t warmup_steps, double warmup_ratio, int64_t num_training_steps) {
  if (warmup_steps > 0) return warmup_steps;
  return static_cast<int64_t>(std::ceil(static_cast<double>(num_training_steps) * warmup_ratio));
}

const std::vector<std::string>& scheduler_type_names() {
  static const std::vector<std::string> names = {
      "linear",          "cosine",     "cosine_with_restarts", "polynomial",          "constant",
      "constant_with_warmup", "inverse_sqrt", "reduce_lr_on_plateau", "cosine_with_min_lr",
      "cosine_warmup_with_min_lr", "warmup_stable_decay"};
  return names;
}

std::function<double(int64_t)> get_schedule_lambda(const SchedulerOptions& options, double base_lr) {
  const std::string& type = options.lr_scheduler_type;
  const int64_t w = options.num_warmup_steps;
  const int64_t t = options.num_training_steps;
  Kwargs kw(options.lr_scheduler_kwargs, type);
  std::function<double(int64_t)> fn;

  if (type == "constant") {
    fn = [](int64_t) { return 1.0; };
  } else if (type == "constant_with_warmup") {
    fn = [w](int64_t s) { return s < w ? warmup_fraction(s, w) : 1.0; };
  } else if (type == "linear") {
    fn = [w, t](int64_t s) {
      if (s < w) return warmup_fraction(s, w);
      return std::max(0.0, static_cast<double>(t - s) / static_cast<double>(std::max<int64_t>(1, t - w)));
    };
  } else if (type == "cosine") {
    const double cycles = kw.number("num_cycles", 0.5);
    fn = [w, t, cycles](int64_t s) {
      if (s < w) return warmup_fraction(s, w);
      const double p = progress_after_warmup(s, w, t);
      return std::max(0.0, 0.5 * (1.0 + std::cos(kPi * cycles * 2.0 * p)));
    };
  } else if (type == "cosine_with_restarts") {
    const double cycles = kw.number("num_cycles", 1.0);
    fn = [w, t, cycles](int64_t s) {
      if (s < w) return warmup_fraction(s, w);
      const double p = progress_after_warmup(s, w, t);
      if (p >= 1.0) return 0.0;
      // Python's % on a non-negative float equals fmod.
      return std::max(0.0, 0.5 * (1.0 + std::cos(kPi * std::fmod(cycles * p, 1.0))));
    };
  } else if (type == "polynomial") {
    const double lr_end = kw.number("lr_end", 1e-7);
    const double power = kw.number("power", 1.0);
    if (!(base_lr > lr_end))
      throw InputError("lr_scheduler_kwargs.lr_end",
                       "lr_end (" + python_float_repr(lr_end) + ") must be smaller than initial lr (" +
                           python_float_repr(base_lr) + ")");
    fn = [w, t, lr_end, power, base_lr](int64_t s) {
      if (s < w) return warmup_fraction(s, w);
      if (s > t) return lr_end / base_lr;
      // HF divides by (T - W) unguarded; T == W only reaches here at s == W, where the remaining fraction is 1.
      const double decay_steps = static_cast<double>(t - w);
      const double remaining = decay_steps > 0 ? 1.0 - static_cast<double>(s - w) / decay_steps : 1.0;
      return ((base_lr - lr_end) * std::pow(remaining, power) + lr_end) / base_lr;
    };
  } else if (type == "inverse_sqrt") {
    const double timescale = kw.number("timescale", w > 0 ? static_cast<double>(w) : 10000.0);
    fn = [w, timescale](int64_t s) {
      if (s < w) return warmup_fraction(s, w);
      const double shift = timescale - static_cast<double>(w);
      return 1.0 / std::sqrt((static_cast<double>(s) + shift) / timescale);
    };
  } else if (type == "cosine_with_min_lr" || type == "cosine_warmup_with_min_lr") {
    const double cycles = kw.number("num_cycles", 0.5);
    const bool has_min_lr = kw.has("min_lr");
    const bool has_rate = kw.has("min_lr_rate");
    if (has_min_lr == has_rate)
      throw InputError("lr_scheduler_kwargs", type + " needs exactly one of \"min_lr\" or \"min_lr_rate\", got " +
                                                  (has_min_lr ? "both" : "neither"));
    const double rate = has_min_lr ? kw.number("min_lr", 0.0) / base_lr : kw.number("min_lr_rate", 0.0);
    if (type == "cosine_with_min_lr") {
      fn = [w, t, cycles, rate](int64_t s) {
        if (s < w) return warmup_fraction(s, w);
        const double p = progress_after_warmup(s, w, t);
        const double f = 0.5 * (1.0 + std::cos(kPi * cycles * 2.0 * p));
        return std::max(0.0, f * (1.0 - rate) + rate);
      };
    } else {
      // HF's get_cosine_with_min_lr_schedule_with_warmup_lr_rate: the warmup reaches 1 at step W - 1 (from
      // (s + 1) / W, or from warmup_lr_rate when given) and the decay counts from one step later than cosine's.
      const bool has_warmup_rate = kw.has("warmup_lr_rate");
      const double warmup_rate = kw.number("warmup_lr_rate", 0.0);
      fn = [w, t, cycles, rate, has_warmup_rate, warmup_rate](int64_t s) {
        const double sd = static_cast<double>(s);
        const double wd = static_cast<double>(w);
        if (s < w) {
          if (!has_warmup_rate) return (sd + 1.0) / std::max(1.0, wd);
          return warmup_rate + (1.0 - warmup_rate) * sd / static_cast<double>(std::max<int64_t>(1, w - 1));
        }
        const double p = (sd - wd + 1.0) / std::max(1.0, static_cast<double>(t) - wd);
        const double f = 0.5 * (1.0 + std::cos(kPi * cycles * 2.0 * p));
        return std::max(0.0, f * (1.0 - rate) + rate);
      };
    }
  } else if (type == "warmup_stable_decay") {
    if (!kw.has("num_decay_steps"))
      throw InputError("lr_scheduler_kwargs", "warmup_stable_decay needs \"num_decay_steps\"");
    const int64_t decay = kw.integer("num_decay_steps", 0);
    // HF: num_stable_steps = num_training_steps - warmup - decay unless given explicitly.
    const int64_t stable = kw.integer("num_stable_steps", t - w - decay);
    const std::vector<std::string> kinds = {"linear", "cosine", "1-sqrt"};
    const std::string warmup_type = kw.string("warmup_type", "linear", kinds);
    const std::string decay_type = kw.string("decay_type", "cosine", kinds);
    const double min_ratio = kw.number("min_lr_ratio", 0.0);
    const double cycles = kw.number("num_cycles", 0.5);
    fn = [=](int64_t s) {
      if (s < w) {
        const double p = warmup_fraction(s, w);
        double f = p;
        if (warmup_type == "cosine") f = 0.5 * (1.0 - std::cos(kPi * p));
        if (warmup_type == "1-sqrt") f = 1.0 - std::sqrt(1.0 - p);
        return std::max(0.0, f * (1.0 - min_ratio) + min_ratio);
      }
      if (s < w + stable) return 1.0;
      if (s < w + stable + decay) {
        const double p = static_cast<double>(s - w - stable) / static_cast<double>(std::max<int64_t>(1, decay));
        double f = 1.0 - p;
        if (decay_type == "cosine") f = 0.5 * (1.0 + std::cos(kPi * cycles * 2.0 * p));
        if (decay_type == "1-sqrt") f = 1.0 - std::sqrt(p);
        return std::max(0.0, f * (1.0 - min_ratio) + min_ratio);
      }
      return min_ratio;
    };
  } else if (type == "reduce_lr_on_plateau") {
    throw InputError("lr_scheduler_type", "reduce_lr_on_plateau has no per-step multiplier; use LRScheduler::create");
  } else {
    std::string msg = "expected one of " + join(scheduler_type_names(), ", ") + ", got " + quote(type);
    if (auto near = closest_match(type, scheduler_type_names())) msg += " (did you mean \"" + *near + "\"?)";
    throw InputError("lr_scheduler_type", msg);
  }
  kw.reject_unused();
  return fn;
}

LRScheduler LRScheduler::create(const SchedulerOptions& options, std::vector<double> base_lrs) {
  if (base_lrs.empty()) throw InputError("learning_rate", "the optimizer has no parameter groups");
  LRScheduler s;
  s.base_lrs_ = std::move(base_lrs);
  if (options.lr_scheduler_type == "reduce_lr_on_plateau") {
    // torch.optim.lr_scheduler.ReduceLROnPlateau(**lr_scheduler_kwargs); its defaults.
    Kwargs kw(options.lr_scheduler_kwargs, options.lr_scheduler_type);
    s.plateau_ = true;
    s.mode_max_ = kw.string("mode", "min", {"min", "max"}) == "max";
    s.factor_ = kw.number("factor", 0.1);
    if (!(s.factor_ < 1.0)) throw InputError("lr_scheduler_kwargs.factor", "expected a value < 1.0, got " + python_float_repr(s.factor_));
    s.patience_ = kw.integer("patience", 10);
    s.threshold_ = kw.number("threshold", 1e-4);
    s.threshold_abs_ = kw.string("threshold_mode", "rel", {"rel", "abs"}) == "abs";
    s.cooldown_ = kw.integer("cooldown", 0);
    s.min_lrs_.assign(s.base_lrs_.size(), kw.number("min_lr", 0.0));
    s.eps_ = kw.number("eps", 1e-8);
    kw.reject_unused();
    s.best_ = s.mode_max_ ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
    s.last_lr_ = s.base_lrs_;
    return s;
  }
  // HF builds one lambda from the optimizer's default lr; every group shares it.
  s.lambda_ = get_schedule_lambda(options, s.base_lrs_.front());
  s.last_lr_.resize(s.base_lrs_.size());
  for (size_t i = 0; i < s.base_lrs_.size(); ++i) s.last_lr_[i] = s.base_lrs_[i] * s.lambda_(0);
  return s;
}

void LRScheduler::step() {
  if (plateau_) return;
  ++last_epoch_;
  const double m = lambda_(last_epoch_);
  for (size_t i = 0; i < base_lrs_.size(); ++i) last_lr_[i] = base_lrs_[i] * m;
}

void LRScheduler::step_metric(double metric) {
  if (!plateau_) return;
  ++last_epoch_;
  bool better;
  if (mode_max_) {
    better = threshold_abs_ ? metric > best_ + threshold_ : metric > best_ * (threshold_ + 1.0);
  } else {
    better = threshold_abs_ ? metric < best_ - threshold_ : metric < best_ * (1.0 - threshold_);
  }
  if (better) {
    best_ = metric;
    num_bad_epochs_ = 0;
  } else {
    ++num_bad_epochs_;
  }
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    num_bad_epochs_ = 0;
  }
  if (num_bad_epochs_ > patience_) {
    for (size_t i = 0; i < last_lr_.size(); ++i) {
      const double new_lr = std::max(last_lr_[i] * factor_, min_lrs_[i]);
      if (last_lr_[i] - new_lr > eps_) last_lr_[i] = new_lr;
    }
    cooldown_counter_ = cooldown_;
    num_bad_epochs_ = 0;
  }
}

Json LRScheduler::state_dict() const {
  Json j = {{"base_lrs", base_lrs_}, {"last_epoch", last_epoch_}, {"_last_lr", last_lr_}};
  if (plateau_) {
    // JSON has no infinity: the start value (nothing seen yet) is stored as null.
    j["best"] = std::isfinite(best_) ? Json(best_) : Json(nullptr);
    j["num_bad_epochs"] = num_bad_epochs_;
    j["cooldown_counter"] = cooldown_counter_;
  }
  return j;
}

void LRScheduler::load_state_dict(const Json& state, const std::string& where) {
  auto field = [&](const char* key) -> const Json& {
    if (!state.is_object() || !state.contains(key))
      throw InputError(where, std::string("missing \"") + key + "\" (written by an older version?)");
    return state.at(key);
  };
  // A step counter: an integer (a float would convert with undefined behaviour) from 0 to 2^53, so that counting
  // on from it cannot overflow and the schedules' arithmetic on it stays exact.
  auto integer_field = [&](const char* key) -> int64_t {
    const Json& v = field(key);
    if (!v.is_number_integer()) throw InputError(where, std::string("\"") + key + "\" must be an integer, found " + v.dump());
    if (v.is_number_unsigned() ? v.get<uint64_t>() > (uint64_t{1} << 53)
                               : v.get<int64_t>() < 0 || v.get<int64_t>() > (int64_t{1} << 53))
      throw InputError(where, std::string("\"") + key + "\" must be a count from 0 to 2^53, found " + v.dump());
    return v.get<int64_t>();
  };
  try {
    auto base = field("base_lrs").get<std::vector<double>>();
    auto last = field("_last_lr").get<std::vector<double>>();
    if (base.size() != base_lrs_.size() || last.size() != base_lrs_.size())
      throw InputError(where, "\"base_lrs\" has " + std::to_string(base.size()) + " groups, expected " +
                                  std::to_string(base_lrs_.size()));
    base_lrs_ = std::move(base);
    last_lr_ = std::move(last);
    last_epoch_ = integer_field("last_epoch");
    if (plateau_) {
      const Json& b = field("best");
      best_ = b.is_number() ? b.get<double>()
                            : (mode_max_ ? -std::numeric_limits<double>::infinity()
                                         : std::numeric_limits<double>::infinity());
      num_bad_epochs_ = integer_field("num_bad_epochs");
      cooldown_counter_ = integer_field("cooldown_counter");
    }
  } catch (const Json::exception& e) {
    throw InputError(where, std::string("unexpected value type: ") + e.what());
  }
}

}  // namespace tcpp::trainer
