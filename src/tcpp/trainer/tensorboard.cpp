// TensorBoard event files and TensorBoardCallback (as torch.utils.tensorboard and transformers' integrations).
#include "tcpp/trainer/tensorboard.h"

#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "tcpp/core/error.h"
#include "tcpp/core/strings.h"

namespace tcpp::trainer {
namespace fs = std::filesystem;
namespace {

constexpr uint32_t kCrc32cPolynomial = 0x82F63B78;  // Castagnoli, bit-reversed
constexpr uint32_t kMaskDelta = 0xa282ead8;         // TFRecord's CRC mask

// Protobuf wire format (https://protobuf.dev/programming-guides/encoding/): tag = field << 3 | wire type.
enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

void put_key(std::string& out, uint32_t field, WireType type) { put_varint(out, (field << 3) | type); }

void put_le(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}

void put_double(std::string& out, uint32_t field, double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  put_key(out, field, kFixed64);
  put_le(out, bits, 8);
}

void put_float(std::string& out, uint32_t field, float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  put_key(out, field, kFixed32);
  put_le(out, bits, 4);
}

void put_int(std::string& out, uint32_t field, int64_t v) {
  put_key(out, field, kVarint);
  put_varint(out, static_cast<uint64_t>(v));
}

void put_bytes(std::string& out, uint32_t field, std::string_view bytes) {
  put_key(out, field, kLengthDelimited);
  put_varint(out, bytes.size());
  out.append(bytes.data(), bytes.size());
}

// Field numbers of tensorflow/core/util/event.proto and framework/summary.proto, tensor.proto, tensor_shape.proto.
constexpr uint32_t kEventWallTime = 1, kEventStep = 2, kEventFileVersion = 3, kEventSummary = 5;
constexpr uint32_t kSummaryValue = 1;
constexpr uint32_t kValueTag = 1, kValueSimpleValue = 2, kValueTensor = 8, kValueMetadata = 9;
constexpr uint32_t kMetadataPluginData = 1, kPluginName = 1;
constexpr uint32_t kTensorDtype = 1, kTensorShape = 2, kTensorStringVal = 8;
constexpr uint32_t kShapeDim = 2, kDimSize = 1;
constexpr int64_t kDtString = 7;  // DataType.DT_STRING

std::string event_with_summary(double wall_time, int64_t step, const std::string& value) {
  std::string summary;
  put_bytes(summary, kSummaryValue, value);
  std::string event;
  put_double(event, kEventWallTime, wall_time);
  put_int(event, kEventStep, step);
  put_bytes(event, kEventSummary, summary);
  return event;
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

const std::array<uint32_t, 256>& crc_table() {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kCrc32cPolynomial : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  return table;
}

}  // namespace

uint32_t crc32c(std::string_view data, uint32_t crc) {
  const auto& table = crc_table();
  crc = ~crc;
  for (unsigned char b : data) crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

uint32_t masked_crc32c(std::string_view data) {
  const uint32_t crc = crc32c(data);
  return ((crc >> 15) | (crc << 17)) + kMaskDelta;
}

std::string tfrecord(std::string_view data) {
  std::string length;
  put_le(length, data.size(), 8);
  std::string out = length;
  put_le(out, masked_crc32c(length), 4);
  out.append(data.data(), data.size());
  put_le(out, masked_crc32c(data), 4);
  return out;
}

std::string encode_file_version_event(double wall_time, const std::string& file_version) {
  std::string event;
  put_double(event, kEventWallTime, wall_time);
  put_bytes(event, kEventFileVersion, file_version);
  return event;
}

std::string encode_scalar_event(double wall_time, int64_t step, const std::string& tag, float value) {
  std::string v;
  put_bytes(v, kValueTag, tag);
  put_float(v, kValueSimpleValue, value);
  return event_with_summary(wall_time, step, v);
}

std::string encode_text_event(double wall_time, int64_t step, const std::string& tag, const std::string& text) {
  // As torch.utils.tensorboard.summary.text(): a 1-element DT_STRING tensor and the "text" plugin (whose
  // TextPluginData(version=0) serialises to nothing).
  std::string plugin;
  put_bytes(plugin, kPluginName, "text");
  std::string metadata;
  put_bytes(metadata, kMetadataPluginData, plugin);
  std::string dim;
  put_int(dim, kDimSize, 1);
  std::string shape;
  put_bytes(shape, kShapeDim, dim);
  std::string tensor;
  put_int(tensor, kTensorDtype, kDtString);
  put_bytes(tensor, kTensorShape, shape);
  put_bytes(tensor, kTensorStringVal, text);
  std::string v;
  put_bytes(v, kValueTag, tag + "/text_summary");
  put_bytes(v, kValueTensor, tensor);
  put_bytes(v, kValueMetadata, metadata);
  return event_with_summary(wall_time, step, v);
}

std::unique_ptr<EventFileWriter> EventFileWriter::open(const std::string& logdir) {
  std::error_code ec;
  fs::create_directories(logdir, ec);
  if (ec) throw Error(logdir + ": cannot create the TensorBoard log directory (" + ec.message() + ")");
  // As SummaryWriter: events.out.tfevents.<%010d time>.<host>.<pid>.<writer number in this process>.
  static std::atomic<int> writers{0};
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  char stamp[32];
  std::snprintf(stamp, sizeof stamp, "%010lld", static_cast<long long>(now_seconds()));
  const std::string path = (fs::path(logdir) / ("events.out.tfevents." + std::string(stamp) + "." + host + "." +
                                                std::to_string(::getpid()) + "." + std::to_string(writers++)))
                               .string();
  std::unique_ptr<std::FILE, Closer> file(std::fopen(path.c_str(), "wb"));
  if (!file) throw Error(path + ": cannot create the TensorBoard event file (" + std::strerror(errno) + ")");
  std::unique_ptr<EventFileWriter> writer(new EventFileWriter(std::move(file), path));
  writer->write_event(encode_file_version_event(now_seconds()));
  return writer;
}

void EventFileWriter::write_event(const std::string& event) {
  const std::string record = tfrecord(event);
  if (std::fwrite(record.data(), 1, record.size(), file_.get()) != record.size() || std::fflush(file_.get()) != 0)
    throw Error(path_ + ": cannot write the TensorBoard event (" + std::strerror(errno) + ")");
}

void EventFileWriter::add_scalar(const std::string& tag, double value, int64_t step) {
  write_event(encode_scalar_event(now_seconds(), step, tag, static_cast<float>(value)));
}

void EventFileWriter::add_text(const std::string& tag, const std::string& text, int64_t step) {
  write_event(encode_text_event(now_seconds(), step, tag, text));
}

std::string tensorboard_tag(const std::string& key) {
  if (starts_with(key, "eval_")) return "eval/" + key.substr(5);
  if (starts_with(key, "test_")) return "test/" + key.substr(5);
  return "train/" + key;
}

TensorBoardCallback::TensorBoardCallback(std::string logging_dir, Json args, Json model_config)
    : logging_dir_(std::move(logging_dir)), args_(std::move(args)), model_config_(std::move(model_config)) {}

void TensorBoardCallback::on_train_begin(const TrainerOptions&, TrainerState& state, TrainerControl&) {
  if (!state.is_world_process_zero) return;
  if (!writer_) writer_ = EventFileWriter::open(logging_dir_);
  if (!args_.is_null()) writer_->add_text("args", dump_json_python(args_, 2), 0);
  if (!model_config_.is_null()) writer_->add_text("model_config", dump_json_python(model_config_, 2), 0);
}

void TensorBoardCallback::on_log(const TrainerOptions&, TrainerState& state, TrainerControl&, const Json& logs) {
  if (!state.is_world_process_zero) return;
  if (!writer_) writer_ = EventFileWriter::open(logging_dir_);  // an evaluate() after training: a new file, as HF
  for (auto it = logs.begin(); it != logs.end(); ++it) {
    if (it.value().is_number()) {
      writer_->add_scalar(tensorboard_tag(it.key()), it.value().get<double>(), state.global_step);
    } else if (it.value().is_string()) {
      writer_->add_text(tensorboard_tag(it.key()), it.value().get<std::string>(), state.global_step);
    }
    // As HF, other values (lists, objects) are not scalars: left out (they are in trainer_state.json).
  }
  // Beyond HF: the perplexity run_clm/run_mlm report, exp(eval_loss), as its own curve (inf when it overflows).
  if (logs.contains("eval_loss") && logs["eval_loss"].is_number())
    writer_->add_scalar("eval/perplexity", std::exp(logs["eval_loss"].get<double>()), state.global_step);
}

void TensorBoardCallback::on_train_end(const TrainerOptions&, TrainerState&, TrainerControl&) { writer_.reset(); }

}  // namespace tcpp::trainer
