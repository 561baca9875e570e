// WordPiece training: HF trains BPE with continuing_subword_prefix "##" and keeps only its vocabulary.
#include "tcpp/tokenizers/wordpiece_trainer.h"

namespace tcpp::tokenizers {

namespace {

BpeTrainerOptions bpe_options(const WordPieceTrainerOptions& o) {
  BpeTrainerOptions b;
  b.vocab_size = o.vocab_size;
  b.min_frequency = o.min_frequency;
  b.special_tokens = o.special_tokens;
  b.limit_alphabet = o.limit_alphabet;
  b.initial_alphabet = o.initial_alphabet;
  b.continuing_subword_prefix = o.continuing_subword_prefix;
  b.end_of_word_suffix = o.end_of_word_suffix;
  return b;
}

}  // namespace

WordPieceTrainer::WordPieceTrainer(WordPieceTrainerOptions options)
    : options_(std::move(options)), bpe_(bpe_options(options_)) {}

std::unique_ptr<WordPiece> WordPieceTrainer::train() const {
  std::unique_ptr<Bpe> bpe = bpe_.train();
  return WordPiece::create(bpe->get_vocab(), options_.unk_token, options_.continuing_subword_prefix);
}

}  // namespace tcpp::tokenizers
