// Pre-tokenizers built from tokenizer.json objects: the words and their original offsets.
#include "tcpp/tokenizers/pre_tokenizers.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tcpp/core/error.h"
#include "tcpp/tokenizers/json_internal.h"

namespace tcpp::tokenizers {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

std::vector<std::pair<std::string, Offsets>> pre_tokenize(const char* json, const std::string& text) {
  auto p = pre_tokenizer_from_json(Json::parse(json), detail::JsonPath{"tokenizer.json", "pre_tokenizer"});
  PreTokenizedString pre{NormalizedString(text)};
  p->pre_tokenize(pre);
  std::vector<std::pair<std::string, Offsets>> out;
  for (const auto& s : pre.splits()) out.emplace_back(s.normalized.get(), s.normalized.offsets_original());
  return out;
}

using Words = std::vector<std::pair<std::string, Offsets>>;

TEST(PreTokenizersTest, ByteLevelSplitsLikeGpt2AndMapsBytes) {
  auto w = pre_tokenize(R"({"type":"ByteLevel","add_prefix_space":false,"use_regex":true})", "Hello world's  x");
  EXPECT_EQ(w, (Words{{"Hello", {0, 5}}, {"\xC4\xA0world", {5, 11}}, {"'s", {11, 13}}, {"\xC4\xA0", {13, 14}}, {"\xC4\xA0x", {14, 16}}}));
}

TEST(PreTokenizersTest, ByteLevelAddsPrefixSpace) {
  auto w = pre_tokenize(R"({"type":"ByteLevel","add_prefix_space":true})", "Hi");
  EXPECT_EQ(w, (Words{{"\xC4\xA0Hi", {0, 2}}}));
}

TEST(PreTokenizersTest, WhitespaceKeepsWordsAndPunctuationRuns) {
  EXPECT_EQ(pre_tokenize(R"({"type":"Whitespace"})", "Hey man!! ok"),
            (Words{{"Hey", {0, 3}}, {"man", {4, 7}}, {"!!", {7, 9}}, {"ok", {10, 12}}}));
}

TEST(PreTokenizersTest, BertSplitsPunctuationIndividually) {
  EXPECT_EQ(pre_tokenize(R"({"type":"BertPreTokenizer"})", "a,b!?"),
            (Words{{"a", {0, 1}}, {",", {1, 2}}, {"b", {2, 3}}, {"!", {3, 4}}, {"?", {4, 5}}}));
}

TEST(PreTokenizersTest, MetaspaceReplacesSpacesAndPrepends) {
  EXPECT_EQ(pre_tokenize(R"({"type":"Metaspace","replacement":"▁","prepend_scheme":"always","split":true})", "a b"),
            (Words{{"\xE2\x96\x81" "a", {0, 1}}, {"\xE2\x96\x81" "b", {1, 3}}}));
}

TEST(PreTokenizersTest, DigitsAndSplitAndSequence) {
  EXPECT_EQ(pre_tokenize(R"({"type":"Digits","individual_digits":true})", "a12"), (Words{{"a", {0, 1}}, {"1", {1, 2}}, {"2", {2, 3}}}));
  EXPECT_EQ(pre_tokenize(R"({"type":"Sequence","pretokenizers":[{"type":"WhitespaceSplit"},
      {"type":"Split","pattern":{"String":"-"},"behavior":"MergedWithPrevious","invert":false}]})", "a-b c"),
            (Words{{"a-", {0, 2}}, {"b", {2, 3}}, {"c", {4, 5}}}));
  EXPECT_EQ(pre_tokenize(R"({"type":"Punctuation","behavior":"Removed"})", "a.b"), (Words{{"a", {0, 1}}, {"b", {2, 3}}}));
}

TEST(PreTokenizersTest, BadBehaviorNamesTheField) {
  EXPECT_THAT([] { pre_tokenize(R"({"type":"Split","pattern":{"String":"-"},"behavior":"Dropped"})", "x"); },
              ThrowsMessage<InputError>(HasSubstr("\"pre_tokenizer.behavior\": expected Removed")));
}

TEST(PreTokenizersTest, MissingTypeIsReported) {
  EXPECT_THAT([] { pre_tokenize(R"({"add_prefix_space":true})", "x"); },
              ThrowsMessage<InputError>(HasSubstr("tokenizer.json: \"pre_tokenizer\": missing \"type\"")));
}

}  // namespace
}  // namespace tcpp::tokenizers
