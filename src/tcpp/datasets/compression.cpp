// Compressed data files: magic-number detection as datasets' extractors, and streaming decoders over Debian's zlib,
// libbz2, liblzma, libzstd and liblz4 that read concatenated members as Python's modules do.
#include "tcpp/datasets/compression.h"

#include <bzlib.h>
#include <fcntl.h>
#include <lz4frame.h>
#include <lzma.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "tcpp/core/error.h"

namespace tcpp::datasets {

namespace {

// A file descriptor closed on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  // Closes now, reporting close's error (a delayed write error of some file systems).
  int close() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

int open_for_reading(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw InputError(path, std::string("cannot open: ") + std::strerror(errno));
  return fd;
}

// Reads up to n bytes, retrying short reads and EINTR; fewer only at the end of the file.
size_t read_fd(int fd, char* out, size_t n, const std::string& path) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::read(fd, out + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw InputError(path, std::string("cannot read: ") + std::strerror(errno));
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  return got;
}

bool has_prefix(std::string_view head, std::string_view magic) { return head.substr(0, magic.size()) == magic; }

// bzip2: "BZh", the block size digit, then a block's or the end of stream's 48-bit magic. datasets checks "BZh"
// alone, so text that happens to begin with it would be taken for bzip2; the whole signature cannot be text.
bool is_bzip2(std::string_view head) {
  return head.size() >= 10 && has_prefix(head, "BZh") && head[3] >= '1' && head[3] <= '9' &&
         (head.substr(4, 6) == std::string_view("\x31\x41\x59\x26\x53\x59", 6) ||
          head.substr(4, 6) == std::string_view("\x17\x72\x45\x38\x50\x90", 6));
}

// The streaming decoder over one codec: the input is read in 1 MiB pieces, decode() turns some of it into output.
class Reader : public DecompressingReader {
 public:
  Reader(const std::string& path, const char* format) : path_(path), format_(format), fd_(open_for_reading(path)) {}

  size_t read(char* out, size_t n) override {
    size_t got = 0;
    int stalls = 0;
    while (got == 0 && !finished_) {
      if (pos_ == in_.size() && !eof_) refill();
      const size_t before = pos_;
      got = decode(out, n);
      // Every codec consumes input or produces output while it has input; one that does neither twice would loop.
      if (got == 0 && pos_ == before && !finished_ && (pos_ < in_.size() || eof_) && ++stalls > 2)
        corrupt("the decoder makes no progress");
    }
    produced_ += static_cast<int64_t>(got);
    return got;
  }

 protected:
  // Decode from in_[pos_..] into out: advances pos_, sets finished_ at the end of the data, throws on bad data.
  virtual size_t decode(char* out, size_t n) = 0;

  [[noreturn]] void corrupt(const std::string& why) const {
    throw InputError(path_, std::string("corrupt ") + format_ + " data after " + std::to_string(produced_) +
                                " decompressed bytes (" + why + ")");
  }
  [[noreturn]] void truncated() const {
    throw InputError(path_, std::string("the ") + format_ + " data ends early, after " + std::to_string(produced_) +
                                " decompressed bytes (a truncated file?)");
  }
  bool input_exhausted() const { return eof_ && pos_ == in_.size(); }
  // After a member / stream ended: whether input follows for the next one; at the end of the file, the data ends.
  bool input_follows() {
    if (available() > 0) return true;
    finished_ = input_exhausted();
    return false;
  }
  size_t available() const { return in_.size() - pos_; }
  const char* next_in() const { return in_.data() + pos_; }

  std::string path_;
  const char* format_;
  size_t pos_ = 0;
  bool finished_ = false;

 private:
  void refill() {
    in_.resize(kInputPiece);
    in_.resize(read_fd(fd_.get(), in_.data(), kInputPiece, path_));
    pos_ = 0;
    eof_ = in_.size() < kInputPiece;
  }

  static constexpr size_t kInputPiece = size_t{1} << 20;
  Fd fd_;
  std::vector<char> in_;
  bool eof_ = false;
};

// gzip (RFC 1952) as Python's gzip module reads it: members one after the other, zero bytes between or after
// them skipped; anything else after a member is an error.
class GzipReader : public Reader {
 public:
  explicit GzipReader(const std::string& path) : Reader(path, "gzip") {
    if (inflateInit2(&z_, 16 + MAX_WBITS) != Z_OK) throw InputError(path, "zlib cannot start a gzip decoder");
  }
  ~GzipReader() override { inflateEnd(&z_); }

 protected:
  size_t decode(char* out, size_t n) override {
    if (between_members_) {
      while (available() > 0 && *next_in() == '\0') ++pos_;
      if (!input_follows()) return 0;
      inflateReset(&z_);
      between_members_ = false;
    }
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(next_in()));
    z_.avail_in = static_cast<uInt>(available());
    z_.next_out = reinterpret_cast<Bytef*>(out);
    z_.avail_out = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
    const uInt out_space = z_.avail_out;
    const int rc = inflate(&z_, Z_NO_FLUSH);
    pos_ += available() - z_.avail_in;
    const size_t got = out_space - z_.avail_out;
    if (rc == Z_STREAM_END) {
      between_members_ = true;
    } else if (rc == Z_BUF_ERROR || (rc == Z_OK && got == 0 && available() == 0)) {
      if (input_exhausted()) truncated();
    } else if (rc != Z_OK) {
      corrupt(z_.msg ? z_.msg : "zlib error " + std::to_string(rc));
    }
    return got;
  }

 private:
  z_stream z_{};
  bool between_members_ = false;
};

// bzip2 as Python's bz2 module reads it: streams one after the other; after a complete stream, data that is not
// another stream is ignored.
class Bzip2Reader : public Reader {
 public:
  explicit Bzip2Reader(const std::string& path) : Reader(path, "bzip2") { start(); }
  ~Bzip2Reader() override { BZ2_bzDecompressEnd(&s_); }

 protected:
  size_t decode(char* out, size_t n) override {
    if (between_streams_) {
      if (!input_follows()) return 0;
      BZ2_bzDecompressEnd(&s_);
      start();
      between_streams_ = false;
    }
    s_.next_in = const_cast<char*>(next_in());
    s_.avail_in = static_cast<unsigned>(std::min<size_t>(available(), 1u << 30));
    s_.next_out = out;
    s_.avail_out = static_cast<unsigned>(std::min<size_t>(n, 1u << 30));
    const unsigned in_before = s_.avail_in, out_space = s_.avail_out;
    const int rc = BZ2_bzDecompress(&s_);
    pos_ += in_before - s_.avail_in;
    const size_t got = out_space - s_.avail_out;
    if (rc == BZ_STREAM_END) {
      between_streams_ = true;
      ++streams_;
    } else if (rc == BZ_DATA_ERROR_MAGIC && streams_ > 0) {
      finished_ = true;  // trailing data after the last stream, which Python's bz2 ignores
      return got;
    } else if (rc != BZ_OK) {
      corrupt(rc == BZ_DATA_ERROR_MAGIC ? "not bzip2 data"
              : rc == BZ_DATA_ERROR     ? "a block fails its check"
                                        : "libbz2 error " + std::to_string(rc));
    } else if (got == 0 && in_before == s_.avail_in && input_exhausted()) {
      truncated();
    }
    return got;
  }

 private:
  void start() {
    s_ = bz_stream{};
    if (BZ2_bzDecompressInit(&s_, 0, 0) != BZ_OK) throw InputError(path_, "libbz2 cannot start a decoder");
  }
  bz_stream s_{};
  bool between_streams_ = false;
  int streams_ = 0;
};

// xz as Python's lzma module reads it: streams one after the other; after a complete stream, data that does not
// begin another stream (stream padding included, which the xz tool would skip) is ignored.
class XzReader : public Reader {
 public:
  explicit XzReader(const std::string& path) : Reader(path, "xz") { start(); }
  ~XzReader() override { lzma_end(&s_); }

 protected:
  size_t decode(char* out, size_t n) override {
    if (between_streams_) {
      if (!input_follows()) return 0;
      start();
      between_streams_ = false;
      stream_in_ = 0;
    }
    s_.next_in = reinterpret_cast<const uint8_t*>(next_in());
    s_.avail_in = available();
    s_.next_out = reinterpret_cast<uint8_t*>(out);
    s_.avail_out = n;
    const size_t in_before = s_.avail_in;
    const lzma_ret rc = lzma_code(&s_, input_exhausted() ? LZMA_FINISH : LZMA_RUN);
    pos_ += in_before - s_.avail_in;
    stream_in_ += in_before - s_.avail_in;
    const size_t got = n - s_.avail_out;
    // An error inside a later stream's 12-byte header: that data is not a stream, and Python's lzma ignores it.
    if ((rc == LZMA_FORMAT_ERROR || rc == LZMA_DATA_ERROR || rc == LZMA_OPTIONS_ERROR) && streams_ > 0 &&
        stream_in_ <= 12) {
      finished_ = true;
      return got;
    }
    switch (rc) {
      case LZMA_OK: break;
      case LZMA_STREAM_END:
        between_streams_ = true;
        ++streams_;
        break;
      case LZMA_BUF_ERROR:
        if (input_exhausted()) truncated();
        break;
      case LZMA_FORMAT_ERROR: corrupt("not xz data");
      case LZMA_OPTIONS_ERROR: corrupt("unsupported xz options");
      case LZMA_DATA_ERROR: corrupt("the data is corrupt");
      case LZMA_MEM_ERROR: throw InputError(path_, "liblzma ran out of memory");
      default: corrupt("liblzma error " + std::to_string(static_cast<int>(rc)));
    }
    return got;
  }

 private:
  void start() {
    lzma_end(&s_);
    s_ = LZMA_STREAM_INIT;
    if (lzma_stream_decoder(&s_, UINT64_MAX, 0) != LZMA_OK) throw InputError(path_, "liblzma cannot start a decoder");
  }
  lzma_stream s_ = LZMA_STREAM_INIT;
  bool between_streams_ = false;
  int streams_ = 0;
  size_t stream_in_ = 0;  // input bytes of the current stream consumed so far
};

// zstd: frames one after the other (skippable frames skipped), as the zstandard module's copy_stream reads them.
class ZstdReader : public Reader {
 public:
  explicit ZstdReader(const std::string& path) : Reader(path, "zstd"), ds_(ZSTD_createDStream()) {
    if (!ds_) throw InputError(path, "libzstd cannot start a decoder");
  }
  ~ZstdReader() override { ZSTD_freeDStream(ds_); }

 protected:
  size_t decode(char* out, size_t n) override {
    if (input_exhausted() && !in_frame_) {
      finished_ = true;
      return 0;
    }
    ZSTD_inBuffer in{next_in(), available(), 0};
    ZSTD_outBuffer o{out, n, 0};
    const size_t rc = ZSTD_decompressStream(ds_, &o, &in);
    if (ZSTD_isError(rc)) corrupt(ZSTD_getErrorName(rc));
    pos_ += in.pos;
    in_frame_ = rc != 0;
    if (o.pos == 0 && in.pos == 0 && input_exhausted() && in_frame_) truncated();
    return o.pos;
  }

 private:
  ZSTD_DStream* ds_;
  bool in_frame_ = false;
};

// The LZ4 frame format (lz4.frame, what datasets' Lz4Extractor reads), frames one after the other.
class Lz4Reader : public Reader {
 public:
  explicit Lz4Reader(const std::string& path) : Reader(path, "lz4") {
    if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx_, LZ4F_VERSION)))
      throw InputError(path, "liblz4 cannot start a decoder");
  }
  ~Lz4Reader() override { LZ4F_freeDecompressionContext(ctx_); }

 protected:
  size_t decode(char* out, size_t n) override {
    if (input_exhausted() && !in_frame_) {
      finished_ = true;
      return 0;
    }
    size_t out_size = n, in_size = available();
    const size_t rc = LZ4F_decompress(ctx_, out, &out_size, next_in(), &in_size, nullptr);
    if (LZ4F_isError(rc)) corrupt(LZ4F_getErrorName(rc));
    pos_ += in_size;
    in_frame_ = rc != 0;
    if (out_size == 0 && in_size == 0 && input_exhausted() && in_frame_) truncated();
    return out_size;
  }

 private:
  LZ4F_dctx* ctx_ = nullptr;
  bool in_frame_ = false;
};

}  // namespace

const char* compression_name(Compression c) {
  switch (c) {
    case Compression::kGzip: return "gzip";
    case Compression::kBzip2: return "bzip2";
    case Compression::kXz: return "xz";
    case Compression::kZstd: return "zstd";
    case Compression::kLz4: return "lz4";
    case Compression::kNone: break;
  }
  return "none";
}

bool looks_like_tar(std::string_view head) {
  return head.size() >= 262 && head.substr(257, 5) == "ustar";
}

Compression detect_compression(const std::string& path) {
  Fd fd(open_for_reading(path));
  char buf[512];
  const std::string_view head(buf, read_fd(fd.get(), buf, sizeof buf, path));
  if (has_prefix(head, "\x1f\x8b")) return Compression::kGzip;
  if (is_bzip2(head)) return Compression::kBzip2;
  if (has_prefix(head, std::string_view("\xfd" "7zXZ\0", 6))) return Compression::kXz;
  if (has_prefix(head, "\x28\xb5\x2f\xfd")) return Compression::kZstd;
  if (has_prefix(head, "\x04\x22\x4d\x18")) return Compression::kLz4;
  const char* archive = has_prefix(head, "PK\x03\x04") || has_prefix(head, "PK\x05\x06") ||
                                has_prefix(head, "PK\x07\x08")
                            ? "zip"
                        : has_prefix(head, "7z\xbc\xaf\x27\x1c") ? "7z"
                        : has_prefix(head, "Rar!\x1a\x07")      ? "rar"
                        : looks_like_tar(head)                   ? "tar"
                                                                 : nullptr;
  if (archive)
    throw InputError(path, std::string("a ") + archive + " archive: datasets extracts archives into a folder of "
                           "files, this library reads compressed single files only (gzip, bzip2, xz, zstd, lz4); "
                           "extract it and pass its files");
  return Compression::kNone;
}

std::unique_ptr<DecompressingReader> DecompressingReader::open(const std::string& path, Compression c) {
  switch (c) {
    case Compression::kGzip: return std::make_unique<GzipReader>(path);
    case Compression::kBzip2: return std::make_unique<Bzip2Reader>(path);
    case Compression::kXz: return std::make_unique<XzReader>(path);
    case Compression::kZstd: return std::make_unique<ZstdReader>(path);
    case Compression::kLz4: return std::make_unique<Lz4Reader>(path);
    case Compression::kNone: break;
  }
  throw InternalError("DecompressingReader::open: " + path + " is not compressed");
}

size_t DecompressingReader::read_full(char* out, size_t n) {
  size_t have = 0;
  for (size_t got = 1; have < n && got > 0; have += got) got = read(out + have, n - have);
  return have;
}

void decompress_file(const std::string& path, Compression c, const std::string& out_path) {
  auto reader = DecompressingReader::open(path, c);
  Fd out(::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (out.get() < 0) throw InputError(out_path, std::string("cannot create: ") + std::strerror(errno));
  auto write_error = [&] {
    return InputError(out_path, std::string("cannot write the data decompressed from ") + path + ": " +
                                    std::strerror(errno));
  };
  std::vector<char> buf(size_t{4} << 20);
  bool first = true;
  while (true) {
    const size_t n = reader->read_full(buf.data(), buf.size());
    if (n == 0) break;
    if (first && looks_like_tar(std::string_view(buf.data(), n)))
      throw InputError(path, std::string("a ") + compression_name(c) + "-compressed tar archive: datasets extracts "
                             "archives into a folder of files, this library reads compressed single files only; "
                             "extract it and pass its files");
    first = false;
    for (size_t done = 0; done < n;) {
      ssize_t w = ::write(out.get(), buf.data() + done, n - done);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) throw write_error();
      done += static_cast<size_t>(w);
    }
  }
  if (out.close() != 0) throw write_error();
}

}  // namespace tcpp::datasets
