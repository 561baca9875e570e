// TensorBoard event files (as torch.utils.tensorboard's SummaryWriter: TFRecord-framed Event protos) and
// TensorBoardCallback (as transformers' integrations.TensorBoardCallback). No protobuf library: the few messages
// are encoded by hand.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "tcpp/core/json.h"
#include "tcpp/trainer/callbacks.h"

namespace tcpp::trainer {

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), continuing from `crc`: crc32c("123456789") == 0xE3069283.
uint32_t crc32c(std::string_view data, uint32_t crc = 0);
/// TFRecord's masked CRC: ((crc >> 15) | (crc << 17)) + 0xa282ead8.
uint32_t masked_crc32c(std::string_view data);
/// One TFRecord: uint64 length, masked CRC of the length, the data, masked CRC of the data (all little-endian).
std::string tfrecord(std::string_view data);

/// Event{wall_time, file_version} (the first record of every event file).
std::string encode_file_version_event(double wall_time, const std::string& file_version = "brain.Event:2");
/// Event{wall_time, step, summary{value{tag, simple_value}}} (SummaryWriter.add_scalar).
std::string encode_scalar_event(double wall_time, int64_t step, const std::string& tag, float value);
/// Event{wall_time, step, summary{value{tag + "/text_summary", metadata{plugin "text"}, tensor{DT_STRING}}}}
/// (SummaryWriter.add_text).
std::string encode_text_event(double wall_time, int64_t step, const std::string& tag, const std::string& text);

/// Appends events to logdir/events.out.tfevents.<time>.<host>.<pid>.<n> and flushes after each one, so a crash
/// keeps everything logged before it.
class EventFileWriter {
 public:
  /// Create logdir and a new event file holding the file_version event. Throws tcpp::Error naming the path.
  static std::unique_ptr<EventFileWriter> open(const std::string& logdir);
  /// Each throws tcpp::Error naming the file when the write fails (disk full, ...).
  void add_scalar(const std::string& tag, double value, int64_t step);
  void add_text(const std::string& tag, const std::string& text, int64_t step);
  const std::string& path() const { return path_; }

 private:
  struct Closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  EventFileWriter(std::unique_ptr<std::FILE, Closer> file, std::string path)
      : file_(std::move(file)), path_(std::move(path)) {}
  void write_event(const std::string& event);

  std::unique_ptr<std::FILE, Closer> file_;
  std::string path_;
};

/// A log key as TensorBoard tag (HF's rewrite_logs): "eval_loss" -> "eval/loss", "test_x" -> "test/x",
/// anything else -> "train/<key>".
std::string tensorboard_tag(const std::string& key);

/// Writes every number of every log entry as a scalar at state.global_step, on the main process only (as HF's
/// TensorBoardCallback); the run's arguments and the model config as text at the start of training; and, beyond
/// HF, eval/perplexity = exp(eval_loss) with each evaluation.
class TensorBoardCallback : public TrainerCallback {
 public:
  /// `args` and `model_config` are written as the "args" and "model_config" text summaries when not null.
  explicit TensorBoardCallback(std::string logging_dir, Json args = nullptr, Json model_config = nullptr);
  std::string name() const override { return "TensorBoardCallback"; }
  void on_train_begin(const TrainerOptions& options, TrainerState& state, TrainerControl& control) override;
  void on_log(const TrainerOptions& options, TrainerState& state, TrainerControl& control, const Json& logs) override;
  void on_train_end(const TrainerOptions& options, TrainerState& state, TrainerControl& control) override;
  /// The file being written, or empty (before the first event, and after train end until the next log).
  std::string event_file() const { return writer_ ? writer_->path() : ""; }

 private:
  std::string logging_dir_;
  Json args_;
  Json model_config_;
  std::unique_ptr<EventFileWriter> writer_;
};

}  // namespace tcpp::trainer
