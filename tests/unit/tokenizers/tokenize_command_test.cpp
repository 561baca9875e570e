// `tcpp tokenize`, `tcpp detokenize` and `tcpp tokenizer train`, run as a user would (the built tcpp binary).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <string>
#include <vector>

#include "tcpp/core/file.h"
#include "tcpp/core/json.h"
#include "tcpp/tokenizers/auto_tokenizer.h"
#include "test_util.h"

namespace tcpp::tokenizers {
namespace {

using ::testing::HasSubstr;

struct Result {
  int rc;
  std::string out;
};

// Run `tcpp ARGS` with stdout and stderr captured together.
Result tcpp(const std::string& args) {
  std::string cmd = std::string(TCPP_BINARY_DIR) + "/tools/tcpp " + args + " 2>&1";
  Result r{0, ""};
  FILE* p = popen(cmd.c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int status = pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::vector<Json> json_lines(const std::string& text) {
  std::vector<Json> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    out.push_back(Json::parse(text.substr(pos, nl - pos)));
    pos = nl + 1;
  }
  return out;
}

std::string bert_dir(const testing::TempDir& dir) {
  dir.file("vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nworld\n##s\n");
  return dir.path();
}

TEST(TokenizeCommandTest, TxtLinesBecomeJsonLinesInOrderWithOffsets) {
  testing::TempDir dir("cmd_txt");
  bert_dir(dir);
  auto in = dir.file("in.txt", "hello worlds\n\nworld\n");
  Result r = tcpp("tokenize --tokenizer " + dir.path() + " --input " + in + " --return_offsets");
  ASSERT_EQ(r.rc, 0) << r.out;
  auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["input_ids"], Json::parse("[2, 5, 6, 7, 3]"));
  EXPECT_EQ(lines[0]["offsets"], Json::parse("[[0,0],[0,5],[6,11],[11,12],[0,0]]"));
  EXPECT_EQ(lines[1]["input_ids"], Json::parse("[2, 3]"));
  EXPECT_EQ(lines[2]["attention_mask"], Json::parse("[1, 1, 1]"));
}

TEST(TokenizeCommandTest, JsonlPairsWithTruncationAndPadding) {
  testing::TempDir dir("cmd_jsonl");
  bert_dir(dir);
  auto in = dir.file("in.jsonl", "{\"text\": \"hello world hello\", \"text_pair\": \"world\"}\n{\"text\": \"hello\"}\n");
  auto out = dir.path() + "/out.jsonl";
  Result r = tcpp("tokenize --tokenizer " + dir.path() + " --input " + in + " --output " + out +
                  " --max_length 6 --truncation --padding max_length --add_special_tokens true");
  ASSERT_EQ(r.rc, 0) << r.out;
  auto lines = json_lines(read_file(out));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["input_ids"], Json::parse("[2, 5, 6, 3, 6, 3]"));
  EXPECT_EQ(lines[0]["token_type_ids"], Json::parse("[0, 0, 0, 0, 1, 1]"));
  EXPECT_EQ(lines[1]["input_ids"], Json::parse("[2, 5, 3, 0, 0, 0]"));
  EXPECT_EQ(lines[1]["attention_mask"], Json::parse("[1, 1, 1, 0, 0, 0]"));
}

TEST(TokenizeCommandTest, DetokenizeSkipsSpecialTokens) {
  testing::TempDir dir("cmd_detok");
  bert_dir(dir);
  auto in = dir.file("ids.jsonl", "{\"input_ids\": [2, 5, 6, 7, 3]}\n[5]\n");
  Result r = tcpp("detokenize --tokenizer " + dir.path() + " --input " + in + " --skip_special_tokens");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_EQ(r.out, "{\"text\":\"hello worlds\"}\n{\"text\":\"hello\"}\n");
}

TEST(TokenizeCommandTest, BadJsonlLineReportsPathAndLine) {
  testing::TempDir dir("cmd_bad");
  bert_dir(dir);
  auto in = dir.file("in.jsonl", "{\"text\": \"hello\"}\n{\"txt\": \"oops\"}\n");
  Result r = tcpp("tokenize --tokenizer " + dir.path() + " --input " + in);
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.out, HasSubstr("in.jsonl:2: expected an object with a string \"text\""));
}

TEST(TokenizeCommandTest, PaddingWithoutPadTokenIsReported) {
  testing::TempDir dir("cmd_nopad");
  dir.file("tokenizer.json", testing::word_level_json({"a"}).dump());
  auto in = dir.file("in.txt", "a\n");
  Result r = tcpp("tokenize --tokenizer " + dir.path() + " --input " + in + " --padding longest");
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.out, HasSubstr("--padding: the tokenizer has no pad token"));
}

TEST(TokenizeCommandTest, TrainWritesATokenizerThatLoads) {
  testing::TempDir dir("cmd_train");
  auto corpus = dir.file("corpus.txt", "low lower lowest\nnewer newest wider\n");
  Result r = tcpp("tokenizer train --model bpe --files " + corpus + " --vocab_size 280 --special_tokens \"<|endoftext|>\" \"<pad>\" --output " +
                  dir.path() + "/tok");
  ASSERT_EQ(r.rc, 0) << r.out;
  auto tok = PreTrainedTokenizer::from_pretrained(dir.path() + "/tok");
  EXPECT_EQ(tok.pad_token_id(), 1u);
  EXPECT_EQ(tok.eos_token_id(), 0u);
  EXPECT_EQ(tok.decode(tok.encode("lowest newer").ids), "lowest newer");
}

TEST(TokenizeCommandTest, TrainWordPieceWritesABertTokenizer) {
  testing::TempDir dir("cmd_train_wp");
  auto corpus = dir.file("corpus.txt", "Low lower lowest\nnewer newest wider\n");
  Result r = tcpp("tokenizer train --model wordpiece --files " + corpus + " --vocab_size 40 --output " + dir.path() + "/tok");
  ASSERT_EQ(r.rc, 0) << r.out;
  auto tok = PreTrainedTokenizer::from_pretrained(dir.path() + "/tok");
  EXPECT_EQ(tok.tokenizer().token_to_id("[PAD]"), 0u);  // BERT's five special tokens by default
  EXPECT_EQ(tok.tokenizer().token_to_id("[MASK]"), 4u);
  Encoding e = tok.encode("LOWEST newer");
  EXPECT_EQ(e.ids.front(), *tok.tokenizer().token_to_id("[CLS]"));
  EXPECT_EQ(e.ids.back(), *tok.tokenizer().token_to_id("[SEP]"));
  EXPECT_EQ(tok.decode(e.ids, /*skip_special_tokens=*/true), "lowest newer");
  EXPECT_EQ(tok.mask_token_id(), 4u);
  Result cased = tcpp("tokenizer train --model wordpiece --lowercase false --files " + corpus + " --vocab_size 40 --output " +
                      dir.path() + "/cased");
  ASSERT_EQ(cased.rc, 0) << cased.out;
  auto ctok = PreTrainedTokenizer::from_pretrained(dir.path() + "/cased");
  EXPECT_TRUE(ctok.tokenizer().token_to_id("L").has_value());
  EXPECT_EQ(read_json_file(dir.path() + "/cased/tokenizer_config.json")["do_lower_case"], false);
}

TEST(TokenizeCommandTest, TrainUnigramWritesASentencePieceTokenizerWithUnk) {
  testing::TempDir dir("cmd_train_ug");
  std::string text;
  for (int i = 0; i < 20; ++i) text += "low lower lowest newer newest wider\n";
  auto corpus = dir.file("corpus.txt", text);
  Result r = tcpp("tokenizer train --model unigram --files " + corpus + " --vocab_size 40 --special_tokens \"</s>\" --output " +
                  dir.path() + "/tok");
  ASSERT_EQ(r.rc, 0) << r.out;
  auto tok = PreTrainedTokenizer::from_pretrained(dir.path() + "/tok");
  EXPECT_EQ(tok.tokenizer().token_to_id("<unk>"), 0u);  // --unk_token <unk> by default, made the first special token
  EXPECT_EQ(tok.tokenizer().token_to_id("</s>"), 1u);
  EXPECT_EQ(tok.decode(tok.encode("lowest newer").ids), "lowest newer");
  EXPECT_EQ(tok.encode("q").ids.back(), 0u);
  Result bad = tcpp("tokenizer train --model unigram --files " + corpus + " --limit_alphabet 10 --output " + dir.path() + "/x");
  EXPECT_THAT(bad.out, HasSubstr("limit_alphabet: does not apply to Unigram training"));
}

TEST(TokenizeCommandTest, TrainFromASavedDatasetColumn) {
  testing::TempDir dir("cmd_train_ds");
  auto jsonl = dir.file("data.jsonl", "{\"id\": 1, \"body\": \"low lower lowest\"}\n{\"id\": 2, \"body\": \"newer newest wider\"}\n");
  Result c = tcpp("dataset convert --builder json --data_files " + jsonl + " --output " + dir.path() + "/ds");
  ASSERT_EQ(c.rc, 0) << c.out;
  Result r = tcpp("tokenizer train --model wordpiece --dataset " + dir.path() + "/ds --column body --vocab_size 40 --output " +
                  dir.path() + "/tok");
  ASSERT_EQ(r.rc, 0) << r.out;
  // The same texts from a file give the same tokenizer.
  auto corpus = dir.file("corpus.txt", "low lower lowest\nnewer newest wider\n");
  Result f = tcpp("tokenizer train --model wordpiece --files " + corpus + " --vocab_size 40 --output " + dir.path() + "/tok2");
  ASSERT_EQ(f.rc, 0) << f.out;
  EXPECT_EQ(read_json_file(dir.path() + "/tok/tokenizer.json"), read_json_file(dir.path() + "/tok2/tokenizer.json"));

  Result bad = tcpp("tokenizer train --model wordpiece --dataset " + dir.path() + "/ds --column text --output " + dir.path() + "/x");
  EXPECT_EQ(bad.rc, 1);
  EXPECT_THAT(bad.out, HasSubstr("dataset has no column \"text\" (columns: id, body)"));
  Result not_text = tcpp("tokenizer train --model wordpiece --dataset " + dir.path() + "/ds --column id --output " + dir.path() + "/x");
  EXPECT_THAT(not_text.out, HasSubstr("column \"id\", row 0: expected a string, got 1"));
  EXPECT_THAT(tcpp("tokenizer train --files " + corpus + " --column body --output " + dir.path() + "/x").out,
              HasSubstr("--column: only applies with --dataset"));
  EXPECT_THAT(tcpp("tokenizer train --model bpe --files " + corpus + " --lowercase false --output " + dir.path() + "/x").out,
              HasSubstr("--lowercase: only applies to --model wordpiece"));
  Result help = tcpp("tokenizer train --help");
  EXPECT_EQ(help.rc, 0);
  EXPECT_THAT(help.out, HasSubstr("--dataset DIR [--column NAME]"));
  Result both = tcpp("tokenizer train --model bpe --files " + corpus + " --dataset " + dir.path() + "/ds --output " + dir.path() + "/x");
  EXPECT_THAT(both.out, HasSubstr("give either --files or --dataset"));
}

}  // namespace
}  // namespace tcpp::tokenizers
