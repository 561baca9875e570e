// NormalizedString: alignments survive edits so offsets map back to the original text.
#include "tcpp/tokenizers/normalized_string.h"

#include <gtest/gtest.h>

#include "tcpp/tokenizers/unicode.h"

namespace tcpp::tokenizers {
namespace {

TEST(NormalizedStringTest, NfdKeepsAccentAlignedToPrecomposedChar) {
  NormalizedString n("élégant");
  n.nfd();
  EXPECT_EQ(n.get(), "e\xCC\x81le\xCC\x81gant");
  // "e" + combining acute (3 bytes) come from the 2-byte "é".
  EXPECT_EQ(n.normalized_to_original({0, 3}), (Offsets{0, 2}));
  EXPECT_EQ(n.normalized_to_original({3, 4}), (Offsets{2, 3}));
}

TEST(NormalizedStringTest, FilterRemovedCharsDoNotShiftLaterOffsets) {
  NormalizedString n("a\x01" "bc");
  n.filter([](char32_t c) { return c != 1; });
  EXPECT_EQ(n.get(), "abc");
  EXPECT_EQ(n.normalized_to_original({1, 3}), (Offsets{2, 4}));
}

TEST(NormalizedStringTest, PrependAlignsToFirstChar) {
  NormalizedString n("Hey");
  n.prepend(" ");
  EXPECT_EQ(n.get(), " Hey");
  EXPECT_EQ(n.normalized_to_original({0, 2}), (Offsets{0, 1}));
}

TEST(NormalizedStringTest, LowercaseOfDottedCapitalIAddsCombiningDot) {
  NormalizedString n("\xC4\xB0x");  // U+0130
  n.lowercase();
  EXPECT_EQ(n.get(), "i\xCC\x87x");
  EXPECT_EQ(n.normalized_to_original({0, 3}), (Offsets{0, 2}));
}

TEST(NormalizedStringTest, SplitBehavioursMatchTokenizers) {
  NormalizedString n("a-b--c");
  auto m = find_char_matches(n.get(), [](char32_t c) { return c == '-'; });
  auto texts = [&](SplitDelimiterBehavior b) {
    std::vector<std::string> out;
    for (const auto& s : n.split(m, b)) out.push_back(s.get());
    return out;
  };
  EXPECT_EQ(texts(SplitDelimiterBehavior::kRemoved), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(texts(SplitDelimiterBehavior::kIsolated), (std::vector<std::string>{"a", "-", "b", "-", "-", "c"}));
  EXPECT_EQ(texts(SplitDelimiterBehavior::kMergedWithPrevious), (std::vector<std::string>{"a-", "b-", "-", "c"}));
  EXPECT_EQ(texts(SplitDelimiterBehavior::kMergedWithNext), (std::vector<std::string>{"a", "-b", "-", "-c"}));
  EXPECT_EQ(texts(SplitDelimiterBehavior::kContiguous), (std::vector<std::string>{"a", "-", "b", "--", "c"}));
}

TEST(NormalizedStringTest, SlicesKeepTheirPlaceInTheOriginal) {
  NormalizedString n("hello world");
  auto s = n.slice({6, 11});
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->get(), "world");
  EXPECT_EQ(s->offsets_original(), (Offsets{6, 11}));
  EXPECT_FALSE(NormalizedString("é").slice({0, 1}).has_value());  // not a char boundary
}

TEST(NormalizedStringTest, StripRemovesUnicodeWhiteSpace) {
  NormalizedString n("\xE3\x80\x80 hi \t");
  n.strip();
  EXPECT_EQ(n.get(), "hi");
  EXPECT_EQ(n.normalized_to_original({0, 2}), (Offsets{4, 6}));
}

TEST(NormalizedStringTest, ByteOffsetsConvertToCharOffsets) {
  BytesToCharOffsetConverter c("aé😀b");  // bytes: a(0) é(1-2) 😀(3-6) b(7)
  EXPECT_EQ(c.convert({1, 3}), (Offsets{1, 2}));
  EXPECT_EQ(c.convert({3, 5}), (Offsets{2, 2}));  // inside the emoji, as tokenizers
  EXPECT_EQ(c.convert({7, 8}), (Offsets{3, 4}));
}

TEST(Utf8Test, FindsInvalidSequences) {
  EXPECT_EQ(unicode::find_invalid_utf8("abc"), std::string_view::npos);
  EXPECT_EQ(unicode::find_invalid_utf8("ab\xC3"), 2u);        // truncated
  EXPECT_EQ(unicode::find_invalid_utf8("\xC0\xAF"), 0u);      // overlong
  EXPECT_EQ(unicode::find_invalid_utf8("x\xED\xA0\x80"), 1u); // surrogate
  EXPECT_EQ(unicode::find_invalid_utf8("\xF4\x90\x80\x80"), 0u);
}

}  // namespace
}  // namespace tcpp::tokenizers
