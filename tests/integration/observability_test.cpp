// End-to-end: what a person watching run_clm sees: the startup summary, TensorBoard event files (read back by the
// independent reader tests/interop/tensorboard/read_tfevents.py) and output_dir/report.html; `tcpp report`.
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

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
  // Not a terminal: progress as plain lines (the training line each step of 6 and at the end, each evaluation's
  // batches), never a bar redrawn with \r.
  EXPECT_THAT(r.output, HasSubstr("[INFO] step 3/6 (50%)"));
  EXPECT_THAT(r.output, HasSubstr("[INFO] step 6/6 (100%)"));
  EXPECT_THAT(r.output, HasSubstr("[INFO] Evaluation: 100% "));
  EXPECT_EQ(r.output.find('\r'), std::string::npos);

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

// Pixel statistics of an 8-bit RGB/RGBA PNG (what Chromium's screenshots are), decoded here with zlib.
struct PngStats {
  int width = 0, height = 0;
  double non_white = 0;  // fraction of pixels that are not near-white (text, rules, curves)
  double colored = 0;    // fraction of saturated pixels: the SVG curves (text and rules are grey)
  std::string error;     // empty when decoded
};

PngStats png_stats(const std::string& path) {
  PngStats st;
  auto failed = [&st](std::string error) {
    st.error = std::move(error);
    return st;
  };
  const std::string data = read_file(path);
  auto u32 = [&](size_t at) {
    const auto* p = reinterpret_cast<const unsigned char*>(data.data() + at);
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
  };
  if (data.size() < 33 || data.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0) return failed(path + ": not a PNG");
  std::string idat;
  int depth = 0, color = 0, interlace = 0;
  for (size_t pos = 8; pos + 8 <= data.size();) {
    const uint32_t len = u32(pos);
    const std::string kind = data.substr(pos + 4, 4);
    if (pos + 12 + len > data.size()) return failed(path + ": chunk " + kind + " runs past the end");
    if (kind == "IHDR") {
      st.width = static_cast<int>(u32(pos + 8));
      st.height = static_cast<int>(u32(pos + 12));
      depth = static_cast<unsigned char>(data[pos + 16]);
      color = static_cast<unsigned char>(data[pos + 17]);
      interlace = static_cast<unsigned char>(data[pos + 20]);
    } else if (kind == "IDAT") {
      idat += data.substr(pos + 8, len);
    } else if (kind == "IEND") {
      break;
    }
    pos += 12 + len;
  }
  const int channels = color == 2 ? 3 : color == 6 ? 4 : 0;
  if (depth != 8 || channels == 0 || interlace != 0 || st.width <= 0 || st.height <= 0)
    return failed(path + ": unexpected PNG format (depth " + std::to_string(depth) + ", colour type " +
                      std::to_string(color) + ")");
  const size_t stride = static_cast<size_t>(st.width) * static_cast<size_t>(channels);
  std::vector<unsigned char> raw((stride + 1) * static_cast<size_t>(st.height));
  uLongf raw_len = raw.size();
  if (::uncompress(raw.data(), &raw_len, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) != Z_OK ||
      raw_len != raw.size())
    return failed(path + ": IDAT does not inflate to " + std::to_string(raw.size()) + " bytes");
  std::vector<unsigned char> prev(stride, 0), line(stride);
  int64_t non_white = 0, colored = 0;
  for (int y = 0; y < st.height; ++y) {
    const unsigned char* in = raw.data() + static_cast<size_t>(y) * (stride + 1);
    const int filter = in[0];
    for (size_t i = 0; i < stride; ++i) {  // PNG's five row filters
      const int a = i >= static_cast<size_t>(channels) ? line[i - channels] : 0, b = prev[i];
      const int c = i >= static_cast<size_t>(channels) ? prev[i - channels] : 0;
      int pred = 0;
      if (filter == 1) pred = a;
      else if (filter == 2) pred = b;
      else if (filter == 3) pred = (a + b) / 2;
      else if (filter == 4) {
        const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      line[i] = static_cast<unsigned char>(in[1 + i] + pred);
    }
    for (int x = 0; x < st.width; ++x) {
      const unsigned char* px = &line[static_cast<size_t>(x) * static_cast<size_t>(channels)];
      const int lo = std::min({px[0], px[1], px[2]}), hi = std::max({px[0], px[1], px[2]});
      non_white += lo < 235;
      colored += hi - lo > 60;
    }
    std::swap(prev, line);
  }
  const double n = static_cast<double>(st.width) * st.height;
  st.non_white = static_cast<double>(non_white) / n;
  st.colored = static_cast<double>(colored) / n;
  return st;
}

// report.html in a real browser: headless Chromium (Debian's, from scripts/setup.sh) screenshots it, and the picture
// must show text and the coloured SVG curves, where an empty page renders all white. The screenshots stay in the
// build folder (test_artifacts/) for a person to look at.
TEST_F(ObservabilityTest, ReportRendersInAHeadlessBrowser) {
  if (e2e::run("command -v chromium").status != 0)
    GTEST_SKIP() << "chromium is not installed (scripts/setup.sh installs Debian's chromium): report.html was not "
                    "rendered in a browser";
  const std::string out = dir_ + "/render";
  auto r = e2e::run(clm(out, "--report_to none --do_eval --eval_strategy steps --eval_steps 3"));
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string artifacts = std::string(TCPP_BINARY_DIR) + "/test_artifacts";
  fs::create_directories(artifacts);
  const std::string blank_html = dir_ + "/blank.html";
  std::ofstream(blank_html) << "<!DOCTYPE html><html><body></body></html>\n";
  auto shoot = [&](const std::string& html, const std::string& png) {
    fs::remove(png);
    // Root needs --no-sandbox; the profile folder keeps runs from sharing (or locking) ~/.config/chromium.
    return e2e::run("timeout 300 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars "
                    "--user-data-dir=" + dir_ + "/chromium-profile --window-size=1200,1600 --screenshot=" + png +
                    " file://" + html);
  };
  const std::string report_png = artifacts + "/report.png", blank_png = artifacts + "/blank.png";
  auto shot = shoot(out + "/report.html", report_png);
  ASSERT_TRUE(fs::exists(report_png)) << shot.output;
  auto blank_shot = shoot(blank_html, blank_png);
  ASSERT_TRUE(fs::exists(blank_png)) << blank_shot.output;

  const PngStats blank = png_stats(blank_png), report = png_stats(report_png);
  ASSERT_TRUE(blank.error.empty()) << blank.error;
  ASSERT_TRUE(report.error.empty()) << report.error;
  EXPECT_EQ(report.width, 1200);
  EXPECT_EQ(report.height, 1600);
  EXPECT_EQ(blank.non_white, 0.0) << "an empty page should render all white";
  EXPECT_GT(report.non_white, 0.01) << "report.png looks blank: " << report_png;
  EXPECT_GT(report.colored, 0.0005) << "no coloured curves in " << report_png;
  EXPECT_GT(fs::file_size(report_png), 3 * fs::file_size(blank_png));
}

TEST_F(ObservabilityTest, ReportOfAFolderWithoutARunNamesTheFile) {
  auto r = e2e::run(e2e::bin("tcpp") + " report " + dir_ + "/no_such_run");
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.output, HasSubstr(dir_ + "/no_such_run/trainer_state.json: not found"));
}

}  // namespace
}  // namespace tcpp
