// WordPieceTrainer and BERT-style training from text: "##" continuation tokens, special tokens first, the
// BertWordPieceTokenizer pipeline, batches streamed from a source.
#include "tcpp/tokenizers/wordpiece_trainer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tcpp/core/error.h"
#include "tcpp/tokenizers/tokenizer.h"
#include "tcpp/tokenizers/trainers.h"
#include "test_util.h"

namespace tcpp::tokenizers {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

std::vector<std::string> tokens_of(const Tokenizer& tok, const Encoding& e) {
  std::vector<std::string> out;
  for (uint32_t id : e.ids) out.push_back(*tok.id_to_token(id));
  return out;
}

TEST(WordPieceTrainerTest, CharsAfterTheFirstGetTheContinuationPrefix) {
  WordPieceTrainerOptions o;
  o.special_tokens = {"[UNK]"};
  WordPieceTrainer t(o);
  t.feed({"hug", "hug", "hug", "pug", "pug", "hugs"});
  Json j = t.train()->to_json();
  EXPECT_EQ(j["type"], "WordPiece");
  EXPECT_EQ(j["continuing_subword_prefix"], "##");
  const Json& v = j["vocab"];
  EXPECT_EQ(v["[UNK]"], 0);
  // Alphabet (sorted by code point), then "##"-prefixed chars in order of first appearance, then merges:
  // "##u ##g" (count 5) first; merged tokens never carry the prefix twice.
  EXPECT_EQ(v["g"], 1);
  EXPECT_EQ(v["h"], 2);
  EXPECT_TRUE(v.contains("##u") && v.contains("##g") && v.contains("##s"));
  EXPECT_TRUE(v.contains("##ug"));
  EXPECT_TRUE(v.contains("hug"));
  EXPECT_FALSE(v.contains("####ug"));
}

TEST(WordPieceTrainerTest, VocabSizeCountsSpecialTokensAndAlphabet) {
  WordPieceTrainerOptions o;
  o.vocab_size = 8;
  o.special_tokens = {"[PAD]", "[UNK]"};
  WordPieceTrainer t(o);
  t.feed({"abab", "abab", "ba"});
  auto model = t.train();
  EXPECT_EQ(model->vocab_size(), 8u);  // [PAD] [UNK] a b ##b ##a + 2 merges
  EXPECT_EQ(model->token_to_id("[PAD]"), 0u);
}

TEST(WordPieceTrainerTest, LimitAlphabetKeepsTheMostFrequentCharsAndInitialAlphabetAddsUnseenOnes) {
  WordPieceTrainerOptions o;
  o.vocab_size = 5;  // no merges: only the alphabet and its "##" forms
  o.limit_alphabet = 3;
  o.initial_alphabet = {U'z'};  // always kept, and counted in the limit
  WordPieceTrainer t(o);
  t.feed({"aaab", "aab", "ac", "d"});  // a: 6, b: 2, c: 1, d: 1
  Json v = t.train()->to_json()["vocab"];
  EXPECT_TRUE(v.contains("a") && v.contains("b") && v.contains("z"));
  EXPECT_FALSE(v.contains("c") || v.contains("d") || v.contains("##c"));
}

TEST(WordPieceTrainerTest, TrainsABertTokenizerFromFiles) {
  testing::TempDir dir("wp_train");
  auto file = dir.file("corpus.txt", "Hello world, hello there!\nThe world is wide.\nHELLO again\n");
  TokenizerTrainingOptions o;
  o.model = TrainerModel::kWordPiece;
  o.vocab_size = 48;
  o.special_tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
  Json j = train_tokenizer_from_files({file}, o);
  EXPECT_EQ(j["normalizer"]["type"], "BertNormalizer");
  EXPECT_EQ(j["pre_tokenizer"]["type"], "BertPreTokenizer");
  EXPECT_EQ(j["post_processor"]["type"], "BertProcessing");
  EXPECT_EQ(j["decoder"]["type"], "WordPiece");
  EXPECT_EQ(j["added_tokens"].size(), 5u);
  Tokenizer tok = Tokenizer::from_json(j, "trained");
  EXPECT_EQ(tok.get_vocab_size(), 48u);
  Encoding e = tok.encode("Hello, WORLD! zzz");  // "z" was never seen: the whole word is [UNK]
  EXPECT_THAT(tokens_of(tok, e), ElementsAre("[CLS]", "hello", ",", "world", "!", "[UNK]", "[SEP]"));
  EXPECT_EQ(tok.decode(e.ids), "[CLS] hello, world! [UNK] [SEP]");
  EXPECT_EQ(tok.decode(e.ids, /*skip_special_tokens=*/true), "hello, world!");
}

TEST(WordPieceTrainerTest, StreamedBatchesGiveTheSameVocabAsOneBatch) {
  std::vector<std::string> lines = {"alpha beta gamma", "beta gamma delta", "gamma delta epsilon", "alphabet"};
  TokenizerTrainingOptions o;
  o.model = TrainerModel::kWordPiece;
  o.special_tokens = {"[UNK]"};
  Json one = train_tokenizer([&](const TextBatchSink& sink) { sink(lines); }, o);
  Json many = train_tokenizer(
      [&](const TextBatchSink& sink) {
        for (const auto& l : lines) sink({l});
      },
      o);
  EXPECT_EQ(one["model"]["vocab"], many["model"]["vocab"]);
}

TEST(WordPieceTrainerTest, InvalidUtf8InTrainingFileReportsLine) {
  testing::TempDir dir("wp_train_bad");
  auto file = dir.file("corpus.txt", "fine\nalso fine\n\xC3(\n");
  TokenizerTrainingOptions o;
  o.model = TrainerModel::kWordPiece;
  EXPECT_THAT([&] { train_tokenizer_from_files({file}, o); },
              ThrowsMessage<InputError>(HasSubstr("corpus.txt:3: invalid UTF-8 at byte 0")));
}

TEST(WordPieceTrainerTest, DirectoryGivenAsTrainingFileIsReported) {
  testing::TempDir dir("wp_train_dir");
  TokenizerTrainingOptions o;
  o.model = TrainerModel::kWordPiece;
  EXPECT_THAT([&] { train_tokenizer_from_files({dir.path()}, o); },
              ThrowsMessage<InputError>(HasSubstr(dir.path() + ": expected a file, found a directory")));
}

TEST(WordPieceTrainerTest, UnknownModelNameIsReported) {
  EXPECT_THAT([] { trainer_model_from_string("sentencepiece", "--model"); },
              ThrowsMessage<InputError>(HasSubstr("--model: expected bpe, wordpiece or unigram, got \"sentencepiece\"")));
}

}  // namespace
}  // namespace tcpp::tokenizers
