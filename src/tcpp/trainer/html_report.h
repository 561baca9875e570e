// A training run as one self-contained HTML page (inline SVG charts, no scripts, no network): loss, eval loss,
// learning rate, grad norm and other logged values over the steps, the arguments, the model size and the final
// metrics, all read back from an output_dir (trainer_state.json's log_history, training_args.json, config.json,
// all_results.json, model.safetensors). trainer.cpp's own addition; HF has no equivalent.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tcpp::trainer {

inline constexpr const char* kReportFile = "report.html";

/// One line of a chart: (step, value) points in order.
struct ChartSeries {
  std::string name;   // legend text, also the path's data-series attribute
  std::string color;  // CSS colour
  std::vector<std::pair<double, double>> points;
  bool markers = false;  // draw a dot at each point (sparse series such as eval loss)
};

/// An inline <svg> line chart: axes with round ticks, one <path data-series=NAME data-points=N> per series
/// ("M x,y" then one "L x,y" per further point; non-finite values are left out), and a legend.
std::string svg_line_chart(const std::string& title, const std::vector<ChartSeries>& series);

/// The page for output_dir. Reads trainer_state.json from output_dir, or else from its newest checkpoint-N;
/// the other files are optional (their sections are left out). Throws InputError naming the file when no
/// trainer_state.json is found or a file is not valid JSON.
std::string render_html_report(const std::string& output_dir);

/// render_html_report() written (atomically) to output_dir/report.html; returns that path.
std::string write_html_report(const std::string& output_dir);

/// & < > " ' as HTML entities.
std::string html_escape(std::string_view text);

/// Number of parameters in a safetensors file, or in the shards a model.safetensors.index.json names (from the
/// headers' shapes; no tensor data is read). Throws InputError naming the file when a header is malformed.
int64_t count_safetensors_parameters(const std::string& path);

}  // namespace tcpp::trainer
