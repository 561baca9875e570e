// HfArgumentParser: command-line and JSON-file parsing over the argument structs' field tables.
#include "tcpp/args/hf_argument_parser.h"

#include <map>
#include <sstream>

#include "tcpp/core/error.h"
#include "tcpp/core/strings.h"

namespace tcpp::args {
namespace {

struct Group {
  const char* title;
  std::vector<FieldRef> fields;
};

std::vector<Group> groups(Script script, ParsedArguments& p) {
  return {{"ModelArguments", p.model_args.fields()},
          {"DataTrainingArguments", p.data_args.fields(script)},
          {"TrainingArguments", p.training_args.fields()}};
}

// One spelling of an option on the command line.
struct Option {
  FieldRef* field;
  bool negated;  // --no_<name>: sets a bool to false
};

std::string dashed(const std::string& name) {
  std::string d = name;
  for (char& c : d)
    if (c == '_') c = '-';
  return d;
}

std::map<std::string, Option> option_table(std::vector<Group>& gs) {
  std::map<std::string, Option> table;
  for (auto& g : gs) {
    for (auto& f : g.fields) {
      std::vector<std::string> names = {f.spec.name};
      names.insert(names.end(), f.spec.aliases.begin(), f.spec.aliases.end());
      bool default_true = f.type == ValueType::kBool && f.get() == Json(true);
      for (const auto& n : names) {
        table["--" + n] = {&f, false};
        table["--" + dashed(n)] = {&f, false};
        if (default_true) {
          table["--no_" + n] = {&f, true};
          table["--no-" + dashed(n)] = {&f, true};
        }
      }
    }
  }
  return table;
}

bool looks_like_option(const std::string& tok) {
  if (tok.size() < 2 || tok[0] != '-') return false;
  // argparse treats "-1" / "-0.5" as values since no option here looks like a negative number.
  return !parse_double(tok).has_value();
}

void run_post_init(Script script, ParsedArguments& p) {
  {
    ModelArguments model_defaults;
    DataTrainingArguments data_defaults;
    for (auto w : no_effect_warnings(p.model_args.fields(), model_defaults.fields())) p.warnings.push_back(w);
    for (auto w : no_effect_warnings(p.data_args.fields(script), data_defaults.fields(script))) p.warnings.push_back(w);
  }
  p.model_args.post_init();
  p.data_args.post_init(script);
  auto w = p.training_args.post_init();
  p.warnings.insert(p.warnings.end(), w.begin(), w.end());
  if (script == Script::kClm && p.model_args.model_type) {
    const auto& ok = causal_lm_model_types();
    if (std::find(ok.begin(), ok.end(), *p.model_args.model_type) == ok.end())
      throw InputError("--model_type", "run_clm can build " + join(ok, ", ") + ", got " + quote(*p.model_args.model_type));
  }
  if (script == Script::kMlm && p.model_args.model_type) {
    const auto& ok = masked_lm_model_types();
    if (std::find(ok.begin(), ok.end(), *p.model_args.model_type) == ok.end())
      throw InputError("--model_type", "run_mlm can build " + join(ok, ", ") + ", got " + quote(*p.model_args.model_type));
  }
}

}  // namespace

Json ParsedArguments::to_json(Script script) {
  Json out = Json::object();
  Json m = Json::object(), d = Json::object();
  for (auto& f : model_args.fields()) m[f.spec.name] = f.get();
  for (auto& f : data_args.fields(script)) d[f.spec.name] = f.get();
  out["model_args"] = m;
  out["data_args"] = d;
  out["training_args"] = training_args.to_json();
  return out;
}

bool wants_help(const std::vector<std::string>& argv) {
  for (const auto& a : argv)
    if (a == "-h" || a == "--help") return true;
  return false;
}

ParsedArguments parse_args(Script script, const std::vector<std::string>& argv) {
  if (argv.size() == 1 && ends_with(argv[0], ".json") && !starts_with(argv[0], "-")) return parse_json_file(script, argv[0]);
  ParsedArguments p;
  auto gs = groups(script, p);
  auto table = option_table(gs);
  std::vector<std::string> all_names;
  for (const auto& [name, opt] : table)
    if (starts_with(name, "--") && name.find('-', 2) == std::string::npos) all_names.push_back(name);

  for (size_t i = 0; i < argv.size(); ++i) {
    std::string tok = argv[i];
    if (!starts_with(tok, "--")) {
      std::string msg = "unexpected argument " + quote(tok) + " (options start with --";
      if (i > 0) msg += "; the option before it, " + quote(argv[i - 1]) + ", takes no further values";
      throw InputError(msg + ")");
    }
    std::optional<std::string> inline_value;
    if (auto eq = tok.find('='); eq != std::string::npos) {
      inline_value = tok.substr(eq + 1);
      tok = tok.substr(0, eq);
    }
    auto it = table.find(tok);
    if (it == table.end()) {
      // argparse's allow_abbrev: a unique prefix of one field's option names.
      std::vector<std::string> matches;
      const FieldRef* target = nullptr;
      bool distinct = false;
      for (auto& [name, opt] : table) {
        if (!starts_with(name, tok)) continue;
        matches.push_back(name);
        if (target && target != opt.field) distinct = true;
        target = opt.field;
      }
      if (!matches.empty() && !distinct && !table.at(matches[0]).negated) {
        it = table.find(matches[0]);
      } else if (matches.size() > 1) {
        throw InputError(tok, "ambiguous option: could match " + join(matches, ", "));
      } else {
        std::string msg = "unknown option (not a field of ModelArguments, DataTrainingArguments or "
                          "TrainingArguments";
        msg += script == Script::kClm ? " for run_clm)" : " for run_mlm)";
        std::string bare = tok;
        for (char& c : bare)
          if (c == '-') c = '_';
        bare = "--" + bare.substr(std::min<size_t>(2, bare.size()));
        if (auto near = closest_match(bare, all_names)) msg += "; did you mean " + *near + "?";
        throw InputError(tok, msg);
      }
    }
    FieldRef& f = *it->second.field;
    const std::string where = tok;
    if (it->second.negated) {
      if (inline_value) throw InputError(where, "takes no value, got " + quote(*inline_value));
      f.set(Json(false), where);
      continue;
    }
    switch (f.type) {
      case ValueType::kBool: {
        // nargs="?", const=True: a following non-option token is the value.
        if (inline_value) {
          f.set(Json(*inline_value), where);
        } else if (i + 1 < argv.size() && !looks_like_option(argv[i + 1])) {
          f.set(Json(argv[++i]), where);
        } else {
          f.set(Json(true), where);
        }
        break;
      }
      case ValueType::kStringList: {
        Json values = Json::array();
        if (inline_value) values.push_back(*inline_value);
        while (i + 1 < argv.size() && !looks_like_option(argv[i + 1])) values.push_back(argv[++i]);
        if (values.empty()) throw InputError(where, "expected at least one value");
        f.set(values, where);
        break;
      }
      default: {
        std::string value;
        if (inline_value) {
          value = *inline_value;
        } else if (i + 1 < argv.size() && !looks_like_option(argv[i + 1])) {
          value = argv[++i];
        } else {
          throw InputError(where, "expected one argument (" + type_description(f.type) + ")");
        }
        f.set(Json(value), where);
      }
    }
  }
  run_post_init(script, p);
  return p;
}

ParsedArguments parse_json_file(Script script, const std::string& path) {
  Json j = read_json_file(path);
  if (!j.is_object()) throw InputError(path, "expected a JSON object mapping argument names to values");
  ParsedArguments p;
  auto gs = groups(script, p);
  std::map<std::string, FieldRef*> by_name;
  for (auto& g : gs)
    for (auto& f : g.fields) {
      by_name[f.spec.name] = &f;
      for (const auto& a : f.spec.aliases) by_name[a] = &f;
    }
  std::vector<std::string> unused;
  for (auto it = j.begin(); it != j.end(); ++it) {
    auto found = by_name.find(it.key());
    if (found == by_name.end()) {
      unused.push_back(it.key());
      continue;
    }
    found->second->set(it.value(), path + ": \"" + it.key() + "\"");
  }
  if (!unused.empty()) {
    std::vector<std::string> names;
    for (const auto& [n, f] : by_name) names.push_back(n);
    std::string msg = "some keys are not used by the HfArgumentParser: " + join(unused, ", ");
    if (auto near = closest_match(unused[0], names)) msg += " (did you mean \"" + *near + "\" for \"" + unused[0] + "\"?)";
    throw InputError(path, msg);
  }
  try {
    run_post_init(script, p);
  } catch (const InputError& e) {
    throw InputError(path, e.what());
  }
  return p;
}

std::string format_help(Script script, const std::string& prog) {
  ParsedArguments p;  // defaults
  auto gs = groups(script, p);
  std::ostringstream os;
  os << "usage: " << prog << " [--help] [OPTIONS...] | " << prog << " ARGS.json\n\n";
  os << "Options take `--name value` or `--name=value`; booleans also `--flag` and `--flag false`;\n"
        "booleans that default to true have `--no_<name>`. A single .json argument holds all fields.\n";
  for (auto& g : gs) {
    os << "\n" << g.title << ":\n";
    for (auto& f : g.fields) {
      std::string upper = f.spec.name;
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      std::string head = "  --" + f.spec.name;
      if (f.type == ValueType::kBool) head += " [" + upper + "]";
      else if (f.type == ValueType::kStringList) head += " " + upper + " [" + upper + " ...]";
      else if (!f.spec.choices.empty() && f.spec.choices.size() <= 12) head += " {" + join(f.spec.choices, ",") + "}";
      else head += " " + upper;
      os << head << "\n";
      std::string help = f.spec.help;
      if (!f.spec.supported)
        help += " [accepted for compatibility; no effect in trainer.cpp" +
                (f.spec.no_effect_reason.empty() ? std::string() : ": " + f.spec.no_effect_reason) + "]";
      if (!f.spec.aliases.empty()) help += " (also --" + join(f.spec.aliases, ", --") + ")";
      Json def = f.get();
      help += " (default: " + (def.is_null() ? std::string("None") : def.is_string() ? def.get<std::string>() : def.dump()) + ")";
      // Wrap at ~100 columns, indented like argparse.
      std::istringstream words(help);
      std::string word, line = "                        ";
      const size_t indent = line.size();
      while (words >> word) {
        if (line.size() + word.size() + 1 > 100 && line.size() > indent) {
          os << line << "\n";
          line = std::string(indent, ' ');
        }
        if (line.size() > indent) line += ' ';
        line += word;
      }
      os << line << "\n";
      if (f.type == ValueType::kBool && def == Json(true)) os << "  --no_" << f.spec.name << "\n";
    }
  }
  return os.str();
}

}  // namespace tcpp::args
