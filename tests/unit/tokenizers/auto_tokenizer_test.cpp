// PreTrainedTokenizer::from_pretrained: tokenizer.json / legacy files plus the config files.
#include "tcpp/tokenizers/auto_tokenizer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tcpp/core/error.h"
#include "test_util.h"

namespace tcpp::tokenizers {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

TEST(AutoTokenizerTest, Gpt2LegacyFilesGetByteLevelPipelineAndEndOfTextDefaults) {
  testing::TempDir dir("auto_gpt2");
  dir.file("vocab.json", R"({"h":0,"i":1,"hi":2,"\u0120":3,"\u0120hi":4,"<|endoftext|>":5})");
  dir.file("merges.txt", "#version: 0.2\nh i\n\xC4\xA0 hi\n");
  dir.file("tokenizer_config.json", R"({"model_max_length": 1024})");
  auto tok = PreTrainedTokenizer::from_pretrained(dir.path());
  EXPECT_EQ(tok.encode("hi hi").ids, (std::vector<uint32_t>{2, 4}));
  EXPECT_EQ(tok.decode({2, 4}), "hi hi");
  EXPECT_EQ(tok.eos_token_id(), 5u);
  EXPECT_FALSE(tok.pad_token_id().has_value());
  EXPECT_EQ(tok.model_max_length(), 1024);
  EXPECT_EQ(tok.size(), 6u);
  EXPECT_EQ(tok.encode("hi<|endoftext|>").ids, (std::vector<uint32_t>{2, 5}));
}

TEST(AutoTokenizerTest, BertVocabTxtGetsSpecialTokensAndMask) {
  testing::TempDir dir("auto_bert");
  dir.file("vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nworld\n##s\n");
  dir.file("tokenizer_config.json", R"({"do_lower_case": true, "padding_side": "left", "model_max_length": 1e30})");
  auto tok = PreTrainedTokenizer::from_pretrained(dir.path());
  auto e = tok.encode("Hello worlds [MASK]");
  EXPECT_EQ(e.ids, (std::vector<uint32_t>{2, 5, 6, 7, 4, 3}));
  EXPECT_EQ(tok.pad_token_id(), 0u);
  EXPECT_EQ(tok.mask_token_id(), 4u);
  EXPECT_EQ(tok.padding_side(), "left");
  EXPECT_EQ(tok.model_max_length(), kVeryLargeInteger);
  EXPECT_EQ(tok.get_special_tokens_mask(e.ids), (std::vector<uint32_t>{1, 0, 0, 0, 1, 1}));
  EXPECT_EQ(tok.decode(e.ids, /*skip_special_tokens=*/true), "hello worlds");
}

TEST(AutoTokenizerTest, SpecialTokensMapAddsMissingTokens) {
  testing::TempDir dir("auto_map");
  dir.file("tokenizer.json", testing::word_level_json({"a", "b"}).dump());
  dir.file("special_tokens_map.json", R"({"pad_token": {"content": "<pad>", "lstrip": false}, "eos_token": "b"})");
  auto tok = PreTrainedTokenizer::from_pretrained(dir.path());
  EXPECT_EQ(tok.pad_token_id(), 3u);
  EXPECT_EQ(tok.eos_token_id(), 2u);
  EXPECT_EQ(tok.size(), 4u);
}

TEST(AutoTokenizerTest, FolderWithoutTokenizerFilesIsReported) {
  testing::TempDir dir("auto_empty");
  EXPECT_THAT([&] { PreTrainedTokenizer::from_pretrained(dir.path()); },
              ThrowsMessage<InputError>(HasSubstr("no tokenizer.json, vocab.json + merges.txt, or vocab.txt")));
}

TEST(AutoTokenizerTest, BadPaddingSideNamesTheConfigField) {
  testing::TempDir dir("auto_side");
  dir.file("tokenizer.json", testing::word_level_json({"a"}).dump());
  dir.file("tokenizer_config.json", R"({"padding_side": "middle"})");
  EXPECT_THAT([&] { PreTrainedTokenizer::from_pretrained(dir.path()); },
              ThrowsMessage<InputError>(HasSubstr("tokenizer_config.json: \"padding_side\": expected \"left\" or \"right\"")));
}

}  // namespace
}  // namespace tcpp::tokenizers
