// Arrow IPC reader (stream and file formats) over a memory map, validating every length, offset and bound.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <string>

#include <flatbuffers/flatbuffers.h>

#include "tcpp/core/check.h"
#include "tcpp/core/error.h"
#include "tcpp/core/read_only_file.h"
#include "tcpp/datasets/arrow/batch_index.h"
#include "tcpp/datasets/arrow/format_generated.h"
#include "tcpp/datasets/arrow/ipc.h"
#include "tcpp/datasets/arrow/memory_map.h"
#include "tcpp/datasets/builders/utf8.h"

namespace tcpp::datasets::arrow {
namespace {

constexpr uint32_t kContinuation = 0xFFFFFFFFu;
constexpr char kMagic[] = "ARROW1";
constexpr int64_t kMagicSize = 6;
// Bytes read per pread() while indexing: a record batch's framed metadata (~200-400 bytes for a few columns) fits,
// and copying more costs time on every message.
constexpr size_t kProbeBytes = 512;

// Offsets of a zero-length array may be an empty buffer; views then read this single zero offset.
alignas(8) const uint8_t kZeroOffset[8] = {0, 0, 0, 0, 0, 0, 0, 0};

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

KeyValueMetadata read_metadata(const flatbuffers::Vector<flatbuffers::Offset<fb::KeyValue>>* kvs) {
  KeyValueMetadata out;
  if (!kvs) return out;
  for (const auto* kv : *kvs) {
    if (!kv) continue;
    out.emplace_back(kv->key() ? kv->key()->str() : "", kv->value() ? kv->value()->str() : "");
  }
  return out;
}

class Reader {
 public:
  Reader(std::shared_ptr<const void> keep_alive, const uint8_t* data, int64_t size, std::string name)
      : keep_alive_(std::move(keep_alive)), data_(data), size_(size), name_(std::move(name)) {}

  Table read(IpcFormat* format) {
    bool is_file = size_ >= kMagicSize && std::memcmp(data_, kMagic, kMagicSize) == 0;
    if (format) *format = is_file ? IpcFormat::kFile : IpcFormat::kStream;
    return is_file ? read_file_format() : read_stream_format(0);
  }

  /// Read message framing and metadata with pread() on fd instead of through the memory map (IpcFileReader's
  /// index: no mapped page is touched, so nothing of the file becomes resident).
  void use_pread(int fd) { fd_ = fd; }

  /// The lazy reader's index: schema, format, every record batch's message offset and row count, and where
  /// messages may end. Validates the framing, the metadata flatbuffers and the body bounds of every message.
  struct Index {
    Schema schema;
    IpcFormat format = IpcFormat::kStream;
    std::vector<std::pair<int64_t, int64_t>> batches;  // (message offset, rows)
    int64_t data_end = 0;
  };
  Index index() {
    Index out;
    uint8_t magic[kMagicSize] = {};
    if (size_ >= kMagicSize) copy_bytes(0, magic, kMagicSize);
    Message m;
    if (size_ >= kMagicSize && std::memcmp(magic, kMagic, kMagicSize) == 0) {
      out.format = IpcFormat::kFile;
      int64_t footer_start = 0;
      std::vector<uint8_t> footer_bytes;
      const fb::Footer* footer = read_footer(footer_bytes, footer_start);
      out.schema = convert_schema(footer->schema());
      out.data_end = footer_start;
      if (footer->record_batches()) {
        for (const auto* block : *footer->record_batches()) {
          const int64_t index = static_cast<int64_t>(out.batches.size());
          read_block(block, footer_start, index, m);
          out.batches.emplace_back(block->offset(), batch_header(m, index)->length());
        }
      }
      return out;
    }
    if (!read_message(0, size_, m)) fail("empty Arrow stream: no schema message (not an Arrow file?)");
    out.schema = read_schema_message(m);
    out.data_end = size_;
    int64_t pos = m.end;
    while (read_message(pos, size_, m)) {
      check_record_batch_message(m, pos);
      out.batches.emplace_back(pos, batch_header(m, static_cast<int64_t>(out.batches.size()))->length());
      pos = m.end;
    }
    return out;
  }

  /// The schema of a stream-format file (its batches known from a batch index); false, reading nothing more, for
  /// the file format.
  bool stream_schema(Schema& schema) {
    uint8_t magic[kMagicSize] = {};
    if (size_ >= kMagicSize) copy_bytes(0, magic, kMagicSize);
    if (size_ >= kMagicSize && std::memcmp(magic, kMagic, kMagicSize) == 0) return false;
    Message m;
    if (!read_message(0, size_, m)) fail("empty Arrow stream: no schema message (not an Arrow file?)");
    schema = read_schema_message(m);
    first_batch_ = m.end;
    return true;
  }
  int64_t first_batch() const { return first_batch_; }

  /// The record batch whose framed message starts at pos (an offset from index()).
  RecordBatch batch_at(int64_t pos, int64_t limit, const Schema& schema, int64_t index) {
    Message m;
    if (!read_message(pos, limit, m))
      fail("record batch " + std::to_string(index) + ": no message at byte " + std::to_string(pos));
    check_record_batch_message(m, pos);
    return load_batch(m, schema, index);
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { throw InputError(name_, what); }

  // Bytes [pos, pos + n) of the data: from the memory map, or with pread() through a small window so that
  // walking the messages costs about one system call each.
  void copy_bytes(int64_t pos, void* dst, size_t n) {
    if (fd_ < 0) {
      std::memcpy(dst, data_ + pos, n);
      return;
    }
    const auto end = pos + static_cast<int64_t>(n);
    if (pos < window_pos_ || end > window_pos_ + static_cast<int64_t>(window_.size())) {
      window_.resize(std::max<size_t>(n, kProbeBytes));
      const auto want = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(window_.size()), size_ - pos));
      size_t got = 0;
      while (got < want) {
        ssize_t r = ::pread(fd_, window_.data() + got, want - got, static_cast<off_t>(pos + static_cast<int64_t>(got)));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) fail("cannot read " + std::to_string(want) + " bytes at byte " + std::to_string(pos) + ": " +
                         (r < 0 ? std::strerror(errno) : "unexpected end of file (file changed while open?)"));
        got += static_cast<size_t>(r);
      }
      window_.resize(want);
      window_pos_ = pos;
    }
    std::memcpy(dst, window_.data() + (pos - window_pos_), n);
  }

  struct Message {
    std::vector<uint8_t> metadata;  // aligned copy of the flatbuffer
    const fb::Message* message = nullptr;
    const uint8_t* body = nullptr;
    int64_t body_length = 0;
    int64_t metadata_length = 0;  // framed: prefix + flatbuffer + padding
    int64_t end = 0;              // byte after the body
  };

  uint32_t read_u32(int64_t pos) {
    uint32_t v;
    copy_bytes(pos, &v, 4);
    return v;
  }

  /// Read the framed message at pos; false at the end-of-stream marker (or a clean end of data).
  bool read_message(int64_t pos, int64_t limit, Message& out) {
    if (pos == limit) return false;  // no end-of-stream marker: accepted, as pyarrow does
    if (limit - pos < 4) fail("truncated message header at byte " + std::to_string(pos));
    int64_t prefix = 4;
    int64_t len = static_cast<int32_t>(read_u32(pos));
    if (read_u32(pos) == kContinuation) {
      if (limit - pos < 8) fail("truncated message header at byte " + std::to_string(pos));
      len = static_cast<int32_t>(read_u32(pos + 4));
      prefix = 8;
    }
    if (len == 0) return false;  // end-of-stream marker
    if (len < 0 || len > limit - pos - prefix)
      fail("message at byte " + std::to_string(pos) + ": metadata length " + std::to_string(len) +
           " runs past the end of the data (" + std::to_string(limit) + " bytes; truncated file?)");
    out.metadata.resize(static_cast<size_t>(len));
    copy_bytes(pos + prefix, out.metadata.data(), static_cast<size_t>(len));
    flatbuffers::Verifier verifier(out.metadata.data(), out.metadata.size());
    if (!verifier.VerifyBuffer<fb::Message>(nullptr))
      fail("message at byte " + std::to_string(pos) + ": corrupt flatbuffer metadata");
    out.message = flatbuffers::GetRoot<fb::Message>(out.metadata.data());
    if (out.message->version() < fb::MetadataVersion::V4)
      fail("message at byte " + std::to_string(pos) + ": metadata version V" +
           std::to_string(static_cast<int>(out.message->version()) + 1) +
           " is too old (Arrow < 0.15); V4 or V5 expected");
    int64_t body_start = pos + prefix + len;
    out.body_length = out.message->body_length();
    if (out.body_length < 0 || out.body_length > limit - body_start)
      fail("message at byte " + std::to_string(pos) + ": body of " + std::to_string(out.body_length) +
           " bytes runs past the end of the data (" + std::to_string(limit - body_start) +
           " bytes left; truncated file?)");
    out.body = data_ + body_start;
    out.metadata_length = prefix + len;
    out.end = body_start + out.body_length;
    return true;
  }

  // ---- schema ----

  TimeUnit convert_unit(fb::TimeUnit u, const std::string& name) {
    switch (u) {
      case fb::TimeUnit::SECOND: return TimeUnit::kSecond;
      case fb::TimeUnit::MILLISECOND: return TimeUnit::kMilli;
      case fb::TimeUnit::MICROSECOND: return TimeUnit::kMicro;
      case fb::TimeUnit::NANOSECOND: return TimeUnit::kNano;
    }
    fail("field " + quoted(name) + ": unknown time unit " + std::to_string(static_cast<int>(u)));
  }

  DataType convert_type(const fb::Field* f, const std::string& name) {
    DataType t;
    switch (f->type_type()) {
      case fb::Type::Int: {
        const auto* it = f->type_as_Int();
        if (!it) fail("field " + quoted(name) + ": Int type without parameters");
        bool s = it->is_signed();
        switch (it->bit_width()) {
          case 8: t.id = s ? TypeId::kInt8 : TypeId::kUInt8; break;
          case 16: t.id = s ? TypeId::kInt16 : TypeId::kUInt16; break;
          case 32: t.id = s ? TypeId::kInt32 : TypeId::kUInt32; break;
          case 64: t.id = s ? TypeId::kInt64 : TypeId::kUInt64; break;
          default: fail("field " + quoted(name) + ": integer bit width " + std::to_string(it->bit_width()) +
                        ", expected 8, 16, 32 or 64");
        }
        break;
      }
      case fb::Type::FloatingPoint: {
        const auto* ft = f->type_as_FloatingPoint();
        if (!ft) fail("field " + quoted(name) + ": FloatingPoint type without parameters");
        switch (ft->precision()) {
          case fb::Precision::HALF: t.id = TypeId::kFloat16; break;
          case fb::Precision::SINGLE: t.id = TypeId::kFloat32; break;
          case fb::Precision::DOUBLE: t.id = TypeId::kFloat64; break;
          default: fail("field " + quoted(name) + ": unknown floating point precision");
        }
        break;
      }
      case fb::Type::NullType: t.id = TypeId::kNull; break;
      case fb::Type::Bool: t.id = TypeId::kBool; break;
      case fb::Type::Utf8: t.id = TypeId::kUtf8; break;
      case fb::Type::LargeUtf8: t.id = TypeId::kLargeUtf8; break;
      case fb::Type::Binary: t.id = TypeId::kBinary; break;
      case fb::Type::LargeBinary: t.id = TypeId::kLargeBinary; break;
      case fb::Type::List: t.id = TypeId::kList; break;
      case fb::Type::LargeList: t.id = TypeId::kLargeList; break;
      case fb::Type::Struct_: t.id = TypeId::kStruct; break;
      case fb::Type::Date: {
        const auto* dt = f->type_as_Date();
        if (!dt) fail("field " + quoted(name) + ": Date type without parameters");
        if (dt->unit() == fb::DateUnit::DAY) t.id = TypeId::kDate32;
        else if (dt->unit() == fb::DateUnit::MILLISECOND) t.id = TypeId::kDate64;
        else fail("field " + quoted(name) + ": unknown date unit " + std::to_string(static_cast<int>(dt->unit())));
        break;
      }
      case fb::Type::Time: {
        const auto* tt = f->type_as_Time();
        if (!tt) fail("field " + quoted(name) + ": Time type without parameters");
        t.unit = convert_unit(tt->unit(), name);
        const bool seconds_or_ms = t.unit == TimeUnit::kSecond || t.unit == TimeUnit::kMilli;
        if (tt->bit_width() != (seconds_or_ms ? 32 : 64))
          fail("field " + quoted(name) + ": a time in " + time_unit_name(t.unit) + " is " +
               (seconds_or_ms ? "32" : "64") + " bits wide, the schema says " + std::to_string(tt->bit_width()));
        t.id = seconds_or_ms ? TypeId::kTime32 : TypeId::kTime64;
        break;
      }
      case fb::Type::Timestamp: {
        const auto* ts = f->type_as_Timestamp();
        if (!ts) fail("field " + quoted(name) + ": Timestamp type without parameters");
        t.id = TypeId::kTimestamp;
        t.unit = convert_unit(ts->unit(), name);
        if (ts->timezone()) t.timezone = ts->timezone()->str();
        break;
      }
      case fb::Type::Duration: {
        const auto* d = f->type_as_Duration();
        if (!d) fail("field " + quoted(name) + ": Duration type without parameters");
        t.id = TypeId::kDuration;
        t.unit = convert_unit(d->unit(), name);
        break;
      }
      default: {
        auto id = static_cast<int>(f->type_type());
        const char* type_name = id >= 0 && id <= static_cast<int>(fb::Type::MAX) ? fb::EnumNameType(f->type_type()) : "";
        fail("field " + quoted(name) + ": Arrow type " + (type_name[0] ? std::string(type_name) : "#" + std::to_string(id)) +
             " is not supported (supported: null, bool, ints, floats, utf8, binary, list, large_list, struct, date, "
             "time, timestamp, duration)");
      }
    }
    if (f->children()) {
      for (const auto* c : *f->children()) {
        if (!c) fail("field " + quoted(name) + ": null child field");
        t.children.push_back(convert_field(c, name + "." + (c->name() ? c->name()->str() : "")));
      }
    }
    if (t.is_list() && t.children.size() != 1)
      fail("field " + quoted(name) + ": list type needs exactly one child field, found " +
           std::to_string(t.children.size()));
    if (!t.is_list() && t.id != TypeId::kStruct && !t.children.empty())
      fail("field " + quoted(name) + ": type " + t.to_string() + " cannot have child fields");
    return t;
  }

  Field convert_field(const fb::Field* f, const std::string& path) {
    Field out;
    out.name = f->name() ? f->name()->str() : "";
    // Names become JSON keys (Dataset::row, struct values): bytes that are not UTF-8 must stop here.
    if (size_t bad = builders::find_invalid_utf8(out.name); bad != std::string::npos)
      fail("field " + quoted(path) + ": name is not valid UTF-8 (byte " + std::to_string(bad) + ")");
    out.nullable = f->nullable();
    if (f->dictionary()) fail("field " + quoted(path) + ": dictionary-encoded columns are not supported");
    out.type = convert_type(f, path);
    out.metadata = read_metadata(f->custom_metadata());
    return out;
  }

  Schema convert_schema(const fb::Schema* s) {
    if (s->endianness() != fb::Endianness::Little) fail("big-endian Arrow data is not supported");
    Schema schema;
    if (s->fields()) {
      for (const auto* f : *s->fields()) {
        if (!f) fail("schema has a null field");
        schema.fields.push_back(convert_field(f, f->name() ? f->name()->str() : ""));
      }
    }
    schema.metadata = read_metadata(s->custom_metadata());
    return schema;
  }

  // ---- record batches ----

  struct BatchContext {
    const fb::RecordBatch* rb;
    const uint8_t* body;
    int64_t body_length;
    size_t node = 0;
    size_t buffer = 0;
    std::string where;  // "record batch 2"
  };

  struct Span {
    const uint8_t* p;
    int64_t size;
  };

  Span next_buffer(BatchContext& ctx, const std::string& col) {
    const auto* bufs = ctx.rb->buffers();
    if (!bufs || ctx.buffer >= bufs->size())
      fail(ctx.where + ", column " + quoted(col) + ": fewer buffers than the schema needs");
    const fb::Buffer* b = bufs->Get(static_cast<flatbuffers::uoffset_t>(ctx.buffer++));
    int64_t off = b->offset(), len = b->length();
    if (off < 0 || len < 0 || off > ctx.body_length || len > ctx.body_length - off)
      fail(ctx.where + ", column " + quoted(col) + ": buffer [" + std::to_string(off) + ", +" + std::to_string(len) +
           ") lies outside the " + std::to_string(ctx.body_length) + "-byte message body");
    return {ctx.body + off, len};
  }

  void need(const Span& s, int64_t bytes, const std::string& what, const BatchContext& ctx, const std::string& col) {
    if (s.size < bytes)
      fail(ctx.where + ", column " + quoted(col) + ": " + what + " buffer has " + std::to_string(s.size) +
           " bytes, need " + std::to_string(bytes));
  }

  Array load_array(const Field& field, BatchContext& ctx, const std::string& col) {
    const auto* nodes = ctx.rb->nodes();
    if (!nodes || ctx.node >= nodes->size())
      fail(ctx.where + ", column " + quoted(col) + ": fewer field nodes than the schema needs");
    const fb::FieldNode* node = nodes->Get(static_cast<flatbuffers::uoffset_t>(ctx.node++));
    Array::Parts p;
    p.type = field.type;
    p.length = node->length();
    p.null_count = node->null_count();
    // 2^56 rows is beyond any real file and keeps every byte-size product below int64 overflow.
    if (p.length < 0 || p.length > (int64_t{1} << 56) || p.null_count < 0 || p.null_count > p.length)
      fail(ctx.where + ", column " + quoted(col) + ": invalid length " + std::to_string(p.length) +
           " / null count " + std::to_string(p.null_count));
    p.keep_alive = keep_alive_;
    p.where = std::make_shared<const std::string>(name_ + ": " + ctx.where + ", column " + quoted(col));
    if (field.type.id == TypeId::kNull) return Array::from_parts(std::move(p));  // no buffers at all
    Span validity = next_buffer(ctx, col);
    if (p.null_count > 0) {
      need(validity, (p.length + 7) / 8, "validity", ctx, col);
      p.validity = validity.p;
    }
    const DataType& t = field.type;
    if (t.is_fixed_width()) {
      Span v = next_buffer(ctx, col);
      need(v, p.length * t.byte_width(), "values", ctx, col);
      p.values = v.p;
      p.values_size = v.size;
    } else if (t.id == TypeId::kBool) {
      Span v = next_buffer(ctx, col);
      need(v, (p.length + 7) / 8, "values", ctx, col);
      p.values = v.p;
      p.values_size = v.size;
    } else if (t.is_string_like() || t.is_list()) {
      int width = (t.id == TypeId::kLargeUtf8 || t.id == TypeId::kLargeBinary || t.id == TypeId::kLargeList) ? 8 : 4;
      Span offsets = next_buffer(ctx, col);
      if (p.length == 0 && offsets.size == 0) offsets = {kZeroOffset, 8};
      need(offsets, (p.length + 1) * width, "offsets", ctx, col);
      p.values = offsets.p;
      p.values_size = offsets.size;
      if (t.is_string_like()) {
        Span data = next_buffer(ctx, col);
        p.data = data.p;
        p.data_size = data.size;
      } else {
        p.children.push_back(load_array(t.children[0], ctx, col + "." + t.children[0].name));
      }
    } else if (t.id == TypeId::kStruct) {
      for (const auto& c : t.children) {
        Array child = load_array(c, ctx, col + "." + c.name);
        if (child.length() < p.length)
          fail(ctx.where + ", column " + quoted(col + "." + c.name) + ": struct member has " +
               std::to_string(child.length()) + " rows, the struct has " + std::to_string(p.length));
        p.children.push_back(std::move(child));
      }
    }
    return Array::from_parts(std::move(p));
  }

  const fb::RecordBatch* batch_header(const Message& m, int64_t index) {
    const auto* rb = m.message->header_as_RecordBatch();
    std::string where = "record batch " + std::to_string(index);
    if (!rb) fail(where + ": message has no RecordBatch header");
    if (rb->compression())
      fail(where + ": compressed record batches are not supported (write with compression=None)");
    if (rb->length() < 0) fail(where + ": negative row count " + std::to_string(rb->length()));
    return rb;
  }

  void check_record_batch_message(const Message& m, int64_t pos) {
    if (m.message->header_type() == fb::MessageHeader::DictionaryBatch) fail("dictionary batches are not supported");
    if (m.message->header_type() != fb::MessageHeader::RecordBatch)
      fail("message at byte " + std::to_string(pos) + ": expected a RecordBatch, found " + header_name(m));
  }

  RecordBatch load_batch(const Message& m, const Schema& schema, int64_t index) {
    const auto* rb = batch_header(m, index);
    std::string where = "record batch " + std::to_string(index);
    // Buffer and FieldNode are structs of int64s read in place: a flatbuffer that puts their vectors off 8-byte
    // alignment (the verifier checks 4) is corrupt, and reading it would be a misaligned load (UBSan, fuzzing F13).
    auto misaligned = [](const void* p) { return reinterpret_cast<uintptr_t>(p) % alignof(int64_t) != 0; };
    if ((rb->buffers() && misaligned(rb->buffers()->Data())) || (rb->nodes() && misaligned(rb->nodes()->Data())))
      fail(where + ": corrupt flatbuffer metadata (buffer or field-node list not 8-byte aligned)");
    BatchContext ctx{rb, m.body, m.body_length, 0, 0, where};
    RecordBatch batch;
    batch.num_rows = rb->length();
    for (const auto& f : schema.fields) {
      Array a = load_array(f, ctx, f.name);
      if (a.length() != batch.num_rows)
        fail(where + ", column " + quoted(f.name) + ": " + std::to_string(a.length()) + " rows, the batch has " +
             std::to_string(batch.num_rows));
      batch.columns.push_back(std::move(a));
    }
    return batch;
  }

  Schema read_schema_message(const Message& m) {
    if (m.message->header_type() != fb::MessageHeader::Schema || !m.message->header_as_Schema())
      fail("the first message must be a Schema, found " + header_name(m));
    return convert_schema(m.message->header_as_Schema());
  }

  static std::string header_name(const Message& m) {
    auto h = m.message->header_type();
    if (static_cast<int>(h) > static_cast<int>(fb::MessageHeader::MAX)) return "message type #" + std::to_string(static_cast<int>(h));
    return fb::EnumNameMessageHeader(h);
  }

  Table read_stream_format(int64_t start) {
    Message m;
    if (!read_message(start, size_, m)) fail("empty Arrow stream: no schema message (not an Arrow file?)");
    Table table;
    table.schema = read_schema_message(m);
    int64_t pos = m.end;
    while (read_message(pos, size_, m)) {
      check_record_batch_message(m, pos);
      table.batches.push_back(load_batch(m, table.schema, static_cast<int64_t>(table.batches.size())));
      pos = m.end;
    }
    return table;
  }

  // Layout: ARROW1 + 2 padding bytes, stream messages, footer flatbuffer, int32 footer size, ARROW1.
  const fb::Footer* read_footer(std::vector<uint8_t>& footer_bytes, int64_t& footer_start) {
    uint8_t tail[kMagicSize] = {};
    if (size_ >= 2 * kMagicSize + 2 + 4) copy_bytes(size_ - kMagicSize, tail, kMagicSize);
    if (size_ < 2 * kMagicSize + 2 + 4 || std::memcmp(tail, kMagic, kMagicSize) != 0)
      fail("Arrow file format: missing trailing ARROW1 magic (truncated file?)");
    int32_t footer_len;
    copy_bytes(size_ - kMagicSize - 4, &footer_len, 4);
    int64_t footer_end = size_ - kMagicSize - 4;
    if (footer_len <= 0 || footer_len > footer_end - 8)
      fail("Arrow file format: footer length " + std::to_string(footer_len) + " does not fit in the file");
    footer_start = footer_end - footer_len;
    footer_bytes.resize(static_cast<size_t>(footer_len));
    copy_bytes(footer_start, footer_bytes.data(), footer_bytes.size());
    flatbuffers::Verifier verifier(footer_bytes.data(), footer_bytes.size());
    if (!verifier.VerifyBuffer<fb::Footer>(nullptr)) fail("Arrow file format: corrupt footer");
    const auto* footer = flatbuffers::GetRoot<fb::Footer>(footer_bytes.data());
    if (!footer->schema()) fail("Arrow file format: footer has no schema");
    // Block is a struct of int64s read in place (footer_bytes is malloc-aligned): a block list off 8-byte alignment
    // (the verifier checks 4) is corrupt, as for the record batches' buffer lists (found by fuzzing, as F13).
    if (footer->record_batches() && reinterpret_cast<uintptr_t>(footer->record_batches()->Data()) % alignof(int64_t))
      fail("Arrow file format: corrupt footer (its record batch blocks are not 8-byte aligned)");
    if (footer->dictionaries() && footer->dictionaries()->size() > 0) fail("dictionary batches are not supported");
    return footer;
  }

  // The RecordBatch message a footer block points at, into m.
  void read_block(const fb::Block* block, int64_t footer_start, int64_t index, Message& m) {
    std::string where = "record batch " + std::to_string(index);
    if (block->offset() < 8 || block->offset() >= footer_start || block->meta_data_length() <= 0 ||
        block->body_length() < 0 ||
        block->meta_data_length() + block->body_length() > footer_start - block->offset())
      fail(where + ": footer block [offset " + std::to_string(block->offset()) + ", metadata " +
           std::to_string(block->meta_data_length()) + ", body " + std::to_string(block->body_length()) +
           "] lies outside the data section");
    if (!read_message(block->offset(), footer_start, m) || m.message->header_type() != fb::MessageHeader::RecordBatch)
      fail(where + ": footer block at byte " + std::to_string(block->offset()) +
           " does not point at a RecordBatch message");
  }

  Table read_file_format() {
    int64_t footer_start = 0;
    std::vector<uint8_t> footer_bytes;
    const fb::Footer* footer = read_footer(footer_bytes, footer_start);
    Table table;
    table.schema = convert_schema(footer->schema());
    if (footer->record_batches()) {
      int64_t index = 0;
      for (const auto* block : *footer->record_batches()) {
        Message m;
        read_block(block, footer_start, index, m);
        table.batches.push_back(load_batch(m, table.schema, index++));
      }
    }
    return table;
  }

  std::shared_ptr<const void> keep_alive_;
  const uint8_t* data_;
  int64_t size_;
  std::string name_;
  int fd_ = -1;
  std::vector<uint8_t> window_;
  int64_t window_pos_ = 0;
  int64_t first_batch_ = 0;  // where the first message after the schema starts (stream_schema())
};

}  // namespace

Table read_ipc_buffer(std::shared_ptr<const void> keep_alive, const uint8_t* data, int64_t size,
                      const std::string& name, IpcFormat* format) {
  return Reader(std::move(keep_alive), data, size, name).read(format);
}

std::shared_ptr<const IpcFileReader> IpcFileReader::open(const std::string& path) {
  std::shared_ptr<IpcFileReader> r(new IpcFileReader());
  r->path_ = path;
  r->file_ = MappedFile::open(path);
  ReadOnlyFile fd_file(path);
  const int fd = fd_file.fd();
  const int64_t size_now = fd_file.size();
  if (size_now != r->file_->size())
    throw InputError(path, "changed while being opened (size " + std::to_string(r->file_->size()) + " then " +
                               std::to_string(size_now) + ")");
  Reader reader(r->file_, r->file_->data(), r->file_->size(), path);
  reader.use_pread(fd);
  // A stream file we wrote has a batch index beside it (see batch_index.h): then only the schema is read here, and
  // each batch is validated when first used. Without one (files Python wrote, small files), every message is walked,
  // and a stream file of many batches then gets an index for the next open (best effort: a read-only folder keeps
  // none; it is keyed to the file, so a changed file's index is ignored, never trusted).
  Reader::Index index;
  if (read_batch_index(path, fd, index.batches) && !index.batches.empty() && reader.stream_schema(index.schema) &&
      index.batches.front().first >= reader.first_batch()) {
    index.format = IpcFormat::kStream;
    index.data_end = r->file_->size();
  } else {
    index = reader.index();
    if (index.format == IpcFormat::kStream) write_batch_index(path, index.batches, fd);  // none, stale or wrong: (re)write
  }
  r->schema_ = std::move(index.schema);
  r->format_ = index.format;
  r->data_end_ = index.data_end;
  r->entries_.reserve(index.batches.size());
  for (const auto& [offset, rows] : index.batches) {
    r->entries_.push_back({offset, rows});
    r->num_rows_ += rows;
  }
  r->loaded_ = std::make_unique<std::once_flag[]>(r->entries_.size());
  r->batches_ = std::make_unique<std::unique_ptr<RecordBatch>[]>(r->entries_.size());
  return r;
}

bool ipc_file_complete(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  uint8_t tail[8] = {};
  const bool read = ::fstat(fd, &st) == 0 && st.st_size >= 16 && ::pread(fd, tail, 8, st.st_size - 8) == 8;
  ::close(fd);
  static const uint8_t kEndOfStream[8] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
  if (!read || (std::memcmp(tail, kEndOfStream, 8) != 0 && std::memcmp(tail + 2, "ARROW1", 6) != 0)) return false;
  // A prefix can end in those bytes by chance (inside a buffer of -1s and 0s): opening it then fails, as its last
  // message runs past the end (a batch index only matches the file it was written for, whole).
  try {
    IpcFileReader::open(path);
    return true;
  } catch (const InputError&) {
    return false;
  }
}

IpcFileReader::~IpcFileReader() = default;

const RecordBatch& IpcFileReader::batch(size_t i) const {
  TCPP_CHECK(i < entries_.size(), "record batch ", i, " of ", entries_.size());
  // A failed load leaves the flag unset: the next call tries again and throws the same error.
  std::call_once(loaded_[i], [&] {
    Reader reader(file_, file_->data(), file_->size(), path_);
    auto batch = std::make_unique<RecordBatch>(reader.batch_at(entries_[i].offset, data_end_, schema_, static_cast<int64_t>(i)));
    if (batch->num_rows != entries_[i].num_rows)  // only possible with a batch index that lies
      throw InputError(path_, "record batch " + std::to_string(i) + " has " + std::to_string(batch->num_rows) +
                                  " rows, its index " + batch_index_path(path_) + " says " +
                                  std::to_string(entries_[i].num_rows) + " (delete the index)");
    batches_[i] = std::move(batch);
  });
  return *batches_[i];
}

Table IpcFileReader::read_all() const {
  Table t;
  t.schema = schema_;
  for (size_t i = 0; i < entries_.size(); ++i) t.batches.push_back(batch(i));
  return t;
}

Table read_ipc_file(const std::string& path, IpcFormat* format) {
  auto file = MappedFile::open(path);
  const uint8_t* data = file->data();
  int64_t size = file->size();
  return read_ipc_buffer(std::move(file), data, size, path, format);
}

}  // namespace tcpp::datasets::arrow
