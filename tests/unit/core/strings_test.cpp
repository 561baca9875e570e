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
