// Tests for core/json: error locations and Python-compatible dumps.
#include "tcpp/core/json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tcpp/core/error.h"

namespace tcpp {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

TEST(JsonTest, SyntaxErrorNamesFileLineAndColumn) {
  EXPECT_THAT([] { parse_json("{\n  \"a\": 1,\n  \"b\": ]\n}", "cfg.json"); },
              ThrowsMessage<InputError>(HasSubstr("cfg.json:3:")));
}

TEST(JsonTest, NumberTooLargeForADoubleIsAnInputErrorWithItsLocation) {
  // Found by tests/fuzz core_json: nlohmann throws out_of_range (406), not parse_error, for "1e3005".
  EXPECT_THAT([] { parse_json("{\"a\": [1,\n 1e3005]}", "cfg.json"); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("cfg.json:2:2"), HasSubstr("1e3005"))));
}

TEST(JsonTest, PythonFloatReprMatchesPython) {
  EXPECT_EQ(python_float_repr(5e-05), "5e-05");
  EXPECT_EQ(python_float_repr(0.1), "0.1");
  EXPECT_EQ(python_float_repr(3.0), "3.0");
  EXPECT_EQ(python_float_repr(1e16), "1e+16");
  EXPECT_EQ(python_float_repr(123456.789), "123456.789");
  EXPECT_EQ(python_float_repr(0.0001), "0.0001");
  EXPECT_EQ(python_float_repr(-2.5), "-2.5");
  EXPECT_EQ(python_float_repr(1.0 / 3.0), "0.3333333333333333");
}

TEST(JsonTest, DumpPythonSortsKeysAndIndents) {
  Json j = {{"b", 1}, {"a", {1.5, "x"}}, {"c", Json::object()}};
  EXPECT_EQ(dump_json_python(j, 2), "{\n  \"a\": [\n    1.5,\n    \"x\"\n  ],\n  \"b\": 1,\n  \"c\": {}\n}");
  EXPECT_EQ(dump_json_python(j, -1), "{\"a\": [1.5, \"x\"], \"b\": 1, \"c\": {}}");
}

TEST(JsonTest, DumpPythonEscapesNonAsciiLikeEnsureAscii) {
  EXPECT_EQ(dump_json_python(Json("é😀"), -1), "\"\\u00e9\\ud83d\\ude00\"");
}

}  // namespace
}  // namespace tcpp
