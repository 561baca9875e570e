// Typed tokenizer.json field access with located errors.
#include "tcpp/tokenizers/json_internal.h"

#include "tcpp/core/strings.h"

namespace tcpp::tokenizers::detail {

std::string json_type_name(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::boolean: return "a boolean";
    case Json::value_t::string: return "a string " + quote(j.get_ref<const std::string&>());
    case Json::value_t::array: return "an array";
    case Json::value_t::object: return "an object";
    case Json::value_t::number_float: return "a number (" + j.dump() + ")";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return "an integer (" + j.dump() + ")";
    default: return "an unsupported value";
  }
}

void throw_type(const JsonPath& at, const char* expected, const Json& found) {
  throw InputError(at.str(), std::string("expected ") + expected + ", got " + json_type_name(found));
}

const Json& require(const Json& obj, std::string_view key, const JsonPath& at) {
  if (!obj.is_object()) throw_type(at, "an object", obj);
  auto it = obj.find(key);
  if (it == obj.end()) throw InputError(at.str(), "missing \"" + std::string(key) + "\"");
  return *it;
}

const std::string& as_string(const Json& v, const JsonPath& at) {
  if (!v.is_string()) throw_type(at, "a string", v);
  return v.get_ref<const std::string&>();
}

std::string get_string(const Json& obj, const std::string& key, const JsonPath& at) {
  return as_string(require(obj, key, at), at.key(key));
}

std::string get_string(const Json& obj, const std::string& key, const JsonPath& at, const std::string& fallback) {
  auto v = get_optional_string(obj, key, at);
  return v ? *v : fallback;
}

std::optional<std::string> get_optional_string(const Json& obj, const std::string& key, const JsonPath& at) {
  if (!obj.is_object()) throw_type(at, "an object", obj);
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  return as_string(*it, at.key(key));
}

bool get_bool(const Json& obj, const std::string& key, const JsonPath& at, bool fallback) {
  if (!obj.is_object()) throw_type(at, "an object", obj);
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) throw_type(at.key(key), "true or false", *it);
  return it->get<bool>();
}

uint64_t get_uint(const Json& obj, const std::string& key, const JsonPath& at) {
  const Json& v = require(obj, key, at);
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
    throw_type(at.key(key), "a non-negative integer", v);
  return v.get<uint64_t>();
}

uint64_t get_uint(const Json& obj, const std::string& key, const JsonPath& at, uint64_t fallback) {
  if (!obj.is_object()) throw_type(at, "an object", obj);
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return fallback;
  return get_uint(obj, key, at);
}

uint32_t as_id(const Json& v, const JsonPath& at, uint64_t limit) {
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
    throw_type(at, "a non-negative integer id", v);
  uint64_t id = v.get<uint64_t>();
  if (id >= limit) throw InputError(at.str(), "id " + std::to_string(id) + " is out of range (must be below " + std::to_string(limit) + ")");
  return static_cast<uint32_t>(id);
}

}  // namespace tcpp::tokenizers::detail
