// Progress bars and lines (as tqdm), and the stderr console discipline shared with logging.
#include "tcpp/core/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "tcpp/core/strings.h"

namespace tcpp {
namespace {

// ---- console: stderr, whose last line shows the newest open bar ----

struct Console {
  std::mutex mu;
  // The open bars, oldest first, each with its text as last drawn ("\r...\x1b[K"); the last one is on the screen.
  std::vector<std::pair<const Progress*, std::string>> bars;
  std::function<void(const std::string&)> writer;  // null: stderr
};

Console& console() {
  static Console c;
  return c;
}

// With the console's mutex held.
void console_write(Console& c, const std::string& text) {
  if (c.writer) {
    c.writer(text);
    return;
  }
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
  if (c.bars.empty()) {
    console_write(c, line + "\n");
  } else {
    console_write(c, "\r\x1b[K" + line + "\n" + c.bars.back().second);
  }
}

void set_console_writer(std::function<void(const std::string&)> writer) {
  Console& c = console();
  std::lock_guard<std::mutex> lock(c.mu);
  c.writer = std::move(writer);
}

Progress::Progress(std::string desc, int64_t total) : Progress(std::move(desc), total, Options{}) {}

Progress::Progress(std::string desc, int64_t total, Options options)
    : desc_(std::move(desc)), total_(std::max<int64_t>(total, 0)), options_(std::move(options)) {
  style_ = options_.style == ProgressStyle::kAuto ? progress_style() : resolve(options_.style);
  start_ = last_emit_ = now();
  count_ = std::max<int64_t>(0, options_.initial);
  if (options_.line_every > 0) last_line_mark_ = count_ / options_.line_every;
  if (total_ > 0) next_decile_ = static_cast<int>(std::min<int64_t>(10, count_ * 10 / total_)) + 1;
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
    const double since = std::chrono::duration<double>(now() - last_emit_).count();
    if (style_ == ProgressStyle::kBar) {
      if (since >= 0.1) emit_locked(/*final=*/false);
    } else if (options_.line_every > 0) {
      // A line each time the count passes another multiple of line_every (the last one comes from close()).
      const int64_t mark = count_ / options_.line_every;
      if (mark > last_line_mark_ && (total_ <= 0 || count_ < total_)) {
        last_line_mark_ = mark;
        emit_locked(/*final=*/false);
      }
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
  return line_locked(std::chrono::duration<double>(now() - start_).count());
}

Progress::Clock::time_point Progress::now() const { return options_.now ? options_.now() : Clock::now(); }

std::string Progress::line_locked(double elapsed) const {
  std::string out = desc_.empty() ? "" : desc_ + ": ";
  if (options_.format) {
    out += options_.format(count_, elapsed, closed_);
    if (!postfix_.empty()) out += " | " + postfix_;
    return out;
  }
  if (total_ > 0) {
    const int64_t pct = std::min<int64_t>(100, count_ * 100 / total_);
    out += std::to_string(pct) + "% " + std::to_string(count_) + "/" + std::to_string(total_) + " " + options_.unit;
  } else {
    out += std::to_string(count_) + " " + options_.unit;
  }
  const int64_t done = count_ - std::max<int64_t>(0, options_.initial);
  const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0;
  if (done > 0 && elapsed > 0) out += " | " + format_rate(rate) + " " + options_.unit + "/s";
  if (closed_ || total_ <= 0 || count_ >= total_) {
    out += " | " + format_hms(elapsed) + " elapsed";
  } else if (rate > 0) {
    out += " | ETA " + format_hms(static_cast<double>(total_ - count_) / rate);
  }
  if (!postfix_.empty()) out += " | " + postfix_;
  return out;
}

void Progress::emit_locked(bool final) {
  const auto t = now();
  last_emit_ = t;
  const std::string body = line_locked(std::chrono::duration<double>(t - start_).count());
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
  const size_t colon = desc_.empty() ? 0 : desc_.size() + 2;
  const std::string text = "\r" + body.substr(0, colon) + bar + body.substr(colon) + "\x1b[K";
  if (options_.write) {
    options_.write(!final ? text : options_.leave ? text + "\n" : std::string("\r\x1b[K"));
    return;
  }
  Console& c = console();
  std::lock_guard<std::mutex> lock(c.mu);
  auto it = std::find_if(c.bars.begin(), c.bars.end(), [this](const auto& b) { return b.first == this; });
  if (!final) {
    if (it == c.bars.end()) {  // a new bar takes the line over (a nested step: evaluation during training)
      c.bars.emplace_back(this, text);
      console_write(c, text);
    } else {
      it->second = text;
      if (it + 1 == c.bars.end()) console_write(c, text);  // one under a newer bar waits to be shown again
    }
    return;
  }
  // Closing: this bar is left on the line as a line of its own (leave) or the line cleared, and the bar below it
  // (if any) shown again. A bar under a newer one is printed above that one instead.
  const bool on_screen = it != c.bars.end() && it + 1 == c.bars.end();
  if (it != c.bars.end()) c.bars.erase(it);
  std::string out;
  if (options_.leave) out = (on_screen ? text : "\r\x1b[K" + text.substr(1)) + "\n";
  else out = "\r\x1b[K";
  if (!c.bars.empty()) out += c.bars.back().second;
  console_write(c, out);
}

Progress* Progress::current() { return t_current; }

ProgressScope::ProgressScope(Progress& progress) : previous_(t_current) { t_current = &progress; }

ProgressScope::~ProgressScope() { t_current = previous_; }

}  // namespace tcpp
