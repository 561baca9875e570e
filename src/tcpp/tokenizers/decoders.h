// Decoders: turn tokens back into text (as tokenizers' decoders/: ByteLevel, WordPiece, Metaspace, BPEDecoder,
// ByteFallback, Fuse, Strip, Replace, Sequence).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tcpp/core/json.h"

namespace tcpp::tokenizers {

namespace detail {
struct JsonPath;
}

class Decoder {
 public:
  virtual ~Decoder() = default;
  /// Transform the token strings (a decoder may merge them).
  virtual std::vector<std::string> decode_chain(std::vector<std::string> tokens) const = 0;
  /// Decode to one string: decode_chain, then concatenate.
  std::string decode(std::vector<std::string> tokens) const;
};

/// Build from tokenizer.json's "decoder" object; throws InputError naming the field.
std::unique_ptr<Decoder> decoder_from_json(const Json& j, const detail::JsonPath& at);

std::unique_ptr<Decoder> make_byte_level_decoder();
std::unique_ptr<Decoder> make_wordpiece_decoder(const std::string& prefix = "##", bool cleanup = true);

}  // namespace tcpp::tokenizers
