// Parquet page decompression (internal): every codec of parquet.thrift's CompressionCodec but LZO.
#pragma once

#include <cstdint>
#include <vector>

#include "tcpp/datasets/parquet/encodings.h"
#include "tcpp/datasets/parquet/metadata.h"

namespace tcpp::datasets::parquet {

/// Decompress a page body into out, which must come out exactly `expected` bytes long (the page header's
/// uncompressed size). Throws InputError (without a location) on corrupt data, a size mismatch or LZO.
void decompress(Codec codec, ByteSpan in, int32_t expected, std::vector<uint8_t>& out);

}  // namespace tcpp::datasets::parquet
