// BPE model: merge order, decorations, unknowns, byte fallback, and legacy vocab.json + merges.txt loading.
#include "tcpp/tokenizers/bpe.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tcpp/core/error.h"
#include "tcpp/tokenizers/json_internal.h"
#include "test_util.h"

namespace tcpp::tokenizers {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

std::vector<std::string> values(const std::vector<Token>& tokens) {
  std::vector<std::string> out;
  for (const auto& t : tokens) out.push_back(t.value);
  return out;
}

TEST(BpeTest, AppliesMergesByRankNotPosition) {
  Vocab v{{"a", 0}, {"b", 1}, {"c", 2}, {"ab", 3}, {"bc", 4}, {"abc", 5}};
  // "bc" has the better rank, so "abc" becomes a + bc, and (a, bc) is not a merge.
  auto bpe = Bpe::create(v, {{"b", "c"}, {"a", "b"}}, BpeOptions{});
  auto t = bpe->tokenize("abc");
  EXPECT_EQ(values(t), (std::vector<std::string>{"a", "bc"}));
  EXPECT_EQ(t[1].offsets, (Offsets{1, 3}));
  auto t2 = Bpe::create(v, {{"a", "b"}, {"ab", "c"}}, BpeOptions{})->tokenize("abcab");
  EXPECT_EQ(values(t2), (std::vector<std::string>{"abc", "ab"}));
}

TEST(BpeTest, UnknownCharsAreFusedWhenAsked) {
  Vocab v{{"<unk>", 0}, {"a", 1}};
  BpeOptions o;
  o.unk_token = "<unk>";
  o.fuse_unk = true;
  auto t = Bpe::create(v, {}, o)->tokenize("xya");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].id, 0u);
  EXPECT_EQ(t[0].offsets, (Offsets{0, 2}));
}

TEST(BpeTest, ByteFallbackUsesHexByteTokens) {
  Vocab v{{"a", 0}, {"<0xC3>", 1}, {"<0xA9>", 2}};
  BpeOptions o;
  o.byte_fallback = true;
  auto t = Bpe::create(v, {}, o)->tokenize("a\xC3\xA9");
  EXPECT_EQ(values(t), (std::vector<std::string>{"a", "<0xC3>", "<0xA9>"}));
}

TEST(BpeTest, ContinuingSubwordPrefixAndEndOfWordSuffix) {
  Vocab v{{"a", 0}, {"##b</w>", 1}, {"a##b</w>", 2}};
  BpeOptions o;
  o.continuing_subword_prefix = "##";
  o.end_of_word_suffix = "</w>";
  EXPECT_EQ(values(Bpe::create(v, {}, o)->tokenize("ab")), (std::vector<std::string>{"a", "##b</w>"}));
  Vocab v2{{"a", 0}, {"##b</w>", 1}, {"ab</w>", 2}};
  EXPECT_EQ(values(Bpe::create(v2, {{"a", "##b</w>"}}, o)->tokenize("ab")), (std::vector<std::string>{"ab</w>"}));
}

TEST(BpeTest, CachedWordsGiveTheSameTokens) {
  Vocab v{{"a", 0}, {"b", 1}, {"ab", 2}};
  auto bpe = Bpe::create(v, {{"a", "b"}}, BpeOptions{});
  auto first = values(bpe->tokenize("abab"));
  EXPECT_EQ(values(bpe->tokenize("abab")), first);
  EXPECT_EQ(first, (std::vector<std::string>{"ab", "ab"}));
}

TEST(BpeTest, MergesLineWithOneTokenReportsLineNumber) {
  testing::TempDir dir("bpe_merges");
  auto vocab = dir.file("vocab.json", R"({"a":0,"b":1,"ab":2})");
  auto merges = dir.file("merges.txt", "#version: 0.2\na b\nab\n");
  EXPECT_THAT([&] { Bpe::from_files(vocab, merges, BpeOptions{}); },
              ThrowsMessage<InputError>(HasSubstr("merges.txt:3: expected two space-separated tokens, got \"ab\"")));
}

TEST(BpeTest, MergeOfUnknownTokenNamesTheMerge) {
  Json j = Json::parse(R"({"type":"BPE","vocab":{"a":0,"b":1},"merges":[["a","b"]]})");
  EXPECT_THAT([&] { Bpe::from_json(j, detail::JsonPath{"tokenizer.json", "model"}); },
              ThrowsMessage<InputError>(HasSubstr("\"model.merges\"[0]: merge token \"ab\" is not in the vocabulary")));
}

TEST(BpeTest, VocabIdOutOfRangeNamesTheToken) {
  Json j = Json::parse(R"({"type":"BPE","vocab":{"a":-1},"merges":[]})");
  EXPECT_THAT([&] { Bpe::from_json(j, detail::JsonPath{"tokenizer.json", "model"}); },
              ThrowsMessage<InputError>(HasSubstr("\"model.vocab.a\": expected a non-negative integer id, got an integer (-1)")));
  Json k = Json::parse(R"({"type":"BPE","vocab":{"a":4294967296},"merges":[]})");
  EXPECT_THAT([&] { Bpe::from_json(k, detail::JsonPath{"tokenizer.json", "model"}); },
              ThrowsMessage<InputError>(HasSubstr("\"model.vocab.a\": id 4294967296 is out of range")));
}

TEST(BpeTest, DropoutIsRejectedWithTheField) {
  Json j = Json::parse(R"({"type":"BPE","dropout":0.1,"vocab":{"a":0},"merges":[]})");
  EXPECT_THAT([&] { Bpe::from_json(j, detail::JsonPath{"tokenizer.json", "model"}); },
              ThrowsMessage<InputError>(HasSubstr("\"model.dropout\"")));
}

}  // namespace
}  // namespace tcpp::tokenizers
