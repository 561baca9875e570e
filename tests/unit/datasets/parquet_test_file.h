// Test helper: hand-assembled Parquet files (Thrift compact footer and page headers, PLAIN / RLE bytes given
// by the test), so unit tests can check our reader on small cases whose bytes are spelled out, and on
// deliberately broken ones.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace tcpp::datasets::testing {

/// Thrift compact protocol writer (just what the footer and page headers need).
class ThriftWriter {
 public:
  std::string out;

  void i32(int16_t id, int64_t v) { field(id, 5), varint(zigzag(v)); }
  void i64(int16_t id, int64_t v) { field(id, 6), varint(zigzag(v)); }
  void str(int16_t id, const std::string& s) { field(id, 8), varint(s.size()), out += s; }
  void boolean(int16_t id, bool b) { field(id, b ? 1 : 2); }
  void begin(int16_t id) { field(id, 12), last_.push_back(0); }
  void end() { out.push_back(0), last_.pop_back(); }
  void list(int16_t id, uint8_t element_type, size_t n) {
    field(id, 9);
    if (n < 15) {
      out.push_back(static_cast<char>(n << 4 | element_type));
    } else {
      out.push_back(static_cast<char>(0xf0 | element_type));
      varint(n);
    }
  }
  void list_i32(int64_t v) { varint(zigzag(v)); }
  void list_str(const std::string& s) { varint(s.size()), out += s; }
  void begin_element() { last_.push_back(0); }  // a struct inside a list
  void varint(uint64_t v) {
    while (v >= 0x80) out.push_back(static_cast<char>(v | 0x80)), v >>= 7;
    out.push_back(static_cast<char>(v));
  }

 private:
  static uint64_t zigzag(int64_t v) {
    return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  }
  void field(int16_t id, uint8_t type) {
    int d = id - last_.back();
    if (d > 0 && d <= 15) {
      out.push_back(static_cast<char>(d << 4 | type));
    } else {
      out.push_back(static_cast<char>(type));
      varint(zigzag(id));
    }
    last_.back() = id;
  }
  std::vector<int16_t> last_{0};
};

// parquet.thrift enum values used by the tests.
enum : int { kBoolean = 0, kInt32 = 1, kInt64 = 2, kInt96 = 3, kFloat = 4, kDouble = 5, kByteArray = 6 };
enum : int { kRequired = 0, kOptional = 1, kRepeated = 2 };
enum : int {
  kPlain = 0,
  kPlainDictionary = 2,
  kRle = 3,
  kBitPacked = 4,
  kDeltaByteArray = 7,
  kRleDictionary = 8
};
enum : int { kDataPage = 0, kDictionaryPage = 2, kDataPageV2 = 3 };
constexpr int kUtf8 = 0;  // ConvertedType UTF8

struct SchemaNode {
  std::string name;
  int type = -1;        // -1: a group
  int repetition = -1;  // -1: the root
  int num_children = 0;
  int converted_type = -1;
  int logical_type = 0;       // a LogicalType member (6 DATE, 7 TIME, 8 TIMESTAMP), 0: none
  bool adjusted_to_utc = false;  // TIME / TIMESTAMP
  int time_unit = 0;             // TIME / TIMESTAMP: 1 MILLIS, 2 MICROS, 3 NANOS
};

struct Page {
  int type = kDataPage;
  std::string body;  // as stored (the tests use UNCOMPRESSED, so also the uncompressed bytes)
  int num_values = 0;
  int encoding = kPlain;
  // DATA_PAGE_V2 only
  int num_nulls = 0, num_rows = 0, def_length = 0, rep_length = 0;
  std::optional<int> uncompressed_size;  // default: body.size()
};

struct Chunk {
  int type = kInt32;
  std::vector<std::string> path;
  int codec = 0;
  int64_t num_values = 0;
  std::vector<Page> pages;
};

struct RowGroupSpec {
  int64_t num_rows = 0;
  std::vector<Chunk> chunks;
};

// Builders that name what they set (the structs above have defaults for the rest).
inline SchemaNode root(int num_children) { return SchemaNode{"schema", -1, -1, num_children, -1}; }
inline SchemaNode leaf(std::string name, int type, int repetition, int converted_type = -1) {
  return SchemaNode{std::move(name), type, repetition, 0, converted_type};
}
// A leaf with a LogicalType: DATE (6), or TIME (7) / TIMESTAMP (8) with isAdjustedToUTC and a unit.
inline SchemaNode logical_leaf(std::string name, int type, int logical_type, bool adjusted_to_utc = false,
                               int time_unit = 0) {
  SchemaNode n{std::move(name), type, kRequired, 0, -1};
  n.logical_type = logical_type, n.adjusted_to_utc = adjusted_to_utc, n.time_unit = time_unit;
  return n;
}
inline SchemaNode group(std::string name, int repetition, int num_children, int converted_type = -1) {
  return SchemaNode{std::move(name), -1, repetition, num_children, converted_type};
}
inline Page data_page(std::string body, int num_values, int encoding = kPlain) {
  Page p;
  p.type = kDataPage, p.body = std::move(body), p.num_values = num_values, p.encoding = encoding;
  return p;
}
inline Page dictionary_page(std::string body, int num_values, int encoding = kPlain) {
  Page p = data_page(std::move(body), num_values, encoding);
  p.type = kDictionaryPage;
  return p;
}
/// levels_and_values: the definition levels (def_length bytes, no length prefix), then the values.
inline Page data_page_v2(std::string levels_and_values, int num_values, int encoding, int num_nulls,
                         int def_length) {
  Page p = data_page(std::move(levels_and_values), num_values, encoding);
  p.type = kDataPageV2, p.num_nulls = num_nulls, p.num_rows = num_values, p.def_length = def_length;
  return p;
}
inline Chunk chunk(int type, std::vector<std::string> path, int64_t num_values, std::vector<Page> pages,
                   int codec = 0) {
  Chunk c;
  c.type = type, c.path = std::move(path), c.num_values = num_values, c.pages = std::move(pages),
  c.codec = codec;
  return c;
}

inline std::string page_header(const Page& p) {
  ThriftWriter w;
  w.i32(1, p.type);
  w.i32(2, p.uncompressed_size.value_or(static_cast<int>(p.body.size())));
  w.i32(3, static_cast<int>(p.body.size()));
  if (p.type == kDataPage) {
    w.begin(5);
    w.i32(1, p.num_values), w.i32(2, p.encoding), w.i32(3, kRle), w.i32(4, kRle);
    w.end();
  } else if (p.type == kDictionaryPage) {
    w.begin(7);
    w.i32(1, p.num_values), w.i32(2, p.encoding);
    w.end();
  } else {
    w.begin(8);
    w.i32(1, p.num_values), w.i32(2, p.num_nulls), w.i32(3, p.num_rows), w.i32(4, p.encoding);
    w.i32(5, p.def_length), w.i32(6, p.rep_length), w.boolean(7, false);
    w.end();
  }
  w.out.push_back(0);
  return w.out;
}

/// A whole file: "PAR1", the pages of each chunk, the footer, its length, "PAR1".
inline std::string parquet_file(const std::vector<SchemaNode>& schema, const std::vector<RowGroupSpec>& groups,
                                const std::vector<std::pair<std::string, std::string>>& key_value_metadata = {}) {
  std::string data = "PAR1";
  struct Placed {
    int64_t first, dict, data_page, size;
  };
  std::vector<std::vector<Placed>> placed;
  int64_t total_rows = 0;
  for (const auto& g : groups) {
    total_rows += g.num_rows;
    placed.emplace_back();
    for (const auto& c : g.chunks) {
      Placed p{static_cast<int64_t>(data.size()), -1, -1, 0};
      for (const auto& page : c.pages) {
        if (page.type == kDictionaryPage && p.dict < 0) p.dict = static_cast<int64_t>(data.size());
        if (page.type != kDictionaryPage && p.data_page < 0) p.data_page = static_cast<int64_t>(data.size());
        data += page_header(page) + page.body;
      }
      p.size = static_cast<int64_t>(data.size()) - p.first;
      placed.back().push_back(p);
    }
  }
  ThriftWriter w;
  w.i32(1, 1);
  w.list(2, 12, schema.size());
  for (const auto& s : schema) {
    w.begin_element();
    if (s.type >= 0) w.i32(1, s.type);
    if (s.repetition >= 0) w.i32(3, s.repetition);
    w.str(4, s.name);
    if (s.num_children > 0) w.i32(5, s.num_children);
    if (s.converted_type >= 0) w.i32(6, s.converted_type);
    if (s.logical_type > 0) {
      w.begin(10);
      w.begin(static_cast<int16_t>(s.logical_type));
      if (s.logical_type == 7 || s.logical_type == 8) {
        w.boolean(1, s.adjusted_to_utc);
        w.begin(2);
        w.begin(static_cast<int16_t>(s.time_unit));
        w.end();
        w.end();
      }
      w.end();
      w.end();
    }
    w.end();
  }
  w.i64(3, total_rows);
  w.list(4, 12, groups.size());
  for (size_t g = 0; g < groups.size(); ++g) {
    w.begin_element();
    w.list(1, 12, groups[g].chunks.size());
    for (size_t k = 0; k < groups[g].chunks.size(); ++k) {
      const Chunk& c = groups[g].chunks[k];
      const Placed& p = placed[g][k];
      w.begin_element();
      w.i64(2, p.first);
      w.begin(3);
      w.i32(1, c.type);
      w.list(2, 5, 2), w.list_i32(kPlain), w.list_i32(kRle);
      w.list(3, 8, c.path.size());
      for (const auto& s : c.path) w.list_str(s);
      w.i32(4, c.codec);
      w.i64(5, c.num_values);
      w.i64(6, p.size);
      w.i64(7, p.size);
      w.i64(9, p.data_page);
      if (p.dict >= 0) w.i64(11, p.dict);
      w.end();
      w.end();
    }
    w.i64(2,
          placed[g].empty() ? 0 : placed[g].back().first + placed[g].back().size - placed[g].front().first);
    w.i64(3, groups[g].num_rows);
    w.end();
  }
  if (!key_value_metadata.empty()) {
    w.list(5, 12, key_value_metadata.size());
    for (const auto& [k, v] : key_value_metadata) {
      w.begin_element();
      w.str(1, k);
      w.str(2, v);
      w.end();
    }
  }
  w.out.push_back(0);
  data += w.out;
  uint32_t n = static_cast<uint32_t>(w.out.size());
  char len[4];
  std::memcpy(len, &n, 4);
  data.append(len, 4);
  data += "PAR1";
  return data;
}

/// PLAIN bytes of little-endian fixed-width values.
template <typename T>
std::string plain(const std::vector<T>& values) {
  std::string s(values.size() * sizeof(T), '\0');
  if (!values.empty()) std::memcpy(s.data(), values.data(), s.size());
  return s;
}

/// PLAIN BYTE_ARRAY values: 4-byte length, then the bytes.
inline std::string plain_strings(const std::vector<std::string>& values) {
  std::string s;
  for (const auto& v : values) {
    uint32_t n = static_cast<uint32_t>(v.size());
    s.append(reinterpret_cast<const char*>(&n), 4);
    s += v;
  }
  return s;
}

/// Data page v1 levels: the 4-byte length prefix, then the RLE/bit-packed bytes.
inline std::string v1_levels(const std::string& rle) {
  uint32_t n = static_cast<uint32_t>(rle.size());
  return std::string(reinterpret_cast<const char*>(&n), 4) + rle;
}

}  // namespace tcpp::datasets::testing
