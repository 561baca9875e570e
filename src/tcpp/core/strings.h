// Small string helpers shared by every module: split, trim, case, edit distance, number parsing with errors.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tcpp {

/// Split on every occurrence of sep (empty fields kept).
std::vector<std::string> split(std::string_view s, char sep);
/// Strip ASCII white space at both ends.
std::string trim(std::string_view s);
/// ASCII lower case.
std::string to_lower(std::string_view s);
bool starts_with(std::string_view s, std::string_view prefix);
bool ends_with(std::string_view s, std::string_view suffix);
/// Join with a separator.
std::string join(const std::vector<std::string>& parts, std::string_view sep);
/// A tensor shape for messages, as torch prints sizes: "[3, 4]" ("[]" for a scalar).
std::string shape_string(const std::vector<int64_t>& dims);
/// Levenshtein distance, for "did you mean" suggestions.
size_t edit_distance(std::string_view a, std::string_view b);
/// The candidate closest to word (by edit distance), or nullopt when none is reasonably close.
std::optional<std::string> closest_match(std::string_view word, const std::vector<std::string>& candidates);

/// Parse a whole string as a base-10 integer; nullopt on any trailing garbage or overflow.
std::optional<int64_t> parse_int(std::string_view s);
/// Parse a whole string as a floating point number (accepts inf/nan and exponents); nullopt otherwise.
std::optional<double> parse_double(std::string_view s);
/// Parse a Python/HF style boolean: true/false/1/0/yes/no/t/f/y/n (case-insensitive); nullopt otherwise.
std::optional<bool> parse_bool(std::string_view s);
/// Decode standard base64 (RFC 4648: A-Z a-z 0-9 + /, '=' padding to a multiple of 4); nullopt for anything else.
std::optional<std::string> base64_decode(std::string_view s);
/// Quote a string for an error message: "text" with control characters escaped, cut at 80 characters.
std::string quote(std::string_view s);

}  // namespace tcpp
