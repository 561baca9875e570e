// Tokenizer training from text: the pipeline of each model family, word counting over streamed batches, and the
// tokenizer.json of the trained model (as tokenizers' Tokenizer::train + the Python implementations/).
#include "tcpp/tokenizers/trainers.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "tcpp/core/error.h"
#include "tcpp/core/strings.h"
#include "tcpp/tokenizers/bpe_trainer.h"
#include "tcpp/tokenizers/json_internal.h"
#include "tcpp/tokenizers/pre_tokenizers.h"
#include "tcpp/tokenizers/tokenizer.h"
#include "tcpp/tokenizers/unicode.h"
#include "tcpp/tokenizers/unigram_trainer.h"
#include "tcpp/tokenizers/wordpiece_trainer.h"

namespace tcpp::tokenizers {

TrainerModel trainer_model_from_string(const std::string& name, const std::string& where) {
  if (name == "bpe") return TrainerModel::kBpe;
  if (name == "wordpiece") return TrainerModel::kWordPiece;
  if (name == "unigram") return TrainerModel::kUnigram;
  throw InputError(where, "expected bpe, wordpiece or unigram, got " + quote(name));
}

namespace {

std::string hex_code_point(char32_t c) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(c));
  return buf;
}

Json added_token(const std::string& content, uint32_t id) {
  return {{"id", id}, {"content", content}, {"single_word", false}, {"lstrip", false},
          {"rstrip", false}, {"normalized", false}, {"special", true}};
}

// The tokenizer.json around a model: everything but "model", "added_tokens" and (for BERT) "post_processor".
Json pipeline_json(const TokenizerTrainingOptions& o) {
  Json j;
  j["version"] = "1.0";
  j["truncation"] = nullptr;
  j["padding"] = nullptr;
  j["added_tokens"] = Json::array();
  switch (o.model) {
    case TrainerModel::kBpe:  // ByteLevelBPETokenizer (add_prefix_space=False)
      j["normalizer"] = nullptr;
      j["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
      j["post_processor"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", false}, {"use_regex", true}};
      j["decoder"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}};
      break;
    case TrainerModel::kWordPiece:  // BertWordPieceTokenizer
      j["normalizer"] = {{"type", "BertNormalizer"}, {"clean_text", true}, {"handle_chinese_chars", true},
                         {"strip_accents", nullptr}, {"lowercase", o.lowercase}};
      j["pre_tokenizer"] = {{"type", "BertPreTokenizer"}};
      j["post_processor"] = nullptr;
      j["decoder"] = {{"type", "WordPiece"}, {"prefix", "##"}, {"cleanup", true}};
      break;
    case TrainerModel::kUnigram:  // SentencePieceUnigramTokenizer (replacement "▁", add_prefix_space=True)
      j["normalizer"] = {{"type", "Sequence"},
                         {"normalizers", Json::array({{{"type", "Nmt"}},
                                                      {{"type", "NFKC"}},
                                                      {{"type", "Replace"}, {"pattern", {{"Regex", " {2,}"}}}, {"content", " "}}})}};
      j["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "\u2581"}, {"prepend_scheme", "always"}, {"split", true}};
      j["post_processor"] = nullptr;
      j["decoder"] = {{"type", "Metaspace"}, {"replacement", "\u2581"}, {"prepend_scheme", "always"}, {"split", true}};
      break;
  }
  return j;
}

// The normalizer + pre-tokenizer half of the pipeline, which turns training texts into words.
Tokenizer word_splitter(const Json& pipeline) {
  Tokenizer t(Bpe::create({}, {}, BpeOptions{}));
  detail::JsonPath at{"training pipeline", ""};
  if (!pipeline["normalizer"].is_null()) t.set_normalizer(normalizer_from_json(pipeline["normalizer"], at.key("normalizer")));
  if (!pipeline["pre_tokenizer"].is_null())
    t.set_pre_tokenizer(pre_tokenizer_from_json(pipeline["pre_tokenizer"], at.key("pre_tokenizer")));
  return t;
}

template <typename Trainer>
void feed_all(const TextBatchSource& texts, const Tokenizer& splitter, Trainer& trainer) {
  texts([&](const std::vector<std::string>& batch) {
    for (const auto& text : batch) trainer.feed(splitter.pre_tokenize_words(text));
  });
}

void add_special_tokens(Json& j, const std::vector<std::string>& special_tokens, const Model& model) {
  for (const auto& t : special_tokens)
    if (auto id = model.token_to_id(t)) j["added_tokens"].push_back(added_token(t, *id));
}

}  // namespace

Json train_tokenizer(const TextBatchSource& texts, const TokenizerTrainingOptions& o) {
  Json j = pipeline_json(o);
  Tokenizer splitter = word_splitter(j);
  switch (o.model) {
    case TrainerModel::kBpe: {
      BpeTrainerOptions bo;
      bo.vocab_size = o.vocab_size.value_or(30000);
      bo.min_frequency = o.min_frequency;
      bo.special_tokens = o.special_tokens;
      bo.limit_alphabet = o.limit_alphabet;
      bo.initial_alphabet = byte_to_char_table();  // as ByteLevelBPETokenizer: every byte is always in the alphabet
      for (char32_t c : o.initial_alphabet)
        if (char_to_byte(c) < 0)
          throw InputError("initial_alphabet", "byte-level BPE only sees the 256 byte characters; " + hex_code_point(c) +
                                                   " could never be produced");
      BpeTrainer trainer(bo);
      feed_all(texts, splitter, trainer);
      std::unique_ptr<Bpe> model = trainer.train();
      add_special_tokens(j, o.special_tokens, *model);
      j["model"] = model->to_json();
      return j;
    }
    case TrainerModel::kWordPiece: {
      WordPieceTrainerOptions wo;
      wo.vocab_size = o.vocab_size.value_or(30000);
      wo.min_frequency = o.min_frequency;
      wo.special_tokens = o.special_tokens;
      wo.limit_alphabet = o.limit_alphabet;
      wo.initial_alphabet = o.initial_alphabet;
      wo.unk_token = o.unk_token.value_or("[UNK]");
      WordPieceTrainer trainer(wo);
      feed_all(texts, splitter, trainer);
      std::unique_ptr<WordPiece> model = trainer.train();
      add_special_tokens(j, o.special_tokens, *model);
      // As BertWordPieceTokenizer with a vocabulary: [CLS] A [SEP] (B [SEP]) when both tokens exist.
      auto cls = model->token_to_id("[CLS]"), sep = model->token_to_id("[SEP]");
      if (cls && sep)
        j["post_processor"] = {{"type", "BertProcessing"}, {"sep", Json::array({"[SEP]", *sep})}, {"cls", Json::array({"[CLS]", *cls})}};
      j["model"] = model->to_json();
      return j;
    }
    case TrainerModel::kUnigram: {
      if (o.min_frequency != 0) throw InputError("min_frequency", "does not apply to Unigram training");
      if (o.limit_alphabet) throw InputError("limit_alphabet", "does not apply to Unigram training");
      UnigramTrainerOptions uo;
      uo.vocab_size = o.vocab_size.value_or(8000);
      uo.special_tokens = o.special_tokens;
      uo.initial_alphabet = o.initial_alphabet;
      uo.unk_token = o.unk_token;
      UnigramTrainer trainer(uo);
      feed_all(texts, splitter, trainer);
      std::unique_ptr<Unigram> model = trainer.train();
      add_special_tokens(j, o.special_tokens, *model);  // as HF: an unk_token not among them stays a plain piece
      j["model"] = model->to_json();
      return j;
    }
  }
  throw Error("train_tokenizer: unknown model");
}

TextBatchSource text_files_source(std::vector<std::string> files, size_t batch_size) {
  return [files = std::move(files), batch_size](const TextBatchSink& sink) {
    std::vector<std::string> batch;
    for (const auto& path : files) {
      std::error_code ec;
      if (std::filesystem::is_directory(path, ec)) throw InputError(path, "expected a file, found a directory");
      std::ifstream in(path, std::ios::binary);
      if (!in) throw InputError(path, std::string("cannot open file (") + std::strerror(errno) + ")");
      std::string line;
      int64_t line_no = 0;
      while (std::getline(in, line)) {
        ++line_no;
        if (!in.eof()) line += '\n';  // keep the newline, as train_from_files
        if (size_t bad = unicode::find_invalid_utf8(line); bad != std::string_view::npos)
          throw InputError(path, line_no, "invalid UTF-8 at byte " + std::to_string(bad) + " of the line");
        batch.push_back(std::move(line));
        if (batch.size() >= batch_size) {
          sink(batch);
          batch.clear();
        }
      }
      if (in.bad()) throw InputError(path, "read failed");
    }
    if (!batch.empty()) sink(batch);
  };
}

Json train_tokenizer_from_files(const std::vector<std::string>& files, const TokenizerTrainingOptions& options) {
  return train_tokenizer(text_files_source(files), options);
}

}  // namespace tcpp::tokenizers
