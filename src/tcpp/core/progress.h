// Progress of long steps (as tqdm, which HF datasets and Trainer use): a bar redrawn in place on a terminal,
// periodic plain lines in logs, and the console discipline that keeps log lines from cutting through a bar.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

namespace tcpp {

/// How progress is shown. kAuto: a bar when stderr is a terminal, plain lines otherwise.
enum class ProgressStyle { kAuto, kBar, kLines, kOff };

/// Set the style of every Progress made from now on (HF datasets' enable/disable_progress_bars; --disable_tqdm sets
/// kLines). The default is kAuto, except kOff on ranks other than 0 (RANK set and not "0": one job prints one
/// set of bars) or when HF_DATASETS_DISABLE_PROGRESS_BARS is set to 1/true; kAuto restores that default.
void set_progress_style(ProgressStyle style);
/// The style in force: kBar, kLines or kOff (kAuto resolved against stderr).
ProgressStyle progress_style();

/// "00:01:05" (hours:minutes:seconds; seconds rounded, negatives as 0).
std::string format_hms(double seconds);

/// Write a log line to stderr without garbling a bar being drawn there: the bar is cleared, the line printed,
/// and the bar drawn again below it. core/logging's default sink prints through this.
void console_print_line(const std::string& line);

/// Send what the console writes (bars and the lines printed above them) to `writer` instead of stderr; null
/// restores stderr. Tests capture the screen with it.
void set_console_writer(std::function<void(const std::string&)> writer);

/// One long step: rows (or bytes, steps...) done out of total, rate and ETA. update() may be called from any
/// thread. A bar is redrawn at most 10 times a second; plain lines are written at every 10% of total (or every
/// line_every counts, or every line_interval_seconds when total is unknown) and at the end. Never throws from
/// update() or the destructor.
///
/// Bars share the console's last line as a stack (tqdm's nested bars): a bar made while another is drawn takes
/// the line over until it closes; then it is left as a line of its own (leave) or erased, and the bar below it is
/// drawn again. Log lines (console_print_line) are printed above whichever bar is on the line.
class Progress {
 public:
  using Clock = std::chrono::steady_clock;
  struct Options {
    std::string unit = "examples";
    /// kAuto: the global progress_style().
    ProgressStyle style = ProgressStyle::kAuto;
    /// Where the raw text goes (tests capture it); default: stderr, through the console discipline.
    std::function<void(const std::string&)> write;
    /// Plain-line period when total is unknown.
    double line_interval_seconds = 30;
    /// Plain lines each time the count passes a multiple of this (0: at every 10% of total).
    int64_t line_every = 0;
    /// The count at the start (tqdm's initial: a resumed step). The rate counts only what is done after it.
    int64_t initial = 0;
    /// tqdm's leave: when closed, a bar stays on the screen as a line (true) or is erased (false). Plain lines
    /// always end with the final one.
    bool leave = true;
    /// The text after "desc: " instead of "50% 5/10 examples | 2.00 examples/s | ETA 00:00:03", from the count,
    /// the seconds since the start and whether it is closed. The postfix is still appended.
    std::function<std::string(int64_t count, double elapsed_seconds, bool closed)> format;
    /// The clock (tests inject one); default: steady_clock::now.
    std::function<Clock::time_point()> now;
  };

  /// total <= 0: unknown (count, rate and elapsed time only). An empty desc shows no "desc: " prefix.
  Progress(std::string desc, int64_t total);
  Progress(std::string desc, int64_t total, Options options);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void update(int64_t n);
  /// Text shown after the rate ("shards 1/2"); thread-safe.
  void set_postfix(std::string postfix);
  /// Draw the final state (a full bar and a newline, or the last plain line). Later updates are ignored.
  void close();

  int64_t count() const;
  /// The current line, without terminal control characters.
  std::string line() const;

  /// The Progress that IpcWriter-based writers on this thread report rows to (see ProgressScope), or null.
  static Progress* current();

 private:
  std::string line_locked(double elapsed) const;
  void emit_locked(bool final);
  Clock::time_point now() const;

  std::string desc_;
  int64_t total_;
  Options options_;
  ProgressStyle style_;
  mutable std::mutex mu_;
  int64_t count_ = 0;
  std::string postfix_;
  bool closed_ = false;
  int next_decile_ = 1;
  int64_t last_line_mark_ = 0;  // count / line_every at the last plain line
  Clock::time_point start_, last_emit_;
};

/// Make `progress` the current() one of this thread while in scope (load_dataset's conversion: every record batch
/// a builder writes counts its rows).
class ProgressScope {
 public:
  explicit ProgressScope(Progress& progress);
  ~ProgressScope();
  ProgressScope(const ProgressScope&) = delete;
  ProgressScope& operator=(const ProgressScope&) = delete;

 private:
  Progress* previous_;
};

}  // namespace tcpp
