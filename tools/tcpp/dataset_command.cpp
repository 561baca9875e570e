// `tcpp dataset show|convert`: inspect Arrow files and saved datasets; convert text/json files (load_dataset + save_to_disk).
// tcpp-needs: tcpp_datasets
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "command.h"
#include "tcpp/core/error.h"
#include "tcpp/core/json.h"
#include "tcpp/core/strings.h"
#include "tcpp/datasets/arrow/ipc.h"
#include "tcpp/datasets/dataset.h"
#include "tcpp/datasets/load.h"

namespace tcpp::tools {
namespace {

namespace fs = std::filesystem;
using datasets::Dataset;

constexpr const char* kUsage =
    "usage:\n"
    "  tcpp dataset show PATH [--rows N|all] [--format jsonl|table]\n"
    "      PATH: a save_to_disk folder (Dataset or DatasetDict) or one Arrow IPC file (stream or file format).\n"
    "      Prints the schema, then the first N rows (default 10). With --format jsonl stdout holds only the\n"
    "      rows, one JSON object each (the schema goes to stderr).\n"
    "  tcpp dataset convert [--builder text|json|csv|parquet|arrow] --data_files F [F...] --output DIR\n"
    "      [--split NAME] [--cache_dir D] [--keep_linebreaks] [--sample_by line|paragraph|document] [--field KEY]\n"
    "      load_dataset + save_to_disk: writes DIR in Hugging Face datasets' layout. Without --builder the\n"
    "      builder comes from the first file's extension (.txt, .json/.jsonl, .csv/.tsv, .parquet, .arrow).\n";

std::string dump_row(const OrderedJson& row) { return row.dump(-1, ' ', false, OrderedJson::error_handler_t::replace); }

OrderedJson ordered_row(const Dataset& d, int64_t i) {
  Json row = d.row(i);
  OrderedJson out = OrderedJson::object();
  for (const auto& name : d.column_names()) out[name] = row[name];
  return out;
}

// Terminal columns taken by UTF-8 text (one per code point; wide characters are not special-cased).
size_t display_width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xc0) != 0x80;
  return n;
}

std::string cell(const Json& v) {
  std::string s = v.is_string() ? v.get<std::string>() : v.dump(-1, ' ', false, Json::error_handler_t::replace);
  for (auto& c : s)
    if (c == '\n' || c == '\t' || c == '\r') c = ' ';
  if (display_width(s) > 40) {
    size_t keep = 0, seen = 0;
    while (keep < s.size() && seen < 37) {
      ++keep;
      while (keep < s.size() && (static_cast<unsigned char>(s[keep]) & 0xc0) == 0x80) ++keep;
      ++seen;
    }
    s = s.substr(0, keep) + "...";
  }
  return s;
}

void show_dataset(const Dataset& d, const std::string& title, int64_t rows, bool jsonl) {
  std::FILE* meta = jsonl ? stderr : stdout;
  std::fprintf(meta, "%s%srows: %lld\n%s", title.c_str(), title.empty() ? "" : " ",
               static_cast<long long>(d.num_rows()), d.schema().to_string().c_str());
  int64_t n = rows < 0 ? d.num_rows() : std::min(rows, d.num_rows());
  if (jsonl) {
    for (int64_t i = 0; i < n; ++i) std::printf("%s\n", dump_row(ordered_row(d, i)).c_str());
    return;
  }
  std::vector<std::string> names = d.column_names();
  std::vector<std::vector<std::string>> cells;
  std::vector<size_t> width;
  for (const auto& name : names) width.push_back(display_width(name));
  for (int64_t i = 0; i < n; ++i) {
    Json row = d.row(i);
    std::vector<std::string> line;
    for (size_t c = 0; c < names.size(); ++c) {
      line.push_back(cell(row[names[c]]));
      width[c] = std::max(width[c], display_width(line.back()));
    }
    cells.push_back(std::move(line));
  }
  std::printf("\n");
  auto print_line = [&](const std::vector<std::string>& values) {
    for (size_t c = 0; c < values.size(); ++c)
      std::printf("%s%s%s", c ? " | " : "", values[c].c_str(), std::string(width[c] - display_width(values[c]), ' ').c_str());
    std::printf("\n");
  };
  print_line(names);
  std::vector<std::string> rule;
  for (size_t w : width) rule.push_back(std::string(w, '-'));
  print_line(rule);
  for (const auto& line : cells) print_line(line);
}

int run_show(const std::vector<std::string>& args) {
  std::string path, format = "table";
  int64_t rows = 10;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) throw InputError(a, "expects a value");
      return args[++i];
    };
    if (a == "--rows") {
      std::string v = value();
      if (v == "all") {
        rows = -1;
      } else {
        auto n = parse_int(v);
        if (!n || *n < 0) throw InputError("--rows", "expected a non-negative integer or \"all\", got " + quote(v));
        rows = *n;
      }
    } else if (a == "--format") {
      format = value();
      if (format != "jsonl" && format != "table")
        throw InputError("--format", "expected jsonl or table, got " + quote(format));
    } else if (!a.empty() && a[0] == '-') {
      throw InputError(a, "unknown option for `tcpp dataset show`");
    } else if (path.empty()) {
      path = a;
    } else {
      throw InputError(a, "only one PATH is accepted");
    }
  }
  if (path.empty()) throw InputError("tcpp dataset show: missing PATH");
  bool jsonl = format == "jsonl";
  if (fs::is_directory(path) && fs::exists(fs::path(path) / "dataset_dict.json")) {
    for (const auto& [split, d] : datasets::load_dataset_dict_from_disk(path)) show_dataset(d, "[" + split + "]", rows, jsonl);
  } else if (fs::is_directory(path)) {
    show_dataset(Dataset::load_from_disk(path), "", rows, jsonl);
  } else {
    datasets::arrow::IpcFormat format_found;
    datasets::arrow::read_ipc_file(path, &format_found);  // validates and detects the flavour
    std::fprintf(jsonl ? stderr : stdout, "Arrow IPC %s format\n",
                 format_found == datasets::arrow::IpcFormat::kFile ? "file" : "stream");
    show_dataset(Dataset::from_files({path}), "", rows, jsonl);
  }
  return 0;
}

int run_convert(const std::vector<std::string>& args) {
  datasets::LoadOptions options;
  std::string split = "train", output;
  std::vector<std::string> files;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size() || starts_with(args[i + 1], "--")) throw InputError(a, "expects a value");
      return args[++i];
    };
    if (a == "--builder") options.builder = value();
    else if (a == "--split") split = value();
    else if (a == "--cache_dir") options.cache_dir = value();
    else if (a == "--output") output = value();
    else if (a == "--field") options.field = value();
    else if (a == "--sample_by") options.sample_by = value();
    else if (a == "--keep_linebreaks") options.keep_linebreaks = true;
    else if (a == "--data_files") {
      files.push_back(value());
      while (i + 1 < args.size() && !starts_with(args[i + 1], "--")) files.push_back(args[++i]);
    } else {
      throw InputError(a, "unknown option for `tcpp dataset convert`");
    }
  }
  if (files.empty()) throw InputError("--data_files", "at least one file is required");
  if (output.empty()) throw InputError("--output", "the output folder is required");
  options.data_files[split] = files;
  Dataset d = datasets::load_dataset(options).at(split);
  d.save_to_disk(output);
  std::fprintf(stderr, "wrote %lld rows (%s) to %s\n", static_cast<long long>(d.num_rows()),
               join(d.column_names(), ", ").c_str(), output.c_str());
  return 0;
}

int run_dataset(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::printf("%s", kUsage);
    return args.empty() ? 2 : 0;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (std::find(rest.begin(), rest.end(), "--help") != rest.end()) {
    std::printf("%s", kUsage);
    return 0;
  }
  if (args[0] == "show") return run_show(rest);
  if (args[0] == "convert") return run_convert(rest);
  std::fprintf(stderr, "tcpp dataset: unknown subcommand %s\n%s", quote(args[0]).c_str(), kUsage);
  return 2;
}

const bool kRegistered = register_command(
    {"dataset", "show Arrow files / saved datasets; convert text, JSON, CSV or Parquet files to a saved dataset", run_dataset});

}  // namespace
}  // namespace tcpp::tools
