// `tcpp dataset show|convert`: inspect Arrow files and saved datasets; convert text/json files (load_dataset + save_to_disk).
// tcpp-needs: tcpp_datasets tcpp_tokenizers
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "command.h"
#include "tcpp/core/error.h"
#include "tcpp/core/json.h"
#include "tcpp/core/strings.h"
#include "tcpp/datasets/arrow/ipc.h"
#include "tcpp/datasets/dataset.h"
#include "tcpp/datasets/load.h"
#include "tcpp/tokenizers/auto_tokenizer.h"

namespace tcpp::tools {
namespace {

namespace fs = std::filesystem;
using datasets::Dataset;

constexpr const char* kUsage =
    "usage:\n"
    "  tcpp dataset show PATH [--rows N|all] [--format jsonl|table] [--tokenizer DIR]\n"
    "      PATH: a save_to_disk folder (Dataset or DatasetDict) or one Arrow IPC file (stream or file format).\n"
    "      Prints the schema, then the first N rows (default 10). With --format jsonl stdout holds only the\n"
    "      rows, one JSON object each (the schema goes to stderr). --tokenizer DIR (a model or tokenizer folder,\n"
    "      or tokenizer.json) decodes the token-id columns (input_ids, labels, *_input_ids) to text: below the\n"
    "      table, or as \"<column>_decoded\" keys in JSON Lines (labels of -100 are left out).\n"
    "  tcpp dataset convert [--builder text|json|csv|parquet|arrow] --data_files F [F...] --output DIR\n"
    "      [--split NAME] [--cache_dir D] [--keep_linebreaks] [--sample_by line|paragraph|document] [--field KEY]\n"
    "      load_dataset + save_to_disk: writes DIR in Hugging Face datasets' layout. Without --builder the\n"
    "      builder comes from the first file's extension (.txt, .json/.jsonl, .csv/.tsv, .parquet, .arrow).\n"
    "      Compressed files (gzip, bzip2, xz, zstd, lz4: data.jsonl.gz) are read as the file they hold.\n";

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

// Columns of token ids that --tokenizer decodes.
bool is_token_id_column(const std::string& name) {
  return name == "input_ids" || name == "labels" || name == "label_ids" || ends_with(name, "_input_ids");
}

// The text of one row's token ids (labels' -100 left out); an id outside the vocabulary names row and column.
template <typename JsonT>  // Json or OrderedJson
std::string decode_ids(const tokenizers::PreTrainedTokenizer& tok, const JsonT& ids, const std::string& where) {
  std::vector<uint32_t> v;
  for (const auto& id : ids) {
    if (!id.is_number_integer()) throw InputError(where, "expected integer token ids, got " + id.dump());
    const int64_t x = id.template get<int64_t>();
    if (x == -100) continue;  // ignored label positions
    if (x < 0 || x >= static_cast<int64_t>(tok.size()))
      throw InputError(where, "token id " + std::to_string(x) + " is outside the tokenizer's vocabulary of " +
                                  std::to_string(tok.size()) + " (was the dataset made with another tokenizer?)");
    v.push_back(static_cast<uint32_t>(x));
  }
  return tok.decode(v, /*skip_special_tokens=*/false, /*clean_up_tokenization_spaces=*/false);
}

void show_dataset(const Dataset& d, const std::string& title, int64_t rows, bool jsonl,
                  const tokenizers::PreTrainedTokenizer* tok) {
  // The token-id columns to decode: list columns with a token-id name.
  std::vector<std::string> id_columns;
  if (tok) {
    for (const auto& name : d.column_names())
      if (is_token_id_column(name)) id_columns.push_back(name);
  }
  auto where = [&](int64_t row, const std::string& column) {
    return (title.empty() ? std::string() : title + " ") + "row " + std::to_string(row) + ", column \"" + column + "\"";
  };
  std::FILE* meta = jsonl ? stderr : stdout;
  std::fprintf(meta, "%s%srows: %lld\n%s", title.c_str(), title.empty() ? "" : " ",
               static_cast<long long>(d.num_rows()), d.schema().to_string().c_str());
  int64_t n = rows < 0 ? d.num_rows() : std::min(rows, d.num_rows());
  if (jsonl) {
    for (int64_t i = 0; i < n; ++i) {
      OrderedJson row = ordered_row(d, i);
      if (!id_columns.empty()) {  // "<column>_decoded" right after each token-id column
        OrderedJson out = OrderedJson::object();
        for (auto it = row.begin(); it != row.end(); ++it) {
          out[it.key()] = it.value();
          if (std::find(id_columns.begin(), id_columns.end(), it.key()) != id_columns.end() && it.value().is_array())
            out[it.key() + "_decoded"] = decode_ids(*tok, it.value(), where(i, it.key()));
        }
        row = std::move(out);
      }
      std::printf("%s\n", dump_row(row).c_str());
    }
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
  if (id_columns.empty() || n == 0) return;
  // A few decoded examples, whole (the table cuts cells at 40 characters); text as JSON strings, so line breaks
  // and spaces at the ends show.
  std::printf("\ndecoded:\n");
  for (int64_t i = 0; i < n; ++i) {
    Json row = d.row(i);
    for (const auto& column : id_columns) {
      const Json& ids = row[column];
      if (!ids.is_array()) continue;
      if (column != "input_ids" && row.contains("input_ids") && ids == row["input_ids"]) {
        std::printf("[%lld] %s: = input_ids\n", static_cast<long long>(i), column.c_str());
        continue;
      }
      const Json text = decode_ids(*tok, ids, where(i, column));
      std::printf("[%lld] %s: %s\n", static_cast<long long>(i), column.c_str(),
                  text.dump(-1, ' ', false, Json::error_handler_t::replace).c_str());
    }
  }
}

int run_show(const std::vector<std::string>& args) {
  std::string path, format = "table", tokenizer_path;
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
    } else if (a == "--tokenizer") {
      tokenizer_path = value();
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
  std::optional<tokenizers::PreTrainedTokenizer> tok;
  if (!tokenizer_path.empty()) tok = tokenizers::PreTrainedTokenizer::from_pretrained(tokenizer_path);
  const tokenizers::PreTrainedTokenizer* decoder = tok ? &*tok : nullptr;
  if (fs::is_directory(path) && fs::exists(fs::path(path) / "dataset_dict.json")) {
    for (const auto& [split, d] : datasets::load_dataset_dict_from_disk(path)) show_dataset(d, "[" + split + "]", rows, jsonl, decoder);
  } else if (fs::is_directory(path)) {
    show_dataset(Dataset::load_from_disk(path), "", rows, jsonl, decoder);
  } else {
    datasets::arrow::IpcFormat format_found;
    datasets::arrow::read_ipc_file(path, &format_found);  // validates and detects the flavour
    std::fprintf(jsonl ? stderr : stdout, "Arrow IPC %s format\n",
                 format_found == datasets::arrow::IpcFormat::kFile ? "file" : "stream");
    show_dataset(Dataset::from_files({path}), "", rows, jsonl, decoder);
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
