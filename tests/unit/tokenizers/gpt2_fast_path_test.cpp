// The byte-level BPE fast path against the general pipeline it replaces: the GPT-2 pattern scanner against PCRE2
// (hard strings and random UTF-8), its character classes against PCRE2's \p{L} / \p{N}, whole encodings (ids,
// tokens, words, offsets) with and without add_prefix_space and added tokens, and BPE merging against a naive
// reference implementation (short words merge by linear scans, long ones by a heap).
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "tcpp/core/json.h"
#include "tcpp/tokenizers/bpe_trainer.h"
#include "tcpp/tokenizers/gpt2_split.h"
#include "tcpp/tokenizers/regex.h"
#include "tcpp/tokenizers/tokenizer.h"
#include "tcpp/tokenizers/unicode.h"
#include "test_util.h"

namespace tcpp::tokenizers {
namespace {

std::vector<std::string> hard_strings() {
  return {
      "",
      " ",
      "  ",
      "\n",
      " \n",
      "a",
      "'",
      "'s",
      " 's",
      "''s",
      "'re've'll'd'm't'x",
      "Hello world",
      " Hello  world ",
      "I'm can't won't they're we've she'll he'd it's",
      "DON'T SHOUT'S 'quoted' ''",
      "Emoji: \xF0\x9F\x98\x80 \xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD \xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7",
      "\xE4\xB8\xAD\xE6\x96\x87\xE5\xAD\x97\xE7\xAC\xA6\xEF\xBC\x8C\xE8\xBF\x99\xE3\x80\x82",
      "\xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4 \xED\x85\x8D\xEC\x8A\xA4\xED\x8A\xB8",
      "Jamo: \xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8",
      "Combining: cafe\xCC\x81 nai\xCC\x88ve e\xCC\x81\xCC\x96",
      "Precomposed: caf\xC3\xA9 \xC3\x85ngstr\xC3\xB6m \xC4\xB0stanbul",
      "\xD8\xA7\xD9\x84\xD8\xB9\xD8\xB1\xD8\xA8\xD9\x8A\xD8\xA9: \xD9\x85\xD8\xB1\xD8\xAD\xD8\xA8\xD8\xA7",
      std::string("Control\x01" "chars\x07" "and\x1b" "escape\x7f" "del\x1c\x1d\x1e\x1f", 33),
      std::string("nul\0inside", 10),
      "Zero\xE2\x80\x8Bwidth\xE2\x80\x8Cjoiner\xE2\x80\x8Dtest\xEF\xBB\xBF" "bom",
      "Tabs\tand\nnewlines\r\nmixed \t \n end",
      "Long whitespace:" + std::string(300, ' ') + "end" + std::string(50, '\n') + std::string(40, '\t'),
      "trailing spaces   ",
      "   leading spaces",
      "Digits 0123456789 3.14159 1,000,000 \xD9\xA3\xD9\xA4\xD9\xA5 \xE2\x91\xA0\xE2\x91\xA1 \xE2\x85\xAB \xC2\xB2",
      "Punctuation!!! ??? ... --- (brackets) [more] {curly} <angle> @#$%^&*",
      "URL https://example.com/path?q=1&r=2#frag email a.b@c.org",
      "<|endoftext|> special in text <|endoftext|>",
      "x<|endoftext|>y",
      "NBSP\xC2\xA0here\xE2\x80\x83" "em\xE3\x80\x80ideographic\xC2\x85nel\xE1\x9A\x80ogham\xE2\x80\xA8ls \xC2\xA0 x",
      "\xC2\xA0\xC2\xA0word \xC2\xA0",
      "\xF0\x9D\x92\x9C\xF0\x9D\x92\x9E math letters, \xF3\xA0\x80\x81 tag, \xF4\x8F\xBF\xBF max",
      std::string(150, 'a'),
      std::string(5000, 'x'),
      [] {
        std::string s;
        for (int i = 0; i < 300; ++i) s += "ab";
        return s;
      }(),
  };
}

// Code points the random strings are drawn from, weighted towards the pattern's edge cases.
const std::vector<std::string>& pieces() {
  static const std::vector<std::string> p = [] {
    std::vector<std::string> v = {"a", "Z", "q", "0", "7", " ", " ", " ", "  ", "\n", "\t", "\r", "\x0B", "\x0C", "'", "'s",
                                  "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", ".", ",", "!", "-", "_", "\x1C", "\x7F",
                                  std::string(1, '\0')};
    for (char32_t c : {0xA0, 0x85, 0x1680, 0x2000, 0x2003, 0x200A, 0x200B, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xE9,
                       0x301, 0x308, 0xDF, 0x416, 0x3A9, 0x4E2D, 0xD55C, 0x1100, 0x11A8, 0x627, 0x663, 0x915, 0x93F, 0x216B,
                       0xB2, 0xBD, 0x2460, 0xFF21, 0xFF10, 0x1D49C, 0x1F600, 0x1F3FD, 0x200D, 0xFE0F, 0xFEFF, 0xE0001,
                       0x10FFFF, 0xF0000, 0x30000, 0x1E900, 0x10400, 0xAA, 0xBA, 0x2070, 0x2C2F}) {
      std::string s;
      unicode::append_utf8(s, c);
      v.push_back(s);
    }
    return v;
  }();
  return p;
}

std::string random_text(std::mt19937& rng, size_t max_pieces) {
  std::string s;
  size_t n = rng() % (max_pieces + 1);
  for (size_t i = 0; i < n; ++i) {
    if (rng() % 8 == 0) {  // any code point, assigned or not
      char32_t c = rng() % 0x110000;
      if (c >= 0xD800 && c <= 0xDFFF) c = 0x20;
      unicode::append_utf8(s, c);
    } else {
      s += pieces()[rng() % pieces().size()];
    }
  }
  return s;
}

std::vector<std::pair<size_t, size_t>> pcre2_ranges(const Regex& re, const std::string& s, std::string* gap) {
  std::vector<std::pair<size_t, size_t>> out;
  for (const auto& [range, is_match] : re.find_matches(s)) {
    if (!is_match && range.first != range.second) *gap = "unmatched range [" + std::to_string(range.first) + ", " + std::to_string(range.second) + ")";
    if (is_match) out.push_back(range);
  }
  return out;
}

std::string show(const std::string& s) {
  std::string out;
  for (unsigned char c : s.substr(0, 80)) {
    char buf[8];
    if (c < 0x20 || c >= 0x7F) std::snprintf(buf, sizeof buf, "\\x%02X", c);
    else std::snprintf(buf, sizeof buf, "%c", c);
    out += buf;
  }
  return out;
}

TEST(Gpt2ScannerTest, MatchesPcre2OnHardStringsAndRandomUtf8) {
  Regex re = Regex::compile(kGpt2Pattern, "test");
  std::vector<std::string> inputs = hard_strings();
  std::mt19937 rng(1234);
  for (int i = 0; i < 4000; ++i) inputs.push_back(random_text(rng, i % 10 == 0 ? 200 : 24));
  size_t checked = 0;
  for (const auto& s : inputs) {
    std::string gap;
    auto expected = pcre2_ranges(re, s, &gap);
    ASSERT_EQ(gap, "") << "PCRE2 left a gap in \"" << show(s) << "\"";
    if (s.empty()) expected.clear();  // find_matches reports the empty input as one empty match
    ASSERT_EQ(gpt2::split_ranges(s), expected) << "input \"" << show(s) << "\"";
    ++checked;
  }
  EXPECT_EQ(checked, inputs.size());
}

TEST(Gpt2ScannerTest, CharClassesAgreeWithPcre2) {
  Regex letter = Regex::compile("^\\p{L}$", "test"), number = Regex::compile("^\\p{N}$", "test"),
        space = Regex::compile("^[\\t\\n\\x{0B}\\f\\r \\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}"
                               "\\x{205F}\\x{3000}]$",
                               "test");
  auto matches = [](const Regex& re, const std::string& s) {
    auto m = re.find_matches(s);
    return m.size() == 1 && m[0].second;
  };
  size_t checked = 0;
  for (char32_t c = 0; c <= 0x10FFFF; c += (c < 0x3400 ? 1 : 7)) {
    if (c >= 0xD800 && c <= 0xDFFF) continue;
    std::string s;
    unicode::append_utf8(s, c);
    gpt2::CharClass expected = matches(letter, s)   ? gpt2::kLetter
                               : matches(number, s) ? gpt2::kNumber
                               : matches(space, s)  ? gpt2::kSpace
                                                    : gpt2::kOther;
    ASSERT_EQ(gpt2::char_class(c), expected) << "U+" << std::hex << static_cast<uint32_t>(c);
    ++checked;
  }
  EXPECT_GT(checked, 100000u);
}

// A small byte-level BPE tokenizer.json trained on the hard strings and some English, with <|endoftext|>.
Json trained_byte_level(const testing::TempDir& dir) {
  std::string corpus;
  for (int r = 0; r < 3; ++r)
    for (const auto& s : hard_strings())
      if (s.size() < 1000) corpus += s + "\n";
  for (int r = 0; r < 20; ++r)
    corpus += "The jury further said in term-end presentments that the City Executive Committee, which had over-all "
              "charge of the election, deserves the praise and thanks of the City of Atlanta. It's the 1960's!\n";
  BpeTrainerOptions o;
  o.vocab_size = 700;
  o.special_tokens = {"<|endoftext|>"};
  return train_byte_level_bpe({dir.file("corpus.txt", corpus)}, o);
}

std::string diff(const Encoding& a, const Encoding& b) {
  if (a.ids != b.ids) return "ids";
  if (a.tokens != b.tokens) return "tokens";
  if (a.type_ids != b.type_ids) return "type_ids";
  if (a.words != b.words) return "words";
  if (a.special_tokens_mask != b.special_tokens_mask) return "special_tokens_mask";
  if (a.attention_mask != b.attention_mask) return "attention_mask";
  for (size_t i = 0; i < a.offsets.size(); ++i)
    if (a.offsets[i] != b.offsets[i])
      return "offsets[" + std::to_string(i) + "]: fast (" + std::to_string(a.offsets[i].first) + "," + std::to_string(a.offsets[i].second) +
             "), general (" + std::to_string(b.offsets[i].first) + "," + std::to_string(b.offsets[i].second) + ")";
  return "";
}

void expect_same_encodings(const Json& j, const std::string& name) {
  Tokenizer fast = Tokenizer::from_json(j, name);
  Tokenizer general = Tokenizer::from_json(j, name);
  general.set_fast_path(false);
  ASSERT_TRUE(fast.uses_fast_path()) << name;
  ASSERT_FALSE(general.uses_fast_path()) << name;
  std::vector<std::string> inputs = hard_strings();
  std::mt19937 rng(99);
  for (int i = 0; i < 1500; ++i) {
    std::string s = random_text(rng, 30);
    if (i % 5 == 0) s.insert(rng() % (s.size() + 1) == 0 ? 0 : s.size(), "<|endoftext|>");
    inputs.push_back(s);
  }
  for (const auto& s : inputs) {
    ASSERT_EQ(diff(fast.encode(s), general.encode(s)), "") << name << ": input \"" << show(s) << "\"";
    ASSERT_EQ(diff(fast.encode(s, false), general.encode(s, false)), "") << name << ": input \"" << show(s) << "\"";
  }
  for (size_t i = 0; i + 1 < inputs.size(); i += 37)
    ASSERT_EQ(diff(fast.encode_pair(inputs[i], inputs[i + 1]), general.encode_pair(inputs[i], inputs[i + 1])), "")
        << name << ": pair \"" << show(inputs[i]) << "\" + \"" << show(inputs[i + 1]) << "\"";
  auto batch_fast = fast.encode_batch(inputs, true, 2), batch_general = general.encode_batch(inputs, true, 1);
  for (size_t i = 0; i < inputs.size(); ++i) ASSERT_EQ(diff(batch_fast[i], batch_general[i]), "") << name << ": batch[" << i << "]";
}

TEST(ByteLevelFastPathTest, SameEncodingsAsTheGeneralPipeline) {
  testing::TempDir dir("fast_path");
  Json j = trained_byte_level(dir);
  ASSERT_EQ(j["pre_tokenizer"]["type"], "ByteLevel");
  for (bool prefix : {false, true}) {
    j["pre_tokenizer"]["add_prefix_space"] = prefix;
    j["post_processor"] = Json{{"type", "ByteLevel"}, {"add_prefix_space", prefix}, {"trim_offsets", true}};
    expect_same_encodings(j, prefix ? "prefix space, trim offsets" : "no prefix space, trim offsets");
  }
  // Added tokens that strip their neighbours' spaces, and one that is not special.
  j["added_tokens"].push_back(Json{{"id", 700}, {"content", "[X]"}, {"single_word", false}, {"lstrip", true}, {"rstrip", true},
                                   {"normalized", false}, {"special", true}});
  j["added_tokens"].push_back(Json{{"id", 701}, {"content", "'s"}, {"single_word", true}, {"lstrip", false},
                                   {"rstrip", false}, {"normalized", true}, {"special", false}});
  expect_same_encodings(j, "added tokens");
}

TEST(ByteLevelFastPathTest, TakenOnlyForTheByteLevelBpePipeline) {
  testing::TempDir dir("fast_path_sel");
  Json j = trained_byte_level(dir);
  EXPECT_TRUE(Tokenizer::from_json(j, "plain").uses_fast_path());
  Json empty_affixes = j;  // as tokenizers writes GPT-2's tokenizer.json
  empty_affixes["model"]["continuing_subword_prefix"] = "";
  empty_affixes["model"]["end_of_word_suffix"] = "";
  EXPECT_TRUE(Tokenizer::from_json(empty_affixes, "empty affixes").uses_fast_path());
  Json with_normalizer = j;
  with_normalizer["normalizer"] = Json{{"type", "Lowercase"}};
  EXPECT_FALSE(Tokenizer::from_json(with_normalizer, "normalizer").uses_fast_path());
  Json no_regex = j;
  no_regex["pre_tokenizer"]["use_regex"] = false;
  EXPECT_FALSE(Tokenizer::from_json(no_regex, "no regex").uses_fast_path());
  Json sequence = j;
  sequence["pre_tokenizer"] = Json{{"type", "Sequence"}, {"pretokenizers", Json::array({j["pre_tokenizer"]})}};
  EXPECT_FALSE(Tokenizer::from_json(sequence, "sequence").uses_fast_path());
  Json suffix = j;
  suffix["model"]["end_of_word_suffix"] = "</w>";
  EXPECT_FALSE(Tokenizer::from_json(suffix, "suffix").uses_fast_path());
  Json missing_byte = j;  // a byte without its byte-level char in the vocabulary: the general path handles it
  Json vocab = Json::object();
  for (auto& [tok, id] : j["model"]["vocab"].items())
    if (tok != "\xC3\xBF") vocab[tok] = id;  // U+00FF, the char of byte 0xFF
  missing_byte["model"]["vocab"] = vocab;
  Json merges = Json::array();
  for (const auto& m : j["model"]["merges"]) {
    std::string s = m.is_string() ? m.get<std::string>() : m[0].get<std::string>() + " " + m[1].get<std::string>();
    if (s.find("\xC3\xBF") == std::string::npos) merges.push_back(m);
  }
  missing_byte["model"]["merges"] = merges;
  EXPECT_FALSE(Tokenizer::from_json(missing_byte, "missing byte").uses_fast_path());
}

// Naive BPE: repeatedly merge the lowest-ranked adjacent pair, leftmost first.
std::vector<std::string> naive_bpe(std::vector<std::string> syms, const std::map<std::pair<std::string, std::string>, size_t>& ranks) {
  while (syms.size() > 1) {
    size_t best = 0, best_rank = SIZE_MAX;
    for (size_t i = 0; i + 1 < syms.size(); ++i) {
      auto it = ranks.find({syms[i], syms[i + 1]});
      if (it != ranks.end() && it->second < best_rank) best = i, best_rank = it->second;
    }
    if (best_rank == SIZE_MAX) break;
    syms[best] += syms[best + 1];
    syms.erase(syms.begin() + static_cast<long>(best) + 1);
  }
  return syms;
}

TEST(ByteLevelFastPathTest, MergesMatchANaiveReferenceForShortAndLongWords) {
  testing::TempDir dir("fast_path_bpe");
  Json j = trained_byte_level(dir);
  std::map<std::pair<std::string, std::string>, size_t> ranks;
  const Json& merges = j["model"]["merges"];
  for (size_t r = 0; r < merges.size(); ++r) {
    const Json& m = merges[r];
    std::string s = m.is_string() ? m.get<std::string>() : m[0].get<std::string>() + " " + m[1].get<std::string>();
    size_t sp = s.find(' ');
    ranks.emplace(std::make_pair(s.substr(0, sp), s.substr(sp + 1)), r);
  }
  Json no_pre = j;
  no_pre["pre_tokenizer"]["use_regex"] = false;  // whole input is one word (general path)
  no_pre["pre_tokenizer"]["add_prefix_space"] = false;
  Tokenizer general = Tokenizer::from_json(no_pre, "one word");
  std::mt19937 rng(7);
  const std::vector<std::string> alphabet = {"a", "b", "e", "h", "t", "r", "\xC4\xA0", "'"};  // \xC4\xA0: mapped space
  for (int i = 0; i < 600; ++i) {
    size_t n = i < 300 ? 1 + rng() % 64 : 65 + rng() % 200;  // both sides of the linear/heap threshold
    std::vector<std::string> chars;
    std::string word;
    for (size_t k = 0; k < n; ++k) {
      chars.push_back(alphabet[rng() % alphabet.size()]);
      word += chars.back();
    }
    std::string text;  // the raw text whose byte-level form is `word`
    for (const auto& c : chars) text += c == "\xC4\xA0" ? " " : c;
    auto expected = naive_bpe(chars, ranks);
    auto e = general.encode(text, false);
    ASSERT_EQ(e.tokens, expected) << "word of " << n << " chars: " << word;
  }
}

}  // namespace
}  // namespace tcpp::tokenizers
