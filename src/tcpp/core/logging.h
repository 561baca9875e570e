// Logging with HF's levels (debug, info, warning, error, critical); the sink is replaceable, default stderr.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace tcpp {

enum class LogLevel { kDebug = 10, kInfo = 20, kWarning = 30, kError = 40, kCritical = 50 };

/// Parse "debug|info|warning|error|critical" (HF's log_level spellings); "passive" keeps the current level.
LogLevel parse_log_level(std::string_view name);
/// Set the minimum level that reaches the sink (default: warning, as transformers' default verbosity).
void set_log_level(LogLevel level);
LogLevel log_level();
/// Replace where log lines go (tests capture them); nullptr restores stderr.
void set_log_sink(std::function<void(LogLevel, const std::string&)> sink);

void log(LogLevel level, const std::string& message);
inline void log_debug(const std::string& m) { log(LogLevel::kDebug, m); }
inline void log_info(const std::string& m) { log(LogLevel::kInfo, m); }
inline void log_warning(const std::string& m) { log(LogLevel::kWarning, m); }
inline void log_error(const std::string& m) { log(LogLevel::kError, m); }

}  // namespace tcpp
