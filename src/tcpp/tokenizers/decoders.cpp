// Decoder implementations (as tokenizers' decoders/*.rs and the Decoder halves of ByteLevel and Metaspace).
#include "tcpp/tokenizers/decoders.h"

#include "tcpp/core/error.h"
#include "tcpp/core/strings.h"
#include "tcpp/tokenizers/json_internal.h"
#include "tcpp/tokenizers/pre_tokenizers.h"
#include "tcpp/tokenizers/regex.h"
#include "tcpp/tokenizers/unicode.h"

namespace tcpp::tokenizers {

std::string Decoder::decode(std::vector<std::string> tokens) const {
  std::string out;
  for (const auto& t : decode_chain(std::move(tokens))) out += t;
  return out;
}

namespace {

// Invalid UTF-8 becomes U+FFFD per maximal invalid subsequence, as Rust's String::from_utf8_lossy.
std::string utf8_lossy(const std::string& bytes) {
  std::string out;
  size_t i = 0;
  while (i < bytes.size()) {
    size_t bad = unicode::find_invalid_utf8(std::string_view(bytes).substr(i));
    if (bad == std::string_view::npos) {
      out.append(bytes, i, std::string::npos);
      break;
    }
    out.append(bytes, i, bad);
    i += bad;
    // Length of the maximal prefix of a valid sequence starting at i (at least 1 byte is dropped).
    auto b = static_cast<unsigned char>(bytes[i]);
    size_t need = unicode::utf8_len(b);
    size_t k = 1;
    if (need > 1) {
      unsigned char lo = 0x80, hi = 0xBF;
      if (b == 0xE0) lo = 0xA0;
      if (b == 0xED) hi = 0x9F;
      if (b == 0xF0) lo = 0x90;
      if (b == 0xF4) hi = 0x8F;
      if (b >= 0xC2 && b <= 0xF4) {
        while (k < need && i + k < bytes.size()) {
          auto c = static_cast<unsigned char>(bytes[i + k]);
          if (k == 1 ? (c < lo || c > hi) : (c & 0xC0) != 0x80) break;
          ++k;
        }
      }
    }
    out += "\xEF\xBF\xBD";
    i += k;
  }
  return out;
}

class ByteLevelDecoder : public Decoder {
 public:
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    std::string bytes;
    for (const auto& t : tokens) {
      std::string tb;
      bool ok = true;
      for (size_t i = 0, n = 0; i < t.size(); i += n) {
        int b = char_to_byte(unicode::decode(t, i, &n));
        if (b < 0) {
          ok = false;
          break;
        }
        tb += static_cast<char>(b);
      }
      bytes += ok ? tb : t;
    }
    return {utf8_lossy(bytes)};
  }
};

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  if (from.empty()) return s;
  std::string out;
  size_t pos = 0;
  for (size_t f = s.find(from); f != std::string::npos; f = s.find(from, pos)) {
    out.append(s, pos, f - pos);
    out += to;
    pos = f + from.size();
  }
  out.append(s, pos, std::string::npos);
  return out;
}

class WordPieceDecoder : public Decoder {
 public:
  WordPieceDecoder(std::string prefix, bool cleanup) : prefix_(std::move(prefix)), cleanup_(cleanup) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      auto& t = tokens[i];
      if (i != 0) t = starts_with(t, prefix_) ? t.substr(prefix_.size()) : " " + t;
      if (cleanup_) t = cleanup(t);
    }
    return tokens;
  }
  static std::string cleanup(std::string s) {
    static const std::pair<const char*, const char*> kRules[] = {
        {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
        {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
    for (const auto& [from, to] : kRules) s = replace_all(std::move(s), from, to);
    return s;
  }

 private:
  std::string prefix_;
  bool cleanup_;
};

class MetaspaceDecoder : public Decoder {
 public:
  MetaspaceDecoder(char32_t replacement, bool prepend) : replacement_(replacement), prepend_(prepend) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string out;
      const auto& t = tokens[i];
      for (size_t k = 0, n = 0; k < t.size(); k += n) {
        char32_t c = unicode::decode(t, k, &n);
        if (c == replacement_) {
          if (!(i == 0 && prepend_)) out += ' ';
        } else {
          out.append(t, k, n);
        }
      }
      tokens[i] = std::move(out);
    }
    return tokens;
  }

 private:
  char32_t replacement_;
  bool prepend_;
};

class BpeDecoder : public Decoder {
 public:
  explicit BpeDecoder(std::string suffix) : suffix_(std::move(suffix)) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = replace_all(tokens[i], suffix_, i + 1 == tokens.size() ? "" : " ");
    return tokens;
  }

 private:
  std::string suffix_;
};

class ByteFallbackDecoder : public Decoder {
 public:
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    std::vector<std::string> out;
    std::string pending;
    auto flush = [&] {
      if (pending.empty()) return;
      if (unicode::find_invalid_utf8(pending) == std::string_view::npos) {
        out.push_back(pending);
      } else {
        for (size_t k = 0; k < pending.size(); ++k) out.push_back("\xEF\xBF\xBD");
      }
      pending.clear();
    };
    for (auto& t : tokens) {
      int byte = -1;
      if (t.size() == 6 && starts_with(t, "<0x") && t[5] == '>') {
        auto hex = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; };
        int hi = hex(t[3]), lo = hex(t[4]);
        if (hi >= 0 && lo >= 0) byte = hi * 16 + lo;
      }
      if (byte >= 0) {
        pending += static_cast<char>(byte);
      } else {
        flush();
        out.push_back(std::move(t));
      }
    }
    flush();
    return out;
  }
};

class FuseDecoder : public Decoder {
 public:
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    std::string all;
    for (const auto& t : tokens) all += t;
    return {all};
  }
};

class StripDecoder : public Decoder {
 public:
  StripDecoder(char32_t content, size_t start, size_t stop) : content_(content), start_(start), stop_(stop) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (auto& t : tokens) {
      auto cps = unicode::to_code_points(t);
      size_t start_cut = 0;
      for (size_t i = 0; i < std::min(start_, cps.size()); ++i) {
        if (cps[i] != content_) break;
        start_cut = i + 1;
      }
      size_t stop_cut = cps.size();
      for (size_t i = 0; i < stop_ && i < cps.size(); ++i) {
        size_t index = cps.size() - i - 1;
        if (cps[index] != content_) break;
        stop_cut = index;
      }
      std::string out;
      for (size_t i = start_cut; i < stop_cut; ++i) unicode::append_utf8(out, cps[i]);
      t = std::move(out);
    }
    return tokens;
  }

 private:
  char32_t content_;
  size_t start_, stop_;
};

class ReplaceDecoder : public Decoder {
 public:
  ReplaceDecoder(Pattern p, std::string content) : pattern_(std::move(p)), content_(std::move(content)) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (auto& t : tokens) {
      std::string out;
      for (const auto& [o, m] : pattern_.find(t)) out += m ? content_ : t.substr(o.first, o.second - o.first);
      t = std::move(out);
    }
    return tokens;
  }

 private:
  Pattern pattern_;
  std::string content_;
};

class SequenceDecoder : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> list) : list_(std::move(list)) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (const auto& d : list_) tokens = d->decode_chain(std::move(tokens));
    return tokens;
  }

 private:
  std::vector<std::unique_ptr<Decoder>> list_;
};

char32_t single_char(const std::string& s, const detail::JsonPath& at) {
  auto cps = unicode::to_code_points(s);
  if (cps.size() != 1) throw InputError(at.str(), "expected a single character, got " + quote(s));
  return cps[0];
}

}  // namespace

std::unique_ptr<Decoder> make_byte_level_decoder() { return std::make_unique<ByteLevelDecoder>(); }
std::unique_ptr<Decoder> make_wordpiece_decoder(const std::string& prefix, bool cleanup) {
  return std::make_unique<WordPieceDecoder>(prefix, cleanup);
}

std::unique_ptr<Decoder> decoder_from_json(const Json& j, const detail::JsonPath& at) {
  using namespace detail;
  std::string type = get_string(j, "type", at);
  if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
  if (type == "WordPiece") return std::make_unique<WordPieceDecoder>(get_string(j, "prefix", at, "##"), get_bool(j, "cleanup", at, true));
  if (type == "Metaspace") {
    char32_t rep = single_char(get_string(j, "replacement", at, "\xE2\x96\x81"), at.key("replacement"));
    bool prepend = true;
    if (auto ps = get_optional_string(j, "prepend_scheme", at)) {
      prepend = *ps != "never";
    } else if (j.contains("add_prefix_space")) {
      prepend = get_bool(j, "add_prefix_space", at, true);
    }
    return std::make_unique<MetaspaceDecoder>(rep, prepend);
  }
  if (type == "BPEDecoder") return std::make_unique<BpeDecoder>(get_string(j, "suffix", at, "</w>"));
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse") return std::make_unique<FuseDecoder>();
  if (type == "Strip")
    return std::make_unique<StripDecoder>(single_char(get_string(j, "content", at), at.key("content")), get_uint(j, "start", at, 0),
                                          get_uint(j, "stop", at, 0));
  if (type == "Replace")
    return std::make_unique<ReplaceDecoder>(Pattern::from_json(require(j, "pattern", at), at.key("pattern")), get_string(j, "content", at));
  if (type == "Sequence") {
    const Json& arr = require(j, "decoders", at);
    if (!arr.is_array()) throw_type(at.key("decoders"), "an array", arr);
    std::vector<std::unique_ptr<Decoder>> list;
    for (size_t i = 0; i < arr.size(); ++i) list.push_back(decoder_from_json(arr[i], at.key("decoders").index(i)));
    return std::make_unique<SequenceDecoder>(std::move(list));
  }
  throw InputError(at.key("type").str(), "unsupported decoder " + quote(type) +
                                            " (supported: ByteLevel, WordPiece, Metaspace, BPEDecoder, ByteFallback, Fuse, "
                                            "Strip, Replace, Sequence)");
}

}  // namespace tcpp::tokenizers
