// Line splitting shared by the text builder and streaming (Python's universal newlines + str.splitlines).
#include "tcpp/datasets/builders/lines.h"

namespace tcpp::datasets::builders {
namespace {

// Python's universal newlines (open() in text mode): "\r\n" and "\r" read as "\n".
std::string translate_newlines(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

std::string translate_newlines_copy(std::string_view s) { return translate_newlines(s); }

void for_each_line(std::string_view raw, bool keep_linebreaks, const std::function<bool(std::string_view)>& fn) {
  for_each_line_t(raw, keep_linebreaks, fn);
}

}  // namespace tcpp::datasets::builders
