// JSON helpers over nlohmann::json: read a file with file:line:column errors, typed field access, stable dumps.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace tcpp {

using Json = nlohmann::json;
/// Keeps keys in insertion order (for files where order is meaningful to a reader).
using OrderedJson = nlohmann::ordered_json;

/// Parse JSON text; errors read "<where>:<line>:<column>: <what>".
Json parse_json(const std::string& text, const std::string& where);
/// Where in text nlohmann's parse error e (a parse_error, or out_of_range for a number like 1e400) happened, and its
/// message without nlohmann's "[json.exception...]" prefix: for callers that parse a part of a larger file.
struct JsonErrorAt {
  size_t offset = 0;
  std::string what;
};
JsonErrorAt locate_json_error(const Json::exception& e, std::string_view text);
/// Read and parse a JSON file; errors name the path (and line/column for syntax errors).
Json read_json_file(const std::string& path);

/// Serialise as Python's json.dumps(obj, indent=indent, sort_keys=True) does for plain data:
/// keys sorted, ", " / ": " separators, floats printed with Python's repr (shortest round-trip), NaN/Infinity
/// spelled as Python spells them. indent < 0 means one line.
std::string dump_json_python(const Json& value, int indent = 2);

/// Format a double the way Python's repr(float) does (shortest round-trip, "1e-05", "0.1", "3.0", "inf").
std::string python_float_repr(double v);

}  // namespace tcpp
