// `tcpp tokenize` / `tcpp detokenize`: encode text files to JSON Lines of ids (and back) with a tokenizer.json or model folder.
// tcpp-needs: tcpp_tokenizers tcpp_datasets
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "command.h"
#include "tcpp/core/error.h"
#include "tcpp/core/file.h"
#include "tcpp/core/json.h"
#include "tcpp/core/strings.h"
#include "tcpp/tokenizers/auto_tokenizer.h"
#include "tcpp/datasets/dataset.h"
#include "tcpp/tokenizers/dataset_texts.h"
#include "tcpp/tokenizers/trainers.h"
#include "tcpp/tokenizers/unicode.h"

namespace tcpp::tools {
namespace {

using tokenizers::EncodeInput;
using tokenizers::Encoding;
using tokenizers::PreTrainedTokenizer;

constexpr const char* kTokenizeUsage =
    "usage: tcpp tokenize --tokenizer PATH --input FILE [--output FILE] [--add_special_tokens true|false]\n"
    "                     [--max_length N] [--truncation] [--padding max_length|longest] [--return_offsets]\n"
    "                     [--num_threads N]\n"
    "  PATH: a tokenizer.json or a model folder (tokenizer.json, vocab.json + merges.txt, or vocab.txt).\n"
    "  FILE: .txt (one text per line) or .jsonl ({\"text\": ..., optional \"text_pair\": ...} per line).\n"
    "  Writes JSON Lines in input order: {\"input_ids\", \"token_type_ids\", \"attention_mask\"} (+ \"offsets\").\n";

constexpr const char* kTrainUsage =
    "usage: tcpp tokenizer train --model bpe|wordpiece|unigram (--files F [F...] | --dataset DIR [--column NAME])\n"
    "                            --output DIR [--vocab_size N] [--min_frequency N] [--special_tokens T [T...]]\n"
    "                            [--limit_alphabet N] [--initial_alphabet CHARS] [--unk_token T] [--lowercase true|false]\n"
    "  Trains a tokenizer and writes DIR/tokenizer.json and DIR/tokenizer_config.json. Special tokens get the first ids.\n"
    "  bpe: byte-level BPE (as ByteLevelBPETokenizer), vocab_size 30000.\n"
    "  wordpiece: BERT uncased (as BertWordPieceTokenizer), vocab_size 30000, special tokens [PAD] [UNK] [CLS] [SEP]\n"
    "             [MASK] unless given, unk_token [UNK]; --lowercase false for a cased one.\n"
    "  unigram: SentencePiece unigram (as SentencePieceUnigramTokenizer), vocab_size 8000, unk_token <unk> (made\n"
    "           the first special token unless listed).\n"
    "  --files: text files, one text per line. --dataset: a saved dataset folder (save_to_disk), read --column\n"
    "  (default \"text\") in batches of 1000 rows.\n";

constexpr const char* kDetokenizeUsage =
    "usage: tcpp detokenize --tokenizer PATH --input FILE [--output FILE] [--skip_special_tokens]\n"
    "                       [--clean_up_tokenization_spaces]\n"
    "  FILE: JSON Lines, each {\"input_ids\": [...]} or a bare [...]; writes {\"text\": ...} per line.\n";

struct Flags {
  std::vector<std::pair<std::string, std::string>> values;
  std::vector<std::string> all(const std::string& name) const {
    std::vector<std::string> out;
    for (const auto& [k, v] : values)
      if (k == name) out.push_back(v);
    return out;
  }
  const std::string* get(const std::string& name) const {
    for (const auto& [k, v] : values)
      if (k == name) return &v;
    return nullptr;
  }
};

// Parse "--name value" and bare "--flag" (given in `switches`) arguments; unknown flags are errors.
Flags parse_flags(const std::vector<std::string>& args, const std::vector<std::string>& with_value,
                  const std::vector<std::string>& switches, const char* usage, const std::vector<std::string>& multi = {}) {
  Flags f;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    std::string name = starts_with(a, "--") ? a.substr(2) : "";
    std::string inline_value;
    bool has_inline = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_inline = true;
    }
    auto in = [&](const std::vector<std::string>& list) { return std::find(list.begin(), list.end(), name) != list.end(); };
    if (in(multi)) {  // --name v1 v2 ... (until the next --flag); each value is one entry
      if (has_inline) f.values.emplace_back(name, inline_value);
      while (i + 1 < args.size() && !starts_with(args[i + 1], "--")) f.values.emplace_back(name, args[++i]);
    } else if (in(with_value)) {
      if (!has_inline && i + 1 >= args.size()) throw InputError("--" + name, "expects a value");
      f.values.emplace_back(name, has_inline ? inline_value : args[++i]);
    } else if (in(switches)) {
      std::string v = "true";
      if (has_inline) v = inline_value;
      else if (i + 1 < args.size() && parse_bool(args[i + 1])) v = args[++i];
      f.values.emplace_back(name, v);
    } else {
      std::vector<std::string> known = with_value;
      known.insert(known.end(), multi.begin(), multi.end());
      known.insert(known.end(), switches.begin(), switches.end());
      std::string msg = "unknown argument " + quote(a);
      if (auto near = closest_match(name, known)) msg += " (did you mean --" + *near + "?)";
      throw InputError(msg + "\n" + usage);
    }
  }
  return f;
}

bool flag_bool(const Flags& f, const std::string& name, bool fallback) {
  const std::string* v = f.get(name);
  if (!v) return fallback;
  auto b = parse_bool(*v);
  if (!b) throw InputError("--" + name, "expected true or false, got " + quote(*v));
  return *b;
}

const std::string& required(const Flags& f, const char* name, const char* usage) {
  const std::string* v = f.get(name);
  if (!v) throw InputError(std::string("missing --") + name + "\n" + usage);
  return *v;
}

std::vector<std::string> read_lines(const std::string& path) {
  std::string text = read_file(path);
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    pos = nl == std::string::npos ? text.size() : nl + 1;
  }
  return lines;
}

std::vector<EncodeInput> read_inputs(const std::string& path) {
  bool jsonl = ends_with(to_lower(path), ".jsonl") || ends_with(to_lower(path), ".json");
  std::vector<EncodeInput> inputs;
  auto lines = read_lines(path);
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    int64_t line_no = static_cast<int64_t>(i + 1);
    if (size_t bad = tokenizers::unicode::find_invalid_utf8(line); bad != std::string_view::npos)
      throw InputError(path, line_no, "invalid UTF-8 at byte " + std::to_string(bad) + " of the line");
    if (!jsonl) {
      inputs.push_back(EncodeInput{line, std::nullopt});
      continue;
    }
    if (trim(line).empty()) continue;
    Json j = parse_json(line, path + ":" + std::to_string(line_no));
    if (!j.is_object() || !j.contains("text") || !j["text"].is_string())
      throw InputError(path, line_no, "expected an object with a string \"text\"");
    EncodeInput in{j["text"].get<std::string>(), std::nullopt};
    if (j.contains("text_pair") && !j["text_pair"].is_null()) {
      if (!j["text_pair"].is_string()) throw InputError(path, line_no, "\"text_pair\" must be a string");
      in.pair = j["text_pair"].get<std::string>();
    }
    inputs.push_back(std::move(in));
  }
  return inputs;
}

// Output goes to a file (written atomically) or stdout.
void write_output(const Flags& f, const std::string& content) {
  if (const std::string* out = f.get("output")) {
    write_file_atomic(*out, content);
  } else {
    std::fwrite(content.data(), 1, content.size(), stdout);
  }
}

template <typename T>
Json to_json_array(const std::vector<T>& v) {
  Json a = Json::array();
  for (const auto& x : v) a.push_back(x);
  return a;
}

int run_tokenize(const std::vector<std::string>& args) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::printf("%s", kTokenizeUsage);
    return 0;
  }
  Flags f = parse_flags(args, {"tokenizer", "input", "output", "add_special_tokens", "max_length", "padding", "num_threads"},
                        {"truncation", "return_offsets"}, kTokenizeUsage);
  auto pretrained = PreTrainedTokenizer::from_pretrained(required(f, "tokenizer", kTokenizeUsage));
  auto& tok = pretrained.tokenizer();
  std::vector<EncodeInput> inputs = read_inputs(required(f, "input", kTokenizeUsage));

  std::optional<int64_t> max_length;
  if (const std::string* m = f.get("max_length")) {
    auto v = parse_int(*m);
    if (!v || *v <= 0) throw InputError("--max_length", "expected a positive integer, got " + quote(*m));
    max_length = *v;
  }
  tok.set_truncation(std::nullopt);
  tok.set_padding(std::nullopt);
  if (flag_bool(f, "truncation", false)) {
    int64_t len = max_length ? *max_length : pretrained.model_max_length();
    if (len == tokenizers::kVeryLargeInteger) throw InputError("--truncation", "needs --max_length (the tokenizer sets no model_max_length)");
    tokenizers::TruncationParams t;
    t.max_length = static_cast<size_t>(len);
    t.direction = pretrained.truncation_side() == "left" ? tokenizers::TruncationDirection::kLeft : tokenizers::TruncationDirection::kRight;
    tok.set_truncation(t);
  }
  if (const std::string* p = f.get("padding")) {
    if (*p != "max_length" && *p != "longest") throw InputError("--padding", "expected max_length or longest, got " + quote(*p));
    auto pad_id = pretrained.pad_token_id();
    if (!pad_id) throw InputError("--padding", "the tokenizer has no pad token (set \"pad_token\" in tokenizer_config.json)");
    tokenizers::PaddingParams pp;
    pp.pad_id = *pad_id;
    pp.pad_token = *pretrained.special_tokens().pad_token;
    pp.direction = pretrained.padding_side() == "left" ? tokenizers::PaddingDirection::kLeft : tokenizers::PaddingDirection::kRight;
    if (*p == "max_length") {
      if (!max_length) throw InputError("--padding", "max_length padding needs --max_length");
      pp.strategy = tokenizers::PaddingStrategy::kFixed;
      pp.fixed_length = static_cast<size_t>(*max_length);
    }
    tok.set_padding(pp);
  }
  size_t threads = 0;
  if (const std::string* t = f.get("num_threads")) {
    auto v = parse_int(*t);
    if (!v || *v < 0) throw InputError("--num_threads", "expected a non-negative integer, got " + quote(*t));
    threads = static_cast<size_t>(*v);
  }
  bool offsets = flag_bool(f, "return_offsets", false);
  std::vector<Encoding> encodings = tok.encode_batch(inputs, flag_bool(f, "add_special_tokens", true), threads);
  std::string out;
  for (const auto& e : encodings) {
    OrderedJson j = OrderedJson::object();
    j["input_ids"] = e.ids;
    j["token_type_ids"] = e.type_ids;
    j["attention_mask"] = e.attention_mask;
    if (offsets) {
      OrderedJson o = OrderedJson::array();
      for (const auto& [s, t] : e.offsets) o.push_back({s, t});
      j["offsets"] = std::move(o);
    }
    out += j.dump();
    out += '\n';
  }
  write_output(f, out);
  return 0;
}

int run_detokenize(const std::vector<std::string>& args) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::printf("%s", kDetokenizeUsage);
    return 0;
  }
  Flags f = parse_flags(args, {"tokenizer", "input", "output"}, {"skip_special_tokens", "clean_up_tokenization_spaces"}, kDetokenizeUsage);
  auto pretrained = PreTrainedTokenizer::from_pretrained(required(f, "tokenizer", kDetokenizeUsage));
  const std::string& path = required(f, "input", kDetokenizeUsage);
  bool skip = flag_bool(f, "skip_special_tokens", false);
  bool clean = flag_bool(f, "clean_up_tokenization_spaces", pretrained.clean_up_tokenization_spaces());
  std::string out;
  auto lines = read_lines(path);
  for (size_t i = 0; i < lines.size(); ++i) {
    if (trim(lines[i]).empty()) continue;
    int64_t line_no = static_cast<int64_t>(i + 1);
    Json j = parse_json(lines[i], path + ":" + std::to_string(line_no));
    const Json* ids = &j;
    if (j.is_object()) {
      if (!j.contains("input_ids")) throw InputError(path, line_no, "expected {\"input_ids\": [...]} or a list of ids");
      ids = &j["input_ids"];
    }
    if (!ids->is_array()) throw InputError(path, line_no, "\"input_ids\" must be a list of ids");
    std::vector<uint32_t> v;
    for (size_t k = 0; k < ids->size(); ++k) {
      const Json& id = (*ids)[k];
      if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > UINT32_MAX)
        throw InputError(path, line_no, "id " + std::to_string(k) + " is not a non-negative integer: " + id.dump());
      v.push_back(id.get<uint32_t>());
    }
    OrderedJson o = OrderedJson::object();
    o["text"] = pretrained.decode(v, skip, clean);
    out += o.dump(-1, ' ', false, OrderedJson::error_handler_t::replace);
    out += '\n';
  }
  write_output(f, out);
  return 0;
}

size_t positive_flag(const Flags& f, const std::string& name, size_t fallback) {
  const std::string* v = f.get(name);
  if (!v) return fallback;
  auto n = parse_int(*v);
  if (!n || *n < 0) throw InputError("--" + name, "expected a non-negative integer, got " + quote(*v));
  return static_cast<size_t>(*n);
}

// tokenizer_config.json naming the usual roles of the special tokens given.
OrderedJson tokenizer_config(tokenizers::TrainerModel model, const std::vector<std::string>& special_tokens,
                             const std::optional<std::string>& unk_token, bool lowercase) {
  OrderedJson config = OrderedJson::object();
  config["tokenizer_class"] = "PreTrainedTokenizerFast";
  if (model == tokenizers::TrainerModel::kBpe) config["add_prefix_space"] = false;
  if (model == tokenizers::TrainerModel::kWordPiece) config["do_lower_case"] = lowercase;
  if (unk_token) config["unk_token"] = *unk_token;
  for (const auto& t : special_tokens) {
    if (t == "<|endoftext|>") {
      config["bos_token"] = t;
      config["eos_token"] = t;
      config["unk_token"] = t;
    } else if (t == "<pad>" || t == "[PAD]") {
      config["pad_token"] = t;
    } else if (t == "<mask>" || t == "[MASK]") {
      config["mask_token"] = t;
    } else if (t == "<unk>" || t == "[UNK]") {
      config["unk_token"] = t;
    } else if (t == "<s>") {
      config["bos_token"] = t;
    } else if (t == "</s>") {
      config["eos_token"] = t;
    } else if (t == "[CLS]") {
      config["cls_token"] = t;
    } else if (t == "[SEP]") {
      config["sep_token"] = t;
    }
  }
  return config;
}

int run_tokenizer(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::printf("%s", kTrainUsage);
    return args.empty() ? 1 : 0;
  }
  if (args[0] != "train") throw InputError("tcpp tokenizer: unknown subcommand " + quote(args[0]) + "\n" + kTrainUsage);
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (std::find(rest.begin(), rest.end(), "--help") != rest.end() || std::find(rest.begin(), rest.end(), "-h") != rest.end()) {
    std::printf("%s", kTrainUsage);
    return 0;
  }
  Flags f = parse_flags(rest,
                        {"model", "vocab_size", "min_frequency", "limit_alphabet", "initial_alphabet", "unk_token", "output",
                         "dataset", "column"},
                        {"lowercase"}, kTrainUsage, {"files", "special_tokens"});
  tokenizers::TokenizerTrainingOptions options;
  options.model = tokenizers::trainer_model_from_string(f.get("model") ? *f.get("model") : "bpe", "--model");
  std::vector<std::string> files = f.all("files");
  const std::string* dataset_dir = f.get("dataset");
  if (files.empty() == !dataset_dir) throw InputError(std::string("give either --files or --dataset\n") + kTrainUsage);
  if (f.get("column") && !dataset_dir) throw InputError("--column", "only applies with --dataset");
  const std::string& output = required(f, "output", kTrainUsage);
  if (f.get("vocab_size")) options.vocab_size = positive_flag(f, "vocab_size", 0);
  options.min_frequency = positive_flag(f, "min_frequency", 0);
  options.special_tokens = f.all("special_tokens");
  if (f.get("limit_alphabet")) options.limit_alphabet = positive_flag(f, "limit_alphabet", 0);
  if (const std::string* a = f.get("initial_alphabet")) {
    if (size_t bad = tokenizers::unicode::find_invalid_utf8(*a); bad != std::string::npos)
      throw InputError("--initial_alphabet", "invalid UTF-8 at byte " + std::to_string(bad));
    options.initial_alphabet = tokenizers::unicode::to_code_points(*a);
  }
  if (const std::string* u = f.get("unk_token")) options.unk_token = *u;
  options.lowercase = flag_bool(f, "lowercase", true);
  if (f.get("lowercase") && options.model != tokenizers::TrainerModel::kWordPiece)
    throw InputError("--lowercase", "only applies to --model wordpiece");
  if (options.model == tokenizers::TrainerModel::kWordPiece) {
    if (options.special_tokens.empty()) options.special_tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    if (!options.unk_token) options.unk_token = "[UNK]";
  }
  if (options.model == tokenizers::TrainerModel::kUnigram) {
    // Unlike SentencePieceUnigramTokenizer (no unk: unseen characters fail to encode), default to a special <unk>.
    if (!options.unk_token) options.unk_token = "<unk>";
    auto& st = options.special_tokens;
    if (std::find(st.begin(), st.end(), *options.unk_token) == st.end()) st.insert(st.begin(), *options.unk_token);
  }

  Json tokenizer;
  if (dataset_dir) {
    datasets::Dataset ds = datasets::Dataset::load_from_disk(*dataset_dir);
    std::string column = f.get("column") ? *f.get("column") : "text";
    tokenizer = tokenizers::train_tokenizer(tokenizers::dataset_column_source(ds, column), options);
  } else {
    tokenizer = tokenizers::train_tokenizer_from_files(files, options);
  }
  std::filesystem::create_directories(output);
  write_file_atomic(output + "/tokenizer.json", tokenizer.dump(2));
  std::optional<std::string> unk = options.model == tokenizers::TrainerModel::kBpe ? std::nullopt : options.unk_token;
  write_file_atomic(output + "/tokenizer_config.json", tokenizer_config(options.model, options.special_tokens, unk, options.lowercase).dump(2) + "\n");
  std::fprintf(stderr, "wrote %s/tokenizer.json (%zu tokens)\n", output.c_str(), tokenizer["model"]["vocab"].size());
  return 0;
}

const bool kTokenize = register_command({"tokenize", "encode a .txt/.jsonl file to JSON Lines of token ids", run_tokenize});
const bool kDetokenize = register_command({"detokenize", "decode JSON Lines of token ids back to text", run_detokenize});
const bool kTokenizer = register_command({"tokenizer", "train a tokenizer: tcpp tokenizer train --model bpe|wordpiece|unigram ...", run_tokenizer});

}  // namespace
}  // namespace tcpp::tools
