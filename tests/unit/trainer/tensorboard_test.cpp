// Tests for the TensorBoard event writer: CRC-32C, TFRecord framing, hand-encoded Event protos, HF's tag names,
// and an event file read back by an independent reader (tests/interop/tensorboard/read_tfevents.py, stdlib Python).
#include "tcpp/trainer/tensorboard.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tcpp/core/error.h"
#include "tcpp/core/json.h"

namespace tcpp::trainer {
namespace {

namespace fs = std::filesystem;

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out += static_cast<char>(v);
  return out;
}

TEST(TensorBoardTest, Crc32cMatchesTheCheckVector) {
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c(""), 0u);
  EXPECT_EQ(crc32c("6789", crc32c("12345")), 0xE3069283u);  // continues from a previous crc
}

TEST(TensorBoardTest, TfrecordFramesLengthAndDataWithMaskedCrcs) {
  const std::string record = tfrecord("abc");
  ASSERT_EQ(record.size(), 8u + 4 + 3 + 4);
  EXPECT_EQ(record.substr(0, 8), bytes({3, 0, 0, 0, 0, 0, 0, 0}));
  const uint32_t crc = crc32c("abc");
  const uint32_t masked = ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
  EXPECT_EQ(masked_crc32c("abc"), masked);
  EXPECT_EQ(record.substr(12, 3), "abc");
  EXPECT_EQ(record.substr(15), bytes({static_cast<int>(masked & 0xFF), static_cast<int>((masked >> 8) & 0xFF),
                                      static_cast<int>((masked >> 16) & 0xFF), static_cast<int>(masked >> 24)}));
}

TEST(TensorBoardTest, ScalarEventHasProtobufWireBytes) {
  // Event{wall_time=1.0 (field 1, fixed64), step=2 (field 2, varint), summary (field 5){value (1){tag "a" (1),
  // simple_value 0.5f (2, fixed32)}}}.
  const std::string expected = bytes({0x09, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F, 0x10, 0x02, 0x2A, 0x0A, 0x0A, 0x08, 0x0A,
                                      0x01, 'a', 0x15, 0, 0, 0, 0x3F});
  EXPECT_EQ(encode_scalar_event(1.0, 2, "a", 0.5f), expected);
  EXPECT_EQ(encode_file_version_event(1.0),
            bytes({0x09, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F, 0x1A, 0x0D}) + "brain.Event:2");
}

TEST(TensorBoardTest, TagsFollowHfRewriteLogs) {
  EXPECT_EQ(tensorboard_tag("loss"), "train/loss");
  EXPECT_EQ(tensorboard_tag("learning_rate"), "train/learning_rate");
  EXPECT_EQ(tensorboard_tag("eval_loss"), "eval/loss");
  EXPECT_EQ(tensorboard_tag("eval_runtime"), "eval/runtime");
  EXPECT_EQ(tensorboard_tag("test_accuracy"), "test/accuracy");
  EXPECT_EQ(tensorboard_tag("train_runtime"), "train/train_runtime");
}

TEST(TensorBoardTest, UnwritableLogDirIsNamedInTheError) {
  EXPECT_THAT([] { EventFileWriter::open("/proc/tcpp_no_such_dir/runs"); },
              ::testing::ThrowsMessage<Error>(::testing::HasSubstr("/proc/tcpp_no_such_dir/runs")));
}

// Run a command and return its stdout; the exit status goes to *status.
std::string run_command(const std::string& command, int* status) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  *status = ::pclose(pipe);
  return out;
}

TEST(TensorBoardTest, CallbackEventsAreReadBackByAnIndependentReader) {
  const char* python = "/usr/bin/python3";
  if (::access(python, X_OK) != 0) GTEST_SKIP() << "no " << python << " to run the reader";
  const fs::path dir = fs::temp_directory_path() / ("tcpp_tensorboard_test_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  TensorBoardCallback cb((dir / "runs").string(), Json{{"learning_rate", 0.001}, {"note", "<b>&"}},
                         Json{{"model_type", "gpt2"}});
  TrainerOptions options;
  TrainerState state;
  TrainerControl control;
  cb.on_train_begin(options, state, control);
  const std::string file = cb.event_file();
  ASSERT_FALSE(file.empty());
  EXPECT_THAT(fs::path(file).filename().string(), ::testing::StartsWith("events.out.tfevents."));
  state.global_step = 2;
  cb.on_log(options, state, control, Json{{"loss", 2.5}, {"grad_norm", 1.25}, {"learning_rate", 5e-05}, {"epoch", 0.5}});
  state.global_step = 4;
  cb.on_log(options, state, control, Json{{"eval_loss", 2.0}, {"eval_accuracy", 0.375}, {"epoch", 1.0}});
  cb.on_train_end(options, state, control);

  int status = -1;
  const std::string out =
      run_command(std::string(python) + " " TCPP_SOURCE_DIR "/tests/interop/tensorboard/read_tfevents.py " + file, &status);
  ASSERT_EQ(status, 0) << out;
  std::vector<Json> events;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) events.push_back(parse_json(line, "reader output"));
  ASSERT_EQ(events.size(), 1u + 2 + 4 + 4);  // file_version, args + model_config texts, 4 + 3 scalars + perplexity
  EXPECT_EQ(events[0]["file_version"], "brain.Event:2");
  EXPECT_EQ(parse_json(events[1]["texts"]["args/text_summary"].get<std::string>(), "args")["note"], "<b>&");
  EXPECT_EQ(events[2]["texts"]["model_config/text_summary"].get<std::string>(), "{\n  \"model_type\": \"gpt2\"\n}");
  Json scalars = Json::object();
  for (size_t i = 3; i < events.size(); ++i) {
    ASSERT_EQ(events[i]["scalars"].size(), 1u);
    auto it = events[i]["scalars"].begin();
    scalars[it.key() + "@" + std::to_string(events[i]["step"].get<int>())] = it.value();
    EXPECT_GT(events[i]["wall_time"].get<double>(), 1.7e9);
  }
  EXPECT_EQ(scalars, (Json{{"train/loss@2", 2.5}, {"train/grad_norm@2", 1.25},
                           {"train/learning_rate@2", static_cast<double>(5e-05f)}, {"train/epoch@2", 0.5},
                           {"eval/loss@4", 2.0}, {"eval/accuracy@4", 0.375}, {"train/epoch@4", 1.0},
                           {"eval/perplexity@4", static_cast<double>(static_cast<float>(std::exp(2.0)))}}));

  // A damaged byte is caught by the reader's CRC check.
  {
    std::FILE* f = std::fopen(file.c_str(), "r+b");
    ASSERT_NE(f, nullptr);
    std::fseek(f, 20, SEEK_SET);
    std::fputc('X', f);
    std::fclose(f);
  }
  run_command(std::string(python) + " " TCPP_SOURCE_DIR "/tests/interop/tensorboard/read_tfevents.py " + file +
                  " 2>/dev/null",
              &status);
  EXPECT_NE(status, 0);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace tcpp::trainer
