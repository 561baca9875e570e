// BpeTrainer: merge order, min_frequency, special tokens, and byte-level training from files.
#include "tcpp/tokenizers/bpe_trainer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tcpp/core/error.h"
#include "tcpp/tokenizers/tokenizer.h"
#include "tcpp/tokenizers/trainers.h"
#include "test_util.h"

namespace tcpp::tokenizers {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

TEST(BpeTrainerTest, MergesTheMostFrequentPairFirst) {
  BpeTrainerOptions o;
  o.vocab_size = 7;
  o.special_tokens = {"<s>"};
  BpeTrainer t(o);
  t.feed({"abc", "abc", "abc", "bcd", "bcd", "bcd", "bcd"});
  Json j = t.train()->to_json();
  // Alphabet a b c d (ids 1-4 after <s>), then "bc" (count 7), then "abc" or "bcd" (bcd: 4 > abc: 3).
  EXPECT_EQ(j["vocab"]["<s>"], 0);
  EXPECT_EQ(j["vocab"]["a"], 1);
  EXPECT_EQ(j["merges"][0], Json::array({"b", "c"}));
  EXPECT_EQ(j["merges"][1], Json::array({"bc", "d"}));
  EXPECT_EQ(j["vocab"].size(), 7u);
}

TEST(BpeTrainerTest, StopsBelowMinFrequency) {
  BpeTrainerOptions o;
  o.vocab_size = 100;
  o.min_frequency = 3;
  BpeTrainer t(o);
  t.feed({"ab", "ab", "ab", "cd"});
  Json j = t.train()->to_json();
  EXPECT_EQ(j["merges"].size(), 1u);  // "c d" occurs once
}

TEST(BpeTrainerTest, ByteLevelTrainingRoundTripsText) {
  testing::TempDir dir("bpe_train");
  auto file = dir.file("corpus.txt", "hello hello world\nhello there 😀\n");
  BpeTrainerOptions o;
  o.vocab_size = 270;
  o.special_tokens = {"<|endoftext|>"};
  Json j = train_byte_level_bpe({file}, o);
  Tokenizer tok = Tokenizer::from_json(j, "trained");
  EXPECT_EQ(tok.token_to_id("<|endoftext|>"), 0u);
  EXPECT_EQ(tok.get_vocab_size(), 270u);
  auto e = tok.encode("hello 😀 unseen<|endoftext|>");
  EXPECT_EQ(tok.decode(e.ids), "hello 😀 unseen<|endoftext|>");
  EXPECT_EQ(e.ids.back(), 0u);
}

TEST(BpeTrainerTest, InvalidUtf8InTrainingFileReportsLine) {
  testing::TempDir dir("bpe_train_bad");
  auto file = dir.file("corpus.txt", "ok\nbad \xFF byte\n");
  EXPECT_THAT([&] { train_byte_level_bpe({file}, BpeTrainerOptions{}); },
              ThrowsMessage<InputError>(HasSubstr("corpus.txt:2: invalid UTF-8 at byte 4")));
}

TEST(BpeTrainerTest, ByteLevelInitialAlphabetBeyondBytesIsReported) {
  TokenizerTrainingOptions o;
  o.initial_alphabet = {U'\u0120', U'\u4E2D'};  // "Ġ" is a byte char (the space); 中 is not
  EXPECT_THAT([&] { train_tokenizer([](const TextBatchSink& sink) { sink({"a b"}); }, o); },
              ThrowsMessage<InputError>(HasSubstr("initial_alphabet: byte-level BPE only sees the 256 byte characters; U+4E2D")));
}

TEST(BpeTrainerTest, MissingTrainingFileIsReported) {
  EXPECT_THAT([&] { train_byte_level_bpe({"/nonexistent/corpus.txt"}, BpeTrainerOptions{}); },
              ThrowsMessage<InputError>(HasSubstr("/nonexistent/corpus.txt")));
}

}  // namespace
}  // namespace tcpp::tokenizers
