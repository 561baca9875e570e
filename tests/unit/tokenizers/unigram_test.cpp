// Unigram model: best-scoring segmentation and unknown handling.
#include "tcpp/tokenizers/unigram.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tcpp/core/error.h"
#include "tcpp/tokenizers/json_internal.h"

namespace tcpp::tokenizers {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

TEST(UnigramTest, PicksTheBestScoringSegmentation) {
  auto u = Unigram::create({{"<unk>", 0}, {"a", -1}, {"b", -1}, {"ab", -1.5}, {"abc", -5}, {"c", -1}}, 0, false);
  auto t = u->tokenize("abc");
  ASSERT_EQ(t.size(), 2u);  // ab + c = -2.5 beats abc = -5 and a + b + c = -3
  EXPECT_EQ(t[0].value, "ab");
  EXPECT_EQ(t[1].offsets, (Offsets{2, 3}));
}

TEST(UnigramTest, ConsecutiveUnknownCharsFuseIntoOneUnk) {
  auto u = Unigram::create({{"<unk>", 0}, {"a", -1}}, 0, false);
  auto t = u->tokenize("xya");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].id, 0u);
  EXPECT_EQ(t[0].value, "xy");
}

TEST(UnigramTest, UnkIdOutOfRangeNamesTheField) {
  Json j = Json::parse(R"({"type":"Unigram","unk_id":5,"vocab":[["a",-1.0]]})");
  EXPECT_THAT([&] { Unigram::from_json(j, detail::JsonPath{"tokenizer.json", "model"}); },
              ThrowsMessage<InputError>(HasSubstr("\"model.unk_id\": \"unk_id\" 5 is out of range")));
}

TEST(UnigramTest, MalformedVocabEntryNamesTheIndex) {
  Json j = Json::parse(R"({"type":"Unigram","unk_id":0,"vocab":[["a",-1.0],["b"]]})");
  EXPECT_THAT([&] { Unigram::from_json(j, detail::JsonPath{"tokenizer.json", "model"}); },
              ThrowsMessage<InputError>(HasSubstr("\"model.vocab[1]\": expected [token, score]")));
}

}  // namespace
}  // namespace tcpp::tokenizers
