// End-to-end: what a person watching run_clm sees: the startup summary, TensorBoard event files (read back by the
// independent reader tests/interop/tensorboard/read_tfevents.py) and output_dir/report.html; `tcpp report`.
#include <unistd.h>

#include <filesystem>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "e2e_util.h"
#include "tcpp/core/file.h"
#include "tcpp/core/json.h"

namespace tcpp {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

class ObservabilityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string error;
    dir_ = e2e::make_corpus_dir("tcpp_observability_", &error);
    ASSERT_TRUE(error.empty()) << error;
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  static std::string clm(const std::string& out, const std::string& extra) {
    return e2e::bin("run_clm") +
           " --model_type gpt2 --config_overrides n_embd=32,n_layer=2,n_head=2,n_positions=64,vocab_size=300,"
           "bos_token_id=0,eos_token_id=0 --tokenizer_name " + dir_ + "/tok --train_file " + dir_ + "/train.txt"
           " --validation_file " + dir_ + "/validation.txt --block_size 32 --per_device_train_batch_size 4"
           " --learning_rate 3e-3 --seed 3 --do_train --max_steps 6 --logging_steps 2 --output_dir " + out + " " + extra;
  }

  static std::string dir_;
};

std::string ObservabilityTest::dir_;

std::vector<fs::path> event_files(const std::string& logdir) {
  std::vector<fs::path> files;
  std::error_code ec;
  if (!fs::is_directory(logdir, ec)) return files;
  for (const auto& e : fs::recursive_directory_iterator(logdir))
    if (e.path().filename().string().rfind("events.out.tfevents.", 0) == 0) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

TEST_F(ObservabilityTest, RunClmLogsSummaryWritesEventsAndReport) {
  const std::string out = dir_ + "/out";
  auto r = e2e::run(clm(out, "--do_eval --eval_strategy steps --eval_steps 3 --logging_dir " + out + "/tb"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("***** Running training *****"));
  EXPECT_THAT(r.output, HasSubstr("  Total optimization steps = 6"));
  EXPECT_THAT(r.output, HasSubstr("  BLAS = "));

  // TensorBoard: the training file, then the final evaluate()'s (HF opens a new writer after train end).
  const auto files = event_files(out + "/tb");
  ASSERT_EQ(files.size(), 2u);
  auto read = e2e::run("/usr/bin/python3 " TCPP_SOURCE_DIR "/tests/interop/tensorboard/read_tfevents.py " +
                       files[0].string());
  ASSERT_EQ(read.status, 0) << read.output;
  std::map<std::string, double> scalars;  // "tag@step" -> value
  std::istringstream lines(read.output);
  for (std::string line; std::getline(lines, line);) {
    const Json e = parse_json(line, "reader output");
    if (e.contains("scalars"))
      for (auto it = e["scalars"].begin(); it != e["scalars"].end(); ++it)
        scalars[it.key() + "@" + std::to_string(e["step"].get<int>())] = it.value().get<double>();
  }
  const Json state = read_json_file(out + "/trainer_state.json");
  int train_logs = 0, eval_logs = 0;
  for (const auto& entry : state["log_history"]) {
    const std::string step = std::to_string(entry["step"].get<int>());
    if (entry.contains("loss")) {
      ++train_logs;
      ASSERT_TRUE(scalars.count("train/loss@" + step)) << step;
      EXPECT_FLOAT_EQ(scalars["train/loss@" + step], entry["loss"].get<double>());
      EXPECT_FLOAT_EQ(scalars["train/learning_rate@" + step], entry["learning_rate"].get<double>());
      EXPECT_FLOAT_EQ(scalars["train/grad_norm@" + step], entry["grad_norm"].get<double>());
    }
    if (entry.contains("eval_loss")) {
      ++eval_logs;
      EXPECT_FLOAT_EQ(scalars["eval/loss@" + step], entry["eval_loss"].get<double>());
      EXPECT_TRUE(scalars.count("eval/accuracy@" + step));
    }
  }
  EXPECT_EQ(train_logs, 3);
  EXPECT_EQ(eval_logs, 2);
  EXPECT_TRUE(scalars.count("train/train_samples_per_second@6"));  // the final entry: throughput

  // report.html: one point per logged step.
  const std::string html = read_file(out + "/report.html");
  EXPECT_THAT(html, HasSubstr("data-series=\"loss\" data-points=\"3\""));
  EXPECT_THAT(html, HasSubstr("data-series=\"eval_loss\" data-points=\"2\""));
  EXPECT_THAT(html, HasSubstr("data-series=\"learning_rate\" data-points=\"3\""));
  EXPECT_THAT(html, HasSubstr("<th>model type</th><td>gpt2</td>"));

  // `tcpp report` rebuilds it.
  fs::remove(out + "/report.html");
  auto rep = e2e::run(e2e::bin("tcpp") + " report " + out);
  ASSERT_EQ(rep.status, 0) << rep.output;
  EXPECT_THAT(rep.output, HasSubstr(out + "/report.html"));
  EXPECT_TRUE(fs::exists(out + "/report.html"));
}

TEST_F(ObservabilityTest, ReportToNoneWritesNoEventFiles) {
  const std::string out = dir_ + "/none";
  auto r = e2e::run(clm(out, "--report_to none"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(event_files(out).empty());
  EXPECT_TRUE(fs::exists(out + "/report.html"));
}

TEST_F(ObservabilityTest, ReportOfAFolderWithoutARunNamesTheFile) {
  auto r = e2e::run(e2e::bin("tcpp") + " report " + dir_ + "/no_such_run");
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.output, HasSubstr(dir_ + "/no_such_run/trainer_state.json: not found"));
}

}  // namespace
}  // namespace tcpp
