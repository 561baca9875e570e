// Logging with HF's levels and a replaceable sink.
#include "tcpp/core/logging.h"

#include <cstdio>
#include <mutex>

#include "tcpp/core/error.h"
#include "tcpp/core/progress.h"
#include "tcpp/core/strings.h"

namespace tcpp {
namespace {

struct LogState {
  std::mutex mu;
  LogLevel level = LogLevel::kWarning;
  std::function<void(LogLevel, const std::string&)> sink;
};

LogState& state() {
  static LogState s;
  return s;
}

const char* level_name(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug: return "DEBUG";
    case LogLevel::kInfo: return "INFO";
    case LogLevel::kWarning: return "WARNING";
    case LogLevel::kError: return "ERROR";
    case LogLevel::kCritical: return "CRITICAL";
  }
  return "?";
}

}  // namespace

LogLevel parse_log_level(std::string_view name) {
  std::string n = to_lower(name);
  if (n == "debug") return LogLevel::kDebug;
  if (n == "info") return LogLevel::kInfo;
  if (n == "warning" || n == "warn") return LogLevel::kWarning;
  if (n == "error") return LogLevel::kError;
  if (n == "critical" || n == "fatal") return LogLevel::kCritical;
  if (n == "passive") return log_level();
  throw InputError("log level", "expected one of debug, info, warning, error, critical, passive, got " + quote(name));
}

void set_log_level(LogLevel level) {
  std::lock_guard<std::mutex> lock(state().mu);
  state().level = level;
}

LogLevel log_level() {
  std::lock_guard<std::mutex> lock(state().mu);
  return state().level;
}

void set_log_sink(std::function<void(LogLevel, const std::string&)> sink) {
  std::lock_guard<std::mutex> lock(state().mu);
  state().sink = std::move(sink);
}

void log(LogLevel level, const std::string& message) {
  std::lock_guard<std::mutex> lock(state().mu);
  if (static_cast<int>(level) < static_cast<int>(state().level)) return;
  if (state().sink) {
    state().sink(level, message);
    return;
  }
  console_print_line(std::string("[") + level_name(level) + "] " + message);  // above a progress bar, if one is drawn
}

}  // namespace tcpp
