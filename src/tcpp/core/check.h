// TCPP_CHECK: an invariant check that throws tcpp::InternalError with the source location (like TORCH_CHECK).
#pragma once

#include <sstream>
#include <string>

#include "tcpp/core/error.h"

namespace tcpp::detail {

template <typename... Args>
[[noreturn]] void check_failed(const char* file, int line, const char* cond, const Args&... args) {
  std::ostringstream os;
  if constexpr (sizeof...(Args) > 0) {
    (os << ... << args);
  } else {
    os << "check failed: " << cond;
  }
  os << " (" << file << ":" << line << ")";
  throw InternalError(os.str());
}

}  // namespace tcpp::detail

/// Throw tcpp::InternalError("<message> (file.cpp:42)") when cond is false. The message parts are streamed.
#define TCPP_CHECK(cond, ...)                                                    \
  do {                                                                           \
    if (!(cond)) ::tcpp::detail::check_failed(__FILE__, __LINE__, #cond, ##__VA_ARGS__); \
  } while (0)
