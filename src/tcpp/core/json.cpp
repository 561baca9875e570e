// JSON helpers: file:line:column errors and Python-compatible dumps (json.dump(indent, sort_keys=True)).
#include "tcpp/core/json.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <optional>
#include <vector>

#include "tcpp/core/error.h"
#include "tcpp/core/file.h"

namespace tcpp {
namespace {

// Line and column (1-based) of a byte offset in text.
std::pair<size_t, size_t> line_col(std::string_view text, size_t offset) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return {line, col};
}

void append_escaped(std::string& out, const std::string& s) {
  // Python's json.dumps uses ensure_ascii=True by default: non-ASCII becomes \uXXXX (UTF-16 surrogates).
  out += '"';
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
          if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    // Decode one UTF-8 sequence (nlohmann has already validated the string on parse or dump).
    uint32_t cp = 0;
    int extra = 0;
    if ((c & 0xE0) == 0xC0) { cp = c & 0x1F; extra = 1; }
    else if ((c & 0xF0) == 0xE0) { cp = c & 0x0F; extra = 2; }
    else if ((c & 0xF8) == 0xF0) { cp = c & 0x07; extra = 3; }
    else { cp = 0xFFFD; extra = 0; }
    for (int k = 0; k < extra && i + 1 + k < s.size(); ++k)
      cp = (cp << 6) | (static_cast<unsigned char>(s[i + 1 + k]) & 0x3F);
    i += 1 + extra;
    char buf[16];
    if (cp >= 0x10000) {
      uint32_t v = cp - 0x10000;
      std::snprintf(buf, sizeof buf, "\\u%04x\\u%04x", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
    } else {
      std::snprintf(buf, sizeof buf, "\\u%04x", cp);
    }
    out += buf;
  }
  out += '"';
}

void dump_rec(const Json& v, int indent, int depth, std::string& out) {
  auto newline = [&](int d) {
    if (indent < 0) return;
    out += '\n';
    out.append(static_cast<size_t>(indent * d), ' ');
  };
  switch (v.type()) {
    case Json::value_t::null: out += "null"; break;
    case Json::value_t::boolean: out += v.get<bool>() ? "true" : "false"; break;
    case Json::value_t::number_integer: out += std::to_string(v.get<int64_t>()); break;
    case Json::value_t::number_unsigned: out += std::to_string(v.get<uint64_t>()); break;
    case Json::value_t::number_float: out += python_float_repr(v.get<double>()); break;
    case Json::value_t::string: append_escaped(out, v.get_ref<const std::string&>()); break;
    case Json::value_t::array: {
      if (v.empty()) { out += "[]"; break; }
      out += '[';
      bool first = true;
      for (const auto& e : v) {
        if (!first) out += indent < 0 ? ", " : ",";
        first = false;
        newline(depth + 1);
        dump_rec(e, indent, depth + 1, out);
      }
      newline(depth);
      out += ']';
      break;
    }
    case Json::value_t::object: {
      if (v.empty()) { out += "{}"; break; }
      out += '{';
      bool first = true;
      // nlohmann::json (not ordered_json) keeps keys in std::map order, i.e. sorted by bytes as Python sorts str.
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (!first) out += indent < 0 ? ", " : ",";
        first = false;
        newline(depth + 1);
        append_escaped(out, it.key());
        out += ": ";
        dump_rec(it.value(), indent, depth + 1, out);
      }
      newline(depth);
      out += '}';
      break;
    }
    default: out += "null"; break;
  }
}

}  // namespace

JsonErrorAt locate_json_error(const Json::exception& e, std::string_view text) {
  std::string what = e.what();
  if (const auto* pe = dynamic_cast<const Json::parse_error*>(&e)) {
    // nlohmann's message starts with "[json.exception.parse_error.101] parse error at line L, column C: ".
    auto pos = what.find(": ");
    if (pos != std::string::npos && what.find("parse error") < pos) what = what.substr(pos + 2);
    return {std::min<size_t>(pe->byte > 0 ? pe->byte - 1 : 0, text.size()), what};
  }
  // A number too large for a double ("1e400": out_of_range 406) carries no byte offset; locate its text.
  auto pos = what.find("] ");
  if (pos != std::string::npos) what = what.substr(pos + 2);
  size_t q = what.find('\''), q2 = what.rfind('\'');
  size_t at = q != std::string::npos && q2 > q ? text.find(what.substr(q + 1, q2 - q - 1)) : std::string::npos;
  return {at == std::string::npos ? 0 : at, what};
}

namespace {

// Python's json module writes NaN, Infinity and -Infinity for non-finite floats (and so do we, as HF's files
// do: an eval_loss over batches without a label is NaN) and reads them back; nlohmann refuses them. Outside
// strings, each becomes a marker string for the parse and a double again after it.
constexpr std::string_view kNonFiniteMarker = "\x01tcpp non-finite ";          // the parsed string starts so
constexpr std::string_view kNonFiniteMarkerJson = "\\u0001tcpp non-finite ";  // spelled in JSON text
constexpr std::string_view kNonFinite[] = {"-Infinity", "Infinity", "NaN"};

struct MarkedText {
  std::string text;
  std::vector<std::pair<size_t, size_t>> shifts;  // (offset in text after a marker, bytes added so far)
  size_t original_offset(size_t offset) const {
    size_t added = 0;
    for (const auto& [at, total] : shifts)
      if (at <= offset) added = total;
    return offset >= added ? offset - added : 0;
  }
};

bool is_word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

std::optional<MarkedText> mark_non_finite(const std::string& text) {
  if (text.find("NaN") == std::string::npos && text.find("Infinity") == std::string::npos) return std::nullopt;
  MarkedText out;
  out.text.reserve(text.size() + 64);
  bool in_string = false;
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (in_string) {
      out.text += c;
      if (c == '\\' && i + 1 < text.size()) out.text += text[++i];
      else if (c == '"') in_string = false;
      ++i;
      continue;
    }
    if (c == '"') in_string = true;
    bool replaced = false;
    for (std::string_view token : kNonFinite) {
      if (text.compare(i, token.size(), token) != 0) continue;
      if (i + token.size() < text.size() && is_word_char(text[i + token.size()])) continue;
      if (i > 0 && is_word_char(text[i - 1])) continue;
      const std::string marker = "\"" + std::string(kNonFiniteMarkerJson) + std::string(token) + "\"";
      out.text += marker;
      const size_t added = (out.shifts.empty() ? 0 : out.shifts.back().second) + marker.size() - token.size();
      out.shifts.emplace_back(out.text.size(), added);
      i += token.size();
      replaced = true;
      break;
    }
    if (replaced) continue;
    out.text += c;
    ++i;
  }
  if (out.shifts.empty()) return std::nullopt;
  return out;
}

void restore_non_finite(Json& v) {
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (s.compare(0, kNonFiniteMarker.size(), kNonFiniteMarker) != 0) return;
    const std::string_view token = std::string_view(s).substr(kNonFiniteMarker.size());
    v = token == "NaN" ? std::numeric_limits<double>::quiet_NaN()
                       : (token == "Infinity" ? 1.0 : -1.0) * std::numeric_limits<double>::infinity();
  } else if (v.is_array() || v.is_object()) {
    for (auto& e : v) restore_non_finite(e);
  }
}

}  // namespace

Json parse_json(const std::string& text, const std::string& where) {
  const auto marked = mark_non_finite(text);
  const std::string& parsed = marked ? marked->text : text;
  try {
    Json out = Json::parse(parsed);
    if (marked) restore_non_finite(out);
    return out;
  } catch (const Json::exception& e) {
    const JsonErrorAt err = locate_json_error(e, parsed);
    auto [line, col] = line_col(text, marked ? marked->original_offset(err.offset) : err.offset);
    throw InputError(where + ":" + std::to_string(line) + ":" + std::to_string(col), "invalid JSON (" + err.what + ")");
  }
}

Json read_json_file(const std::string& path) { return parse_json(read_file(path), path); }

std::string python_float_repr(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  // Shortest round-trip digits, then Python's repr layout: scientific when exp < -4 or exp >= 16.
  char buf[64];
  int prec = 1;
  for (; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*e", prec - 1, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  std::string sci(buf);  // d.ddde[+-]XX
  size_t epos = sci.find('e');
  int exp10 = std::atoi(sci.c_str() + epos + 1);
  std::string mant = sci.substr(0, epos);
  bool neg = mant[0] == '-';
  if (neg) mant = mant.substr(1);
  std::string digits;
  for (char c : mant)
    if (c != '.') digits += c;
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  std::string out = neg ? "-" : "";
  if (exp10 < -4 || exp10 >= 16) {
    out += digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char e[16];
    std::snprintf(e, sizeof e, "e%c%02d", exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
    out += e;
  } else if (exp10 < 0) {
    out += "0." + std::string(static_cast<size_t>(-exp10 - 1), '0') + digits;
  } else {
    size_t int_len = static_cast<size_t>(exp10) + 1;
    if (digits.size() <= int_len) {
      out += digits + std::string(int_len - digits.size(), '0') + ".0";
    } else {
      out += digits.substr(0, int_len) + "." + digits.substr(int_len);
    }
  }
  return out;
}

std::string dump_json_python(const Json& value, int indent) {
  std::string out;
  dump_rec(value, indent, 0, out);
  return out;
}

}  // namespace tcpp
