// Typed access to tokenizer.json fields with errors that name the file and the field (never installed).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tcpp/core/error.h"
#include "tcpp/core/json.h"

namespace tcpp::tokenizers::detail {

/// Where a JSON value sits: "tokenizer.json: model.merges[3]".
struct JsonPath {
  std::string file;
  std::string path;
  JsonPath key(const std::string& k) const { return {file, path.empty() ? k : path + "." + k}; }
  JsonPath index(size_t i) const { return {file, path + "[" + std::to_string(i) + "]"}; }
  std::string str() const { return path.empty() ? file : file + ": \"" + path + "\""; }
};

std::string json_type_name(const Json& j);
[[noreturn]] void throw_type(const JsonPath& at, const char* expected, const Json& found);

/// obj must be an object holding key; returns it. (The key is a view: a literal makes no temporary string that
/// newer compilers would suspect the returned reference of pointing into.)
const Json& require(const Json& obj, std::string_view key, const JsonPath& at);
/// A required or defaulted field of a given type.
std::string get_string(const Json& obj, const std::string& key, const JsonPath& at);
std::string get_string(const Json& obj, const std::string& key, const JsonPath& at, const std::string& fallback);
/// Null or absent -> nullopt.
std::optional<std::string> get_optional_string(const Json& obj, const std::string& key, const JsonPath& at);
bool get_bool(const Json& obj, const std::string& key, const JsonPath& at, bool fallback);
uint64_t get_uint(const Json& obj, const std::string& key, const JsonPath& at);
uint64_t get_uint(const Json& obj, const std::string& key, const JsonPath& at, uint64_t fallback);
/// A value that must be a non-negative integer below limit (ids).
uint32_t as_id(const Json& v, const JsonPath& at, uint64_t limit = UINT32_MAX);
const std::string& as_string(const Json& v, const JsonPath& at);

}  // namespace tcpp::tokenizers::detail
