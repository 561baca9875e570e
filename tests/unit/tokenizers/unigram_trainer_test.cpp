// UnigramTrainer: frequent words become pieces, every seen character stays, special and unknown tokens come first,
// and the SentencePiece-style tokenizer.json it makes round-trips text.
#include "tcpp/tokenizers/unigram_trainer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "tcpp/core/error.h"
#include "tcpp/tokenizers/tokenizer.h"
#include "tcpp/tokenizers/trainers.h"

namespace tcpp::tokenizers {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

std::vector<std::string> corpus_words() {
  std::vector<std::string> words;
  for (int i = 0; i < 50; ++i)
    for (const char* w : {"\u2581the", "\u2581cat", "\u2581sat", "\u2581on", "\u2581the", "\u2581mat", "\u2581cats"}) words.push_back(w);
  words.push_back("\u2581zebra");
  return words;
}

TEST(UnigramTrainerTest, KeepsEveryCharacterAndLearnsFrequentWords) {
  UnigramTrainerOptions o;
  o.vocab_size = 30;
  o.special_tokens = {"<s>", "</s>"};
  o.unk_token = "<unk>";
  UnigramTrainer t(o);
  t.feed(corpus_words());
  Json j = t.train()->to_json();
  const Json& v = j["vocab"];
  EXPECT_EQ(j["unk_id"], 0);  // not among the special tokens: inserted first
  EXPECT_EQ(v[0], Json::array({"<unk>", 0.0}));
  EXPECT_EQ(v[1], Json::array({"<s>", 0.0}));
  EXPECT_EQ(v[2], Json::array({"</s>", 0.0}));
  EXPECT_LE(v.size(), 30u);
  std::set<std::string> pieces;
  for (const auto& p : v) pieces.insert(p[0].get<std::string>());
  for (const char* c : {"\u2581", "t", "h", "e", "c", "a", "s", "o", "n", "m", "z", "b", "r"}) EXPECT_TRUE(pieces.count(c)) << c;
  EXPECT_TRUE(pieces.count("\u2581cat"));  // in "▁cat" and "▁cats"
  for (size_t i = 4; i < v.size(); ++i) EXPECT_LE(v[i][1].get<double>(), v[i - 1][1].get<double>()) << "scores sorted";
}

TEST(UnigramTrainerTest, UnkTokenAmongSpecialTokensKeepsItsId) {
  UnigramTrainerOptions o;
  o.vocab_size = 30;
  o.special_tokens = {"<pad>", "<unk>"};
  o.unk_token = "<unk>";
  UnigramTrainer t(o);
  t.feed(corpus_words());
  Json j = t.train()->to_json();
  EXPECT_EQ(j["unk_id"], 1);
  EXPECT_EQ(j["vocab"][0][0], "<pad>");
}

TEST(UnigramTrainerTest, VocabTooSmallForTheAlphabetIsReported) {
  UnigramTrainerOptions o;
  o.vocab_size = 5;
  UnigramTrainer t(o);
  t.feed(corpus_words());
  EXPECT_THAT([&] { t.train(); }, ThrowsMessage<InputError>(HasSubstr("vocab_size: 5 is too small for the 13 distinct characters")));
}

TEST(UnigramTrainerTest, SentencePieceTokenizerRoundTripsText) {
  std::vector<std::string> lines(40, "the cat sat on the mat\n");
  lines.push_back("a zebra ate   grass\n");
  TokenizerTrainingOptions o;
  o.model = TrainerModel::kUnigram;
  o.vocab_size = 40;
  o.special_tokens = {"<unk>"};
  o.unk_token = "<unk>";
  Json j = train_tokenizer([&](const TextBatchSink& sink) { sink(lines); }, o);
  EXPECT_EQ(j["pre_tokenizer"]["type"], "Metaspace");
  EXPECT_EQ(j["normalizer"]["normalizers"][0]["type"], "Nmt");
  Tokenizer tok = Tokenizer::from_json(j, "trained");
  Encoding e = tok.encode("the cat ate grass");
  EXPECT_EQ(tok.decode(e.ids), "the cat ate grass");
  EXPECT_EQ(tok.encode("the \xF0\x9F\x98\x80").ids.back(), 0u);  // unseen emoji: <unk>
  EXPECT_THAT([&] {
    TokenizerTrainingOptions bad = o;
    bad.min_frequency = 2;
    train_tokenizer([&](const TextBatchSink& sink) { sink(lines); }, bad);
  }, ThrowsMessage<InputError>(HasSubstr("min_frequency: does not apply to Unigram training")));
}

}  // namespace
}  // namespace tcpp::tokenizers
