// Parquet page codecs (parquet-format Compression.md): SNAPPY, GZIP, BROTLI, LZ4 (Hadoop framing or raw),
// ZSTD and LZ4_RAW through Debian's libraries; every output size is checked against the page header.
#include "tcpp/datasets/parquet/compression.h"

#include <brotli/decode.h>
#include <lz4.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <string>

#include "tcpp/core/error.h"

namespace tcpp::datasets::parquet {

void decompress(Codec codec, ByteSpan in, int32_t expected, std::vector<uint8_t>& out) {
  if (expected < 0) throw InputError("negative uncompressed page size " + std::to_string(expected));
  out.resize(static_cast<size_t>(expected));
  const char* src = reinterpret_cast<const char*>(in.data);
  switch (codec) {
    case Codec::kSnappy: {
      size_t n = 0;
      if (!snappy::GetUncompressedLength(src, in.size, &n) || n != static_cast<size_t>(expected))
        throw InputError("SNAPPY page: the compressed data is corrupt or does not hold the " +
                         std::to_string(expected) + " bytes the page header promises");
      if (!snappy::RawUncompress(src, in.size, reinterpret_cast<char*>(out.data())))
        throw InputError("SNAPPY page: the compressed data is corrupt");
      return;
    }
    case Codec::kZstd: {
      size_t n = ZSTD_decompress(out.data(), out.size(), src, in.size);
      if (ZSTD_isError(n)) throw InputError(std::string("ZSTD page: ") + ZSTD_getErrorName(n));
      if (n != static_cast<size_t>(expected))
        throw InputError("ZSTD page: decompressed to " + std::to_string(n) +
                         " bytes, the page header promises " + std::to_string(expected));
      return;
    }
    case Codec::kGzip: {
      z_stream z{};
      if (inflateInit2(&z, 15 + 32) != Z_OK)
        throw InputError("GZIP page: cannot initialize zlib");  // 32: gzip or zlib header
      z.next_in = const_cast<Bytef*>(in.data);
      z.avail_in = static_cast<uInt>(in.size);
      z.next_out = out.data();
      z.avail_out = static_cast<uInt>(out.size());
      int rc = inflate(&z, Z_FINISH);
      uLong produced = z.total_out;
      inflateEnd(&z);
      if (rc != Z_STREAM_END || produced != static_cast<uLong>(expected))
        throw InputError("GZIP page: the compressed data is corrupt or does not hold the " +
                         std::to_string(expected) + " bytes the page header promises");
      return;
    }
    case Codec::kBrotli: {
      size_t n = out.size();
      if (BrotliDecoderDecompress(in.size, in.data, &n, out.data()) != BROTLI_DECODER_RESULT_SUCCESS ||
          n != static_cast<size_t>(expected))
        throw InputError("BROTLI page: the compressed data is corrupt or does not hold the " +
                         std::to_string(expected) + " bytes the page header promises");
      return;
    }
    case Codec::kLz4Raw: {
      int n =
          LZ4_decompress_safe(src, reinterpret_cast<char*>(out.data()), static_cast<int>(in.size), expected);
      if (n != expected)
        throw InputError("LZ4_RAW page: the compressed data is corrupt or does not hold the " +
                         std::to_string(expected) + " bytes the page header promises");
      return;
    }
    case Codec::kLz4: {
      // The deprecated LZ4 codec: Hadoop's framing (big-endian decompressed and compressed sizes before each
      // block), as parquet-mr and arrow-rs write it; a page that does not parse as such is tried as one raw
      // block, as Arrow C++ does for older writers.
      size_t ip = 0, op = 0;
      bool framed = true;
      while (framed && ip < in.size) {
        if (in.size - ip < 8) {
          framed = false;
          break;
        }
        auto be32 = [&](size_t at) {
          return static_cast<uint32_t>(in.data[at]) << 24 | static_cast<uint32_t>(in.data[at + 1]) << 16 |
                 static_cast<uint32_t>(in.data[at + 2]) << 8 | in.data[at + 3];
        };
        uint32_t raw = be32(ip), packed = be32(ip + 4);
        ip += 8;
        if (packed > in.size - ip || raw > out.size() - op ||
            LZ4_decompress_safe(src + ip, reinterpret_cast<char*>(out.data() + op), static_cast<int>(packed),
                                static_cast<int>(raw)) != static_cast<int>(raw)) {
          framed = false;
          break;
        }
        ip += packed;
        op += raw;
      }
      if (framed && op == out.size()) return;
      if (LZ4_decompress_safe(src, reinterpret_cast<char*>(out.data()), static_cast<int>(in.size),
                              expected) == expected)
        return;
      throw InputError("LZ4 page: the data is neither Hadoop-framed nor raw LZ4 of the " +
                       std::to_string(expected) + " bytes the page header promises");
    }
    default:
      throw InputError(
          "compression codec " + codec_name(codec) +
          " is not supported (supported: UNCOMPRESSED, SNAPPY, GZIP, BROTLI, LZ4, ZSTD, LZ4_RAW)");
  }
}

}  // namespace tcpp::datasets::parquet
