// Values of Arrow's temporal types as text: ISO 8601, as Python's datetime/date/time isoformat() writes them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tcpp/datasets/arrow/type.h"

namespace tcpp::datasets::arrow {

/// How many of unit make a second: 1, 1000, 1000000, 1000000000.
int64_t units_per_second(TimeUnit unit);

/// The JSON-friendly text of a stored temporal value v of type t (not kDuration): date32/date64 "YYYY-MM-DD";
/// timestamp "YYYY-MM-DDTHH:MM:SS" plus ".fff" / ".ffffff" / ".fffffffff" (the unit's digits) when the fraction is
/// not zero, plus "+00:00" when the type has a timezone (the instant, written in UTC); time32/time64 "HH:MM:SS" and
/// the fraction likewise. Years outside 0001-9999 are written with as many digits as they need (and a sign when
/// negative); a time of day outside [0, 24h) is an InputError.
std::string format_temporal(const DataType& t, int64_t v);

/// The stored value for text in format_temporal's forms (also "YYYY-MM-DD HH:MM:SS", "Z" or "±HH:MM" offsets, which
/// are subtracted, and a bare date for a timestamp: its midnight). Throws InputError saying what was expected when
/// text does not parse, holds a finer fraction than the unit keeps, or overflows the stored integer.
int64_t parse_temporal(const DataType& t, std::string_view text);

}  // namespace tcpp::datasets::arrow
