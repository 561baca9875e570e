// Line splitting shared by the text builder and streaming (internal).
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace tcpp::datasets::builders {

/// Call fn for each line as Python yields them from a file opened in text mode and split with
/// str.splitlines(keepends=keep_linebreaks): "\r\n" and "\r" read as "\n"; \v, \f, \x1c-\x1e, U+0085, U+2028
/// and U+2029 also end lines. Stops when fn returns false.
void for_each_line(std::string_view text, bool keep_linebreaks, const std::function<bool(std::string_view)>& fn);
/// Python's universal newlines translation ("\r\n" and "\r" become "\n").
std::string translate_newlines_copy(std::string_view s);

}  // namespace tcpp::datasets::builders
