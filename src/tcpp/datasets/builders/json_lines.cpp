// The json builder's fast path for JSON Lines: records scanned in place, then the same inference and columns as the
// general path in json.cpp (which stays the reference for every line this scanner does not take on itself).
#include "tcpp/datasets/builders/json_lines.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <string_view>

#include "tcpp/core/error.h"
#include "tcpp/core/json.h"
#include "tcpp/core/read_only_file.h"
#include "tcpp/datasets/builders/builders.h"
#include "tcpp/datasets/builders/lines.h"
#include "tcpp/datasets/dataset_internal.h"
#include "tcpp/datasets/type_inference.h"

namespace tcpp::datasets::builders {
namespace {

// Lines longer than this, and batches of more rows than kMaxBatchRows, are left to the general path: a batch of the
// fast path then holds at most 2 GB of string data, under the 2 GiB an Arrow utf8 array can hold.
constexpr size_t kMaxLineBytes = 1000000;
constexpr int64_t kMaxBatchRows = 2000;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

enum class Kind { kNull, kBool, kInt, kDouble, kString, kJson };

// One member of a record: a scalar scanned in place, or a value parsed by nlohmann (nested values, fallback lines).
struct Member {
  std::string_view key;
  Kind kind = Kind::kNull;
  bool b = false;
  int64_t i = 0;
  double d = 0;
  std::string_view s;                 // kString (into the line or the scanner's scratch)
  size_t key_off = 0, s_off = 0;      // offsets into scratch while scanning (npos: the view is already set)
  size_t key_len = 0, s_len = 0;
  const OrderedJson* json = nullptr;  // kJson

  OrderedJson to_json() const {
    switch (kind) {
      case Kind::kNull: return nullptr;
      case Kind::kBool: return b;
      case Kind::kInt: return i;
      case Kind::kDouble: return d;
      case Kind::kString: return std::string(s);
      case Kind::kJson: break;
    }
    return *json;
  }
};

// Splits one JSON line into its members. scan() returns false when the line is anything but a record this scanner
// reads exactly as nlohmann would (then the caller parses it with nlohmann, and errors come from there).
class RecordScanner {
 public:
  // Members of line: the scanner's own reading, or nlohmann's for a line it leaves alone. False: the line is not a
  // record (invalid JSON, or a top-level value that is neither an object nor a string).
  bool read(std::string_view line, std::vector<Member>& out) {
    if (scan(line, out)) return true;
    out.clear();
    nested_.clear();
    // nlohmann skips a byte order mark before the value; past the file's start it is not JSON (the general path
    // says so, naming the line).
    const size_t first = line.find_first_not_of(" \t\r\n");
    if (first != std::string_view::npos && line.substr(first, 3) == "\xef\xbb\xbf") return false;
    doc_ = OrderedJson::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
    if (doc_.is_discarded()) return false;
    if (doc_.is_string()) {  // a line holding a string is a "text" row, as in the general path
      doc_ = OrderedJson{{"text", doc_}};
    } else if (!doc_.is_object()) {
      return false;
    }
    for (const auto& [k, v] : doc_.items()) {
      Member m;
      m.key = k;
      m.kind = Kind::kJson;
      m.json = &v;
      out.push_back(m);
    }
    return true;
  }

 private:
  static constexpr size_t npos = std::string::npos;

  bool scan(std::string_view line, std::vector<Member>& out) {
    out.clear();
    if (!nested_.empty()) nested_.clear();
    scratch_.clear();
    const char* p = line.data();
    const char* end = p + line.size();
    auto skip_ws = [&] {
      while (p < end && is_space(*p)) ++p;
    };
    skip_ws();
    if (p == end || *p != '{') return false;
    ++p;
    skip_ws();
    if (p < end && *p == '}') {
      ++p;
    } else {
      for (;;) {
        Member m;
        if (p == end || *p != '"' || !string(p, end, m.key, m.key_off, m.key_len)) return false;
        skip_ws();
        if (p == end || *p != ':') return false;
        ++p;
        skip_ws();
        if (!value(p, end, m)) return false;
        out.push_back(m);
        skip_ws();
        if (p == end) return false;
        if (*p == '}') {
          ++p;
          break;
        }
        if (*p != ',') return false;
        ++p;
        skip_ws();
      }
    }
    skip_ws();
    if (p != end) return false;
    for (auto& m : out) {  // views into scratch, now that it no longer grows
      if (m.key_off != npos) m.key = std::string_view(scratch_.data() + m.key_off, m.key_len);
      if (m.kind == Kind::kString && m.s_off != npos) m.s = std::string_view(scratch_.data() + m.s_off, m.s_len);
    }
    // Duplicate keys: nlohmann's rules decide.
    if (out.size() > 32) return false;
    for (size_t a = 1; a < out.size(); ++a)
      for (size_t b = 0; b < a; ++b)
        if (out[a].key == out[b].key) return false;
    return true;
  }

  // A string at p (the opening quote): its bytes in place (off = npos) or decoded into scratch (off, len).
  // Its UTF-8 is checked here (a malformed sequence fails the line, which the general path then reports): the
  // grammar allows non-ASCII bytes nowhere else, so a line this scanner takes is valid UTF-8.
  bool string(const char*& p, const char* end, std::string_view& view, size_t& off, size_t& len) {
    const char* s = ++p;
    while (p < end) {
      p = plain_run(p, end);  // up to a quote, a backslash, a control or a non-ASCII byte
      if (p >= end) break;
      const auto c = static_cast<unsigned char>(*p);
      if (c == '"') {
        view = std::string_view(s, static_cast<size_t>(p - s));
        off = npos;
        ++p;
        return true;
      }
      if (c == '\\') break;
      if (c < 0x20) return false;
      const size_t n = utf8_length(p, end);
      if (n == 0) return false;
      p += n;
    }
    if (p >= end) return false;
    off = scratch_.size();
    scratch_.append(s, static_cast<size_t>(p - s));
    while (p < end) {
      const auto c = static_cast<unsigned char>(*p);
      if (c == '"') {
        len = scratch_.size() - off;
        ++p;
        return true;
      }
      if (c < 0x20) return false;
      if (c >= 0x80) {
        const size_t n = utf8_length(p, end);
        if (n == 0) return false;
        scratch_.append(p, n);
        p += n;
        continue;
      }
      if (c != '\\') {
        scratch_.push_back(static_cast<char>(c));
        ++p;
        continue;
      }
      if (++p >= end) return false;
      switch (*p++) {
        case '"': scratch_.push_back('"'); break;
        case '\\': scratch_.push_back('\\'); break;
        case '/': scratch_.push_back('/'); break;
        case 'b': scratch_.push_back('\b'); break;
        case 'f': scratch_.push_back('\f'); break;
        case 'n': scratch_.push_back('\n'); break;
        case 'r': scratch_.push_back('\r'); break;
        case 't': scratch_.push_back('\t'); break;
        case 'u': {
          uint32_t cp = 0;
          if (!hex4(p, end, cp)) return false;
          if (cp >= 0xdc00 && cp <= 0xdfff) return false;  // a lone low surrogate
          if (cp >= 0xd800 && cp <= 0xdbff) {
            uint32_t low = 0;
            if (end - p < 2 || p[0] != '\\' || p[1] != 'u') return false;
            p += 2;
            if (!hex4(p, end, low) || low < 0xdc00 || low > 0xdfff) return false;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
          }
          utf8(cp);
          break;
        }
        default: return false;
      }
    }
    return false;
  }

  // The first byte at or after p that is a quote, a backslash, below 0x20 or above 0x7f (or end).
  static const char* plain_run(const char* p, const char* end) {
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), space = _mm_set1_epi8(0x20);
    for (; end - p >= 16; p += 16) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      // Signed compare: bytes >= 0x80 are negative, so one test finds control and non-ASCII bytes.
      const __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)), _mm_cmplt_epi8(v, space));
      if (const int m = _mm_movemask_epi8(hit)) return p + __builtin_ctz(static_cast<unsigned>(m));
    }
#endif
    for (; p < end; ++p) {
      const auto c = static_cast<unsigned char>(*p);
      if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) return p;
    }
    return end;
  }

  // Length of the well-formed UTF-8 sequence at p (Python's strict rules, as check_utf8), 0 when malformed.
  static size_t utf8_length(const char* p, const char* end) {
    uint32_t cp = 0;
    const size_t n = detail::utf8_sequence(reinterpret_cast<const unsigned char*>(p), static_cast<size_t>(end - p), &cp);
    return n == detail::kUtf8Truncated ? 0 : n;
  }

  static bool hex4(const char*& p, const char* end, uint32_t& out) {
    if (end - p < 4) return false;
    out = 0;
    for (int k = 0; k < 4; ++k, ++p) {
      const char c = *p;
      uint32_t v;
      if (c >= '0' && c <= '9') v = static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') v = static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v = static_cast<uint32_t>(c - 'A' + 10);
      else return false;
      out = out << 4 | v;
    }
    return true;
  }

  void utf8(uint32_t cp) {
    if (cp < 0x80) {
      scratch_.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      scratch_.push_back(static_cast<char>(0xc0 | (cp >> 6)));
      scratch_.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      scratch_.push_back(static_cast<char>(0xe0 | (cp >> 12)));
      scratch_.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      scratch_.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
      scratch_.push_back(static_cast<char>(0xf0 | (cp >> 18)));
      scratch_.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
      scratch_.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      scratch_.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
  }

  bool literal(const char*& p, const char* end, std::string_view word) {
    if (static_cast<size_t>(end - p) < word.size() || std::memcmp(p, word.data(), word.size()) != 0) return false;
    p += word.size();
    return true;
  }

  bool value(const char*& p, const char* end, Member& m) {
    switch (*p) {
      case '"':
        m.kind = Kind::kString;
        return string(p, end, m.s, m.s_off, m.s_len);
      case 't': m.kind = Kind::kBool, m.b = true; return literal(p, end, "true");
      case 'f': m.kind = Kind::kBool, m.b = false; return literal(p, end, "false");
      case 'n': m.kind = Kind::kNull; return literal(p, end, "null");
      case '[':
      case '{': return nested(p, end, m);
      default: return number(p, end, m);
    }
  }

  // JSON's number grammar; integers that fit int64 and finite doubles only (nlohmann decides the rest).
  static bool number(const char*& p, const char* end, Member& m) {
    const char* start = p;
    if (p < end && *p == '-') ++p;
    if (p == end || !is_digit(*p)) return false;
    if (*p == '0') {
      ++p;
    } else {
      while (p < end && is_digit(*p)) ++p;
    }
    bool is_float = false;
    if (p < end && *p == '.') {
      ++p;
      if (p == end || !is_digit(*p)) return false;
      while (p < end && is_digit(*p)) ++p;
      is_float = true;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
      ++p;
      if (p < end && (*p == '+' || *p == '-')) ++p;
      if (p == end || !is_digit(*p)) return false;
      while (p < end && is_digit(*p)) ++p;
      is_float = true;
    }
    if (!is_float) {
      m.kind = Kind::kInt;
      auto r = std::from_chars(start, p, m.i);
      return r.ec == std::errc() && r.ptr == p;
    }
    m.kind = Kind::kDouble;
    auto r = std::from_chars(start, p, m.d);
    return r.ec == std::errc() && r.ptr == p;
  }

  // An array or object value: its extent found here, its parsing left to nlohmann.
  bool nested(const char*& p, const char* end, Member& m) {
    const char* start = p;
    int depth = 0;
    while (p < end) {
      const char c = *p;
      if (c == '"') {
        for (++p; p < end && *p != '"'; ++p)
          if (*p == '\\') ++p;
        if (p >= end) return false;
      } else if (c == '[' || c == '{') {
        ++depth;
      } else if (c == ']' || c == '}') {
        if (--depth == 0) {
          ++p;
          break;
        }
      }
      ++p;
    }
    if (depth != 0) return false;
    nested_.push_back(OrderedJson::parse(start, p, nullptr, /*allow_exceptions=*/false));
    if (nested_.back().is_discarded()) return false;
    m.kind = Kind::kJson;
    m.json = &nested_.back();
    return true;
  }

  std::string scratch_;
  std::deque<OrderedJson> nested_;
  OrderedJson doc_;
};

InferredType::Kind inferred_kind(Kind k) {
  switch (k) {
    case Kind::kBool: return InferredType::Kind::kBool;
    case Kind::kInt: return InferredType::Kind::kInt;
    case Kind::kDouble: return InferredType::Kind::kDouble;
    case Kind::kString: return InferredType::Kind::kString;
    default: return InferredType::Kind::kNull;
  }
}

// Call fn(members, line_no) for each non-blank line of a JSON Lines file until it returns false; false when the file
// is not one this path takes (a top-level array, a line over kMaxLineBytes, a line that is not a record, or one with
// malformed UTF-8, which the general path reports). The file is read (not mapped) in pieces of 1 MiB into one buffer
// that stays in the CPU cache, so each byte comes from memory once, and its UTF-8 is checked as its strings are
// scanned (RecordScanner::string; nlohmann checks the lines it parses itself).
template <typename Fn>
bool for_each_line_record(const std::string& path, Fn&& fn) {
  ReadOnlyFile file(path, /*sequential=*/true);
  static_assert(kMaxLineBytes < (size_t{1} << 20), "a line the fast path takes must fit the buffer");
  std::vector<char> buf(size_t{1} << 20);
  size_t have = 0;
  bool eof = false, first_line = true, first_piece = true;
  RecordScanner scanner;
  std::vector<Member> members;
  int64_t line_no = 0;
  while (!eof || have > 0) {
    if (!eof && have < buf.size()) eof = file.fill(buf.data(), buf.size(), have);
    std::string_view text(buf.data(), have);
    if (first_piece && text.substr(0, 3) == "\xef\xbb\xbf") text.remove_prefix(3);  // UTF-8 byte order mark
    first_piece = false;
    size_t start = 0;
    while (start < text.size()) {
      const void* nl = std::memchr(text.data() + start, '\n', text.size() - start);
      if (!nl && !eof) break;  // an unfinished line: read on
      const size_t end = nl ? static_cast<size_t>(static_cast<const char*>(nl) - text.data()) : text.size();
      ++line_no;
      std::string_view line = text.substr(start, end - start);
      start = end + 1;
      size_t b = 0;
      while (b < line.size() && is_space(line[b])) ++b;
      if (b == line.size()) continue;  // blank line
      if (first_line && line[b] == '[') return false;  // a top-level array
      first_line = false;
      if (line.size() > kMaxLineBytes || !scanner.read(line, members)) return false;
      if (!fn(members, line_no)) return true;
    }
    if (start == 0 && !eof) return false;  // no line ends in the whole buffer: a line over kMaxLineBytes
    start = std::min(start, text.size());
    const size_t left = text.size() - start;
    std::memmove(buf.data(), text.data() + start, left);
    have = left;
    if (eof) break;
  }
  return true;
}

}  // namespace

bool build_json_lines_fast(const std::vector<std::string>& files, const LoadOptions& options, const std::string& out_path,
                           const std::string& fingerprint) {
  // A row size limit of the user's own is checked by the general path.
  const char* limit = std::getenv("TCPP_MAX_ROW_BYTES");
  if (files.empty() || !options.field.empty() || options.writer_batch_size > kMaxBatchRows || (limit && *limit)) return false;

  struct ColumnInfo {
    std::string name;
    InferredType type;
    std::string typed_at;  // where the column's type was first set
  };
  std::vector<ColumnInfo> columns;
  auto column_of = [&](const std::vector<Member>& members, size_t k) -> ColumnInfo* {
    if (k < columns.size() && columns[k].name == members[k].key) return &columns[k];
    for (auto& c : columns)
      if (c.name == members[k].key) return &c;
    return nullptr;
  };
  // Type inference over one line, as build_json's pass 1 (the same errors, in the same order).
  auto infer = [&](const std::string& path, const std::vector<Member>& members, int64_t line_no) {
    auto where = [&] { return path + ":" + std::to_string(line_no); };
    for (size_t k = 0; k < members.size(); ++k) {
      const Member& m = members[k];
      ColumnInfo* col = column_of(members, k);
      if (!col) {
        columns.push_back({std::string(m.key), InferredType{}, ""});
        col = &columns.back();
      }
      InferredType t;
      if (m.kind == Kind::kJson) {
        try {
          t = infer_type(*m.json);
        } catch (const InputError& e) {
          throw InputError(where(), "column \"" + col->name + "\": " + e.what());
        }
      } else {
        t.kind = inferred_kind(m.kind);
        if (t.kind == col->type.kind || t.kind == InferredType::Kind::kNull) continue;  // nothing to widen
      }
      std::string why;
      const bool was_null = col->type.kind == InferredType::Kind::kNull;
      if (!unify_types(col->type, t, &why))
        throw InputError(where(), "column \"" + col->name + "\": expected " + col->type.to_string() + " (as at " +
                                      col->typed_at + "), got " + t.to_string() + ": " + why);
      if (was_null && col->type.kind != InferredType::Kind::kNull) col->typed_at = where();
    }
  };
  // Whether a line's values leave every inferred type as it is (so the types over all rows stay those of the rows
  // seen so far): no new column, no value of a column still typed null, no widening.
  auto fits = [&](const std::vector<Member>& members) {
    for (size_t k = 0; k < members.size(); ++k) {
      const Member& m = members[k];
      const ColumnInfo* col = column_of(members, k);
      if (!col) return false;
      if (m.kind == Kind::kNull) continue;
      const auto have = col->type.kind;
      if (m.kind != Kind::kJson) {
        const auto t = inferred_kind(m.kind);
        if (t != have && !(t == InferredType::Kind::kInt && have == InferredType::Kind::kDouble)) return false;
        continue;
      }
      try {
        InferredType widened = col->type;
        std::string why;
        if (!unify_types(widened, infer_type(*m.json), &why) || widened.to_string() != col->type.to_string()) return false;
      } catch (const InputError&) {
        return false;
      }
    }
    return true;
  };
  auto make_schema = [&] {
    arrow::Schema schema;
    for (const auto& c : columns) schema.fields.push_back(arrow::field(c.name, to_arrow_type(c.type)));
    schema.metadata = hf_schema_metadata(schema, fingerprint);
    return schema;
  };
  // One row's values, as build_json's pass 2 (append_json's conversions for the scalar kinds, done directly).
  auto append = [&](BatchedTableWriter& writer, const std::vector<arrow::TypeId>& ids, const std::string& path,
                    const std::vector<Member>& members, int64_t line_no) {
    for (size_t c = 0; c < columns.size(); ++c) {
      const Member* m = c < members.size() && members[c].key == columns[c].name ? &members[c] : nullptr;
      for (size_t k = 0; !m && k < members.size(); ++k)
        if (members[k].key == columns[c].name) m = &members[k];
      arrow::ArrayBuilder& out = writer.column(c);
      try {
        if (!m || m->kind == Kind::kNull) {
          out.append_null();
        } else if (m->kind == Kind::kString && ids[c] == arrow::TypeId::kUtf8) {
          out.append_string(m->s);
        } else if (m->kind == Kind::kInt && (ids[c] == arrow::TypeId::kInt64 || ids[c] == arrow::TypeId::kFloat64)) {
          out.append_int(m->i);
        } else if (m->kind == Kind::kDouble && ids[c] == arrow::TypeId::kFloat64) {
          out.append_double(m->d);
        } else if (m->kind == Kind::kBool && ids[c] == arrow::TypeId::kBool) {
          out.append_bool(m->b);
        } else if (m->kind == Kind::kJson) {
          out.append_json(*m->json);
        } else {
          out.append_json(m->to_json());
        }
      } catch (const InputError& e) {
        throw InputError(path + ":" + std::to_string(line_no), "column \"" + columns[c].name + "\": " + e.what());
      }
    }
    writer.end_row();
  };

  // One pass when the types of the first kPrefixLines lines hold for all (the usual case): those lines fix the
  // schema, then every line is checked against it and written at once. At the first line that would change a type
  // (or fail to convert), that attempt is dropped and the two passes below run, which give the same table and errors.
  constexpr int64_t kPrefixLines = 10000;
  int64_t seen = 0;
  if (!for_each_line_record(files[0], [&](const std::vector<Member>& members, int64_t line_no) {
        infer(files[0], members, line_no);
        return ++seen < kPrefixLines;
      }))
    return false;
  {
    const arrow::Schema schema = make_schema();
    std::vector<arrow::TypeId> ids;
    for (const auto& f : schema.fields) ids.push_back(f.type.id);
    BatchedTableWriter writer(out_path, schema, options.writer_batch_size);
    bool fit = true;
    for (size_t i = 0; fit && i < files.size(); ++i) {
      const std::string& path = files[i];
      if (!for_each_line_record(path, [&](const std::vector<Member>& members, int64_t line_no) {
            fit = fits(members);
            if (fit) {
              try {
                append(writer, ids, path, members, line_no);
              } catch (const InputError&) {
                fit = false;  // the two passes report it, or an earlier type error, as build_json would
              }
            }
            return fit;
          }))
        return false;
    }
    if (fit) {
      writer.close();
      return true;
    }
  }  // the writer's temp file is removed

  // Pass 1: column names (in order of first appearance) and their unified types, as build_json's pass 1.
  columns.clear();
  for (const auto& path : files)
    if (!for_each_line_record(path, [&](const std::vector<Member>& members, int64_t line_no) {
          infer(path, members, line_no);
          return true;
        }))
      return false;
  // Pass 2: values, in record batches of writer_batch_size rows, as build_json's pass 2.
  const arrow::Schema schema = make_schema();
  std::vector<arrow::TypeId> ids;
  for (const auto& f : schema.fields) ids.push_back(f.type.id);
  BatchedTableWriter writer(out_path, schema, options.writer_batch_size);
  for (const auto& path : files)
    if (!for_each_line_record(path, [&](const std::vector<Member>& members, int64_t line_no) {
          append(writer, ids, path, members, line_no);
          return true;
        }))
      return false;  // the file changed since pass 1; the general path starts over
  writer.close();
  return true;
}

}  // namespace tcpp::datasets::builders
