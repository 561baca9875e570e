// Interop: our tokenizers give the same ids, type ids, masks, offsets and decoded text as the Hugging Face
// tokenizers core (npm @anush008/tokenizers 0.6 = tokenizers 0.22) on the Brown corpus and hard strings.
// Tolerance: none (exact equality); the first mismatch of each kind is printed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tcpp/core/error.h"
#include "tcpp/core/file.h"
#include "tcpp/core/json.h"
#include "tcpp/tokenizers/bpe_trainer.h"
#include "tcpp/tokenizers/tokenizer.h"
#include "tcpp/tokenizers/trainers.h"
#include "tcpp/tokenizers/unicode.h"
#include "tcpp/tokenizers/unigram_trainer.h"

namespace fs = std::filesystem;
using tcpp::Json;
using tcpp::tokenizers::EncodeInput;
using tcpp::tokenizers::Encoding;
using tcpp::tokenizers::Tokenizer;
namespace tk = tcpp::tokenizers;

namespace {

// Run make_goldens.js once per build (cached in the build dir, keyed by the script and the npm lock file). ctest
// runs this binary's tests as parallel processes, and the HF Unigram trainer is not deterministic from run to run,
// so each process that finds no goldens writes its own into a private folder and renames it into place: the first
// rename wins and every process reads one node run's tokenizer files and goldens together (two runs mixed gave
// ids of one model checked against goldens of another).
struct Goldens {
  std::string dir;
  std::string error;
  Json inputs;
};

const Goldens& goldens() {
  static Goldens g = [] {
    Goldens out;
    fs::path src = fs::path(TCPP_SOURCE_DIR) / "tests" / "interop";
    if (!fs::exists(src / "node_modules" / "@anush008" / "tokenizers")) {
      out.error = "tests/interop/node_modules is missing: run scripts/setup.sh (it runs npm ci in tests/interop)";
      return out;
    }
    fs::path script = src / "tokenizers" / "make_goldens.js";
    std::string key = tcpp::read_file(script.string()) + tcpp::read_file((src / "package-lock.json").string());
    fs::path dir = fs::path(TCPP_BINARY_DIR) / ("tokenizers-interop-" + std::to_string(std::hash<std::string>()(key)));
    if (!fs::exists(dir / "done")) {
      fs::path tmp = dir.string() + ".tmp-" + std::to_string(::getpid());
      fs::remove_all(tmp);
      fs::create_directories(tmp);
      std::string cmd = "node \"" + script.string() + "\" \"" + tmp.string() + "\" > \"" + (tmp / "node.log").string() + "\" 2>&1";
      int rc = std::system(cmd.c_str());
      if (rc != 0) {
        out.error = "node make_goldens.js failed (exit " + std::to_string(rc) + "): " + tcpp::read_file((tmp / "node.log").string());
        return out;
      }
      std::ofstream(tmp / "done") << "complete\n";
      std::error_code ec;
      fs::rename(tmp, dir, ec);  // fails when another process renamed its folder first: use that one
      if (ec) fs::remove_all(tmp, ec);
      if (!fs::exists(dir / "done")) {
        out.error = "cannot move the goldens into " + dir.string();
        return out;
      }
    }
    out.dir = dir.string();
    out.inputs = tcpp::read_json_file((dir / "inputs.json").string());
    return out;
  }();
  return g;
}

std::string snippet(const std::string& s) {
  std::string t = s.substr(0, 60);
  for (auto& c : t)
    if (c == '\n' || c == '\t' || c == '\r') c = ' ';
  return "\"" + t + (s.size() > 60 ? "...\"" : "\"") + " (" + std::to_string(s.size()) + " bytes)";
}

// Compare one encoding with its golden; returns "" when equal, else the first difference.
std::string diff(const Encoding& e, const Json& g) {
  auto cmp = [&](const char* field, const std::vector<uint32_t>& ours) -> std::string {
    const Json& theirs = g[field];
    for (size_t i = 0; i < std::max(ours.size(), theirs.size()); ++i) {
      std::string a = i < ours.size() ? std::to_string(ours[i]) : "<none>";
      std::string b = i < theirs.size() ? theirs[i].dump() : "<none>";
      if (a != b) return std::string(field) + "[" + std::to_string(i) + "]: ours " + a + ", HF " + b;
    }
    return "";
  };
  for (auto [name, vec] : {std::pair<const char*, const std::vector<uint32_t>*>{"ids", &e.ids},
                          {"type_ids", &e.type_ids},
                          {"attention_mask", &e.attention_mask},
                          {"special_tokens_mask", &e.special_tokens_mask}}) {
    if (auto d = cmp(name, *vec); !d.empty()) return d;
  }
  const Json& offs = g["offsets"];
  for (size_t i = 0; i < std::max(e.offsets.size(), offs.size()); ++i) {
    std::string a = i < e.offsets.size() ? "[" + std::to_string(e.offsets[i].first) + "," + std::to_string(e.offsets[i].second) + "]" : "<none>";
    std::string b = i < offs.size() ? offs[i].dump() : "<none>";
    if (a != b) return "offsets[" + std::to_string(i) + "]: ours " + a + ", HF " + b + " (token id " + std::to_string(e.ids[i]) + ")";
  }
  if (g.contains("overflowing")) {
    const Json& o = g["overflowing"];
    if (e.overflowing.size() != o.size())
      return "overflowing: ours " + std::to_string(e.overflowing.size()) + " parts, HF " + std::to_string(o.size());
    for (size_t i = 0; i < o.size(); ++i)
      if (auto d = diff(e.overflowing[i], o[i]); !d.empty()) return "overflowing[" + std::to_string(i) + "]." + d;
  }
  return "";
}

struct Tally {
  size_t checked = 0, mismatched = 0;
  std::string first;
  void add(const std::string& what, const std::string& d) {
    ++checked;
    if (d.empty()) return;
    if (mismatched++ == 0) first = what + ": " + d;
  }
};

Encoding encode_or_error(const Tokenizer& tok, const std::string& a, const std::string* b, bool add_special, std::string* error) {
  try {
    return b ? tok.encode_pair(a, *b, add_special) : tok.encode(a, add_special);
  } catch (const tcpp::Error& e) {
    *error = e.what();
    return Encoding();
  }
}

void check_case(const std::string& name) {
  const Goldens& g = goldens();
  ASSERT_TRUE(g.error.empty()) << g.error;
  Tokenizer tok = Tokenizer::from_file(g.dir + "/" + name + ".tokenizer.json");
  // GPT-2's pipeline (no normalizer, ByteLevel, BPE) runs on the byte-level fast path: parity is checked on it.
  if (name.rfind("gpt2", 0) == 0) {
    EXPECT_TRUE(tok.uses_fast_path()) << name;
  }
  Json golden = tcpp::read_json_file(g.dir + "/" + name + ".golden.json");
  const Json& singles = g.inputs["single"];
  const Json& pairs = g.inputs["pairs"];
  Tally tally;
  auto check = [&](const std::string& what, const std::string& a, const std::string* b, bool add_special, const Json& gold) {
    std::string error;
    Encoding e = encode_or_error(tok, a, b, add_special, &error);
    if (gold.contains("error")) {
      tally.add(what, error.empty() ? "HF fails (" + gold["error"].get<std::string>() + ") but we encoded" : "");
    } else {
      tally.add(what, error.empty() ? diff(e, gold) : "we failed: " + error);
    }
    return e;
  };
  Tally decode_tally;
  for (size_t i = 0; i < singles.size(); ++i) {
    std::string text = singles[i];
    std::string what = "single[" + std::to_string(i) + "] " + snippet(text);
    Encoding e = check(what, text, nullptr, true, golden["single"][i]);
    if (!golden["decoded"][i].is_null()) {
      decode_tally.add(what + " decode", tok.decode(e.ids) == golden["decoded"][i].get<std::string>() ? "" : "decoded text differs");
      decode_tally.add(what + " decode(skip_special_tokens)",
                       tok.decode(e.ids, /*skip_special_tokens=*/true) == golden["decoded_skip"][i].get<std::string>() ? "" : "decoded text differs");
    }
  }
  for (size_t i = 0; i < golden["no_special"].size(); ++i) {
    std::string text = singles[i];
    check("no_special[" + std::to_string(i) + "] " + snippet(text), text, nullptr, false, golden["no_special"][i]);
  }
  for (size_t i = 0; i < pairs.size(); ++i) {
    std::string a = pairs[i][0], b = pairs[i][1];
    check("pair[" + std::to_string(i) + "] " + snippet(a) + " + " + snippet(b), a, &b, true, golden["pair"][i]);
  }
  if (golden["batch"].is_array()) {
    std::vector<EncodeInput> batch;
    for (size_t i = 0; i < golden["batch"].size(); ++i) batch.push_back(EncodeInput{singles[i].get<std::string>(), std::nullopt});
    std::vector<Encoding> out = tok.encode_batch(batch, /*add_special_tokens=*/true, /*num_threads=*/2);
    for (size_t i = 0; i < out.size(); ++i) tally.add("batch[" + std::to_string(i) + "]", diff(out[i], golden["batch"][i]));
  }
  EXPECT_EQ(tally.mismatched, 0u) << name << ": " << tally.mismatched << " of " << tally.checked
                                  << " encodings differ from Hugging Face; first: " << tally.first;
  EXPECT_EQ(decode_tally.mismatched, 0u) << name << ": " << decode_tally.mismatched << " of " << decode_tally.checked
                                         << " decodes differ; first: " << decode_tally.first;
  EXPECT_EQ(tok.get_vocab_size(/*with_added_tokens=*/true), golden["vocab_size"].get<size_t>());
  std::printf("[ %s ] %zu encodings and %zu decodes identical to Hugging Face\n", name.c_str(), tally.checked - tally.mismatched,
              decode_tally.checked - decode_tally.mismatched);
}

}  // namespace

TEST(TokenizersInterop, Gpt2ByteLevelBpeMatchesHuggingFace) { check_case("gpt2"); }
TEST(TokenizersInterop, Gpt2WithTruncationAndLeftPaddingMatchesHuggingFace) { check_case("gpt2_truncated"); }
TEST(TokenizersInterop, BertWordPieceMatchesHuggingFace) { check_case("bert"); }
TEST(TokenizersInterop, BertWithOnlySecondTruncationAndPaddingMatchesHuggingFace) { check_case("bert_truncated"); }
TEST(TokenizersInterop, UnigramTrainedByHuggingFaceMatches) { check_case("unigram"); }

namespace {

std::vector<std::pair<std::string, std::string>> merges_of(const Json& model) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& m : model["merges"]) {
    if (m.is_string()) {
      std::string s = m;
      auto sp = s.find(' ');
      out.emplace_back(s.substr(0, sp), s.substr(sp + 1));
    } else {
      out.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
    }
  }
  return out;
}

}  // namespace

TEST(TokenizersInterop, BpeTrainerLearnsTheSameMergesAsHuggingFace) {
  const Goldens& g = goldens();
  ASSERT_TRUE(g.error.empty()) << g.error;
  // The HF core's default BpeTrainer (vocab 30000, min_frequency 0, no initial alphabet) on byte-level words.
  Tokenizer pre(tk::Bpe::create({}, {}, tk::BpeOptions{}));
  pre.set_pre_tokenizer(tk::make_byte_level_pre_tokenizer(/*add_prefix_space=*/false));
  tk::BpeTrainer trainer(tk::BpeTrainerOptions{});
  std::string text = tcpp::read_file(g.dir + "/train.txt");
  for (size_t pos = 0; pos < text.size();) {
    size_t nl = text.find('\n', pos);
    size_t end = nl == std::string::npos ? text.size() : nl + 1;
    trainer.feed(pre.pre_tokenize_words(text.substr(pos, end - pos)));
    pos = end;
  }
  Json ours = trainer.train()->to_json();
  Json theirs = tcpp::read_json_file(g.dir + "/bpe_trained_hf.tokenizer.json")["model"];
  auto a = merges_of(ours), b = merges_of(theirs);
  size_t first = 0;
  while (first < std::min(a.size(), b.size()) && a[first] == b[first]) ++first;
  EXPECT_EQ(a.size(), b.size()) << "merge counts differ";
  if (first < std::min(a.size(), b.size()))
    ADD_FAILURE() << "first differing merge #" << first << ": ours \"" << a[first].first << " " << a[first].second << "\", HF \""
                  << b[first].first << " " << b[first].second << "\"";
  EXPECT_EQ(ours["vocab"], theirs["vocab"]);
  std::printf("[ bpe trainer ] %zu of %zu merges identical to Hugging Face's trainer\n", first, b.size());
}

namespace {

// Save a tokenizer.json we trained, load it in the HF core (encode_with.js), and require identical encodings of
// every input (ids, type ids, masks, offsets) and identical decodes. Returns our tokenizer for further checks.
Tokenizer check_trained_in_hf(const Json& json, const std::string& name, bool expect_round_trip) {
  const Goldens& g = goldens();
  std::string file = g.dir + "/" + name + ".tokenizer.json";
  tcpp::write_file_atomic(file, json.dump());
  fs::path script = fs::path(TCPP_SOURCE_DIR) / "tests" / "interop" / "tokenizers" / "encode_with.js";
  std::string log = g.dir + "/" + name + ".encode_with.log";
  std::string cmd = "node \"" + script.string() + "\" \"" + file + "\" \"" + g.dir + "\" " + name + " > \"" + log + "\" 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << tcpp::read_file(log);
  Tokenizer tok = Tokenizer::from_file(file);
  Json golden = tcpp::read_json_file(g.dir + "/" + name + ".golden.json");
  const Json& singles = g.inputs["single"];
  Tally tally, decodes;
  for (size_t i = 0; i < singles.size(); ++i) {
    std::string t = singles[i];
    Encoding e = tok.encode(t);
    tally.add("single[" + std::to_string(i) + "] " + snippet(t), diff(e, golden["single"][i]));
    decodes.add("decode[" + std::to_string(i) + "]", tok.decode(e.ids) == golden["decoded"][i].get<std::string>() ? "" : "differs");
    if (expect_round_trip)
      decodes.add("roundtrip[" + std::to_string(i) + "]", tok.decode(e.ids) == t ? "" : "decode(encode(x)) != x");
  }
  EXPECT_EQ(tally.mismatched, 0u) << name << ": " << tally.mismatched << " of " << tally.checked << " differ; first: " << tally.first;
  EXPECT_EQ(decodes.mismatched, 0u) << name << ": " << decodes.first;
  EXPECT_EQ(tok.get_vocab_size(), golden["vocab_size"].get<size_t>());
  std::printf("[ %s ] HF loads our tokenizer.json: %zu encodings and %zu decodes identical\n", name.c_str(),
              tally.checked - tally.mismatched, decodes.checked - decodes.mismatched);
  return tok;
}

// Tokens of a {"token": id} vocabulary in id order.
std::vector<std::string> by_id(const Json& vocab) {
  std::vector<std::string> out(vocab.size());
  for (auto it = vocab.begin(); it != vocab.end(); ++it) out.at(it->get<size_t>()) = it.key();
  return out;
}

}  // namespace

TEST(TokenizersInterop, TrainedByteLevelBpeEncodesIdenticallyInHuggingFace) {
  const Goldens& g = goldens();
  ASSERT_TRUE(g.error.empty()) << g.error;
  tk::BpeTrainerOptions options;
  options.vocab_size = 3000;
  options.min_frequency = 2;
  options.special_tokens = {"<|endoftext|>", "<pad>"};
  Json json = tk::train_byte_level_bpe({g.dir + "/train.txt"}, options);
  Tokenizer tok = check_trained_in_hf(json, "ours_trained", /*expect_round_trip=*/true);
  EXPECT_EQ(tok.get_vocab_size(), 3000u);
  EXPECT_EQ(tok.token_to_id("<|endoftext|>"), 0u);
}

// HF's WordPieceTrainer (its BpeTrainer with prefix "##") numbers the "##"-prefixed characters in the iteration
// order of a randomly seeded hash map of words (BpeTrainer::tokenize_words over an AHashMap), so two HF runs on the
// same text give different ids and, through tie-breaks between equally frequent pairs (smallest ids win), slightly
// different vocabularies. To compare the algorithms we give our trainer HF's initial symbols in HF's order (as
// special tokens, which take the first ids) and then require the whole vocabulary, id for id. Unseeded, ours numbers
// them by first appearance in sorted word order, which is deterministic; the overlap with HF is printed.
namespace {

void compare_wordpiece_trainer(const std::string& corpus, const std::string& train_file, const std::string& hf_file) {
  const Goldens& g = goldens();
  ASSERT_TRUE(g.error.empty()) << g.error;
  Json theirs = tcpp::read_json_file(g.dir + "/" + hf_file)["model"];
  std::vector<std::string> hf = by_id(theirs["vocab"]);
  std::vector<std::string> initial;  // the alphabet, then "##"-prefixed chars: every token of one code point
  for (const auto& t : hf) {
    std::string bare = t.rfind("##", 0) == 0 ? t.substr(2) : t;
    if (tcpp::tokenizers::unicode::to_code_points(bare).size() != 1) break;
    initial.push_back(t);
  }
  ASSERT_GT(initial.size(), 20u);
  auto train = [&](std::vector<std::string> seed, std::optional<size_t> vocab_size) {
    tk::TokenizerTrainingOptions o;  // the HF core's default WordPieceTrainer: vocab 30000, min_frequency 0
    o.model = tk::TrainerModel::kWordPiece;
    o.vocab_size = vocab_size;
    o.special_tokens = std::move(seed);
    return tk::train_tokenizer_from_files({g.dir + "/" + train_file}, o)["model"];
  };
  Json seeded = train(initial, std::nullopt);
  std::vector<std::string> ours = by_id(seeded["vocab"]);
  size_t first = 0;
  while (first < std::min(ours.size(), hf.size()) && ours[first] == hf[first]) ++first;
  EXPECT_EQ(ours.size(), hf.size()) << "vocabulary sizes differ";
  if (first < std::min(ours.size(), hf.size()))
    ADD_FAILURE() << "first differing id " << first << ": ours \"" << ours[first] << "\", HF \"" << hf[first] << "\"";
  EXPECT_EQ(seeded["continuing_subword_prefix"], theirs["continuing_subword_prefix"]);
  std::printf("[ wordpiece trainer, %s ] seeded with HF's %zu initial symbols: %zu of %zu ids identical to HF's trainer\n",
              corpus.c_str(), initial.size(), first, hf.size());

  // vocab_size stops early: the first N tokens of the full run.
  size_t n = std::min<size_t>(2000, hf.size() - 1);
  std::vector<std::string> small = by_id(train(initial, n)["vocab"]);
  ASSERT_EQ(small.size(), n);
  EXPECT_TRUE(std::equal(small.begin(), small.end(), hf.begin())) << "vocab_size " << n << " is not HF's first tokens";

  Json unseeded = train({}, std::nullopt);
  size_t shared = 0;
  for (const auto& t : hf) shared += unseeded["vocab"].contains(t);
  std::printf("[ wordpiece trainer, %s ] unseeded (our deterministic order): %zu tokens, %zu of HF's %zu shared (%.2f%%)\n",
              corpus.c_str(), unseeded["vocab"].size(), shared, hf.size(), 100.0 * shared / hf.size());
}

}  // namespace

TEST(TokenizersInterop, WordPieceTrainerLearnsTheSameVocabAsHuggingFace) {
  compare_wordpiece_trainer("brown", "train.txt", "wordpiece_trained_hf.tokenizer.json");
}

TEST(TokenizersInterop, WordPieceTrainerOnKoreanLearnsTheSameVocabAsHuggingFace) {
  compare_wordpiece_trainer("korean", "train_ko.txt", "wordpiece_trained_hf_ko.tokenizer.json");
}


TEST(TokenizersInterop, TrainedBertWordPieceEncodesIdenticallyInHuggingFace) {
  const Goldens& g = goldens();
  ASSERT_TRUE(g.error.empty()) << g.error;
  tk::TokenizerTrainingOptions o;  // BertWordPieceTokenizer.train's defaults, smaller vocabulary
  o.model = tk::TrainerModel::kWordPiece;
  o.vocab_size = 5000;
  o.min_frequency = 2;
  o.limit_alphabet = 1000;
  o.special_tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
  Json json = tk::train_tokenizer_from_files({g.dir + "/train.txt"}, o);
  Tokenizer tok = check_trained_in_hf(json, "ours_trained_wordpiece", /*expect_round_trip=*/false);
  EXPECT_EQ(tok.get_vocab_size(), 5000u);
  EXPECT_EQ(tok.token_to_id("[CLS]"), 2u);
}

// HF's UnigramTrainer (default options: vocab 8000, shrinking 0.75, 2 EM sub-iterations, max piece length 16) on
// NFKC + Metaspace words, against ours on the same words. HF iterates words in hash order and sums EM statistics in
// parallel chunks, so its scores carry last-bit noise and the characters it adds below the lowest score get their
// 0.0001 steps in hash order; two HF runs differ there too. Measured: piece set overlap, same id, score difference.
namespace {

void compare_unigram_trainer(const std::string& corpus, const std::string& train_file, const std::string& hf_file) {
  const Goldens& g = goldens();
  ASSERT_TRUE(g.error.empty()) << g.error;
  Json theirs = tcpp::read_json_file(g.dir + "/" + hf_file)["model"];
  Json pipeline = {{"version", "1.0"},
                   {"normalizer", {{"type", "NFKC"}}},
                   {"pre_tokenizer", {{"type", "Metaspace"}, {"replacement", "\u2581"}, {"prepend_scheme", "always"}, {"split", true}}},
                   {"model", {{"type", "WordLevel"}, {"vocab", {{"<unk>", 0}}}, {"unk_token", "<unk>"}}}};
  Tokenizer splitter = Tokenizer::from_json(pipeline, "unigram pipeline");
  tk::UnigramTrainer trainer(tk::UnigramTrainerOptions{});
  tk::text_files_source({g.dir + "/" + train_file})([&](const std::vector<std::string>& lines) {
    for (const auto& l : lines) trainer.feed(splitter.pre_tokenize_words(l));
  });
  auto start = std::chrono::steady_clock::now();
  Json ours = trainer.train()->to_json();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const Json& a = ours["vocab"];
  const Json& b = theirs["vocab"];
  std::map<std::string, double> hf_score;
  for (const auto& p : b) hf_score[p[0].get<std::string>()] = p[1].get<double>();
  size_t shared = 0, same_id = 0;
  double max_diff = 0;  // over pieces of 2+ characters (single characters may carry HF's hash-ordered penalty)
  std::string worst;
  std::vector<double> our_scores, hf_scores;
  for (size_t i = 0; i < a.size(); ++i) {
    std::string piece = a[i][0];
    our_scores.push_back(a[i][1]);
    if (i < b.size()) hf_scores.push_back(b[i][1]);
    auto it = hf_score.find(piece);
    if (it == hf_score.end()) continue;
    ++shared;
    same_id += i < b.size() && b[i][0] == a[i][0];
    double d = std::abs(it->second - a[i][1].get<double>());
    if (tk::unicode::to_code_points(piece).size() > 1 && d > max_diff) max_diff = d, worst = piece;
  }
  std::sort(our_scores.begin(), our_scores.end());
  std::sort(hf_scores.begin(), hf_scores.end());
  double max_sorted_diff = 0;  // the scores as a multiset: equal once HF's arbitrary order of the penalties is ignored
  for (size_t i = 0; i < std::min(our_scores.size(), hf_scores.size()); ++i)
    max_sorted_diff = std::max(max_sorted_diff, std::abs(our_scores[i] - hf_scores[i]));
  std::printf("[ unigram trainer, %s ] ours %zu pieces, HF %zu; %zu shared (%.2f%% of HF's), %zu at the same id; max score "
              "difference %.3g (\"%s\", pieces of 2+ chars), %.3g between the sorted score lists; ours trained in %.2f s\n",
              corpus.c_str(), a.size(), b.size(), shared, 100.0 * shared / b.size(), same_id, max_diff, worst.c_str(), max_sorted_diff, seconds);
  EXPECT_EQ(ours["unk_id"], theirs["unk_id"]);
  EXPECT_EQ(a.size(), b.size());
  EXPECT_EQ(shared, b.size()) << "the piece sets differ";
  EXPECT_LT(max_diff, 1e-9) << "largest score difference at \"" << worst << "\"";
  EXPECT_LT(max_sorted_diff, 1e-9);
}

}  // namespace

TEST(TokenizersInterop, UnigramTrainerLearnsTheSameVocabAsHuggingFace) {
  compare_unigram_trainer("brown", "train.txt", "unigram.trained.json");
}

TEST(TokenizersInterop, UnigramTrainerOnKoreanLearnsTheSameVocabAsHuggingFace) {
  compare_unigram_trainer("korean", "train_ko.txt", "unigram_trained_hf_ko.tokenizer.json");
}

TEST(TokenizersInterop, TrainedUnigramEncodesIdenticallyInHuggingFace) {
  const Goldens& g = goldens();
  ASSERT_TRUE(g.error.empty()) << g.error;
  tk::TokenizerTrainingOptions o;  // SentencePieceUnigramTokenizer's pipeline, with an unknown piece
  o.model = tk::TrainerModel::kUnigram;
  o.vocab_size = 2000;
  o.special_tokens = {"<unk>", "<s>", "</s>"};
  o.unk_token = "<unk>";
  Json json = tk::train_tokenizer_from_files({g.dir + "/train.txt"}, o);
  EXPECT_EQ(json["model"]["unk_id"], 0);
  Tokenizer tok = check_trained_in_hf(json, "ours_trained_unigram", /*expect_round_trip=*/false);
  EXPECT_LE(tok.get_vocab_size(), 2000u);
  EXPECT_EQ(tok.token_to_id("</s>"), 2u);
}
