// Tokenizer: the full tokenizer.json pipeline — added tokens, normalizer, pre-tokenizer, model, post-processor,
// decoder — with truncation, padding and batch encoding (as tokenizers' tokenizer/mod.rs).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tcpp/core/json.h"
#include "tcpp/tokenizers/added_vocabulary.h"
#include "tcpp/tokenizers/decoders.h"
#include "tcpp/tokenizers/encoding.h"
#include "tcpp/tokenizers/models.h"
#include "tcpp/tokenizers/normalizers.h"
#include "tcpp/tokenizers/post_processors.h"
#include "tcpp/tokenizers/pre_tokenizers.h"

namespace tcpp::tokenizers {

/// One input of encode_batch: a text and, optionally, its pair.
struct EncodeInput {
  std::string text;
  std::optional<std::string> pair;
};

class Tokenizer {
 public:
  explicit Tokenizer(std::unique_ptr<Model> model);
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  /// Load a tokenizer.json; throws InputError naming the file and field ("tokenizer.json: \"model.vocab\": ...").
  static Tokenizer from_file(const std::string& path);
  /// Build from parsed tokenizer.json; `where` names the source in errors.
  static Tokenizer from_json(const Json& j, const std::string& where);

  void set_normalizer(std::unique_ptr<Normalizer> n);
  void set_pre_tokenizer(std::unique_ptr<PreTokenizer> p);
  void set_post_processor(std::unique_ptr<PostProcessor> p);
  void set_decoder(std::unique_ptr<Decoder> d);
  void set_truncation(std::optional<TruncationParams> t) { truncation_ = std::move(t); }
  void set_padding(std::optional<PaddingParams> p) { padding_ = std::move(p); }
  const std::optional<TruncationParams>& truncation() const { return truncation_; }
  const std::optional<PaddingParams>& padding() const { return padding_; }

  /// Add tokens to the vocabulary (after the model's ids); returns how many were new.
  size_t add_tokens(const std::vector<AddedToken>& tokens);
  size_t add_special_tokens(const std::vector<std::string>& tokens);

  /// Encode one text (valid UTF-8, else InputError "input: invalid UTF-8 at byte N") with char offsets.
  Encoding encode(const std::string& text, bool add_special_tokens = true) const;
  /// Encode a pair of texts (type ids 0 then 1 with BERT-style processors).
  Encoding encode_pair(const std::string& text, const std::string& pair, bool add_special_tokens = true) const;
  /// Encode many inputs on num_threads threads (0: all cores); output order = input order; batch padding applies.
  std::vector<Encoding> encode_batch(const std::vector<EncodeInput>& inputs, bool add_special_tokens = true,
                                     size_t num_threads = 0) const;
  std::vector<Encoding> encode_batch(const std::vector<std::string>& texts, bool add_special_tokens = true,
                                     size_t num_threads = 0) const;

  /// Decode ids to text; unknown ids are skipped, special tokens too when asked.
  std::string decode(const std::vector<uint32_t>& ids, bool skip_special_tokens = false) const;
  std::vector<std::string> decode_batch(const std::vector<std::vector<uint32_t>>& ids, bool skip_special_tokens = false) const;

  /// The words the model would see (added tokens split out, normalized, pre-tokenized), as a trainer feeds them.
  std::vector<std::string> pre_tokenize_words(const std::string& text) const;

  std::optional<uint32_t> token_to_id(const std::string& token) const;
  std::optional<std::string> id_to_token(uint32_t id) const;
  /// Vocabulary size; with_added_tokens counts added tokens too (Python's len(tokenizer)).
  size_t get_vocab_size(bool with_added_tokens = true) const;
  /// Number of special tokens the post-processor adds to a single sequence or a pair.
  size_t num_special_tokens_to_add(bool is_pair) const;
  bool is_special_id(uint32_t id) const;

  /// Whether encode may take the byte-level BPE fast path, used when the loaded pipeline is exactly "no normalizer,
  /// ByteLevel pre-tokenizer with GPT-2's regex, byte-level BPE model" (default true; false forces the general
  /// pipeline, which tests compare it with). Results are identical either way.
  void set_fast_path(bool enabled) { fast_path_ = enabled; }
  /// True when encode takes the fast path for this pipeline.
  bool uses_fast_path() const;

  const Model& model() const { return *model_; }
  const AddedVocabulary& added_vocabulary() const { return added_; }
  const PostProcessor* post_processor() const { return post_processor_.get(); }

 private:
  Encoding encode_single(const std::string& text, uint32_t type_id) const;
  bool encode_single_fast(const std::string& text, uint32_t type_id, Encoding& out) const;
  Encoding post_process(Encoding encoding, std::optional<Encoding> pair, bool add_special_tokens) const;

  std::unique_ptr<Model> model_;
  std::unique_ptr<Normalizer> normalizer_;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  std::unique_ptr<PostProcessor> post_processor_;
  std::unique_ptr<Decoder> decoder_;
  AddedVocabulary added_;
  std::optional<TruncationParams> truncation_;
  std::optional<PaddingParams> padding_;
  bool fast_path_ = true;
};

}  // namespace tcpp::tokenizers
