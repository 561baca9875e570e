// WordPiece and WordLevel models.
#include "tcpp/tokenizers/wordpiece.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tcpp/core/error.h"
#include "test_util.h"

namespace tcpp::tokenizers {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

TEST(WordPieceTest, GreedyLongestMatchWithContinuationPrefix) {
  auto wp = WordPiece::create({{"[UNK]", 0}, {"un", 1}, {"##aff", 2}, {"##able", 3}, {"u", 4}});
  auto t = wp->tokenize("unaffable");
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[0].value, "un");
  EXPECT_EQ(t[1].value, "##aff");
  EXPECT_EQ(t[2].offsets, (Offsets{5, 9}));
}

TEST(WordPieceTest, WordWithUnmatchablePartBecomesOneUnknown) {
  auto wp = WordPiece::create({{"[UNK]", 0}, {"un", 1}});
  auto t = wp->tokenize("unx");
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].id, 0u);
  EXPECT_EQ(t[0].offsets, (Offsets{0, 3}));
  EXPECT_EQ(WordPiece::create({{"[UNK]", 0}, {"a", 1}}, "[UNK]", "##", 3)->tokenize("aaaa")[0].id, 0u);  // too long
}

TEST(WordPieceTest, VocabTxtGivesLineNumbersAsIds) {
  testing::TempDir dir("wp_vocab");
  auto wp = WordPiece::from_vocab_txt(dir.file("vocab.txt", "[PAD]\n[UNK]\nhello\n##s\n"));
  EXPECT_EQ(wp->token_to_id("hello"), 2u);
  EXPECT_EQ(wp->vocab_size(), 4u);
}

TEST(WordPieceTest, VocabTxtWithInvalidUtf8ReportsLine) {
  testing::TempDir dir("wp_bad");
  auto path = dir.file("vocab.txt", "[UNK]\nok\n\xFF\xFE\n");
  EXPECT_THAT([&] { WordPiece::from_vocab_txt(path); }, ThrowsMessage<InputError>(HasSubstr("vocab.txt:3: token is not valid UTF-8")));
}

TEST(WordLevelTest, UnknownWordsMapToUnkToken) {
  auto wl = WordLevel::create({{"<unk>", 0}, {"hi", 1}}, "<unk>");
  EXPECT_EQ(wl->tokenize("hi")[0].id, 1u);
  EXPECT_EQ(wl->tokenize("bye")[0].id, 0u);
}

}  // namespace
}  // namespace tcpp::tokenizers
