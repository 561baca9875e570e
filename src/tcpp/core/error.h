// Error hierarchy for trainer.cpp: every failure a user can cause is an InputError naming where it happened.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace tcpp {

/// Base class of every exception trainer.cpp throws.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

/// Bad input: a file, a config, an argument. The message reads "where: what was expected, what was found".
class InputError : public Error {
 public:
  explicit InputError(const std::string& message) : Error(message) {}
  /// "path: message".
  InputError(const std::string& where, const std::string& message) : Error(where + ": " + message) {}
  /// "path:line: message" (line numbers start at 1).
  InputError(const std::string& path, int64_t line, const std::string& message)
      : Error(path + ":" + std::to_string(line) + ": " + message) {}
};

/// A feature that exists in the Python stack but not (yet) here; the message says what to use instead.
class NotImplemented : public Error {
 public:
  explicit NotImplemented(const std::string& message) : Error(message) {}
};

/// An internal invariant failed: a bug in trainer.cpp, never the user's fault.
class InternalError : public Error {
 public:
  explicit InternalError(const std::string& message) : Error(message) {}
};

}  // namespace tcpp
