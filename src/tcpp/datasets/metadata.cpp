// Dataset card YAML through libyaml (the parser PyYAML wraps), with safe_load's YAML 1.1 scalar resolution.
#include "tcpp/datasets/metadata.h"

#include <yaml.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <memory>

#include "tcpp/core/error.h"
#include "tcpp/core/file.h"
#include "tcpp/core/strings.h"

namespace tcpp::datasets {
namespace fs = std::filesystem;
namespace {

// A document may nest this deep and hold this many nodes once aliases are expanded (a "billion laughs" card is an
// error, not a hang).
constexpr int kMaxDepth = 64;
constexpr int64_t kMaxNodes = 1'000'000;

// PyYAML's SafeLoader implicit resolvers for plain scalars (resolver.py, YAML 1.1), matched by hand:
// std::regex recurses once per character and a long plain scalar (a 60k-digit number) would overflow the
// stack.
bool is_one_of(const std::string& s, std::initializer_list<const char*> words) {
  for (const char* w : words)
    if (s == w) return true;
  return false;
}
bool is_dec(char c) { return c >= '0' && c <= '9'; }
size_t sign_length(const std::string& s) { return !s.empty() && (s[0] == '-' || s[0] == '+') ? 1 : 0; }
// Advances i over the characters that digit (or '_') accepts; returns how many it passed.
template <typename Digit>
size_t skip_digits(const std::string& s, size_t& i, Digit digit) {
  const size_t from = i;
  while (i < s.size() && (s[i] == '_' || digit(s[i]))) ++i;
  return i - from;
}
// [-+]?(0|[1-9][0-9_]*)
bool is_yaml_int(const std::string& s) {
  size_t i = sign_length(s);
  if (i == s.size()) return false;
  if (s[i] == '0') return i + 1 == s.size();
  if (!is_dec(s[i])) return false;
  skip_digits(s, ++i, is_dec);
  return i == s.size();
}
// [-+]?<prefix>[<digits>_]+ (octal "0", binary "0b", hexadecimal "0x")
template <typename Digit>
bool is_prefixed_int(const std::string& s, const char* prefix, Digit digit) {
  size_t i = sign_length(s);
  const size_t n = std::strlen(prefix);
  if (s.compare(i, n, prefix) != 0) return false;
  i += n;
  return skip_digits(s, i, digit) > 0 && i == s.size();
}
// ([eE][-+][0-9]+)? up to the end
bool is_exponent_to_end(const std::string& s, size_t i) {
  if (i == s.size()) return true;
  if (s[i] != 'e' && s[i] != 'E') return false;
  if (++i == s.size() || (s[i] != '-' && s[i] != '+')) return false;
  const size_t from = ++i;
  while (i < s.size() && is_dec(s[i])) ++i;
  return i > from && i == s.size();
}
// [-+]?[0-9][0-9_]*\.[0-9_]*<exp>?  or  \.[0-9][0-9_]*<exp>?
bool is_yaml_float(const std::string& s) {
  size_t i = 0;
  if (s.size() > 1 && s[0] == '.') {
    if (!is_dec(s[1])) return false;
    i = 2;
    skip_digits(s, i, is_dec);
    return is_exponent_to_end(s, i);
  }
  i = sign_length(s);
  if (i == s.size() || !is_dec(s[i])) return false;
  skip_digits(s, ++i, is_dec);
  if (i == s.size() || s[i] != '.') return false;
  skip_digits(s, ++i, is_dec);
  return is_exponent_to_end(s, i);
}
// [-+]?<first>[0-9_]*(:[0-5]?[0-9])+, then the end (int) or \.[0-9_]* (float)
bool is_sexagesimal(const std::string& s, bool fraction) {
  size_t i = sign_length(s);
  if (i == s.size() || !is_dec(s[i]) || (!fraction && s[i] == '0')) return false;
  skip_digits(s, ++i, is_dec);
  size_t groups = 0;
  while (i < s.size() && s[i] == ':') {
    size_t n = 0;
    while (i + 1 + n < s.size() && is_dec(s[i + 1 + n])) ++n;
    if (n == 0 || n > 2 || (n == 2 && s[i + 1] > '5')) return false;
    i += 1 + n;
    ++groups;
  }
  if (groups == 0) return false;
  if (!fraction) return i == s.size();
  if (i == s.size() || s[i] != '.') return false;
  skip_digits(s, ++i, is_dec);
  return i == s.size();
}

Json resolve_plain_scalar(const std::string& s) {
  if (is_one_of(s, {"~", "null", "Null", "NULL", ""})) return nullptr;
  if (is_one_of(s, {"yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"})) return true;
  if (is_one_of(s, {"no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"})) return false;
  std::string digits;
  for (char c : s)
    if (c != '_') digits += c;
  // construct_yaml_int: the sign, then a base from the prefix.
  auto integer = [&](size_t prefix, int base) -> Json {
    const bool negative = digits[0] == '-';
    const size_t sign = (digits[0] == '-' || digits[0] == '+') ? 1 : 0;
    const std::string body = digits.substr(sign + prefix);
    if (body.empty()) return prefix == 1 ? Json(0) : Json(s);  // "0_" is 0; "0x_" has no digits (PyYAML fails)
    const long long v = std::stoll(body, nullptr, base);
    return negative ? -v : v;
  };
  try {
    if (is_yaml_int(s)) return integer(0, 10);
    if (is_prefixed_int(s, "0b", [](char c) { return c == '0' || c == '1'; })) return integer(2, 2);
    if (is_prefixed_int(s, "0x", [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }))
      return integer(2, 16);
    if (is_prefixed_int(s, "0", [](char c) { return c >= '0' && c <= '7'; })) return integer(1, 8);
    // Python's float(): out of range is inf or 0.0, not an error (strtod's ERANGE result).
    const auto to_double = [](const std::string& d) { return std::strtod(d.c_str(), nullptr); };
    if (is_yaml_float(s)) return to_double(digits);
    // Base 60 ("1:30" is 90), as YAML 1.1 and PyYAML read it.
    const bool negative = digits[0] == '-';
    if (is_sexagesimal(s, false)) {  // a Python int: kept as written beyond 64 bits
      long long value = 0;
      for (const auto& p : split(digits.substr(sign_length(digits)), ':'))
        if (__builtin_mul_overflow(value, 60LL, &value) ||
            __builtin_add_overflow(value, std::stoll(p), &value))
          return s;
      return negative ? -value : value;
    }
    if (is_sexagesimal(s, true)) {
      double value = 0;
      for (const auto& p : split(digits.substr(sign_length(digits)), ':')) value = value * 60 + to_double(p);
      return negative ? -value : value;
    }
  } catch (const std::logic_error&) {  // out of range for 64 bits, or no digits left ("0x_"): kept as written
    return s;
  }
  if (is_one_of(s.substr(sign_length(s)), {".inf", ".Inf", ".INF"})) return s[0] == '-' ? -HUGE_VAL : HUGE_VAL;
  if (is_one_of(s, {".nan", ".NaN", ".NAN"})) return std::nan("");
  return s;
}

// Nodes a value holds (itself included), counted up to limit.
int64_t count_nodes(const Json& v, int64_t limit) {
  int64_t n = 1;
  if (v.is_array() || v.is_object())
    for (const auto& e : v) {
      if (n > limit) break;
      n += count_nodes(e, limit - n);
    }
  return n;
}

// Builds JSON from libyaml's events (the events say whether a plain scalar was untagged, which the document API
// hides), as PyYAML's composer + SafeConstructor: anchors and aliases expanded, typed keys written as text.
class JsonBuilder {
 public:
  explicit JsonBuilder(std::string where) : where_(std::move(where)) {}

  void scalar(const yaml_event_t& e) {
    const std::string value(reinterpret_cast<const char*>(e.data.scalar.value), e.data.scalar.length);
    const char* tag = reinterpret_cast<const char*>(e.data.scalar.tag);
    const bool plain = e.data.scalar.style == YAML_PLAIN_SCALAR_STYLE && e.data.scalar.plain_implicit;
    const bool explicit_str = tag && std::string(tag) == YAML_STR_TAG;
    Json v = plain && !explicit_str ? resolve_plain_scalar(value) : Json(value);
    if (tag && !explicit_str && !plain) v = resolve_plain_scalar(value);  // "!!int '3'"
    count(e, 1);
    anchor(e.data.scalar.anchor, v);
    add(std::move(v));
  }
  void start(const yaml_event_t& e, bool mapping) {
    count(e, 1);
    if (static_cast<int>(stack_.size()) >= kMaxDepth)
      throw InputError(where_ + ":" + std::to_string(e.start_mark.line + 1),
                       "the YAML nests deeper than " + std::to_string(kMaxDepth) + " levels");
    const yaml_char_t* a = mapping ? e.data.mapping_start.anchor : e.data.sequence_start.anchor;
    stack_.push_back({mapping ? Json::object() : Json::array(), std::nullopt,
                      a ? std::string(reinterpret_cast<const char*>(a)) : std::string()});
  }
  void end() {
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    // SafeConstructor's merge key: "<<: *base" (or a list of them) adds the keys the mapping does not set itself.
    if (f.value.is_object() && f.value.contains("<<")) {
      Json merge = std::move(f.value["<<"]);
      f.value.erase("<<");
      if (merge.is_object()) merge = Json::array({merge});
      if (!merge.is_array())
        throw InputError(where_, "a merge key (<<) must name a mapping or a list of mappings, got " + merge.dump());
      for (const auto& m : merge) {
        if (!m.is_object())
          throw InputError(where_, "a merge key (<<) must name a mapping or a list of mappings, got " + m.dump());
        for (const auto& [k, v] : m.items())
          if (!f.value.contains(k)) f.value[k] = v;
      }
    }
    if (!f.anchor.empty()) anchors_[f.anchor] = f.value;
    add(std::move(f.value));
  }
  void alias(const yaml_event_t& e) {
    const std::string name = reinterpret_cast<const char*>(e.data.alias.anchor);
    const auto it = anchors_.find(name);
    if (it == anchors_.end())
      throw InputError(where_ + ":" + std::to_string(e.start_mark.line + 1), "unknown alias *" + name);
    count(e, count_nodes(it->second, kMaxNodes - nodes_ + 1));
    add(Json(it->second));
  }
  Json take() { return std::move(root_); }

 private:
  struct Frame {
    Json value;
    std::optional<std::string> key;
    std::string anchor;
  };

  void count(const yaml_event_t& e, int64_t n) {
    nodes_ += n;
    if (nodes_ > kMaxNodes)
      throw InputError(where_ + ":" + std::to_string(e.start_mark.line + 1),
                       "the YAML expands (through aliases) to more than " + std::to_string(kMaxNodes) + " nodes");
  }
  void anchor(const yaml_char_t* a, const Json& v) {
    if (a) anchors_[reinterpret_cast<const char*>(a)] = v;
  }
  void add(Json v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return;
    }
    Frame& top = stack_.back();
    if (top.value.is_array()) {
      top.value.push_back(std::move(v));
    } else if (!top.key) {
      top.key = v.is_string() ? v.get<std::string>() : v.dump();  // PyYAML keeps typed keys; JSON needs text
    } else {
      top.value[*top.key] = std::move(v);
      top.key.reset();
    }
  }

  std::string where_;
  std::vector<Frame> stack_;
  std::map<std::string, Json> anchors_;
  Json root_;
  int64_t nodes_ = 0;
};

// huggingface_hub's REGEX_YAML_BLOCK, ^(\s*---[\r\n]+)([\S\s]*?)([\r\n]+---(\r\n|\n|$)), by hand (a recursive
// std::regex would overflow the stack on a long card): the text between a leading "---" line and the next "---".
std::optional<std::string> front_matter(const std::string& text) {
  size_t i = 0;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  if (text.compare(i, 3, "---") != 0) return std::nullopt;
  i += 3;
  const size_t newlines = text.find_first_not_of("\r\n", i);
  if (newlines == i) return std::nullopt;  // "---" must end its line
  const size_t begin = newlines == std::string::npos ? text.size() : newlines;
  // The shortest body: the first [\r\n]+--- after it that ends a line (or the text).
  for (size_t j = begin; j < text.size(); ++j) {
    if (text[j] != '\r' && text[j] != '\n') continue;
    size_t k = j;
    while (k < text.size() && (text[k] == '\r' || text[k] == '\n')) ++k;
    if (text.compare(k, 3, "---") == 0) {
      const size_t after = k + 3;
      if (after == text.size() || text[after] == '\n' || text.compare(after, 2, "\r\n") == 0)
        return text.substr(begin, j - begin);
    }
    j = k - 1;
  }
  return std::nullopt;
}

std::string as_text(const Json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

}  // namespace

Json parse_yaml(const std::string& text, const std::string& where) {
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) throw InputError(where, "cannot start the YAML parser (out of memory)");
  std::unique_ptr<yaml_parser_t, void (*)(yaml_parser_t*)> parser_guard(&parser, yaml_parser_delete);
  yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  JsonBuilder builder(where);
  for (;;) {
    yaml_event_t e;
    if (!yaml_parser_parse(&parser, &e)) {
      const auto& mark = parser.problem ? parser.problem_mark : parser.context_mark;
      throw InputError(where + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1),
                       std::string("malformed YAML: ") + (parser.problem ? parser.problem : "unknown error") +
                           (parser.context ? std::string(" ") + parser.context : std::string()));
    }
    std::unique_ptr<yaml_event_t, void (*)(yaml_event_t*)> event_guard(&e, yaml_event_delete);
    switch (e.type) {
      case YAML_SCALAR_EVENT: builder.scalar(e); break;
      case YAML_SEQUENCE_START_EVENT: builder.start(e, /*mapping=*/false); break;
      case YAML_MAPPING_START_EVENT: builder.start(e, /*mapping=*/true); break;
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT: builder.end(); break;
      case YAML_ALIAS_EVENT: builder.alias(e); break;
      case YAML_DOCUMENT_END_EVENT:
      case YAML_STREAM_END_EVENT: return builder.take();  // safe_load: the first document
      default: break;
    }
  }
}

Json parse_dataset_card(const std::string& readme_text, const std::string& where) {
  const auto yaml = front_matter(readme_text);
  if (!yaml) return Json::object();
  Json data = parse_yaml(*yaml, where);
  if (data.is_null()) return Json::object();
  if (!data.is_object())
    throw InputError(where, "the YAML metadata block must be a mapping, got " + std::string(data.type_name()));
  return data;
}

Json dataset_card_data(const std::string& dir) {
  Json card = Json::object();
  const fs::path readme = fs::path(dir) / "README.md";
  std::error_code ec;
  if (fs::is_regular_file(readme, ec)) card = parse_dataset_card(read_file(readme.string()), readme.string());
  const fs::path standalone = fs::path(dir) / ".huggingface.yaml";
  if (fs::is_regular_file(standalone, ec)) {
    Json data = parse_yaml(read_file(standalone.string()), standalone.string());
    if (!data.is_null() && !data.is_object())
      throw InputError(standalone.string(), "expected a YAML mapping, got " + std::string(data.type_name()));
    if (data.is_object()) card.update(data);
  }
  return card;
}

std::vector<MetadataConfig> metadata_configs(const Json& card, const std::string& where) {
  std::vector<MetadataConfig> out;
  const auto it = card.find("configs");
  if (it == card.end() || it->is_null()) return out;
  if (!it->is_array()) throw InputError(where, "\"configs\" must be a list of configurations, got " + it->dump());
  for (size_t i = 0; i < it->size(); ++i) {
    const Json& c = (*it)[i];
    const std::string at = where + ": configs[" + std::to_string(i) + "]";
    if (!c.is_object() || !c.contains("config_name") || c["config_name"].is_null())
      throw InputError(at, "expected a mapping with a \"config_name\", got " + c.dump());
    MetadataConfig m{as_text(c["config_name"]), c};
    m.params.erase("config_name");
    // _raise_if_data_files_field_not_valid: a pattern, a list of patterns, or a list of {split, path}.
    if (const auto df = m.params.find("data_files"); df != m.params.end() && !df->is_null()) {
      bool valid = df->is_string() || df->is_array();
      if (df->is_array())
        for (const auto& e : *df)
          valid = valid && (e.is_string() || (e.is_object() && e.size() == 2 && e.contains("split") &&
                                               e.contains("path") && (e["path"].is_string() || e["path"].is_array())));
      if (!valid)
        throw InputError(at + ".data_files", "expected a pattern, a list of patterns or a list of {split, path} "
                                             "mappings, got " + df->dump());
    }
    out.push_back(std::move(m));
  }
  return out;
}

std::optional<std::string> default_config_name(const std::vector<MetadataConfig>& configs, const std::string& where) {
  std::optional<std::string> found;
  for (const auto& c : configs) {
    const bool marked = c.params.value("default", Json(false)) == Json(true);
    if (configs.size() == 1 || c.name == "default" || marked) {
      if (found)
        throw InputError(where, "several default configurations: " + quote(*found) + " and " + quote(c.name));
      found = c.name;
    }
  }
  return found;
}

}  // namespace tcpp::datasets
