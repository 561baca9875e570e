// Typed, type-erased access to one field of an argument struct: the unit that parsing, --help, JSON and printing share
// (HfArgumentParser turns dataclass fields into argparse options the same way).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tcpp/core/json.h"

namespace tcpp::args {

/// How a field's value is spelled on the command line and in JSON.
enum class ValueType {
  kBool,        // --flag, --flag true|false, --no_flag (when the default is true)
  kInt,         // 64-bit integer
  kFloat,       // double
  kNumber,      // double that HF prints as an int when whole (logging_steps, save_steps, warmup_steps)
  kString,      // free text, or one of `choices`
  kStringList,  // one or more values after the flag (nargs="+")
  kDict,        // JSON object given as '{"k": v}' on the command line (lr_scheduler_kwargs)
};

/// Static description of a field: name, help text, allowed values, other spellings.
struct FieldSpec {
  std::string name;
  std::string help;
  std::vector<std::string> choices;  // empty = any value
  std::vector<std::string> aliases;  // older/newer HF spellings (evaluation_strategy, ...)
  bool supported = true;             // false: an HF field accepted for compatibility that has no effect here
  std::string no_effect_reason;      // why, for the warning (may be empty)

  FieldSpec(std::string n, std::string h) : name(std::move(n)), help(std::move(h)) {}
  FieldSpec&& with_choices(std::vector<std::string> c) && { choices = std::move(c); return std::move(*this); }
  FieldSpec&& with_alias(std::string a) && { aliases.push_back(std::move(a)); return std::move(*this); }
  FieldSpec&& unsupported(std::string why = "") && {
    supported = false;
    no_effect_reason = std::move(why);
    return std::move(*this);
  }
};

/// A field bound to a member of one argument struct instance.
struct FieldRef {
  FieldSpec spec{"", ""};
  ValueType type = ValueType::kString;
  bool nullable = false;  // std::optional member: null / None allowed
  std::function<Json()> get;
  /// Assign from a JSON value; `where` names the flag or JSON key for the error message.
  std::function<void(const Json&, const std::string& where)> set;
};

FieldRef bind(bool& member, FieldSpec spec);
FieldRef bind(std::optional<bool>& member, FieldSpec spec);
FieldRef bind(int64_t& member, FieldSpec spec);
FieldRef bind(std::optional<int64_t>& member, FieldSpec spec);
FieldRef bind(double& member, FieldSpec spec, ValueType type = ValueType::kFloat);
FieldRef bind(std::optional<double>& member, FieldSpec spec, ValueType type = ValueType::kFloat);
FieldRef bind(std::string& member, FieldSpec spec);
FieldRef bind(std::optional<std::string>& member, FieldSpec spec);
FieldRef bind(std::vector<std::string>& member, FieldSpec spec);
/// A JSON value (object or null).
FieldRef bind_dict(Json& member, FieldSpec spec);

/// One warning per unsupported field whose value differs from `defaults` (the same struct's fields, default
/// constructed): "--name is accepted for compatibility with transformers but has no effect in trainer.cpp (why)".
std::vector<std::string> no_effect_warnings(const std::vector<FieldRef>& fields, const std::vector<FieldRef>& defaults);

/// Human name of a value type for error messages ("an integer", "a float", ...).
std::string type_description(ValueType type);

}  // namespace tcpp::args
