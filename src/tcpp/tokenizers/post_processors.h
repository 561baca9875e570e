// Post-processors: add special tokens and set type ids once sequences are tokenized (as tokenizers' processors/:
// TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tcpp/core/json.h"
#include "tcpp/tokenizers/encoding.h"

namespace tcpp::tokenizers {

namespace detail {
struct JsonPath;
}

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  /// How many special tokens process() adds to a single sequence or a pair.
  virtual size_t added_tokens(bool is_pair) const = 0;
  /// Transform the encodings of a sequence (and its pair); they are merged afterwards.
  virtual std::vector<Encoding> process_encodings(std::vector<Encoding> encodings, bool add_special_tokens) const = 0;
  /// Set type ids to the sequence index, process, merge (tokenizers' PostProcessor::process).
  Encoding process(Encoding encoding, std::optional<Encoding> pair, bool add_special_tokens) const;
  /// Every special token id the processor may add (for get_special_tokens_mask and validation).
  virtual std::vector<uint32_t> special_ids() const = 0;
};

/// Build from tokenizer.json's "post_processor" object; throws InputError naming the field.
std::unique_ptr<PostProcessor> post_processor_from_json(const Json& j, const detail::JsonPath& at);

/// [CLS] A [SEP] (B [SEP]) as TemplateProcessing would write it for BERT.
std::unique_ptr<PostProcessor> make_bert_processing(const std::string& cls, uint32_t cls_id, const std::string& sep, uint32_t sep_id);
/// GPT-2's ByteLevel processor (only trims offsets).
std::unique_ptr<PostProcessor> make_byte_level_processing(bool trim_offsets);

}  // namespace tcpp::tokenizers
