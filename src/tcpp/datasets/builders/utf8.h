// UTF-8 validation with file:line errors, shared by the builders (internal).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tcpp::datasets::builders {

/// Throw InputError("path:line: invalid UTF-8 ...") at the first malformed sequence (overlong forms,
/// surrogates and code points above U+10FFFF are malformed, as Python's strict decoder says). text is the part of
/// the file that begins on line first_line, at byte first_offset.
void check_utf8(std::string_view text, const std::string& path, int64_t first_line = 1, int64_t first_offset = 0);
/// Offset of the first malformed sequence in text (same rules), or std::string_view::npos when it is valid.
size_t find_invalid_utf8(std::string_view text);

}  // namespace tcpp::datasets::builders
