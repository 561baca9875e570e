// Tokenizer: tokenizer.json loading errors, added tokens, pairs, truncation, padding, batches, decoding.
#include "tcpp/tokenizers/tokenizer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tcpp/core/error.h"
#include "test_util.h"

namespace tcpp::tokenizers {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

Tokenizer words_tokenizer() {
  Json j = testing::word_level_json({"hello", "world", "[CLS]", "[SEP]", "[PAD]", "a", "b", "c", "d"});
  j["post_processor"] = Json::parse(R"({"type":"BertProcessing","sep":["[SEP]",4],"cls":["[CLS]",3]})");
  j["added_tokens"] = Json::parse(R"([{"id":3,"content":"[CLS]","special":true},{"id":4,"content":"[SEP]","special":true},
                                      {"id":5,"content":"[PAD]","special":true}])");
  return Tokenizer::from_json(j, "words.json");
}

TEST(TokenizerTest, EncodesWithSpecialTokensAndCharOffsets) {
  Tokenizer tok = words_tokenizer();
  Encoding e = tok.encode("hello wörld world");
  EXPECT_EQ(e.ids, (std::vector<uint32_t>{3, 1, 0, 2, 4}));
  EXPECT_EQ(e.special_tokens_mask, (std::vector<uint32_t>{1, 0, 0, 0, 1}));
  EXPECT_EQ(e.offsets[2], (Offsets{6, 11}));  // characters, not bytes
  EXPECT_EQ(e.offsets[3], (Offsets{12, 17}));
  EXPECT_EQ(tok.encode("hello", /*add_special_tokens=*/false).ids, (std::vector<uint32_t>{1}));
}

TEST(TokenizerTest, PairsGetTypeIdsAndLongestFirstTruncation) {
  Tokenizer tok = words_tokenizer();
  Encoding e = tok.encode_pair("a b", "c");
  EXPECT_EQ(e.ids, (std::vector<uint32_t>{3, 6, 7, 4, 8, 4}));
  EXPECT_EQ(e.type_ids, (std::vector<uint32_t>{0, 0, 0, 0, 1, 1}));
  TruncationParams t;
  t.max_length = 6;
  tok.set_truncation(t);
  Encoding cut = tok.encode_pair("a b c d", "a b c d");  // 3 special tokens, 3 left: 1 + 2 (as tokenizers)
  EXPECT_EQ(cut.ids, (std::vector<uint32_t>{3, 6, 4, 6, 7, 4}));
  ASSERT_FALSE(cut.overflowing.empty());
}

TEST(TokenizerTest, TruncationOnlySecondWithoutPairFails) {
  Tokenizer tok = words_tokenizer();
  TruncationParams t;
  t.max_length = 3;
  t.strategy = TruncationStrategy::kOnlySecond;
  tok.set_truncation(t);
  EXPECT_THAT([&] { tok.encode("a b c"); }, ThrowsMessage<InputError>(HasSubstr("only_second needs a pair")));
}

TEST(TokenizerTest, BatchPaddingToMultipleOnTheLeftKeepsOrder) {
  Tokenizer tok = words_tokenizer();
  PaddingParams p;
  p.pad_id = 5;
  p.pad_token = "[PAD]";
  p.direction = PaddingDirection::kLeft;
  p.pad_to_multiple_of = 4;
  tok.set_padding(p);
  std::vector<std::string> texts;
  for (int i = 0; i < 100; ++i) texts.push_back(i % 2 ? "a b c" : "d");
  auto out = tok.encode_batch(texts, /*add_special_tokens=*/true, /*num_threads=*/4);
  ASSERT_EQ(out.size(), 100u);
  EXPECT_EQ(out[0].ids, (std::vector<uint32_t>{5, 5, 5, 5, 5, 3, 9, 4}));
  EXPECT_EQ(out[0].attention_mask, (std::vector<uint32_t>{0, 0, 0, 0, 0, 1, 1, 1}));
  EXPECT_EQ(out[1].ids, (std::vector<uint32_t>{5, 5, 5, 3, 6, 7, 8, 4}));
}

TEST(TokenizerTest, AddedTokensMatchBeforeTheModelWithStripRules) {
  Tokenizer tok = words_tokenizer();
  AddedToken t = AddedToken::make("<x>", /*special=*/false);
  t.lstrip = true;
  t.rstrip = true;
  tok.add_tokens({t});
  AddedToken w = AddedToken::make("ab", /*special=*/false);
  w.single_word = true;
  tok.add_tokens({w});
  uint32_t x = *tok.token_to_id("<x>"), ab = *tok.token_to_id("ab");
  Encoding e = tok.encode("hello  <x>  world", /*add_special_tokens=*/false);
  EXPECT_EQ(e.ids, (std::vector<uint32_t>{1, x, 2}));
  EXPECT_EQ(e.offsets[1], (Offsets{5, 12}));
  EXPECT_EQ(tok.encode("ab xaby", /*add_special_tokens=*/false).ids, (std::vector<uint32_t>{ab, 0}));
  EXPECT_EQ(tok.get_vocab_size(/*with_added_tokens=*/true), 12u);
}

TEST(TokenizerTest, DecodeSkipsSpecialTokensWhenAsked) {
  Tokenizer tok = words_tokenizer();
  auto ids = tok.encode("hello world").ids;
  EXPECT_EQ(tok.decode(ids), "[CLS] hello world [SEP]");
  EXPECT_EQ(tok.decode(ids, /*skip_special_tokens=*/true), "hello world");
  EXPECT_EQ(tok.decode({1, 999999}), "hello");  // unknown ids are skipped
}

TEST(TokenizerTest, InvalidUtf8InputIsAnInputError) {
  Tokenizer tok = words_tokenizer();
  EXPECT_THAT([&] { tok.encode("ok \xC3("); }, ThrowsMessage<InputError>(HasSubstr("input: invalid UTF-8 at byte 3")));
}

TEST(TokenizerTest, MissingModelNamesTheFile) {
  testing::TempDir dir("tok_missing");
  auto path = dir.file("tokenizer.json", R"({"version":"1.0","normalizer":null})");
  EXPECT_THAT([&] { Tokenizer::from_file(path); }, ThrowsMessage<InputError>(HasSubstr("tokenizer.json: missing \"model\"")));
}

TEST(TokenizerTest, SyntaxErrorNamesLineAndColumn) {
  testing::TempDir dir("tok_syntax");
  auto path = dir.file("tokenizer.json", "{\n  \"model\": {,\n}");
  EXPECT_THAT([&] { Tokenizer::from_file(path); }, ThrowsMessage<InputError>(HasSubstr("tokenizer.json:2")));
}

TEST(TokenizerTest, WrongTypesAndBadIdsNameTheField) {
  Json j = testing::word_level_json({"a"});
  j["added_tokens"] = Json::parse(R"([{"id":"x","content":"[X]"}])");
  EXPECT_THAT([&] { Tokenizer::from_json(j, "tokenizer.json"); },
              ThrowsMessage<InputError>(HasSubstr("\"added_tokens[0].id\": expected a non-negative integer id, got a string \"x\"")));
  Json k = testing::word_level_json({"a"});
  k["post_processor"] = Json::parse(R"({"type":"BertProcessing","sep":["[SEP]",-3],"cls":["[CLS]",1]})");
  EXPECT_THAT([&] { Tokenizer::from_json(k, "tokenizer.json"); }, ThrowsMessage<InputError>(HasSubstr("\"post_processor.sep[1]\"")));
  Json m = testing::word_level_json({"a"});
  m["model"]["type"] = "Magic";
  EXPECT_THAT([&] { Tokenizer::from_json(m, "tokenizer.json"); }, ThrowsMessage<InputError>(HasSubstr("\"model.type\": unknown model type \"Magic\"")));
  Json v = testing::word_level_json({"a"});
  v["version"] = "2.0";
  EXPECT_THAT([&] { Tokenizer::from_json(v, "tokenizer.json"); }, ThrowsMessage<InputError>(HasSubstr("\"version\": unknown tokenizer version")));
}

TEST(TokenizerTest, TemplateWithUndeclaredSpecialTokenNamesThePiece) {
  Json j = testing::word_level_json({"a"});
  j["post_processor"] = Json::parse(R"({"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<s>","type_id":0}}],
                                       "pair":[],"special_tokens":{}})");
  EXPECT_THAT([&] { Tokenizer::from_json(j, "tokenizer.json"); },
              ThrowsMessage<InputError>(HasSubstr("\"post_processor.single[0].SpecialToken.id\": special token \"<s>\"")));
}

}  // namespace
}  // namespace tcpp::tokenizers
