// Decoders built from tokenizer.json objects.
#include "tcpp/tokenizers/decoders.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tcpp/core/error.h"
#include "tcpp/tokenizers/json_internal.h"

namespace tcpp::tokenizers {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

std::string decode(const char* json, std::vector<std::string> tokens) {
  return decoder_from_json(Json::parse(json), detail::JsonPath{"tokenizer.json", "decoder"})->decode(std::move(tokens));
}

TEST(DecodersTest, ByteLevelRestoresBytesAndReplacesBrokenUtf8) {
  EXPECT_EQ(decode(R"({"type":"ByteLevel"})", {"Hello", "\xC4\xA0world"}), "Hello world");
  EXPECT_EQ(decode(R"({"type":"ByteLevel"})", {"\xC3\xA2\xC4\xA2"}), "\xEF\xBF\xBD");  // bytes E2 82: a cut-off char
}

TEST(DecodersTest, WordPieceJoinsSubwordsAndCleansUp) {
  EXPECT_EQ(decode(R"({"type":"WordPiece","prefix":"##","cleanup":true})", {"hello", "##s", "world", "!", "do", "n't"}),
            "hellos world! don't");
}

TEST(DecodersTest, MetaspaceByteFallbackFuseStripReplaceSequence) {
  EXPECT_EQ(decode(R"({"type":"Metaspace","replacement":"▁","prepend_scheme":"always"})", {"▁Hey", "▁you"}), "Hey you");
  EXPECT_EQ(decode(R"({"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"▁"},"content":" "},
      {"type":"ByteFallback"},{"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]})",
                   {"▁a", "<0xC3>", "<0xA9>", "x", "<0xFF>", "<0x41>", "b"}),
            "a\xC3\xA9x\xEF\xBF\xBD\xEF\xBF\xBD" "b");  // an invalid byte run becomes one U+FFFD per byte
  EXPECT_EQ(decode(R"({"type":"BPEDecoder","suffix":"</w>"})", {"hel", "lo</w>", "you</w>"}), "hello you");
}

TEST(DecodersTest, StripWithMultiCharContentNamesTheField) {
  EXPECT_THAT([] { decode(R"({"type":"Strip","content":"ab","start":1,"stop":0})", {}); },
              ThrowsMessage<InputError>(HasSubstr("\"decoder.content\": expected a single character, got \"ab\"")));
}

}  // namespace
}  // namespace tcpp::tokenizers
