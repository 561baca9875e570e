// Progress bars and lines (as tqdm), and the stderr console discipline shared with logging.
#include "tcpp/core/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "tcpp/core/strings.h"

namespace tcpp {
namespace {

// ---- console: stderr, where at most one bar is drawn on the last line ----

struct Console {
  std::mutex mu;
  const Progress* bar_owner = nullptr;
  std::string bar;  // the bar's text as last drawn ("\r...\x1b[K"), empty when none
};

Console& console() {
  static Console c;
  return c;
}

void write_stderr(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

// ---- global style ----

std::mutex g_style_mu;
bool g_style_set = false;
ProgressStyle g_style = ProgressStyle::kAuto;

ProgressStyle default_style() {
  if (const char* rank = std::getenv("RANK"); rank && *rank && std::strcmp(rank, "0") != 0) return ProgressStyle::kOff;
  if (const char* off = std::getenv("HF_DATASETS_DISABLE_PROGRESS_BARS")) {
    std::string v = to_lower(off);
    if (v == "1" || v == "true" || v == "yes" || v == "on") return ProgressStyle::kOff;
  }
  return ProgressStyle::kAuto;
}

ProgressStyle resolve(ProgressStyle s) {
  if (s != ProgressStyle::kAuto) return s;
  return ::isatty(2) ? ProgressStyle::kBar : ProgressStyle::kLines;
}

thread_local Progress* t_current = nullptr;

std::string format_rate(double rate) {
  char buf[32];
  std::snprintf(buf, sizeof buf, rate >= 100 ? "%.0f" : "%.2f", rate);
  return buf;
}

}  // namespace

void set_progress_style(ProgressStyle style) {
  std::lock_guard<std::mutex> lock(g_style_mu);
  g_style = style;
  g_style_set = style != ProgressStyle::kAuto;
}

ProgressStyle progress_style() {
  std::lock_guard<std::mutex> lock(g_style_mu);
  return resolve(g_style_set ? g_style : default_style());
}

std::string format_hms(double seconds) {
  const auto s = static_cast<long long>(std::llround(std::max(0.0, seconds)));
  char buf[48];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  return buf;
}

void console_print_line(const std::string& line) {
  Console& c = console();
  std::lock_guard<std::mutex> lock(c.mu);
  if (c.bar.empty()) {
    write_stderr(line + "\n");
  } else {
    write_stderr("\r\x1b[K" + line + "\n" + c.bar);
  }
}

Progress::Progress(std::string desc, int64_t total) : Progress(std::move(desc), total, Options{}) {}

Progress::Progress(std::string desc, int64_t total, Options options)
    : desc_(std::move(desc)), total_(std::max<int64_t>(total, 0)), options_(std::move(options)) {
  style_ = options_.style == ProgressStyle::kAuto ? progress_style() : resolve(options_.style);
  start_ = last_emit_ = std::chrono::steady_clock::now();
  if (style_ == ProgressStyle::kBar) {
    std::lock_guard<std::mutex> lock(mu_);
    emit_locked(/*final=*/false);
  }
}

Progress::~Progress() {
  try {
    close();
  } catch (...) {  // a failed write to stderr must not end the program from a destructor
  }
}

void Progress::update(int64_t n) {
  if (style_ == ProgressStyle::kOff) {
    std::lock_guard<std::mutex> lock(mu_);
    count_ += n;
    return;
  }
  try {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return;
    count_ += n;
    const auto now = std::chrono::steady_clock::now();
    const double since = std::chrono::duration<double>(now - last_emit_).count();
    if (style_ == ProgressStyle::kBar) {
      if (since >= 0.1) emit_locked(/*final=*/false);
    } else if (total_ > 0) {
      // A line each time another 10% is done.
      const int decile = static_cast<int>(std::min<int64_t>(10, count_ * 10 / total_));
      if (decile >= next_decile_ && count_ < total_) {
        next_decile_ = decile + 1;
        emit_locked(/*final=*/false);
      }
    } else if (since >= options_.line_interval_seconds) {
      emit_locked(/*final=*/false);
    }
  } catch (...) {
  }
}

void Progress::set_postfix(std::string postfix) {
  std::lock_guard<std::mutex> lock(mu_);
  postfix_ = std::move(postfix);
}

void Progress::close() {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return;
  closed_ = true;
  if (style_ != ProgressStyle::kOff) emit_locked(/*final=*/true);
}

int64_t Progress::count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return count_;
}

std::string Progress::line() const {
  std::lock_guard<std::mutex> lock(mu_);
  return line_locked(std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
}

std::string Progress::line_locked(double elapsed) const {
  std::string out = desc_ + ": ";
  if (total_ > 0) {
    const int64_t pct = std::min<int64_t>(100, count_ * 100 / total_);
    out += std::to_string(pct) + "% " + std::to_string(count_) + "/" + std::to_string(total_) + " " + options_.unit;
  } else {
    out += std::to_string(count_) + " " + options_.unit;
  }
  const double rate = elapsed > 0 ? static_cast<double>(count_) / elapsed : 0;
  if (count_ > 0 && elapsed > 0) out += " | " + format_rate(rate) + " " + options_.unit + "/s";
  if (closed_ || total_ <= 0 || count_ >= total_) {
    out += " | " + format_hms(elapsed) + " elapsed";
  } else if (rate > 0) {
    out += " | ETA " + format_hms(static_cast<double>(total_ - count_) / rate);
  }
  if (!postfix_.empty()) out += " | " + postfix_;
  return out;
}

void Progress::emit_locked(bool final) {
  const auto now = std::chrono::steady_clock::now();
  last_emit_ = now;
  const std::string body = line_locked(std::chrono::duration<double>(now - start_).count());
  if (style_ == ProgressStyle::kLines) {
    if (options_.write) options_.write(body + "\n");
    else console_print_line(body);
    return;
  }
  constexpr int64_t kWidth = 30;
  std::string bar;
  if (total_ > 0) {
    const int64_t filled = std::min<int64_t>(kWidth, count_ * kWidth / total_);
    bar = "[" + std::string(static_cast<size_t>(filled), '#') + std::string(static_cast<size_t>(kWidth - filled), '.') + "] ";
  }
  // The description first, then the bar: "Map: [#####.....] 50% 5/10 examples | ...".
  const size_t colon = desc_.size() + 2;
  const std::string text = "\r" + body.substr(0, colon) + bar + body.substr(colon) + "\x1b[K";
  if (options_.write) {
    options_.write(final ? text + "\n" : text);
    return;
  }
  Console& c = console();
  std::lock_guard<std::mutex> lock(c.mu);
  if (final && c.bar_owner != nullptr && c.bar_owner != this) {
    write_stderr("\r\x1b[K" + text.substr(1) + "\n" + c.bar);  // above the other bar
  } else if (final) {
    write_stderr(text + "\n");
    c.bar_owner = nullptr;
    c.bar.clear();
  } else if (c.bar_owner == nullptr || c.bar_owner == this) {
    // One bar at a time on the console; a second one (a nested step) shows only its final line.
    c.bar_owner = this;
    c.bar = text;
    write_stderr(text);
  }
}

Progress* Progress::current() { return t_current; }

ProgressScope::ProgressScope(Progress& progress) : previous_(t_current) { t_current = &progress; }

ProgressScope::~ProgressScope() { t_current = previous_; }

}  // namespace tcpp
