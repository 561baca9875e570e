// Tests for core/json: error locations and Python-compatible dumps.
#include "tcpp/core/json.h"

#include <cmath>

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

// Python's json (so HF's files, and ours: an eval_loss over batches without a label is NaN) writes NaN, Infinity and
// -Infinity; what we write we must read back (a trainer_state.json with a NaN metric must still resume).
TEST(JsonTest, NonFiniteNumbersAsPythonWritesThemReadBack) {
  Json v = {{"loss", std::nan("")}, {"up", HUGE_VAL}, {"down", -HUGE_VAL}, {"text", "NaN, Infinity"},
            {"list", {1.5, std::nan("")}}};
  const std::string text = dump_json_python(v, 2);
  ASSERT_THAT(text, AllOf(HasSubstr("\"loss\": NaN"), HasSubstr("\"down\": -Infinity")));
  Json back = parse_json(text, "state.json");
  EXPECT_TRUE(std::isnan(back["loss"].get<double>()));
  EXPECT_EQ(back["up"].get<double>(), HUGE_VAL);
  EXPECT_EQ(back["down"].get<double>(), -HUGE_VAL);
  EXPECT_EQ(back["text"], "NaN, Infinity");
  EXPECT_TRUE(std::isnan(back["list"][1].get<double>()));
  // Errors after one still point into the text as written; a word that only starts like one is still refused.
  EXPECT_THAT([] { parse_json("{\"a\": NaN,\n \"b\": ]}", "s.json"); },
              ThrowsMessage<InputError>(HasSubstr("s.json:2:7")));
  EXPECT_THAT([] { parse_json("{\"a\": NaNa}", "s.json"); }, ThrowsMessage<InputError>(HasSubstr("s.json:1:")));
  EXPECT_THAT([] { parse_json("{\"a\": nan}", "s.json"); }, ThrowsMessage<InputError>(HasSubstr("s.json:1:")));
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
