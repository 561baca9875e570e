// Checks a torch::save archive before LibTorch reads it: the zip layer as LibTorch's reader (miniz) walks it, then the
// pickles' storage records against the zip records that hold their bytes (LibTorch 1.13's
// torch/csrc/jit/serialization/unpickler.cpp takes numel from the pickle and never compares it with the record).
#include "tcpp/trainer/torch_archive.h"

#include <c10/core/ScalarType.h>
#include <caffe2/serialize/inline_container.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tcpp/core/error.h"

namespace tcpp::trainer {
namespace {

// Zip format (APPNOTE.TXT): signatures and fixed header sizes, as miniz reads them.
constexpr uint32_t kLocalHeaderSig = 0x04034b50, kCentralHeaderSig = 0x02014b50, kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50, kZip64LocatorSig = 0x07064b50;
constexpr uint64_t kLocalHeaderSize = 30, kCentralHeaderSize = 46, kEndSize = 22, kZip64EndSize = 56,
                   kZip64LocatorSize = 20, kMaxComment = 0xFFFF;

uint64_t le(const std::string& b, size_t at, int n) {
  uint64_t v = 0;
  for (int k = n - 1; k >= 0; --k) v = (v << 8) | static_cast<uint8_t>(b[at + static_cast<size_t>(k)]);
  return v;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

struct Entry {
  std::string name;
  uint16_t method = 0;
  uint64_t data_offset = 0;  // first byte of the (stored or compressed) data, past the local header
  uint64_t comp_size = 0;
  uint64_t uncomp_size = 0;  // the size LibTorch's getRecord gives the record
};

class ArchiveFile {
 public:
  explicit ArchiveFile(const std::string& path) : path_(path), in_(path, std::ios::binary) {
    if (!in_) throw InputError(path, "cannot open file");
    std::error_code ec;
    size_ = std::filesystem::file_size(path, ec);
    if (ec) throw InputError(path, "cannot read its size: " + ec.message());
  }
  uint64_t size() const { return size_; }
  // n bytes at offset, which the caller has checked lie inside the file.
  std::string read(uint64_t offset, uint64_t n) {
    std::string out(n, '\0');
    in_.seekg(static_cast<std::streamoff>(offset));
    in_.read(out.data(), static_cast<std::streamsize>(n));
    if (static_cast<uint64_t>(in_.gcount()) != n) throw InputError(path_, "read error at byte " + std::to_string(offset));
    return out;
  }

 private:
  std::string path_;
  std::ifstream in_;
  uint64_t size_ = 0;
};

// The central directory as miniz's mz_zip_reader_read_central_dir reads it: the last end-of-central-directory record,
// the zip64 one when its locator precedes it, then every entry with its local header. Everything is checked to lie
// inside the file here, and stored entries to hold as many bytes as they claim.
std::vector<Entry> read_zip_entries(const std::string& path, ArchiveFile& file) {
  const auto bad = [&](const std::string& what) -> void { throw InputError(path, "not a valid torch::save archive: " + what); };
  const uint64_t size = file.size();
  if (size < kEndSize) bad("shorter than a zip end record");
  const uint64_t tail_len = std::min<uint64_t>(size, kEndSize + kMaxComment);
  const std::string tail = file.read(size - tail_len, tail_len);
  std::optional<uint64_t> end_at;  // offset in tail
  for (uint64_t i = tail_len - kEndSize + 1; i-- > 0;)
    if (le(tail, i, 4) == kEndSig) {
      end_at = i;
      break;
    }
  if (!end_at) bad("no zip end-of-central-directory record");
  const uint64_t end_offset = size - tail_len + *end_at;
  uint64_t entries = le(tail, *end_at + 10, 2), entries_this_disk = le(tail, *end_at + 8, 2);
  uint64_t cd_size = le(tail, *end_at + 12, 4), cd_offset = le(tail, *end_at + 16, 4);
  if (le(tail, *end_at + 4, 2) != 0 || le(tail, *end_at + 6, 2) != 0) bad("a multi-disk zip");
  if (end_offset >= kZip64LocatorSize + kZip64EndSize) {
    const std::string loc = file.read(end_offset - kZip64LocatorSize, kZip64LocatorSize);
    if (le(loc, 0, 4) == kZip64LocatorSig) {
      const uint64_t z64 = le(loc, 8, 8);
      if (z64 > size || size - z64 < kZip64EndSize) bad("zip64 end record past the end of the file");
      const std::string rec = file.read(z64, kZip64EndSize);
      if (le(rec, 0, 4) == kZip64EndSig) {  // miniz then takes its counts and offsets
        entries_this_disk = le(rec, 24, 8);
        entries = le(rec, 32, 8);
        cd_size = le(rec, 40, 8);
        cd_offset = le(rec, 48, 8);
      }
    }
  }
  if (entries != entries_this_disk) bad("a multi-disk zip");
  if (entries == 0) bad("an empty zip");
  if (cd_offset > size || cd_size > size - cd_offset) bad("its central directory lies past the end of the file");
  if (cd_size / kCentralHeaderSize < entries) bad("its central directory is too small for " + std::to_string(entries) + " entries");
  const std::string cd = file.read(cd_offset, cd_size);

  std::vector<Entry> out;
  std::unordered_map<std::string, std::string> seen;  // lower-case name -> name
  uint64_t at = 0;
  for (uint64_t i = 0; i < entries; ++i) {
    if (cd_size - at < kCentralHeaderSize || le(cd, at, 4) != kCentralHeaderSig)
      bad("central directory entry " + std::to_string(i) + " is truncated or has a bad signature");
    Entry e;
    e.method = static_cast<uint16_t>(le(cd, at + 10, 2));
    e.comp_size = le(cd, at + 20, 4);
    e.uncomp_size = le(cd, at + 24, 4);
    const uint64_t name_len = le(cd, at + 28, 2), extra_len = le(cd, at + 30, 2), comment_len = le(cd, at + 32, 2);
    uint64_t local = le(cd, at + 42, 4);
    if (cd_size - at - kCentralHeaderSize < name_len + extra_len + comment_len)
      bad("central directory entry " + std::to_string(i) + " runs past the directory");
    e.name = cd.substr(at + kCentralHeaderSize, name_len);
    const std::string where = "zip entry \"" + e.name + "\"";
    // Zip64 extended information (header id 1): the 64-bit values of the fields saved as 0xFFFFFFFF, in this order.
    const bool need64 = e.uncomp_size == 0xFFFFFFFF || e.comp_size == 0xFFFFFFFF || local == 0xFFFFFFFF;
    bool found64 = false;
    for (uint64_t x = at + kCentralHeaderSize + name_len, end = x + extra_len; x + 4 <= end;) {
      const uint64_t id = le(cd, x, 2), len = le(cd, x + 2, 2);
      if (len > end - x - 4) bad(where + ": an extra field runs past its header");
      if (id == 1) {
        found64 = true;
        uint64_t f = x + 4;
        for (uint64_t* field : {&e.uncomp_size, &e.comp_size, &local}) {
          if (*field != 0xFFFFFFFF) continue;
          if (f + 8 > x + 4 + len) bad(where + ": zip64 field too short");
          *field = le(cd, f, 8);
          f += 8;
        }
      }
      x += 4 + len;
    }
    if (need64 && !found64) bad(where + ": 64-bit sizes without a zip64 field");
    at += kCentralHeaderSize + name_len + extra_len + comment_len;

    if (e.method != 0 && e.method != 8) bad(where + ": compression method " + std::to_string(e.method));
    if (e.method == 0 && e.comp_size != e.uncomp_size)
      bad(where + ": stored with " + std::to_string(e.comp_size) + " bytes but declares " +
          std::to_string(e.uncomp_size));
    if (local > size || size - local < kLocalHeaderSize) bad(where + ": its local header lies past the end of the file");
    const std::string lh = file.read(local, kLocalHeaderSize);
    if (le(lh, 0, 4) != kLocalHeaderSig) bad(where + ": bad local header signature");
    e.data_offset = local + kLocalHeaderSize + le(lh, 26, 2) + le(lh, 28, 2);
    if (e.data_offset > size || e.comp_size > size - e.data_offset)
      bad(where + ": its data (" + std::to_string(e.comp_size) + " bytes at byte " + std::to_string(e.data_offset) +
          ") lies past the end of the file (" + std::to_string(size) + " bytes)");
    auto [it, fresh] = seen.emplace(lower(e.name), e.name);
    if (!fresh) bad("two zip entries named \"" + it->second + "\" and \"" + e.name + "\" (LibTorch ignores case)");
    out.push_back(std::move(e));
  }
  return out;
}

// What a pickle instruction leaves on the stack, as far as the check needs to know it.
struct PValue {
  enum class Kind { kUnknown, kInt, kStr, kTuple } kind = Kind::kUnknown;
  int64_t i = 0;
  std::string s;
  std::vector<PValue> items;
};

struct StorageRef {
  size_t pickle_offset = 0;
  c10::ScalarType dtype = c10::ScalarType::Undefined;
  std::string key;
  int64_t numel = 0;
};

std::optional<c10::ScalarType> storage_dtype(const std::string& class_name) {
#define TCPP_STORAGE_NAME(_, name) \
  if (class_name == #name "Storage") return c10::ScalarType::name;
  AT_FORALL_SCALAR_TYPES_WITH_COMPLEX_AND_QINTS(TCPP_STORAGE_NAME)
#undef TCPP_STORAGE_NAME
  return std::nullopt;
}

// Walks a pickle with the opcodes LibTorch's Unpickler::readInstruction knows (protocol 2) and returns its storage
// records. Two things are tracked:
// - the stack depth and MARK positions, to refuse an instruction that takes items from below its MARK or a dict
//   built from an odd number of items (LibTorch's TUPLE / DICT / SETITEMS then index outside their stack); REDUCE and
//   BUILD count as replacing two items with one, which is what LibTorch's globals do except a TorchScript enum given
//   a value it does not have (it pushes nothing); the pickles torch::save writes hold no enums;
// - values known from the instructions alone: a BINPERSID must take a tuple that the instructions right before it
//   built (MARK, then only pushes of strings, ints, storage types and memo entries holding such, then TUPLE). That
//   is how LibTorch's pickler writes it, and it makes the check independent of anything else on the stack.
std::vector<StorageRef> scan_pickle(const std::string& path, const std::string& record, const std::string& p) {
  size_t pos = 0;
  const auto fail = [&](const std::string& what) -> void {
    throw InputError(path, "record \"" + record + "\" at byte " + std::to_string(pos) + ": " + what);
  };
  const auto need = [&](uint64_t n) {
    if (n > p.size() - pos) fail("truncated pickle");
  };
  const auto u = [&](int n) {
    need(static_cast<uint64_t>(n));
    const uint64_t v = le(p, pos, n);
    pos += static_cast<size_t>(n);
    return v;
  };
  const auto line = [&] {
    const size_t nl = p.find('\n', pos);
    if (nl == std::string::npos) fail("truncated pickle (GLOBAL without its newline)");
    std::string s = p.substr(pos, nl - pos);
    pos = nl + 1;
    return s;
  };

  if (p.size() < 2 || static_cast<uint8_t>(p[0]) != 0x80 || static_cast<uint8_t>(p[1]) != 2)
    fail("expected a protocol 2 pickle (PROTO 2), as LibTorch writes and reads");
  pos = 2;
  std::vector<StorageRef> storages;
  int64_t depth = 0;
  std::vector<int64_t> marks;
  std::unordered_map<uint64_t, PValue> memo;  // entries whose last BINPUT stored a known value
  uint64_t memo_size = 0;
  PValue top;                                 // the value on top of the stack, if the last instructions tell it
  bool region_open = false;                   // only pushes since the innermost MARK ...
  std::vector<PValue> region;                 // ... of these values
  const auto above_mark = [&] { return depth - (marks.empty() ? 0 : marks.back()); };
  const auto pop = [&](int64_t n, const char* op) {
    if (above_mark() < n) fail(std::string(op) + " takes items from below its MARK or from an empty stack");
    depth -= n;
  };
  const auto pop_mark = [&](const char* op) {
    if (marks.empty()) fail(std::string(op) + " without a MARK");
    const int64_t n = above_mark();
    depth = marks.back();
    marks.pop_back();
    return n;
  };
  const auto push = [&](PValue v) {
    ++depth;
    if (region_open) region.push_back(v);
    top = std::move(v);
  };
  const auto other = [&] {  // an instruction that is not a plain push: nothing is known of the stack's top
    top = PValue();
    region_open = false;
  };
  const auto put = [&](uint64_t id) {
    if (depth == 0) fail("BINPUT on an empty stack");
    if (id > p.size()) fail("memo index " + std::to_string(id) + " out of range");  // LibTorch would allocate it
    memo_size = std::max(memo_size, id + 1);
    if (top.kind == PValue::Kind::kUnknown) memo.erase(id);
    else memo[id] = top;
  };
  const auto get = [&](uint64_t id) {
    if (id >= memo_size) fail("memo index " + std::to_string(id) + " was never stored");
    auto it = memo.find(id);
    push(it == memo.end() ? PValue() : it->second);
  };
  const auto int_value = [&](int64_t i) {
    PValue v;
    v.kind = PValue::Kind::kInt;
    v.i = i;
    push(v);
  };

  while (true) {
    const size_t op_at = pos;
    need(1);
    const uint8_t op = static_cast<uint8_t>(p[pos++]);
    switch (op) {
      case '.':  // STOP
        return storages;
      case ']': case '}': case 'N': case 0x88: case 0x89:  // EMPTY_LIST, EMPTY_DICT, NONE, NEWTRUE, NEWFALSE
        push(PValue());
        break;
      case ')': {  // EMPTY_TUPLE
        PValue v;
        v.kind = PValue::Kind::kTuple;
        push(v);
        break;
      }
      case 'G':  // BINFLOAT
        u(8);
        push(PValue());
        break;
      case 'K': int_value(static_cast<int64_t>(u(1))); break;                      // BININT1
      case 'M': int_value(static_cast<int64_t>(u(2))); break;                      // BININT2
      case 'J': int_value(static_cast<int32_t>(static_cast<uint32_t>(u(4)))); break;  // BININT
      case 0x8a:                                                                   // LONG1
        if (u(1) != 8) fail("LONG1 of other than 8 bytes (LibTorch reads only those)");
        int_value(static_cast<int64_t>(u(8)));
        break;
      case 'X': {  // BINUNICODE
        const uint64_t n = u(4);
        need(n);
        PValue v;
        v.kind = PValue::Kind::kStr;
        v.s = p.substr(pos, n);
        pos += n;
        push(v);
        break;
      }
      case 'c': {  // GLOBAL module\nname\n
        const std::string module = line(), name = line();
        PValue v;
        if (module == "torch") {
          if (auto dt = storage_dtype(name)) {
            v.kind = PValue::Kind::kInt;  // LibTorch pushes the ScalarType as an int
            v.i = static_cast<int64_t>(*dt);
          }
        } else if (module == "torch._tensor" && name == "_rebuild_from_type_v2") {
          // Newer LibTorch versions change what the next GLOBALs push after this one; torch::save never writes it.
          fail("unsupported global torch._tensor._rebuild_from_type_v2");
        }
        push(v);
        break;
      }
      case 'q': put(u(1)); break;  // BINPUT (the stack is unchanged, and so is what is known of it)
      case 'r': put(u(4)); break;  // LONG_BINPUT
      case 'h': get(u(1)); break;  // BINGET
      case 'j': get(u(4)); break;  // LONG_BINGET
      case '(':                    // MARK
        marks.push_back(depth);
        region_open = true;
        region.clear();
        break;
      case 't': {  // TUPLE
        const bool known = region_open;
        std::vector<PValue> items = std::move(region);
        pop_mark("TUPLE");
        other();
        PValue v;
        if (known) {
          v.kind = PValue::Kind::kTuple;
          v.items = std::move(items);
        }
        push(v);
        break;
      }
      case 0x85: case 0x86: case 0x87:  // TUPLE1, TUPLE2, TUPLE3
        pop(op - 0x84, "TUPLEn");
        other();
        push(PValue());
        break;
      case 'e':  // APPENDS: the list below the MARK takes the items
        pop_mark("APPENDS");
        if (above_mark() < 1) fail("APPENDS without a list below its MARK");
        other();
        break;
      case 'l':  // LIST
        pop_mark("LIST");
        other();
        push(PValue());
        break;
      case 'd':  // DICT
        if (pop_mark("DICT") % 2 != 0) fail("DICT with an odd number of items");
        other();
        push(PValue());
        break;
      case 'u':  // SETITEMS
        if (pop_mark("SETITEMS") % 2 != 0) fail("SETITEMS with an odd number of items");
        if (above_mark() < 1) fail("SETITEMS without a dict below its MARK");
        other();
        break;
      case 's':  // SETITEM: dict, key, value -> dict
        pop(3, "SETITEM");
        depth += 1;
        other();
        break;
      case 0x81:  // NEWOBJ: LibTorch drops the argument tuple
        pop(1, "NEWOBJ");
        other();
        break;
      case 'R': case 'b':  // REDUCE, BUILD: global index + argument -> result
        pop(2, op == 'R' ? "REDUCE" : "BUILD");
        other();
        push(PValue());
        break;
      case 'Q': {  // BINPERSID
        const PValue pid = top;
        pop(1, "BINPERSID");
        other();
        const auto& it = pid.items;
        const auto is = [&](size_t k, PValue::Kind kind) { return it.size() > k && it[k].kind == kind; };
        if (pid.kind != PValue::Kind::kTuple || !is(0, PValue::Kind::kStr) || it[0].s != "storage" ||
            !is(1, PValue::Kind::kInt) || !is(2, PValue::Kind::kStr) || !is(3, PValue::Kind::kStr) ||
            !is(4, PValue::Kind::kInt))
          fail("a persistent id that is not a ('storage', torch.<Type>Storage, key, device, numel) tuple written as "
               "LibTorch writes it");
        if (it[1].i < 0 || it[1].i >= static_cast<int64_t>(c10::ScalarType::Undefined))
          fail("storage type " + std::to_string(it[1].i) + " is not a tensor type");
        StorageRef ref;
        ref.pickle_offset = op_at;
        ref.dtype = static_cast<c10::ScalarType>(it[1].i);
        ref.key = it[2].s;
        ref.numel = it[4].i;
        storages.push_back(std::move(ref));
        push(PValue());  // the storage's tensor
        break;
      }
      default:
        pos = op_at;
        fail("pickle opcode 0x" + std::string{"0123456789abcdef"[op >> 4], "0123456789abcdef"[op & 15]} +
             " is not one LibTorch reads");
    }
  }
}

// `<head>"a", "b", ]` (a model's parameter list can be thousands of characters: no std::regex, which recurses per
// character).
bool is_name_list(const std::string& line, const std::string& head) {
  if (line.compare(0, head.size(), head) != 0) return false;
  size_t i = head.size();
  while (i < line.size() && line[i] == '"') {
    const size_t close = line.find_first_of("\"\\", i + 1);
    if (close == std::string::npos || line[close] != '"' || line.compare(close + 1, 2, ", ") != 0) return false;
    i = close + 3;
  }
  return i + 1 == line.size() && line[i] == ']';
}

// The TorchScript source LibTorch compiles while loading (code/**/*.py): torch::serialize::OutputArchive writes only
// attribute-only classes, one declaration a line. LibTorch's compiler crashes (SEGV) on some malformed classes, e.g.
// a class constant without a type (`__1uffers__ = []`, found by the resume_state target), so nothing else is let
// through to it.
void check_code_record(const std::string& path, const std::string& name, const std::string& code) {
  static const std::string type =
      R"((Tensor|int|float|bool|str|Tuple\[float, float\]|Optional\[(Tensor|int|float|bool|str)\]|)"
      R"(List\[(Tensor|int|float|bool|str)\]|__torch__(\.___torch_mangle_[0-9]+)?\.Module))";
  static const std::string quoted = R"("[^"\\\n]*")";
  static const std::regex line_re("class Module\\(Module\\):|"
                                  "  __annotations__ = \\[\\]|"
                                  "  __annotations__\\[" + quoted + "\\] = " + type + "|"
                                  "  [A-Za-z_][A-Za-z0-9_]* : " + type + "|");
  size_t start = 0, line_no = 1;
  for (size_t nl; start <= code.size(); start = nl + 1, ++line_no) {
    nl = code.find('\n', start);
    if (nl == std::string::npos) nl = code.size();
    const std::string line = code.substr(start, nl - start);
    const bool ok = is_name_list(line, "  __parameters__ = [") || is_name_list(line, "  __buffers__ = [") ||
                    (line.size() <= 1024 && std::regex_match(line, line_re));  // short: std::regex recurses per char
    if (!ok)
      throw InputError(path, "record \"" + name + "\" line " + std::to_string(line_no) +
                                 ": not a declaration torch::serialize::OutputArchive writes (LibTorch would compile it "
                                 "as TorchScript): " + line.substr(0, 80));
  }
}

}  // namespace

void check_torch_archive(const std::string& path) {
  ArchiveFile file(path);
  const std::vector<Entry> entries = read_zip_entries(path, file);
  // LibTorch's PyTorchStreamReader: the folder of the first entry is the archive's; records are looked up under it.
  const size_t slash = entries[0].name.find('/');
  if (slash == std::string::npos)
    throw InputError(path, "not a valid torch::save archive: its first zip entry \"" + entries[0].name +
                               "\" is not in a folder");
  const std::string prefix = entries[0].name.substr(0, slash + 1);
  std::unordered_map<std::string, const Entry*> by_name;  // lower-case: LibTorch's lookups ignore case
  for (const auto& e : entries) by_name.emplace(lower(e.name), &e);

  // The pickles LibTorch's TorchScript importer reads with storages (readArchive("data"), readArchive("constants"));
  // each one's storages are the records <archive>/<key> beside it.
  for (const char* archive : {"data", "constants"}) {
    auto pkl = by_name.find(lower(prefix + archive + ".pkl"));
    if (pkl == by_name.end()) continue;  // LibTorch reports a missing data.pkl itself
    const Entry& e = *pkl->second;
    if (e.method != 0)
      throw InputError(path, "record \"" + e.name + "\" is compressed; LibTorch's writer stores pickles uncompressed");
    const std::string pickle = file.read(e.data_offset, e.uncomp_size);
    for (const StorageRef& s : scan_pickle(path, e.name, pickle)) {
      const std::string record = prefix + archive + "/" + s.key;
      const std::string what = std::string(archive) + ".pkl (byte " + std::to_string(s.pickle_offset) +
                               ") declares a " + c10::toString(s.dtype) + " storage \"" + s.key + "\" of " +
                               std::to_string(s.numel) + " elements";
      if (s.numel < 0) throw InputError(path, what + ": a negative size");
      if (s.numel == 0) continue;  // LibTorch reads no record for it
      const uint64_t itemsize = c10::elementSize(s.dtype);
      uint64_t nbytes = 0;
      if (__builtin_mul_overflow(static_cast<uint64_t>(s.numel), itemsize, &nbytes) ||
          nbytes > static_cast<uint64_t>(INT64_MAX))
        throw InputError(path, what + ": its size in bytes overflows");
      auto rec = by_name.find(lower(record));
      if (rec == by_name.end()) throw InputError(path, what + ", but the archive has no record \"" + record + "\"");
      const Entry& r = *rec->second;
      if (r.method != 0)
        throw InputError(path, "record \"" + r.name + "\" is compressed; LibTorch's writer stores tensor data uncompressed");
      if (nbytes > r.uncomp_size)
        throw InputError(path, what + " (" + std::to_string(nbytes) + " bytes), but its record \"" + r.name +
                                   "\" holds only " + std::to_string(r.uncomp_size) +
                                   " bytes (the file was cut short or altered; LibTorch would read past the record)");
    }
  }

  // The TorchScript source and its debug pickles (read when LibTorch reports a source location), through LibTorch's
  // own zip reader now that the layout is known to be sound (code records are compressed).
  try {
    caffe2::serialize::PyTorchStreamReader reader(path);
    for (const auto& e : entries) {
      if (e.name.compare(0, prefix.size() + 5, prefix + "code/") != 0) continue;
      const std::string rel = e.name.substr(prefix.size());
      const bool py = rel.size() > 3 && rel.compare(rel.size() - 3, 3, ".py") == 0;
      const bool debug = rel.size() > 10 && rel.compare(rel.size() - 10, 10, ".debug_pkl") == 0;
      if (!py && !debug) continue;
      auto [data, size] = reader.getRecord(rel);
      const std::string bytes(static_cast<const char*>(data.get()), size);
      if (py) check_code_record(path, e.name, bytes);
      else if (!scan_pickle(path, e.name, bytes).empty())
        throw InputError(path, "record \"" + e.name + "\": a debug pickle that names tensor storages");
    }
  } catch (const c10::Error& err) {
    throw InputError(path, std::string("cannot read the archive's code records: ") + err.what_without_backtrace());
  }
}

}  // namespace tcpp::trainer
