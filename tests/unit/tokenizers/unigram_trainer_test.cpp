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

TEST(UnigramTrainerTest, SeedsAreCharactersThenRepeatedSubstringsAsHuggingFace) {
  // tokenizers' test_unigram_chars: same strings in the same order, scores log(count / total).
  auto seeds = detail::unigram_seed_pieces({{"This is a", 1}, {"\u3053\u3093\u306B\u3061\u306F\u53CB\u9054", 1}}, {});
  std::vector<std::string> strings;
  for (const auto& [s, score] : seeds) strings.push_back(s);
  EXPECT_THAT(strings, ::testing::ElementsAre("s", "i", " ", "\u9054", "\u53CB", "\u3093", "\u306F", "\u306B", "\u3061",
                                              "\u3053", "h", "a", "T", "is ", "s "));
  EXPECT_NEAR(seeds[0].second, -2.5649493574615367, 1e-12);   // count 2
  EXPECT_NEAR(seeds[3].second, -3.258096538021482, 1e-12);    // count 1
  EXPECT_NEAR(seeds[13].second, -1.4663370687934272, 1e-12);  // "is ": 2 occurrences * 3 chars
  EXPECT_NEAR(seeds[14].second, -1.8718021769015916, 1e-12);  // "s ": 2 * 2
}

TEST(UnigramTrainerTest, WithoutUnkOrSpecialTokensTheBestPieceComesFirst) {
  UnigramTrainer t(UnigramTrainerOptions{});
  t.feed(std::vector<std::string>(12, "The"));
  t.feed(std::vector<std::string>(11, "are"));
  Json j = t.train()->to_json();
  EXPECT_EQ(j["vocab"][0][0], "e");  // as tokenizers' test_unk_token case 3
  EXPECT_TRUE(j["unk_id"].is_null());
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
