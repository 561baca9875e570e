// Normalizers built from tokenizer.json objects.
#include "tcpp/tokenizers/normalizers.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tcpp/core/error.h"
#include "tcpp/tokenizers/json_internal.h"

namespace tcpp::tokenizers {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

std::string normalize(const char* json, const std::string& text) {
  auto n = normalizer_from_json(Json::parse(json), detail::JsonPath{"tokenizer.json", "normalizer"});
  NormalizedString s(text);
  n->normalize(s);
  return s.get();
}

TEST(NormalizersTest, UnicodeFormsComposeAndDecompose) {
  EXPECT_EQ(normalize(R"({"type":"NFC"})", "e\xCC\x81"), "\xC3\xA9");
  EXPECT_EQ(normalize(R"({"type":"NFD"})", "\xC3\xA9"), "e\xCC\x81");
  EXPECT_EQ(normalize(R"({"type":"NFKC"})", "\xEF\xAC\x81"), "fi");  // ligature
  EXPECT_EQ(normalize(R"({"type":"NFKD"})", "\xC2\xBD"), "1\xE2\x81\x84" "2");
  EXPECT_EQ(normalize(R"({"type":"NFC"})", "\xE1\x84\x80\xE1\x85\xA1"), "\xEA\xB0\x80");  // Hangul jamo -> syllable
}

TEST(NormalizersTest, NmtDropsControlCharsAndSpacesOtherWhitespace) {
  // \x01 and DEL dropped; tab, newline, zero-width space, U+2581 and BOM become spaces (as tokenizers' Nmt).
  EXPECT_EQ(normalize(R"({"type":"Nmt"})", "a\x01" "b\tc\nd\x7F" "e\xE2\x80\x8B" "f\xE2\x96\x81g\xEF\xBB\xBFh"), "ab c de f g h");
}

TEST(NormalizersTest, BertNormalizerCleansSpacesChineseAndStripsAccents) {
  EXPECT_EQ(normalize(R"({"type":"BertNormalizer","clean_text":true,"handle_chinese_chars":true,"strip_accents":null,"lowercase":true})",
                      "H\xC3\xA9llo\tW\x01orld\xE4\xB8\xAD"),
            "hello world \xE4\xB8\xAD ");
}

TEST(NormalizersTest, SequenceReplacePrependStripAndLowercaseRunInOrder) {
  EXPECT_EQ(normalize(R"({"type":"Sequence","normalizers":[{"type":"Strip","strip_left":true,"strip_right":true},
      {"type":"Replace","pattern":{"String":" "},"content":"_"},{"type":"Prepend","prepend":">"},{"type":"Lowercase"}]})",
                      "  A B  "),
            ">a_b");
  EXPECT_EQ(normalize(R"({"type":"Replace","pattern":{"Regex":"\\d+"},"content":"#"})", "a12b3"), "a#b#");
  EXPECT_EQ(normalize(R"({"type":"StripAccents"})", "e\xCC\x81"), "e");
}

TEST(NormalizersTest, UnknownTypeNamesTheField) {
  EXPECT_THAT([] { normalize(R"({"type":"Precompiled"})", "x"); },
              ThrowsMessage<InputError>(HasSubstr("tokenizer.json: \"normalizer.type\": unsupported normalizer \"Precompiled\"")));
}

TEST(NormalizersTest, BadRegexNamesTheField) {
  EXPECT_THAT([] { normalize(R"({"type":"Replace","pattern":{"Regex":"(unclosed"},"content":""})", "x"); },
              ThrowsMessage<InputError>(HasSubstr("\"normalizer.pattern.Regex\": invalid regex")));
}

TEST(NormalizersTest, WrongTypeOfFieldIsReported) {
  EXPECT_THAT([] { normalize(R"({"type":"Sequence","normalizers":{}})", "x"); },
              ThrowsMessage<InputError>(HasSubstr("\"normalizer.normalizers\": expected an array, got an object")));
}

}  // namespace
}  // namespace tcpp::tokenizers
