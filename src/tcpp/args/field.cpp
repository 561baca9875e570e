// Typed binding of argument-struct members to JSON values, with errors naming the flag or key.
#include "tcpp/args/field.h"

#include <cmath>

#include "tcpp/core/error.h"
#include "tcpp/core/strings.h"

namespace tcpp::args {
namespace {

std::string show(const Json& v) { return v.is_string() ? quote(v.get<std::string>()) : v.dump(); }

[[noreturn]] void bad_value(const std::string& where, ValueType type, const Json& v) {
  throw InputError(where, "expected " + type_description(type) + ", got " + show(v));
}

bool to_bool(const Json& v, const std::string& where) {
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number_integer() && (v.get<int64_t>() == 0 || v.get<int64_t>() == 1)) return v.get<int64_t>() == 1;
  if (v.is_string())
    if (auto b = parse_bool(v.get<std::string>())) return *b;
  bad_value(where, ValueType::kBool, v);
}

int64_t to_int(const Json& v, const std::string& where) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (std::floor(d) == d && std::fabs(d) < 9e18) return static_cast<int64_t>(d);
  }
  if (v.is_string())
    if (auto i = parse_int(v.get<std::string>())) return *i;
  bad_value(where, ValueType::kInt, v);
}

double to_double(const Json& v, const std::string& where) {
  if (v.is_number()) return v.get<double>();
  if (v.is_string())
    if (auto d = parse_double(v.get<std::string>())) return *d;
  bad_value(where, ValueType::kFloat, v);
}

std::string to_string_checked(const Json& v, const FieldSpec& spec, const std::string& where) {
  std::string s;
  if (v.is_string()) {
    s = v.get<std::string>();
  } else if (v.is_number() || v.is_boolean()) {
    s = v.dump();  // HF would str() such a JSON value; keep it readable.
  } else {
    bad_value(where, ValueType::kString, v);
  }
  if (!spec.choices.empty()) {
    for (const auto& c : spec.choices)
      if (c == s) return s;
    std::string msg = "invalid choice " + quote(s) + " (choose from " + join(spec.choices, ", ") + ")";
    if (auto near = closest_match(s, spec.choices)) msg += "; did you mean \"" + *near + "\"?";
    throw InputError(where, msg);
  }
  return s;
}

bool is_null(const Json& v) {
  if (v.is_null()) return true;
  // On the command line HF's parser cannot spell None; we accept "None"/"null" for optional fields.
  return v.is_string() && (v.get<std::string>() == "None" || v.get<std::string>() == "null");
}

Json number_json(double d, ValueType type) {
  if (type == ValueType::kNumber && std::floor(d) == d && std::fabs(d) < 9e15 && (d >= 1 || d == 0))
    return Json(static_cast<int64_t>(d));
  return Json(d);
}

template <typename T, typename Convert>
FieldRef bind_optional(std::optional<T>& member, FieldSpec spec, ValueType type, Convert convert) {
  FieldRef f;
  f.type = type;
  f.nullable = true;
  f.get = [&member, type]() -> Json {
    if (!member) return nullptr;
    if constexpr (std::is_same_v<T, double>) return number_json(*member, type);
    return Json(*member);
  };
  f.set = [&member, convert](const Json& v, const std::string& where) {
    if (is_null(v)) {
      member.reset();
      return;
    }
    member = convert(v, where);
  };
  f.spec = std::move(spec);
  return f;
}

}  // namespace

std::string type_description(ValueType type) {
  switch (type) {
    case ValueType::kBool: return "a boolean (true/false/1/0/yes/no)";
    case ValueType::kInt: return "an integer";
    case ValueType::kFloat: return "a number";
    case ValueType::kNumber: return "a number (an integer, or a float in [0, 1) meaning a ratio)";
    case ValueType::kString: return "a string";
    case ValueType::kStringList: return "one or more strings";
    case ValueType::kDict: return "a JSON object such as '{\"num_cycles\": 1}'";
  }
  return "a value";
}

FieldRef bind(bool& member, FieldSpec spec) {
  FieldRef f;
  f.type = ValueType::kBool;
  f.get = [&member] { return Json(member); };
  f.set = [&member](const Json& v, const std::string& where) { member = to_bool(v, where); };
  f.spec = std::move(spec);
  return f;
}

FieldRef bind(std::optional<bool>& member, FieldSpec spec) {
  return bind_optional(member, std::move(spec), ValueType::kBool, to_bool);
}

FieldRef bind(int64_t& member, FieldSpec spec) {
  FieldRef f;
  f.type = ValueType::kInt;
  f.get = [&member] { return Json(member); };
  f.set = [&member](const Json& v, const std::string& where) { member = to_int(v, where); };
  f.spec = std::move(spec);
  return f;
}

FieldRef bind(std::optional<int64_t>& member, FieldSpec spec) {
  return bind_optional(member, std::move(spec), ValueType::kInt, to_int);
}

FieldRef bind(double& member, FieldSpec spec, ValueType type) {
  FieldRef f;
  f.type = type;
  f.get = [&member, type] { return number_json(member, type); };
  f.set = [&member](const Json& v, const std::string& where) { member = to_double(v, where); };
  f.spec = std::move(spec);
  return f;
}

FieldRef bind(std::optional<double>& member, FieldSpec spec, ValueType type) {
  return bind_optional(member, std::move(spec), type, to_double);
}

FieldRef bind(std::string& member, FieldSpec spec) {
  FieldRef f;
  f.type = ValueType::kString;
  f.get = [&member] { return Json(member); };
  f.spec = std::move(spec);
  FieldSpec copy = f.spec;
  f.set = [&member, copy](const Json& v, const std::string& where) { member = to_string_checked(v, copy, where); };
  return f;
}

FieldRef bind(std::optional<std::string>& member, FieldSpec spec) {
  FieldSpec copy = spec;
  return bind_optional(member, std::move(spec), ValueType::kString,
                       [copy](const Json& v, const std::string& where) { return to_string_checked(v, copy, where); });
}

FieldRef bind(std::vector<std::string>& member, FieldSpec spec) {
  FieldRef f;
  f.type = ValueType::kStringList;
  f.get = [&member] { return Json(member); };
  FieldSpec copy = spec;
  f.set = [&member, copy](const Json& v, const std::string& where) {
    std::vector<std::string> out;
    if (v.is_null()) {
      member.clear();
      return;
    }
    if (v.is_array()) {
      for (const auto& e : v) out.push_back(to_string_checked(e, copy, where));
    } else {
      out.push_back(to_string_checked(v, copy, where));
    }
    member = std::move(out);
  };
  f.spec = std::move(spec);
  return f;
}

FieldRef bind_dict(Json& member, FieldSpec spec) {
  FieldRef f;
  f.type = ValueType::kDict;
  f.nullable = true;
  f.get = [&member] { return member; };
  f.set = [&member](const Json& v, const std::string& where) {
    if (is_null(v)) {
      member = nullptr;
      return;
    }
    if (v.is_object()) {
      member = v;
      return;
    }
    if (v.is_string()) {
      // As HF's _VALID_DICT_FIELDS: a string starting with "{" is parsed as JSON.
      const std::string& s = v.get_ref<const std::string&>();
      if (!s.empty() && s[0] == '{') {
        Json parsed = parse_json(s, where);
        if (parsed.is_object()) {
          member = parsed;
          return;
        }
      }
    }
    bad_value(where, ValueType::kDict, v);
  };
  f.spec = std::move(spec);
  return f;
}

std::vector<std::string> no_effect_warnings(const std::vector<FieldRef>& fields, const std::vector<FieldRef>& defaults) {
  std::vector<std::string> warnings;
  for (size_t i = 0; i < fields.size() && i < defaults.size(); ++i) {
    const FieldSpec& spec = fields[i].spec;
    if (spec.supported || fields[i].get() == defaults[i].get()) continue;
    std::string w = "--" + spec.name + " is accepted for compatibility with transformers but has no effect in trainer.cpp";
    if (!spec.no_effect_reason.empty()) w += " (" + spec.no_effect_reason + ")";
    warnings.push_back(w);
  }
  return warnings;
}

}  // namespace tcpp::args
