// Tests for the HTML training report: curves from log_history as SVG paths with one point per logged step,
// escaped argument values, model size from the safetensors header, nothing fetched from the network.
#include "tcpp/trainer/html_report.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tcpp/core/error.h"
#include "tcpp/core/file.h"
#include "tcpp/core/json.h"

namespace tcpp::trainer {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

struct TempDir {
  TempDir() {
    static int counter = 0;
    path = (fs::temp_directory_path() / ("tcpp_report_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++))).string();
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string path;
};

// A safetensors file with the given tensor shapes (F32, zero data).
void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, std::vector<int64_t>>>& tensors) {
  Json header = Json::object();
  int64_t offset = 0;
  for (const auto& [name, shape] : tensors) {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    header[name] = {{"dtype", "F32"}, {"shape", shape}, {"data_offsets", {offset, offset + 4 * n}}};
    offset += 4 * n;
  }
  header["__metadata__"] = {{"format", "pt"}};
  const std::string h = header.dump();
  std::string out;
  for (int i = 0; i < 8; ++i) out += static_cast<char>((h.size() >> (8 * i)) & 0xFF);
  out += h + std::string(static_cast<size_t>(offset), '\0');
  write_file_atomic(path, out);
}

// An output_dir as run_clm leaves it: 5 train logs, 2 evals, the final entry; perplexity = inf as Python writes it.
void write_run(const std::string& dir) {
  Json history = Json::array();
  for (int step = 2; step <= 10; step += 2)
    history.push_back({{"step", step}, {"epoch", step / 10.0}, {"loss", 5.0 - step * 0.3},
                       {"learning_rate", 1e-3 * (1 - step / 10.0)}, {"grad_norm", 2.0 / step}});
  for (int step : {5, 10})
    history.push_back({{"step", step}, {"epoch", step / 10.0}, {"eval_loss", 4.0 - step * 0.1},
                       {"eval_accuracy", step * 0.02}, {"eval_samples_per_second", 100.0 + step}});
  history.push_back({{"step", 10}, {"epoch", 1.0}, {"train_loss", 3.4}, {"train_runtime", 12.5}, {"total_flos", 1e9}});
  write_file_atomic(dir + "/trainer_state.json",
                    dump_json_python({{"global_step", 10}, {"max_steps", 10}, {"epoch", 1.0}, {"log_history", history}}));
  write_file_atomic(dir + "/training_args.json",
                    dump_json_python({{"output_dir", dir}, {"learning_rate", 0.001},
                                      {"run_name", "<script>alert(\"x\")</script> & 'q'"}}));
  write_file_atomic(dir + "/config.json", dump_json_python({{"model_type", "gpt2"}, {"n_layer", 2}, {"n_embd", 32}}));
  write_file_atomic(dir + "/all_results.json",
                    "{\n    \"eval_loss\": 3.0,\n    \"perplexity\": Infinity,\n    \"train_samples\": 640\n}\n");
  write_safetensors(dir + "/model.safetensors", {{"wte.weight", {100, 32}}, {"ln_f.bias", {32}}});
}

// The d attribute of the path drawn for `series`.
std::string path_of(const std::string& html, const std::string& series) {
  std::smatch m;
  const std::regex re("data-series=\"" + series + "\" data-points=\"(\\d+)\"[^>]* d=\"([^\"]*)\"");
  if (!std::regex_search(html, m, re)) return "";
  return m[2];
}

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
  return n;
}

TEST(HtmlReportTest, CurvesHaveOnePointPerLoggedStep) {
  TempDir dir;
  write_run(dir.path);
  const std::string html = render_html_report(dir.path);
  EXPECT_THAT(html, HasSubstr("data-series=\"loss\" data-points=\"5\""));
  EXPECT_THAT(html, HasSubstr("data-series=\"eval_loss\" data-points=\"2\""));
  EXPECT_THAT(html, HasSubstr("data-series=\"learning_rate\" data-points=\"5\""));
  EXPECT_THAT(html, HasSubstr("data-series=\"grad_norm\" data-points=\"5\""));
  EXPECT_THAT(html, HasSubstr("data-series=\"eval_samples_per_second\" data-points=\"2\""));  // throughput
  EXPECT_THAT(html, HasSubstr("data-series=\"eval_accuracy\" data-points=\"2\""));
  EXPECT_THAT(html, Not(HasSubstr("data-series=\"train_runtime\"")));  // the final entry is a table, not a curve
  const std::string d = path_of(html, "loss");
  EXPECT_EQ(count_of(d, "M"), 1u);
  EXPECT_EQ(count_of(d, " L"), 4u);
  // The loss falls, so each point is lower on the page (larger y) than the one before.
  std::regex point("([0-9.]+),([0-9.]+)");
  double last_y = -1;
  for (auto it = std::sregex_iterator(d.begin(), d.end(), point); it != std::sregex_iterator(); ++it) {
    const double y = std::stod((*it)[2]);
    EXPECT_GT(y, last_y);
    last_y = y;
  }
}

TEST(HtmlReportTest, ArgumentValuesAreEscapedAndNothingIsFetched) {
  TempDir dir;
  write_run(dir.path);
  const std::string html = render_html_report(dir.path);
  EXPECT_THAT(html, HasSubstr("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;"));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  for (const char* fetch : {"src=", "href=", "@import", "url("}) EXPECT_THAT(html, Not(HasSubstr(fetch)));
  EXPECT_THAT(html, HasSubstr("<th>perplexity</th><td>Infinity</td>"));
  EXPECT_THAT(html, HasSubstr("<th>parameters</th><td>3.2K (3232)</td>"));
  EXPECT_THAT(html, HasSubstr("<th>train examples</th><td>640</td>"));
  EXPECT_THAT(html, HasSubstr("<th>model type</th><td>gpt2</td>"));
}

TEST(HtmlReportTest, WritesReportHtmlAndFallsBackToTheNewestCheckpoint) {
  TempDir dir;
  write_run(dir.path);
  fs::create_directories(dir.path + "/checkpoint-4");
  fs::create_directories(dir.path + "/checkpoint-8");
  fs::rename(dir.path + "/trainer_state.json", dir.path + "/checkpoint-8/trainer_state.json");
  const std::string path = write_html_report(dir.path);
  EXPECT_EQ(path, dir.path + "/report.html");
  EXPECT_THAT(read_file(path), HasSubstr("checkpoint-8/trainer_state.json"));
}

TEST(HtmlReportTest, MissingTrainerStateNamesTheFile) {
  TempDir dir;
  EXPECT_THAT([&] { render_html_report(dir.path); },
              ::testing::ThrowsMessage<InputError>(HasSubstr(dir.path + "/trainer_state.json: not found")));
}

TEST(HtmlReportTest, SafetensorsParameterCountReadsOnlyTheHeader) {
  TempDir dir;
  write_safetensors(dir.path + "/a.safetensors", {{"x", {3, 4}}, {"y", {5}}});
  EXPECT_EQ(count_safetensors_parameters(dir.path + "/a.safetensors"), 17);
  write_file_atomic(dir.path + "/bad.safetensors", std::string("\xff\xff\xff\xff\xff\xff\xff\x7f", 8));
  EXPECT_THAT([&] { count_safetensors_parameters(dir.path + "/bad.safetensors"); },
              ::testing::ThrowsMessage<InputError>(HasSubstr("bad.safetensors: header length")));
}

// Found by reading the code while writing the weights_index fuzz target (issue #10): an index naming itself recursed
// until the stack overflowed, a value that is not a string or a shape of non-integers threw nlohmann's type_error
// (std::terminate in `tcpp report`), and a shape whose product passes int64 was undefined behaviour.
TEST(HtmlReportTest, HostileIndexesAndHeadersAreInputErrorsNamingTheFileAndKey) {
  TempDir dir;
  const std::string index = dir.path + "/model.safetensors.index.json";
  const auto count_with = [&](const std::string& json) {
    write_file_atomic(index, json);
    return count_safetensors_parameters(index);
  };
  write_safetensors(dir.path + "/a.safetensors", {{"x", {3, 4}}});
  write_safetensors(dir.path + "/b.safetensors", {{"y", {5}}});
  EXPECT_EQ(count_with(R"({"weight_map": {"x": "a.safetensors", "y": "b.safetensors"}})"), 17);
  const auto refused = [&](const std::string& json, const std::string& message) {
    EXPECT_THAT([&] { count_with(json); }, ::testing::ThrowsMessage<InputError>(HasSubstr(index + ": " + message))) << json;
  };
  refused(R"({"weight_map": {"x": "model.safetensors.index.json"}})",
          "\"weight_map\".\"x\" names an index, not a shard: \"model.safetensors.index.json\"");
  refused(R"({"weight_map": {"x": 7}})", "\"weight_map\".\"x\" must be a file name");
  refused(R"({"weight_map": {"x": "../a.safetensors"}})", "\"weight_map\".\"x\" names a file outside the folder");
  refused(R"({"weight_map": {"x": ""}})", "\"weight_map\".\"x\" names a file outside the folder");
  refused(R"([1, 2])", "expected a \"weight_map\" object");
  const auto header = [&](const std::string& json) {
    std::string out;
    for (int i = 0; i < 8; ++i) out += static_cast<char>((json.size() >> (8 * i)) & 0xFF);
    write_file_atomic(dir.path + "/h.safetensors", out + json);
    return dir.path + "/h.safetensors";
  };
  const auto header_refused = [&](const std::string& json, const std::string& message) {
    const std::string path = header(json);
    EXPECT_THAT([&] { count_safetensors_parameters(path); },
                ::testing::ThrowsMessage<InputError>(HasSubstr(path + ": " + message))) << json;
  };
  header_refused(R"({"x": {"shape": [4294967296, 4294967296]}})", "tensor \"x\": its element count overflows int64");
  header_refused(R"({"x": {"shape": ["3"]}})", "tensor \"x\": \"shape\" holds \"3\", expected non-negative integers");
  header_refused(R"({"x": {"shape": [-1]}})", "tensor \"x\": \"shape\" holds -1, expected non-negative integers");
  header_refused(R"({"x": 5})", "tensor \"x\" has no \"shape\" list");
  header_refused(R"([5])", "the header is not a JSON object");
}

TEST(HtmlReportTest, ChartOfASinglePointOrConstantSeriesIsWellFormed) {
  const std::string svg = svg_line_chart("t", {{"a", "#000", {{1, 2.0}}, false}, {"b", "#111", {{1, 0.0}, {2, 0.0}}, false}});
  EXPECT_THAT(svg, HasSubstr("data-series=\"a\" data-points=\"1\""));
  EXPECT_THAT(svg, HasSubstr("data-series=\"b\" data-points=\"2\""));
  EXPECT_THAT(svg, Not(HasSubstr("nan")));
  EXPECT_THAT(svg, Not(HasSubstr("inf")));
}

}  // namespace
}  // namespace tcpp::trainer
