// ISO 8601 text of Arrow's temporal values. Calendar arithmetic is the proleptic Gregorian calendar (as Python's
// datetime and Arrow), days counted from 1970-01-01 by the closed-form era/day-of-era conversion.
#include "tcpp/datasets/arrow/temporal.h"

#include <cstdio>

#include "tcpp/core/error.h"
#include "tcpp/core/strings.h"

namespace tcpp::datasets::arrow {

namespace {

int64_t floor_div(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// Days since 1970-01-01 of the Gregorian date y-m-d (years in 400-year eras of 146097 days; March-based years so
// that the leap day ends the year).
int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = floor_div(y, 400);
  const int64_t year_of_era = y - era * 400;                                   // [0, 399]
  const int64_t day_of_year = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;  // [0, 365]
  const int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

void civil_from_days(int64_t days, int64_t& y, int64_t& m, int64_t& d) {
  const int64_t z = days + 719468;
  const int64_t era = floor_div(z, 146097);
  const int64_t day_of_era = z - era * 146097;  // [0, 146096]
  const int64_t year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const int64_t mp = (5 * day_of_year + 2) / 153;  // March = 0
  d = day_of_year - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = year_of_era + era * 400 + (m <= 2 ? 1 : 0);
}

bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int64_t days_in_month(int64_t y, int64_t m) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

int fraction_digits(TimeUnit u) {
  switch (u) {
    case TimeUnit::kSecond: return 0;
    case TimeUnit::kMilli: return 3;
    case TimeUnit::kMicro: return 6;
    case TimeUnit::kNano: return 9;
  }
  return 0;
}

std::string two(int64_t v) {
  char buf[24];  // any int64 fits (the values are 0-99), so gcc sees no truncation
  std::snprintf(buf, sizeof buf, "%02lld", static_cast<long long>(v));
  return buf;
}

std::string format_date(int64_t days) {
  int64_t y, m, d;
  civil_from_days(days, y, m, d);
  char year[32];
  if (y >= 0 && y <= 9999) std::snprintf(year, sizeof year, "%04lld", static_cast<long long>(y));
  else std::snprintf(year, sizeof year, "%+05lld", static_cast<long long>(y));  // ISO 8601 expanded years
  return std::string(year) + "-" + two(m) + "-" + two(d);
}

// "HH:MM:SS" and ".fff..." (the unit's digits) when frac is not zero.
std::string format_time_of_day(int64_t seconds_of_day, int64_t frac, TimeUnit unit) {
  std::string s = two(seconds_of_day / 3600) + ":" + two(seconds_of_day / 60 % 60) + ":" + two(seconds_of_day % 60);
  if (frac != 0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, ".%0*lld", fraction_digits(unit), static_cast<long long>(frac));
    s += buf;
  }
  return s;
}

// A cursor over the text being parsed; every failure names the text and the form expected.
class Parser {
 public:
  Parser(const DataType& t, std::string_view text, const char* form) : t_(t), text_(text), form_(form) {}

  [[noreturn]] void fail(const std::string& why = "") const {
    throw InputError("expected a " + t_.to_string() + " value as " + form_ + ", got " + quote(text_) +
                     (why.empty() ? "" : " (" + why + ")"));
  }
  bool done() const { return at_ == text_.size(); }
  bool take(char c) {
    if (at_ < text_.size() && text_[at_] == c) return ++at_, true;
    return false;
  }
  bool peek_one_of(std::string_view cs) const { return at_ < text_.size() && cs.find(text_[at_]) != cs.npos; }
  // Exactly n digits (n > 0), or at least n when more are allowed.
  int64_t digits(size_t n, bool more_allowed = false) {
    size_t k = 0;
    int64_t v = 0;
    while (at_ < text_.size() && text_[at_] >= '0' && text_[at_] <= '9' && (more_allowed || k < n)) {
      if (k >= 15) fail("too many digits");
      v = v * 10 + (text_[at_++] - '0');
      ++k;
    }
    if (k < n) fail();
    return v;
  }
  // [+-]YYYY[Y...]-MM-DD: days since the epoch.
  int64_t date() {
    const bool negative = take('-');
    const bool expanded = negative || take('+');
    int64_t y = digits(4, expanded);
    if (negative) y = -y;
    if (!take('-')) fail();
    const int64_t m = digits(2);
    if (!take('-')) fail();
    const int64_t d = digits(2);
    if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, m)) fail("no such date");
    return days_from_civil(y, m, d);
  }
  // HH:MM[:SS[.f...]]: seconds of the day, and the fraction in the type's unit.
  int64_t time_of_day(int64_t& frac) {
    const int64_t h = digits(2);
    if (!take(':')) fail();
    const int64_t mi = digits(2);
    int64_t sec = 0;
    frac = 0;
    if (take(':')) {
      sec = digits(2);
      if (take('.') || take(',')) {
        const int keep = fraction_digits(t_.unit);
        int n = 0;
        while (at_ < text_.size() && text_[at_] >= '0' && text_[at_] <= '9') {
          const int digit = text_[at_++] - '0';
          if (n < keep) frac = frac * 10 + digit;
          else if (digit != 0) fail(std::string("finer than the ") + time_unit_name(t_.unit) + " the type keeps");
          ++n;
        }
        if (n == 0) fail();
        for (; n < keep; ++n) frac *= 10;
      }
    }
    if (h > 23 || mi > 59 || sec > 59) fail("no such time of day");
    return h * 3600 + mi * 60 + sec;
  }
  // Z or +HH:MM / -HH:MM (also +HHMM, +HH): seconds east of UTC; 0 when there is none.
  int64_t offset() {
    if (take('Z') || take('z')) return 0;
    if (!peek_one_of("+-")) return 0;
    const int64_t sign = take('-') ? -1 : (take('+'), 1);
    const int64_t h = digits(2);
    int64_t mi = 0;
    if (take(':') || peek_one_of("0123456789")) mi = digits(2);
    if (h > 23 || mi > 59) fail("no such offset");
    return sign * (h * 3600 + mi * 60);
  }

  const DataType& t_;

 private:
  std::string_view text_;
  const char* form_;
  size_t at_ = 0;
};

int64_t checked(const Parser& p, bool overflow, int64_t v) {
  if (overflow) p.fail("out of range");
  return v;
}

}  // namespace

int64_t units_per_second(TimeUnit u) {
  switch (u) {
    case TimeUnit::kSecond: return 1;
    case TimeUnit::kMilli: return 1000;
    case TimeUnit::kMicro: return 1000000;
    case TimeUnit::kNano: return 1000000000;
  }
  return 1;
}

std::string format_temporal(const DataType& t, int64_t v) {
  switch (t.id) {
    case TypeId::kDate32: return format_date(v);
    case TypeId::kDate64: return format_date(floor_div(v, 86400000));
    case TypeId::kTimestamp: {
      const int64_t per = units_per_second(t.unit);
      int64_t secs = v / per, frac = v % per;  // (floor division without the product, which overflows at INT64_MIN)
      if (frac < 0) frac += per, --secs;
      const int64_t days = floor_div(secs, 86400);
      return format_date(days) + "T" + format_time_of_day(secs - days * 86400, frac, t.unit) +
             (t.timezone.empty() ? "" : "+00:00");
    }
    case TypeId::kTime32:
    case TypeId::kTime64: {
      const int64_t per = units_per_second(t.unit);
      if (v < 0 || v / per >= 86400)
        throw InputError("a " + t.to_string() + " value of " + std::to_string(v) + " is not a time of day");
      return format_time_of_day(v / per, v % per, t.unit);
    }
    default: break;
  }
  throw InputError("format_temporal: " + t.to_string() + " values are not written as text");
}

int64_t parse_temporal(const DataType& t, std::string_view text) {
  switch (t.id) {
    case TypeId::kDate32: {
      Parser p(t, text, "YYYY-MM-DD");
      const int64_t days = p.date();
      if (!p.done()) p.fail();
      return checked(p, days < INT32_MIN || days > INT32_MAX, days);
    }
    case TypeId::kDate64: {
      Parser p(t, text, "YYYY-MM-DD");
      const int64_t days = p.date();
      if (!p.done()) p.fail();
      int64_t ms = 0;
      const bool overflow = __builtin_mul_overflow(days, int64_t{86400000}, &ms);
      return checked(p, overflow, ms);
    }
    case TypeId::kTimestamp: {
      Parser p(t, text, "YYYY-MM-DD[THH:MM:SS[.fraction]][Z|+HH:MM]");
      const int64_t days = p.date();
      int64_t seconds_of_day = 0, frac = 0, east = 0;
      if (p.take('T') || p.take('t') || p.take(' ')) {
        seconds_of_day = p.time_of_day(frac);
        east = p.offset();
      }
      if (!p.done()) p.fail();
      int64_t secs = 0, v = 0;
      const int64_t per = units_per_second(t.unit);
      bool overflow = __builtin_mul_overflow(days, int64_t{86400}, &secs);
      overflow = overflow || __builtin_add_overflow(secs, seconds_of_day - east, &secs);
      // Before the epoch the fraction is added to the next second down from it, so that the earliest instant a
      // type holds (the int64 minimum) does not overflow on the way.
      if (!overflow && secs < 0 && frac > 0) ++secs, frac -= per;
      overflow = overflow || __builtin_mul_overflow(secs, per, &v);
      overflow = overflow || __builtin_add_overflow(v, frac, &v);
      return checked(p, overflow, v);
    }
    case TypeId::kTime32:
    case TypeId::kTime64: {
      Parser p(t, text, "HH:MM:SS[.fraction]");
      int64_t frac = 0;
      const int64_t seconds_of_day = p.time_of_day(frac);
      if (!p.done()) p.fail();
      return seconds_of_day * units_per_second(t.unit) + frac;
    }
    default: break;
  }
  throw InputError("expected a " + t.to_string() + " value as an integer count of " + time_unit_name(t.unit) +
                   ", got " + quote(text));
}

}  // namespace tcpp::datasets::arrow
