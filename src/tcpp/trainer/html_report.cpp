// A training run as one self-contained HTML page with inline SVG charts.
#include "tcpp/trainer/html_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "tcpp/core/error.h"
#include "tcpp/core/file.h"
#include "tcpp/core/json.h"
#include "tcpp/core/strings.h"

namespace tcpp::trainer {
namespace fs = std::filesystem;
namespace {

constexpr double kWidth = 640, kHeight = 280;
constexpr double kLeft = 64, kRight = 16, kTop = 34, kBottom = 40;  // plot margins, px

// Python's json module writes NaN and (-)Infinity bare (e.g. perplexity = inf): read them as the strings
// "NaN"/"Infinity"/"-Infinity" so the tables can show them and the charts skip them.
Json read_json_lenient(const std::string& path) {
  const std::string text = read_file(path);
  std::string out;
  out.reserve(text.size());
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < text.size()) out += text[++i];
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    bool replaced = false;
    for (const char* word : {"-Infinity", "Infinity", "NaN"}) {
      if (text.compare(i, std::char_traits<char>::length(word), word) == 0) {
        out += std::string("\"") + word + "\"";
        i += std::char_traits<char>::length(word) - 1;
        replaced = true;
        break;
      }
    }
    if (!replaced) out += c;
  }
  return parse_json(out, path);
}

std::optional<Json> read_optional(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return std::nullopt;
  return read_json_lenient(path.string());
}

// output_dir/trainer_state.json, or the newest checkpoint-N's (a run still going, or one that was interrupted).
fs::path find_trainer_state(const std::string& output_dir) {
  const fs::path direct = fs::path(output_dir) / "trainer_state.json";
  std::error_code ec;
  if (fs::is_regular_file(direct, ec)) return direct;
  int64_t best = -1;
  fs::path found;
  if (fs::is_directory(output_dir, ec)) {
    for (const auto& entry : fs::directory_iterator(output_dir, ec)) {
      const std::string name = entry.path().filename().string();
      if (!starts_with(name, "checkpoint-")) continue;
      auto n = parse_int(name.substr(11));
      if (n && *n > best && fs::is_regular_file(entry.path() / "trainer_state.json", ec)) {
        best = *n;
        found = entry.path() / "trainer_state.json";
      }
    }
  }
  if (best < 0)
    throw InputError(direct.string(), "not found, nor in a checkpoint-N folder (is " + output_dir +
                                          " the --output_dir of a training run?)");
  return found;
}

std::string fmt(double v) {
  if (!std::isfinite(v)) return std::isnan(v) ? "NaN" : (v > 0 ? "inf" : "-inf");
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

std::string fmt_px(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// A round tick spacing giving about `count` intervals over `range` (1, 2 or 5 times a power of ten).
double nice_step(double range, int count) {
  const double raw = range / count;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / mag;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

std::string value_text(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) return python_float_repr(v.get<double>());
  return v.dump();
}

std::string table(const std::vector<std::pair<std::string, std::string>>& rows, const std::string& css_class) {
  std::string out = "<table class=\"" + css_class + "\">\n";
  for (const auto& [k, v] : rows)
    out += "<tr><th>" + html_escape(k) + "</th><td>" + html_escape(v) + "</td></tr>\n";
  return out + "</table>\n";
}

std::string human_count(double n) {
  char buf[32];
  if (n >= 1e9) std::snprintf(buf, sizeof buf, "%.2fB", n / 1e9);
  else if (n >= 1e6) std::snprintf(buf, sizeof buf, "%.2fM", n / 1e6);
  else if (n >= 1e3) std::snprintf(buf, sizeof buf, "%.1fK", n / 1e3);
  else std::snprintf(buf, sizeof buf, "%.0f", n);
  return buf;
}

// Series of one log_history key: (step, value) of the entries that have it as a finite number.
std::vector<std::pair<double, double>> series_of(const Json& log_history, const std::string& key) {
  std::vector<std::pair<double, double>> points;
  for (const auto& entry : log_history) {
    if (!entry.is_object() || !entry.contains(key) || !entry[key].is_number() || !entry.contains("step")) continue;
    const double v = entry[key].get<double>();
    if (std::isfinite(v)) points.emplace_back(entry["step"].get<double>(), v);
  }
  return points;
}

// Keys of the final summary entry (HF logs train_runtime, train_loss, ... once, at the end): not curves.
const std::set<std::string> kFinalEntryKeys = {"train_runtime", "train_samples_per_second", "train_steps_per_second",
                                               "total_flos", "train_loss"};

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string svg_line_chart(const std::string& title, const std::vector<ChartSeries>& series) {
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  for (const auto& s : series)
    for (const auto& [x, y] : s.points) {
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
    }
  if (!std::isfinite(x0)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (x1 == x0) x0 -= 1, x1 += 1;
  if (y1 == y0) {
    const double pad = y0 == 0 ? 1 : std::abs(y0) * 0.1;
    y0 -= pad, y1 += pad;
  }
  const double ystep = nice_step(y1 - y0, 4);
  y0 = std::floor(y0 / ystep) * ystep, y1 = std::ceil(y1 / ystep) * ystep;
  const double pw = kWidth - kLeft - kRight, ph = kHeight - kTop - kBottom;
  auto px = [&](double x) { return kLeft + (x - x0) / (x1 - x0) * pw; };
  auto py = [&](double y) { return kTop + (1 - (y - y0) / (y1 - y0)) * ph; };

  std::string out = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"" + fmt_px(kWidth) +
                    "\" height=\"" + fmt_px(kHeight) + "\" viewBox=\"0 0 " + fmt_px(kWidth) + " " + fmt_px(kHeight) +
                    "\" role=\"img\" aria-label=\"" + html_escape(title) + "\">\n";
  out += "<text x=\"" + fmt_px(kLeft) + "\" y=\"20\" class=\"title\">" + html_escape(title) + "</text>\n";
  // Grid and tick labels.
  for (double y = y0; y <= y1 + ystep * 1e-6; y += ystep) {
    out += "<line class=\"grid\" x1=\"" + fmt_px(kLeft) + "\" x2=\"" + fmt_px(kLeft + pw) + "\" y1=\"" + fmt_px(py(y)) +
           "\" y2=\"" + fmt_px(py(y)) + "\"/>";
    out += "<text class=\"tick\" x=\"" + fmt_px(kLeft - 6) + "\" y=\"" + fmt_px(py(y) + 4) +
           "\" text-anchor=\"end\">" + fmt(std::abs(y) < ystep * 1e-9 ? 0.0 : y) + "</text>\n";
  }
  const double xstep = std::max(1.0, nice_step(x1 - x0, 5));
  for (double x = std::ceil(x0 / xstep) * xstep; x <= x1 + xstep * 1e-6; x += xstep)
    out += "<text class=\"tick\" x=\"" + fmt_px(px(x)) + "\" y=\"" + fmt_px(kTop + ph + 16) +
           "\" text-anchor=\"middle\">" + fmt(x) + "</text>\n";
  out += "<rect class=\"frame\" x=\"" + fmt_px(kLeft) + "\" y=\"" + fmt_px(kTop) + "\" width=\"" + fmt_px(pw) +
         "\" height=\"" + fmt_px(ph) + "\"/>\n";
  out += "<text class=\"tick\" x=\"" + fmt_px(kLeft + pw / 2) + "\" y=\"" + fmt_px(kHeight - 6) +
         "\" text-anchor=\"middle\">step</text>\n";
  // Lines, markers and legend.
  double legend_x = kLeft + pw;
  for (auto it = series.rbegin(); it != series.rend(); ++it) {
    const auto& s = *it;
    std::string d;
    size_t n = 0;
    for (const auto& [x, y] : s.points) {
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      d += (n++ == 0 ? "M" : " L") + fmt_px(px(x)) + "," + fmt_px(py(y));
    }
    out += "<path class=\"series\" data-series=\"" + html_escape(s.name) + "\" data-points=\"" + std::to_string(n) +
           "\" fill=\"none\" stroke=\"" + html_escape(s.color) + "\" stroke-width=\"1.8\" d=\"" + d + "\"/>\n";
    if (s.markers || n == 1)
      for (const auto& [x, y] : s.points)
        if (std::isfinite(x) && std::isfinite(y))
          out += "<circle cx=\"" + fmt_px(px(x)) + "\" cy=\"" + fmt_px(py(y)) + "\" r=\"3\" fill=\"" +
                 html_escape(s.color) + "\"/>";
    legend_x -= 8.0 * static_cast<double>(s.name.size()) + 28;
    out += "<rect x=\"" + fmt_px(legend_x) + "\" y=\"12\" width=\"12\" height=\"4\" fill=\"" + html_escape(s.color) +
           "\"/><text class=\"legend\" x=\"" + fmt_px(legend_x + 16) + "\" y=\"18\">" + html_escape(s.name) +
           "</text>\n";
  }
  return out + "</svg>\n";
}

int64_t count_safetensors_parameters(const std::string& path) {
  if (ends_with(path, ".index.json")) {
    const Json index = read_json_file(path);
    if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
      throw InputError(path, "expected a \"weight_map\" object");
    std::set<std::string> shards;
    for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) {
      // As from_pretrained's reader (models/safetensors.cpp): a file name in this folder; and not another index, which
      // would be counted recursively (an index naming itself recursed until the stack overflowed).
      const std::string where = "\"weight_map\".\"" + it.key() + "\"";
      if (!it->is_string()) throw InputError(path, where + " must be a file name");
      const std::string file = it->get<std::string>();
      if (file.empty() || file == "." || file == ".." || file.find('/') != std::string::npos)
        throw InputError(path, where + " names a file outside the folder: " + quote(file));
      if (ends_with(file, ".index.json")) throw InputError(path, where + " names an index, not a shard: " + quote(file));
      shards.insert(file);
    }
    int64_t total = 0;
    for (const auto& shard : shards) {
      const int64_t n = count_safetensors_parameters((fs::path(path).parent_path() / shard).string());
      if (__builtin_add_overflow(total, n, &total)) throw InputError(path, "the shards' parameter count overflows int64");
    }
    return total;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, "cannot be opened");
  unsigned char len_bytes[8];
  if (!in.read(reinterpret_cast<char*>(len_bytes), 8)) throw InputError(path, "expected an 8-byte header length");
  uint64_t len = 0;
  for (int i = 7; i >= 0; --i) len = (len << 8) | len_bytes[i];
  if (len > (100u << 20)) throw InputError(path, "header length " + std::to_string(len) + " is not plausible");
  std::string header(len, '\0');
  if (!in.read(header.data(), static_cast<std::streamsize>(len)))
    throw InputError(path, "header of " + std::to_string(len) + " bytes is truncated");
  const Json j = parse_json(header, path + " header");
  if (!j.is_object()) throw InputError(path, "the header is not a JSON object");
  int64_t total = 0;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "__metadata__") continue;
    const std::string where = "tensor \"" + it.key() + "\"";
    if (!it->is_object() || !it->contains("shape") || !(*it)["shape"].is_array())
      throw InputError(path, where + " has no \"shape\" list");
    int64_t n = 1;
    for (const auto& d : (*it)["shape"]) {
      // Checked: the header is outside input, and a product past int64 was undefined behaviour.
      if (!d.is_number_integer() || (d.is_number_unsigned() && d.get<uint64_t>() > INT64_MAX) || d.get<int64_t>() < 0)
        throw InputError(path, where + ": \"shape\" holds " + d.dump() + ", expected non-negative integers");
      if (__builtin_mul_overflow(n, d.get<int64_t>(), &n))
        throw InputError(path, where + ": its element count overflows int64");
    }
    if (__builtin_add_overflow(total, n, &total)) throw InputError(path, "the parameter count overflows int64");
  }
  return total;
}

std::string render_html_report(const std::string& output_dir) {
  const fs::path state_path = find_trainer_state(output_dir);
  const Json state = read_json_lenient(state_path.string());
  const Json log_history = state.value("log_history", Json::array());
  const fs::path dir(output_dir);
  const auto args = read_optional(dir / "training_args.json");
  const auto config = read_optional(dir / "config.json");
  const auto results = read_optional(dir / "all_results.json");

  std::string body;
  // Run summary.
  std::vector<std::pair<std::string, std::string>> summary;
  summary.emplace_back("output_dir", output_dir);
  summary.emplace_back("trainer state", state_path.string());
  summary.emplace_back("global step", std::to_string(state.value("global_step", int64_t{0})) + " / " +
                                          std::to_string(state.value("max_steps", int64_t{0})));
  if (state.contains("epoch") && state["epoch"].is_number()) summary.emplace_back("epoch", fmt(state["epoch"].get<double>()));
  if (config) {
    if (config->contains("model_type")) summary.emplace_back("model type", value_text((*config)["model_type"]));
    for (const char* key : {"n_layer", "num_hidden_layers", "n_embd", "hidden_size", "n_head", "num_attention_heads",
                            "vocab_size", "n_positions", "max_position_embeddings"})
      if (config->contains(key)) summary.emplace_back(key, value_text((*config)[key]));
  }
  std::error_code ec;
  for (const char* weights : {"model.safetensors", "model.safetensors.index.json"}) {
    if (!fs::is_regular_file(dir / weights, ec)) continue;
    const int64_t n = count_safetensors_parameters((dir / weights).string());
    summary.emplace_back("parameters", human_count(static_cast<double>(n)) + " (" + std::to_string(n) + ")");
    break;
  }
  if (results) {
    for (const char* key : {"train_samples", "eval_samples"})
      if (results->contains(key)) summary.emplace_back(std::string(key) == "train_samples" ? "train examples" : "eval examples",
                                                       value_text((*results)[key]));
  }
  body += "<h2>Run</h2>\n" + table(summary, "kv");

  // Charts: loss + eval loss, learning rate, grad norm, then every other key logged at two or more steps.
  body += "<h2>Curves</h2>\n<div class=\"charts\">\n";
  std::vector<ChartSeries> loss = {{"loss", "#1f77b4", series_of(log_history, "loss"), false},
                                   {"eval_loss", "#d62728", series_of(log_history, "eval_loss"), true}};
  loss.erase(std::remove_if(loss.begin(), loss.end(), [](const ChartSeries& s) { return s.points.empty(); }), loss.end());
  if (!loss.empty()) body += svg_line_chart("Loss", loss);
  std::set<std::string> shown = {"loss", "eval_loss", "step", "epoch"};
  for (const auto& [key, title, color] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"learning_rate", "Learning rate", "#2ca02c"}, {"grad_norm", "Gradient norm (before clipping)", "#9467bd"}}) {
    shown.insert(key);
    auto points = series_of(log_history, key);
    if (!points.empty()) body += svg_line_chart(title, {{key, color, points, false}});
  }
  std::set<std::string> others;
  for (const auto& entry : log_history)
    if (entry.is_object())
      for (auto it = entry.begin(); it != entry.end(); ++it)
        if (it.value().is_number() && !shown.count(it.key()) && !kFinalEntryKeys.count(it.key())) others.insert(it.key());
  for (const auto& key : others) {  // throughput (eval_samples_per_second, ...), eval_accuracy, ...
    auto points = series_of(log_history, key);
    if (points.size() >= 2) body += svg_line_chart(key, {{key, "#ff7f0e", points, true}});
  }
  body += "</div>\n";

  if (results) {
    std::vector<std::pair<std::string, std::string>> rows;
    for (auto it = results->begin(); it != results->end(); ++it) rows.emplace_back(it.key(), value_text(it.value()));
    body += "<h2>Final metrics <small>(all_results.json)</small></h2>\n" + table(rows, "kv");
  }
  if (args) {
    std::vector<std::pair<std::string, std::string>> rows;
    for (auto it = args->begin(); it != args->end(); ++it) rows.emplace_back(it.key(), value_text(it.value()));
    body += "<h2>Arguments <small>(training_args.json)</small></h2>\n" + table(rows, "kv args");
  }
  if (config) body += "<h2>Model config <small>(config.json)</small></h2>\n<pre>" + html_escape(config->dump(2)) + "</pre>\n";

  const std::string title = "Training report: " + output_dir;
  return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + html_escape(title) +
         "</title>\n<style>\n"
         "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1400px}\n"
         "h1{font-size:20px}h2{font-size:16px;margin-top:28px;border-bottom:1px solid #ddd}small{color:#777}\n"
         ".charts{display:flex;flex-wrap:wrap;gap:12px}.chart{border:1px solid #e4e4e4;background:#fff}\n"
         ".chart .title{font-weight:600;font-size:13px}.chart .tick,.chart .legend{font-size:11px;fill:#555}\n"
         ".chart .grid{stroke:#eee}.chart .frame{fill:none;stroke:#bbb}\n"
         "table.kv{border-collapse:collapse}table.kv th{text-align:left;font-weight:500;padding:2px 16px 2px 0;"
         "color:#555}table.kv td{font-family:monospace;padding:2px 0;word-break:break-all}\n"
         "pre{background:#f6f6f6;padding:8px;overflow:auto}\n"
         "</style>\n</head>\n<body>\n<h1>" + html_escape(title) + "</h1>\n" + body + "</body>\n</html>\n";
}

std::string write_html_report(const std::string& output_dir) {
  const std::string html = render_html_report(output_dir);
  const std::string path = (fs::path(output_dir) / kReportFile).string();
  write_file_atomic(path, html);
  return path;
}

}  // namespace tcpp::trainer
