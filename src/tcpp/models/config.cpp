// PretrainedConfig: config.json reading/writing through the field visitor, and update_from_string overrides.
#include "tcpp/models/config.h"

#include <set>

#include "tcpp/core/error.h"
#include "tcpp/core/strings.h"

namespace tcpp::models {
namespace {

std::string type_name(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::boolean: return "a boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return "an integer";
    case Json::value_t::number_float: return "a float";
    case Json::value_t::string: return "a string";
    case Json::value_t::array: return "a list";
    default: return "an object";
  }
}

std::string bad_type(const char* key, const char* expected, const Json& found) {
  return "\"" + std::string(key) + "\" must be " + expected + ", found " + type_name(found) + " (" + found.dump() + ")";
}

// Reads known keys from a config.json object; remembers which keys it consumed.
class JsonReader : public ConfigFieldVisitor {
 public:
  JsonReader(const Json& config, std::string where) : config_(config), where_(std::move(where)) {}
  std::set<std::string> seen;

  void field(const char* key, int64_t& value) override {
    if (const Json* j = find(key)) {
      if (!j->is_number_integer()) throw InputError(where_, bad_type(key, "an integer", *j));
      value = j->get<int64_t>();
    }
  }
  void field(const char* key, double& value) override {
    if (const Json* j = find(key)) {
      if (!j->is_number()) throw InputError(where_, bad_type(key, "a number", *j));
      value = j->get<double>();
    }
  }
  void field(const char* key, bool& value) override {
    if (const Json* j = find(key)) {
      if (!j->is_boolean()) throw InputError(where_, bad_type(key, "true or false", *j));
      value = j->get<bool>();
    }
  }
  void field(const char* key, std::string& value) override {
    if (const Json* j = find(key)) {
      if (!j->is_string()) throw InputError(where_, bad_type(key, "a string", *j));
      value = j->get<std::string>();
    }
  }
  void field(const char* key, std::optional<int64_t>& value) override {
    if (const Json* j = find(key)) {
      if (j->is_null()) {
        value.reset();
      } else {
        if (!j->is_number_integer()) throw InputError(where_, bad_type(key, "an integer or null", *j));
        value = j->get<int64_t>();
      }
    }
  }
  void field(const char* key, Json& value) override {
    if (const Json* j = find(key)) value = *j;
  }

 private:
  const Json* find(const char* key) {
    seen.insert(key);
    auto it = config_.find(key);
    return it == config_.end() ? nullptr : &*it;
  }
  const Json& config_;
  std::string where_;
};

class JsonWriter : public ConfigFieldVisitor {
 public:
  Json out = Json::object();
  void field(const char* key, int64_t& value) override { out[key] = value; }
  void field(const char* key, double& value) override { out[key] = value; }
  void field(const char* key, bool& value) override { out[key] = value; }
  void field(const char* key, std::string& value) override { out[key] = value; }
  void field(const char* key, std::optional<int64_t>& value) override {
    out[key] = value ? Json(*value) : Json(nullptr);
  }
  void field(const char* key, Json& value) override { out[key] = value; }
};

// Sets one field from a string, typed by the field (transformers' update_from_string).
class StringSetter : public ConfigFieldVisitor {
 public:
  StringSetter(std::string key, std::string value) : key_(std::move(key)), value_(std::move(value)) {}
  bool found = false;

  void field(const char* key, int64_t& value) override {
    if (match(key)) value = as_int();
  }
  void field(const char* key, double& value) override {
    if (match(key)) value = as_float();
  }
  void field(const char* key, bool& value) override {
    if (match(key)) value = as_bool();
  }
  void field(const char* key, std::string& value) override {
    if (match(key)) value = value_;
  }
  void field(const char* key, std::optional<int64_t>& value) override {
    if (match(key)) value = as_int();
  }
  void field(const char* key, Json& value) override {
    if (!match(key)) return;
    if (value.is_boolean()) {
      value = as_bool();
    } else if (value.is_number_integer()) {
      value = as_int();
    } else if (value.is_number_float()) {
      value = as_float();
    } else if (value.is_string()) {
      value = value_;
    } else if (value.is_null()) {
      // transformers refuses None-valued fields; inferring int / float / bool / str is the useful extension.
      if (auto i = parse_int(value_)) value = *i;
      else if (auto d = parse_double(value_)) value = *d;
      else if (auto b = parse_bool(value_)) value = *b;
      else value = value_;
    } else {
      throw InputError("config_overrides", "\"" + key_ + "\" is " + type_name(value) + " (" + value.dump() +
                                               "); only int, float, bool or string values can be overridden");
    }
  }

 private:
  bool match(const char* key) {
    if (key_ != key) return false;
    found = true;
    return true;
  }
  int64_t as_int() const {
    auto v = parse_int(trim(value_));
    if (!v) throw InputError("config_overrides", "\"" + key_ + "\" expects an integer, got " + quote(value_));
    return *v;
  }
  double as_float() const {
    auto v = parse_double(trim(value_));
    if (!v) throw InputError("config_overrides", "\"" + key_ + "\" expects a float, got " + quote(value_));
    return *v;
  }
  bool as_bool() const {
    // As update_from_string: true/1/y/yes and false/0/n/no, case-insensitive.
    std::string s = to_lower(trim(value_));
    if (s == "true" || s == "1" || s == "y" || s == "yes") return true;
    if (s == "false" || s == "0" || s == "n" || s == "no") return false;
    throw InputError("config_overrides", "\"" + key_ + "\" expects a boolean (true/false/1/0/yes/no), got " +
                                             quote(value_));
  }
  std::string key_;
  std::string value_;
};

class KeyLister : public ConfigFieldVisitor {
 public:
  std::vector<std::string> keys;
  void field(const char* key, int64_t&) override { keys.push_back(key); }
  void field(const char* key, double&) override { keys.push_back(key); }
  void field(const char* key, bool&) override { keys.push_back(key); }
  void field(const char* key, std::string&) override { keys.push_back(key); }
  void field(const char* key, std::optional<int64_t>&) override { keys.push_back(key); }
  void field(const char* key, Json&) override { keys.push_back(key); }
};

}  // namespace

void config_require(bool cond, const std::string& where, const std::string& message) {
  if (!cond) throw InputError(where, message);
}

void PretrainedConfig::visit_fields(ConfigFieldVisitor& v) {
  v.field("architectures", architectures);
  v.field("torch_dtype", torch_dtype);
  v.field("bos_token_id", bos_token_id);
  v.field("eos_token_id", eos_token_id);
  v.field("pad_token_id", pad_token_id);
  v.field("tie_word_embeddings", tie_word_embeddings);
}

std::optional<int64_t> PretrainedConfig::pad_token() const {
  if (pad_token_id.is_number_integer()) return pad_token_id.get<int64_t>();
  return std::nullopt;
}

void PretrainedConfig::update_from_json(const Json& config, const std::string& where) {
  if (!config.is_object()) throw InputError(where, "expected a JSON object, found " + type_name(config));
  if (auto mt = config.find("model_type"); mt != config.end() && *mt != model_type())
    throw InputError(where, "\"model_type\" is " + mt->dump() + ", expected \"" + model_type() + "\"");
  // transformers' attribute_map: an alias in the file sets the real field (unless the real key is there too).
  Json normalised = config;
  for (const auto& [alias, real] : attribute_map()) {
    auto it = normalised.find(alias);
    if (it == normalised.end()) continue;
    if (!normalised.contains(real)) normalised[real] = *it;
    normalised.erase(alias);
  }
  JsonReader reader(normalised, where);
  visit_fields(reader);
  for (auto it = normalised.begin(); it != normalised.end(); ++it)
    if (!reader.seen.count(it.key()) && it.key() != "model_type") extra[it.key()] = *it;
  finalize();
  validate(where);
}

Json PretrainedConfig::to_json() const {
  JsonWriter writer;
  const_cast<PretrainedConfig*>(this)->visit_fields(writer);
  Json out = extra;
  for (auto it = writer.out.begin(); it != writer.out.end(); ++it) out[it.key()] = *it;
  out["model_type"] = model_type();
  return out;
}

void PretrainedConfig::update_from_string(const std::string& overrides) {
  // config.json must be UTF-8: a value that is not would only fail when the config is saved, after training.
  try {
    (void)Json(overrides).dump();
  } catch (const Json::type_error&) {
    throw InputError("config_overrides", "is not valid UTF-8: " + Json(overrides).dump(-1, ' ', true, Json::error_handler_t::replace));
  }
  for (const auto& piece : split(overrides, ',')) {
    auto kv = split(piece, '=');
    if (kv.size() != 2 || trim(kv[0]).empty())
      throw InputError("config_overrides", "expected key=value pairs separated by commas, found " + quote(piece) +
                                               " in " + quote(overrides));
    std::string key = trim(kv[0]);
    for (const auto& [alias, real] : attribute_map())
      if (key == alias) key = real;
    StringSetter setter(key, kv[1]);
    visit_fields(setter);
    if (!setter.found) {
      KeyLister lister;
      visit_fields(lister);
      std::string msg = "key \"" + key + "\" isn't an attribute of " + model_type() + "'s config";
      if (auto near = closest_match(key, lister.keys)) msg += " (did you mean \"" + *near + "\"?)";
      throw InputError("config_overrides", msg);
    }
  }
  finalize();
  validate("config_overrides");
}

}  // namespace tcpp::models
