// Tests for core/strings.
#include "tcpp/core/strings.h"

#include <gtest/gtest.h>

namespace tcpp {
namespace {

TEST(StringsTest, SplitKeepsEmptyFields) {
  EXPECT_EQ(split("a,,b", ','), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(split("", ','), (std::vector<std::string>{""}));
}

TEST(StringsTest, ParseIntRejectsTrailingGarbage) {
  EXPECT_EQ(parse_int("42"), 42);
  EXPECT_EQ(parse_int(" -7 "), -7);
  EXPECT_FALSE(parse_int("4x"));
  EXPECT_FALSE(parse_int(""));
  EXPECT_FALSE(parse_int("99999999999999999999999"));
}

TEST(StringsTest, ParseDoubleAcceptsExponentAndRejectsGarbage) {
  EXPECT_DOUBLE_EQ(*parse_double("5e-5"), 5e-5);
  EXPECT_FALSE(parse_double("1.0.0"));
}

TEST(StringsTest, ParseBoolAcceptsPythonSpellings) {
  for (const char* t : {"true", "True", "1", "yes", "t", "y"}) EXPECT_EQ(parse_bool(t), true) << t;
  for (const char* f : {"false", "FALSE", "0", "no", "f", "n"}) EXPECT_EQ(parse_bool(f), false) << f;
  EXPECT_FALSE(parse_bool("maybe"));
}

TEST(StringsTest, ClosestMatchSuggestsNearNamesOnly) {
  std::vector<std::string> names = {"learning_rate", "logging_steps", "output_dir"};
  EXPECT_EQ(closest_match("learning_rat", names), "learning_rate");
  EXPECT_EQ(closest_match("loging_steps", names), "logging_steps");
  EXPECT_FALSE(closest_match("zzz", names));
}

TEST(StringsTest, QuoteEscapesControlCharacters) { EXPECT_EQ(quote("a\"b\n\x01"), "\"a\\\"b\\n\\x01\""); }

}  // namespace
}  // namespace tcpp

namespace tcpp {
namespace {

// RFC 4648 section 10's vectors, every byte value, and what is not canonical base64.
TEST(StringsTest, Base64DecodesRfc4648AndRefusesTheRest) {
  const std::vector<std::pair<std::string, std::string>> vectors = {
      {"", ""}, {"Zg==", "f"}, {"Zm8=", "fo"}, {"Zm9v", "foo"}, {"Zm9vYg==", "foob"}, {"Zm9vYmE=", "fooba"},
      {"Zm9vYmFy", "foobar"}, {"AP8=", std::string("\x00\xff", 2)}, {"+/+/", "\xfb\xff\xbf"}};
  for (const auto& [in, out] : vectors) EXPECT_EQ(base64_decode(in), out) << in;
  for (const char* bad : {"Zg=", "Zg", "Z===", "Zm9v!A==", "Zh==", "Zm9=", "Zg==Zg==", "Zm 9v"})
    EXPECT_EQ(base64_decode(bad), std::nullopt) << bad;
}

}  // namespace
}  // namespace tcpp
