// Train a whole tokenizer.json from text, streamed in batches (as Python tokenizers' Tokenizer.train /
// train_from_iterator with the pipelines of ByteLevelBPETokenizer, BertWordPieceTokenizer and
// SentencePieceUnigramTokenizer).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tcpp/core/json.h"

namespace tcpp::tokenizers {

/// Which model to train, and with it which pipeline the tokenizer.json gets:
/// kBpe: GPT-2 byte-level BPE (ByteLevel pre-tokenizer, post-processor and decoder);
/// kWordPiece: BERT (BertNormalizer lowercase, BertPreTokenizer, BertProcessing [CLS]/[SEP], WordPiece decoder);
/// kUnigram: SentencePiece (Nmt + NFKC + collapsed spaces, Metaspace "▁" always prepended, Metaspace decoder).
enum class TrainerModel { kBpe, kWordPiece, kUnigram };

/// Parse "bpe" | "wordpiece" | "unigram"; throws InputError naming `where` otherwise.
TrainerModel trainer_model_from_string(const std::string& name, const std::string& where);

struct TokenizerTrainingOptions {
  TrainerModel model = TrainerModel::kBpe;
  /// Final vocabulary size including special tokens (nullopt: 30000 for BPE/WordPiece, 8000 for Unigram, as HF).
  std::optional<size_t> vocab_size;
  /// BPE/WordPiece: pairs seen fewer times are never merged.
  uint64_t min_frequency = 0;
  /// Get the first ids, in this order, and become special added tokens.
  std::vector<std::string> special_tokens;
  /// BPE/WordPiece: keep at most this many characters (the most frequent) in the initial alphabet.
  std::optional<size_t> limit_alphabet;
  /// Characters always in the alphabet, seen or not (byte-level BPE always adds the 256 byte chars).
  std::vector<char32_t> initial_alphabet;
  /// WordPiece: the model's unknown token ("[UNK]"). Unigram: the unknown piece (none when unset; HF adds it at
  /// id 0 unless it is one of special_tokens).
  std::optional<std::string> unk_token;
  /// WordPiece: BertNormalizer lowercases (BertWordPieceTokenizer's default).
  bool lowercase = true;
};

/// Receives one batch of training texts. Texts must be valid UTF-8 (the caller checks and names the source).
using TextBatchSink = std::function<void(const std::vector<std::string>& texts)>;
/// Produces the training texts: calls sink once per batch, in order, then returns. Only one batch needs to be in
/// memory at a time; the trainer keeps word counts, never the texts.
using TextBatchSource = std::function<void(const TextBatchSink& sink)>;

/// Train a tokenizer on the texts and return its tokenizer.json (loadable by Hugging Face tokenizers).
/// Throws InputError for invalid options (e.g. a Unigram vocab_size below the alphabet size).
Json train_tokenizer(const TextBatchSource& texts, const TokenizerTrainingOptions& options);

/// Train on text files read line by line (lines keep their "\n", as tokenizers' train_from_files). Throws
/// InputError for unreadable files or invalid UTF-8 (path:line).
Json train_tokenizer_from_files(const std::vector<std::string>& files, const TokenizerTrainingOptions& options);

/// The texts of files, in batches of up to batch_size lines, for train_tokenizer.
TextBatchSource text_files_source(std::vector<std::string> files, size_t batch_size = 1000);

}  // namespace tcpp::tokenizers
