// torch.save'd state dicts: the zip archive through LibTorch's PyTorchStreamReader, the pickle (data.pkl) through a
// small stack machine of our own that builds tensors from the archive's storage records. Opcodes as Python's
// pickletools documents them (protocols 2 to 5); objects as torch/serialization.py writes them.
#include "tcpp/models/pytorch_bin.h"

#include <caffe2/serialize/inline_container.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "tcpp/core/error.h"
#include "tcpp/core/file.h"

namespace tcpp::models {
namespace {

struct Value;
using ValuePtr = std::shared_ptr<Value>;

// A Python object as far as a state dict needs one. Lists, dicts and tuples are shared through the memo, as in Python.
struct Value {
  enum class Kind { kNone, kBool, kInt, kFloat, kString, kBytes, kTuple, kList, kDict, kGlobal, kTensor, kObject };
  Kind kind = Kind::kNone;
  int64_t i = 0;            // kBool, kInt
  double f = 0;             // kFloat
  std::string s;            // kString, kBytes, kGlobal ("module.name")
  std::vector<ValuePtr> items;                              // kTuple, kList
  std::vector<std::pair<ValuePtr, ValuePtr>> entries;       // kDict
  torch::Tensor tensor;     // kTensor (also storages: 1-D, numel elements)

  static ValuePtr make(Kind k) {
    auto v = std::make_shared<Value>();
    v->kind = k;
    return v;
  }
};

// torch.<Name>Storage -> dtype (torch/storage.py's legacy typed storages, which torch.save still names).
const std::map<std::string, torch::Dtype>& storage_dtypes() {
  static const std::map<std::string, torch::Dtype> m = {
      {"torch.DoubleStorage", torch::kFloat64}, {"torch.FloatStorage", torch::kFloat32},
      {"torch.HalfStorage", torch::kFloat16},   {"torch.BFloat16Storage", torch::kBFloat16},
      {"torch.LongStorage", torch::kInt64},     {"torch.IntStorage", torch::kInt32},
      {"torch.ShortStorage", torch::kInt16},    {"torch.CharStorage", torch::kInt8},
      {"torch.ByteStorage", torch::kUInt8},     {"torch.BoolStorage", torch::kBool},
  };
  return m;
}

constexpr const char* kConvertHint =
    " (convert the checkpoint to safetensors with transformers: model.save_pretrained(dir, safe_serialization=True))";

class Unpickler {
 public:
  // allow_objects: calls of other callables than torch.save's make opaque kObject values instead of failing; `hint`
  // ends every error message.
  Unpickler(std::string path, caffe2::serialize::PyTorchStreamReader& reader, const uint8_t* data, size_t size,
            bool allow_objects = false, std::string hint = kConvertHint)
      : path_(std::move(path)), reader_(reader), data_(data), size_(size), allow_objects_(allow_objects),
        hint_(std::move(hint)) {}
  Unpickler(const Unpickler&) = delete;
  Unpickler& operator=(const Unpickler&) = delete;
  // Lists and dicts are the only values filled after they are made, so only they can close a reference cycle (a
  // pickle may append a list to itself through the memo, as Python's does for l.append(l)): they are emptied when the
  // unpickler goes, or such a cycle's shared_ptrs would never be freed (the pytorch_bin fuzz target found this leak
  // under LeakSanitizer; tests/fuzz/regressions/pytorch_bin/self-referencing-list-and-dict.bin replays it).
  ~Unpickler() {
    for (const auto& v : containers_) {
      v->items.clear();
      v->entries.clear();
    }
  }

  ValuePtr run() {
    while (true) {
      const uint8_t op = byte();
      switch (op) {
        case 0x80: byte(); break;                   // PROTO
        case 0x95: bytes(8); break;                 // FRAME (length only)
        case '.': return pop();                     // STOP
        case '(': marks_.push_back(stack_.size()); break;  // MARK
        case '0': pop(); break;                     // POP
        case '1': pop_mark(); break;                // POP_MARK
        case '2': push(ValuePtr(top())); break;     // DUP
        case 'N': push(Value::make(Value::Kind::kNone)); break;
        case 0x88: case 0x89: {                     // NEWTRUE, NEWFALSE
          auto v = Value::make(Value::Kind::kBool);
          v->i = op == 0x88;
          push(v);
          break;
        }
        case 'K': push_int(uint_le(1)); break;      // BININT1
        case 'M': push_int(uint_le(2)); break;      // BININT2
        case 'J': push_int(static_cast<int32_t>(uint_le(4))); break;  // BININT
        case 0x8a: push_int(long_le(byte())); break;                   // LONG1
        case 0x8b: push_int(long_le(uint_le(4))); break;               // LONG4
        case 'G': {                                                    // BINFLOAT, big-endian
          uint64_t bits = 0;
          for (int k = 0; k < 8; ++k) bits = (bits << 8) | byte();
          auto v = Value::make(Value::Kind::kFloat);
          std::memcpy(&v->f, &bits, sizeof bits);
          push(v);
          break;
        }
        case 'X': push_string(uint_le(4), Value::Kind::kString); break;  // BINUNICODE
        case 0x8c: push_string(byte(), Value::Kind::kString); break;     // SHORT_BINUNICODE
        case 0x8d: push_string(uint_le(8), Value::Kind::kString); break; // BINUNICODE8
        case 'T': push_string(uint_le(4), Value::Kind::kBytes); break;   // BINSTRING
        case 'U': push_string(byte(), Value::Kind::kBytes); break;       // SHORT_BINSTRING
        case 'B': push_string(uint_le(4), Value::Kind::kBytes); break;   // BINBYTES
        case 'C': push_string(byte(), Value::Kind::kBytes); break;       // SHORT_BINBYTES
        case ')': push(Value::make(Value::Kind::kTuple)); break;         // EMPTY_TUPLE
        case ']': push(container(Value::Kind::kList)); break;            // EMPTY_LIST
        case '}': push(container(Value::Kind::kDict)); break;            // EMPTY_DICT
        case 't': {                                                      // TUPLE
          auto v = Value::make(Value::Kind::kTuple);
          v->items = pop_mark();
          push(v);
          break;
        }
        case 0x85: case 0x86: case 0x87: {                               // TUPLE1, TUPLE2, TUPLE3
          auto v = Value::make(Value::Kind::kTuple);
          v->items.resize(op - 0x84);
          for (size_t k = v->items.size(); k-- > 0;) v->items[k] = pop();
          push(v);
          break;
        }
        case 'a': {                                                      // APPEND
          auto item = pop();
          expect(top(), Value::Kind::kList, "APPEND")->items.push_back(item);
          break;
        }
        case 'e': {                                                      // APPENDS
          auto items = pop_mark();
          auto& list = expect(top(), Value::Kind::kList, "APPENDS")->items;
          list.insert(list.end(), items.begin(), items.end());
          break;
        }
        case 's': {                                                      // SETITEM
          auto value = pop();
          auto key = pop();
          expect(top(), Value::Kind::kDict, "SETITEM")->entries.emplace_back(key, value);
          break;
        }
        case 'u': {                                                      // SETITEMS
          auto items = pop_mark();
          if (items.size() % 2 != 0) fail("SETITEMS with an odd number of items");
          auto& dict = expect(top(), Value::Kind::kDict, "SETITEMS")->entries;
          for (size_t k = 0; k < items.size(); k += 2) dict.emplace_back(items[k], items[k + 1]);
          break;
        }
        case 'q': memo_[uint_le(1)] = top(); break;                      // BINPUT
        case 'r': memo_[uint_le(4)] = top(); break;                      // LONG_BINPUT
        case 0x94: memo_[memo_.size()] = top(); break;                   // MEMOIZE
        case 'h': push(memo_get(uint_le(1))); break;                     // BINGET
        case 'j': push(memo_get(uint_le(4))); break;                     // LONG_BINGET
        case 'c': {                                                      // GLOBAL "module\nname\n"
          std::string module = line(), name = line();
          push_global(module + "." + name);
          break;
        }
        case 0x93: {                                                     // STACK_GLOBAL
          auto name = pop(), module = pop();
          push_global(module->s + "." + name->s);
          break;
        }
        case 'R': {                                                      // REDUCE
          auto args = expect(pop(), Value::Kind::kTuple, "REDUCE");
          auto callable = expect(pop(), Value::Kind::kGlobal, "REDUCE");
          push(call(callable->s, args->items));
          break;
        }
        case 0x81: {                                                     // NEWOBJ: cls.__new__(cls, *args)
          auto args = expect(pop(), Value::Kind::kTuple, "NEWOBJ");
          auto cls = expect(pop(), Value::Kind::kGlobal, "NEWOBJ");
          push(call(cls->s, args->items));
          break;
        }
        case 'b': pop(); break;  // BUILD: the only state torch.save sets is OrderedDict._metadata, which loading ignores
        case 'Q': push(persistent_load(pop())); break;                   // BINPERSID
        default: fail("unsupported pickle opcode 0x" + hex(op));
      }
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw InputError(path_, "data.pkl at byte " + std::to_string(pos_) + ": " + what + hint_);
  }
  static std::string hex(unsigned v) {
    const char* digits = "0123456789abcdef";
    return std::string{digits[(v >> 4) & 15], digits[v & 15]};
  }
  uint8_t byte() {
    if (pos_ >= size_) fail("truncated pickle");
    return data_[pos_++];
  }
  const uint8_t* bytes(uint64_t n) {
    if (n > size_ - pos_) fail("truncated pickle");
    const uint8_t* p = data_ + pos_;
    pos_ += n;
    return p;
  }
  uint64_t uint_le(int n) {
    const uint8_t* p = bytes(static_cast<uint64_t>(n));
    uint64_t v = 0;
    for (int k = n - 1; k >= 0; --k) v = (v << 8) | p[k];
    return v;
  }
  // Two's-complement little-endian integer of n bytes (LONG1 / LONG4).
  int64_t long_le(uint64_t n) {
    if (n > 8) fail("integer of " + std::to_string(n) + " bytes does not fit in 64 bits");
    if (n == 0) return 0;
    const uint8_t* p = bytes(n);
    uint64_t v = 0;
    for (uint64_t k = n; k-- > 0;) v = (v << 8) | p[k];
    if (n < 8 && (p[n - 1] & 0x80)) v |= ~uint64_t{0} << (8 * n);
    return static_cast<int64_t>(v);
  }
  std::string line() {
    std::string out;
    for (uint8_t c = byte(); c != '\n'; c = byte()) out += static_cast<char>(c);
    return out;
  }
  void push(ValuePtr v) { stack_.push_back(std::move(v)); }
  ValuePtr container(Value::Kind kind) {
    auto v = Value::make(kind);
    containers_.push_back(v);
    return v;
  }
  void push_int(int64_t i) {
    auto v = Value::make(Value::Kind::kInt);
    v->i = i;
    push(v);
  }
  void push_string(uint64_t n, Value::Kind kind) {
    const uint8_t* p = bytes(n);
    auto v = Value::make(kind);
    v->s.assign(reinterpret_cast<const char*>(p), n);
    push(v);
  }
  void push_global(const std::string& name) {
    auto v = Value::make(Value::Kind::kGlobal);
    v->s = name;
    push(v);
  }
  ValuePtr pop() {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) fail("stack underflow");
    auto v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  const ValuePtr& top() {
    if (stack_.empty()) fail("stack underflow");
    return stack_.back();
  }
  std::vector<ValuePtr> pop_mark() {
    if (marks_.empty()) fail("no MARK on the stack");
    const size_t m = marks_.back();
    marks_.pop_back();
    std::vector<ValuePtr> out(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
    stack_.resize(m);
    return out;
  }
  ValuePtr memo_get(uint64_t key) {
    auto it = memo_.find(key);
    if (it == memo_.end()) fail("memo key " + std::to_string(key) + " was never stored");
    return it->second;
  }
  const ValuePtr& expect(const ValuePtr& v, Value::Kind kind, const char* op) {
    if (v->kind != kind) fail(std::string(op) + " applied to the wrong kind of object");
    return v;
  }
  int64_t as_int(const ValuePtr& v, const char* what) {
    if (v->kind != Value::Kind::kInt) fail(std::string(what) + " must be an integer");
    return v->i;
  }
  std::vector<int64_t> as_ints(const ValuePtr& v, const char* what) {
    if (v->kind != Value::Kind::kTuple && v->kind != Value::Kind::kList)
      fail(std::string(what) + " must be a tuple of integers");
    std::vector<int64_t> out;
    for (const auto& item : v->items) out.push_back(as_int(item, what));
    return out;
  }

  // The callables torch.save's pickles apply; anything else (arbitrary Python objects) is refused.
  ValuePtr call(const std::string& name, const std::vector<ValuePtr>& args) {
    if (name == "collections.OrderedDict" || name == "builtins.dict") {
      if (!args.empty()) fail(name + " with arguments");
      return container(Value::Kind::kDict);
    }
    if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
      // (storage, storage_offset, size, stride[, requires_grad, backward_hooks[, metadata]])
      if (args.size() < 4 || args[0]->kind != Value::Kind::kTensor) fail(name + " with unexpected arguments");
      return rebuild_tensor(args[0]->tensor, as_int(args[1], "storage_offset"), as_ints(args[2], "size"),
                            as_ints(args[3], "stride"));
    }
    if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") {
      if (args.empty() || args[0]->kind != Value::Kind::kTensor) fail(name + " with unexpected arguments");
      return args[0];
    }
    if (name == "torch._tensor._rebuild_from_type_v2") {
      // (func, new_type, args, state): a tensor subclass; rebuild the plain tensor with func(*args).
      if (args.size() < 3 || args[0]->kind != Value::Kind::kGlobal || args[2]->kind != Value::Kind::kTuple)
        fail(name + " with unexpected arguments");
      return call(args[0]->s, args[2]->items);
    }
    if (allow_objects_) {  // recorded, never run
      auto v = Value::make(Value::Kind::kObject);
      v->s = name;
      v->items = args;
      return v;
    }
    fail("unsupported object " + name + " (a state dict holds only tensors)");
  }

  ValuePtr rebuild_tensor(const torch::Tensor& storage, int64_t offset, const std::vector<int64_t>& size,
                          const std::vector<int64_t>& stride) {
    if (size.size() != stride.size()) fail("tensor size and stride differ in length");
    if (offset < 0) fail("negative storage offset");
    const auto beyond = [&] { fail("tensor view beyond its storage of " + std::to_string(storage.numel()) + " elements"); };
    int64_t last = offset;  // the highest element index the view touches; checked, since the file chooses the numbers
    bool empty = false;
    int64_t numel = 1;
    for (size_t k = 0; k < size.size(); ++k) {
      if (size[k] < 0 || stride[k] < 0) fail("negative tensor size or stride");
      if (size[k] == 0) empty = true;
      int64_t reach = 0;
      if (size[k] > 0 && (__builtin_mul_overflow(size[k] - 1, stride[k], &reach) ||
                          __builtin_add_overflow(last, reach, &last)))
        beyond();
      if (__builtin_mul_overflow(numel, size[k], &numel)) fail("tensor size overflows 64 bits");
    }
    if (!empty && last >= storage.numel()) beyond();
    auto v = Value::make(Value::Kind::kTensor);
    v->tensor = empty ? torch::empty(size, storage.options()) : storage.as_strided(size, stride, offset);
    return v;
  }

  // ('storage', storage_type, key, location, numel): the record data/<key> holds numel elements, little-endian.
  ValuePtr persistent_load(const ValuePtr& pid) {
    if (pid->kind != Value::Kind::kTuple || pid->items.size() < 5 || pid->items[0]->s != "storage" ||
        pid->items[1]->kind != Value::Kind::kGlobal || pid->items[2]->kind != Value::Kind::kString)
      fail("unsupported persistent id (expected a torch.save storage)");
    const std::string& type = pid->items[1]->s;
    const std::string& key = pid->items[2]->s;
    auto it = storages_.find(key);
    if (it == storages_.end()) {
      auto dt = storage_dtypes().find(type);
      if (dt == storage_dtypes().end()) fail("unsupported storage type " + type);
      const int64_t numel = as_int(pid->items[4], "storage size");
      const std::string record = "data/" + key;
      if (!reader_.hasRecord(record)) fail("the archive has no record " + record);
      auto [ptr, nbytes] = reader_.getRecord(record);
      const size_t element_size = c10::elementSize(dt->second);
      if (numel < 0 || nbytes / element_size != static_cast<size_t>(numel) || nbytes % element_size != 0)
        fail("record " + record + " holds " + std::to_string(nbytes) + " bytes, expected " + std::to_string(numel) +
             " elements of " + std::to_string(element_size) + " bytes");
      auto t = torch::empty({numel}, torch::TensorOptions().dtype(dt->second));
      if (nbytes > 0) std::memcpy(t.data_ptr(), ptr.get(), nbytes);
      it = storages_.emplace(key, t).first;
    }
    auto v = Value::make(Value::Kind::kTensor);
    v->tensor = it->second;
    return v;
  }

  std::string path_;
  caffe2::serialize::PyTorchStreamReader& reader_;
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  std::vector<ValuePtr> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, ValuePtr> memo_;
  std::vector<ValuePtr> containers_;  // every list and dict made: emptied by the destructor
  std::map<std::string, torch::Tensor> storages_;
  bool allow_objects_;
  std::string hint_;
};

}  // namespace

namespace {

// A torch.save file opened: its archive and the pickle (data.pkl). Throws InputError naming path, `legacy_hint`
// ending the message for the pre-1.6 format.
struct PickleArchive {
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  at::DataPtr pickle;
  size_t pickle_size = 0;
};

PickleArchive open_pickle_archive(const std::string& path, const std::string& legacy_hint) {
  {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError(path, "cannot open file");
    char magic[4] = {};
    in.read(magic, 4);
    if (in.gcount() < 4 || std::memcmp(magic, "PK\x03\x04", 4) != 0)
      throw InputError(path, "not a zip archive: the legacy torch.save format (PyTorch < 1.6) is not read" + legacy_hint);
  }
  PickleArchive a;
  try {
    a.reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
    if (!a.reader->hasRecord("data.pkl"))
      throw InputError(path, "no data.pkl in the archive (not written by torch.save?)");
    std::tie(a.pickle, a.pickle_size) = a.reader->getRecord("data.pkl");
    if (a.reader->hasRecord("byteorder")) {
      auto [order, n] = a.reader->getRecord("byteorder");
      if (std::string(static_cast<const char*>(order.get()), n) != "little")
        throw InputError(path, "big-endian tensors are not supported");
    }
  } catch (const c10::Error& e) {
    throw InputError(path, std::string("cannot read the torch.save archive: ") + e.what_without_backtrace());
  }
  return a;
}

// Unpickle the archive's data.pkl and hand the root object to `use`, while the unpickler (which empties its
// containers when it goes, see ~Unpickler) still holds it.
void run_unpickler(const std::string& path, PickleArchive& a, bool allow_objects, const std::string& hint,
                   const std::function<void(const ValuePtr&)>& use) {
  Unpickler unpickler(path, *a.reader, static_cast<const uint8_t*>(a.pickle.get()), a.pickle_size, allow_objects,
                      hint);
  try {
    use(unpickler.run());
  } catch (const c10::Error& e) {
    throw InputError(path, std::string("cannot read the torch.save archive: ") + e.what_without_backtrace());
  }
}

// The tree of a root value: shared values copied where used, within a budget of nodes; a container that holds itself
// (possible through the memo) refused.
class TreeCopier {
 public:
  explicit TreeCopier(std::string path) : path_(std::move(path)) {}
  PickledObject copy(const ValuePtr& v) {
    if (++nodes_ > kMaxNodes)
      throw InputError(path_, "more than " + std::to_string(kMaxNodes) + " objects (shared values repeated?)");
    using K = Value::Kind;
    PickledObject out;
    switch (v->kind) {
      case K::kNone: out.kind = PickledObject::Kind::kNone; return out;
      case K::kBool: out.kind = PickledObject::Kind::kBool; out.i = v->i; return out;
      case K::kInt: out.kind = PickledObject::Kind::kInt; out.i = v->i; return out;
      case K::kFloat: out.kind = PickledObject::Kind::kFloat; out.f = v->f; return out;
      case K::kString: out.kind = PickledObject::Kind::kString; out.s = v->s; return out;
      case K::kBytes: out.kind = PickledObject::Kind::kBytes; out.s = v->s; return out;
      case K::kTensor: out.kind = PickledObject::Kind::kTensor; out.tensor = v->tensor; return out;
      case K::kGlobal: out.kind = PickledObject::Kind::kObject; out.s = v->s; return out;
      case K::kTuple: out.kind = PickledObject::Kind::kTuple; break;
      case K::kList: out.kind = PickledObject::Kind::kList; break;
      case K::kDict: out.kind = PickledObject::Kind::kDict; break;
      case K::kObject: out.kind = PickledObject::Kind::kObject; out.s = v->s; break;
    }
    if (!open_.insert(v.get()).second) throw InputError(path_, "a container that contains itself");
    if (open_.size() > kMaxDepth)  // the copy recurses: a deeper pickle would overflow the stack
      throw InputError(path_, "containers nested more than " + std::to_string(kMaxDepth) + " levels deep");
    for (const auto& item : v->items) out.items.push_back(copy(item));
    for (const auto& [key, value] : v->entries) out.entries.emplace_back(copy(key), copy(value));
    open_.erase(v.get());
    return out;
  }

 private:
  static constexpr size_t kMaxNodes = size_t{1} << 22;
  static constexpr size_t kMaxDepth = 1000;  // checkpoints nest a few levels; Python's pickler stops near 1000
  std::string path_;
  size_t nodes_ = 0;
  std::unordered_set<const Value*> open_;  // the containers being copied (the path from the root)
};

}  // namespace

NamedTensors load_pytorch_bin(const std::string& path) {
  PickleArchive archive = open_pickle_archive(path, std::string("; re-save it with a current PyTorch or") +
                                                        " convert it to safetensors with transformers: " +
                                                        "model.save_pretrained(dir, safe_serialization=True)");
  NamedTensors out;
  run_unpickler(path, archive, /*allow_objects=*/false, kConvertHint, [&](const ValuePtr& root) {
    if (root->kind != Value::Kind::kDict) throw InputError(path, "expected a state dict (a dict of tensors)");
    for (const auto& [key, value] : root->entries) {
      if (key->kind != Value::Kind::kString) throw InputError(path, "state dict key is not a string");
      if (value->kind != Value::Kind::kTensor) throw InputError(path, "\"" + key->s + "\" is not a tensor");
      out.emplace_back(key->s, value->tensor);
    }
  });
  return out;
}

const PickledObject* PickledObject::find(const std::string& key) const {
  if (kind != Kind::kDict) return nullptr;
  for (const auto& [k, v] : entries)
    if (k.kind == Kind::kString && k.s == key) return &v;
  return nullptr;
}

PickledObject load_torch_pickle(const std::string& path, const std::string& what) {
  PickleArchive archive = open_pickle_archive(path, "; re-save it with a current PyTorch");
  PickledObject out;
  run_unpickler(path, archive, /*allow_objects=*/true, " (reading " + what + ")",
                [&](const ValuePtr& root) { out = TreeCopier(path).copy(root); });
  return out;
}

namespace {

// Pickle protocol 2, as torch.save writes a state dict: the opcodes below are pickletools' names.
class PickleWriter {
 public:
  std::string out = std::string("\x80\x02", 2);  // PROTO 2

  void op(char c) { out.push_back(c); }
  void global(const std::string& module, const std::string& name) { out += "c" + module + "\n" + name + "\n"; }
  void string(const std::string& s) {  // BINUNICODE
    op('X');
    uint32_t n = static_cast<uint32_t>(s.size());
    out.append(reinterpret_cast<const char*>(&n), 4);  // little-endian on every host LibTorch supports here
    out += s;
  }
  void integer(int64_t v) {
    if (v >= 0 && v < 256) {  // BININT1
      op('K');
      out.push_back(static_cast<char>(v));
    } else if (v >= INT32_MIN && v <= INT32_MAX) {  // BININT
      op('J');
      int32_t x = static_cast<int32_t>(v);
      out.append(reinterpret_cast<const char*>(&x), 4);
    } else {  // LONG1: 8 bytes of two's complement, little-endian
      op('\x8a');
      out.push_back(8);
      out.append(reinterpret_cast<const char*>(&v), 8);
    }
  }
  void int_tuple(c10::IntArrayRef values) {
    op('(');  // MARK
    for (int64_t v : values) integer(v);
    op('t');  // TUPLE
  }
  void empty_ordered_dict() {  // collections.OrderedDict()
    global("collections", "OrderedDict");
    op(')');  // EMPTY_TUPLE
    op('R');  // REDUCE
  }
};

std::string storage_type(torch::Dtype dtype, const std::string& where) {
  switch (dtype) {
    case torch::kFloat32: return "FloatStorage";
    case torch::kFloat64: return "DoubleStorage";
    case torch::kFloat16: return "HalfStorage";
    case torch::kBFloat16: return "BFloat16Storage";
    case torch::kInt64: return "LongStorage";
    case torch::kInt32: return "IntStorage";
    case torch::kInt16: return "ShortStorage";
    case torch::kInt8: return "CharStorage";
    case torch::kUInt8: return "ByteStorage";
    case torch::kBool: return "BoolStorage";
    default:
      throw InputError(where, std::string("no torch.save storage type for dtype ") + c10::toString(dtype));
  }
}

}  // namespace

namespace {

// A tensor as torch.save pickles it: torch._utils._rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict()),
// the storage a persistent id ('storage', torch.<Type>Storage, '<index>', 'cpu', numel) naming record data/<index>,
// whose bytes are kept in `storages` (contiguous, on the CPU).
void write_tensor(PickleWriter& pickle, const torch::Tensor& tensor, const std::string& where,
                  std::vector<torch::Tensor>& storages) {
  torch::Tensor t;
  try {
    t = tensor.detach().to(torch::kCPU).contiguous();
  } catch (const c10::Error& e) {  // e.g. out of memory materialising an expanded view
    throw InputError(where, std::string("cannot copy the tensor to write it: ") + e.what_without_backtrace());
  }
  const std::string type = storage_type(t.scalar_type(), where);
  pickle.global("torch._utils", "_rebuild_tensor_v2");
  pickle.op('(');
  pickle.op('(');
  pickle.string("storage");
  pickle.global("torch", type);
  pickle.string(std::to_string(storages.size()));
  pickle.string("cpu");
  pickle.integer(t.numel());
  pickle.op('t');
  pickle.op('Q');  // BINPERSID
  pickle.integer(0);  // storage offset
  pickle.int_tuple(t.sizes());
  pickle.int_tuple(t.strides());
  pickle.op('\x89');  // NEWFALSE: requires_grad
  pickle.empty_ordered_dict();  // backward hooks
  pickle.op('t');
  pickle.op('R');
  storages.push_back(t);
}

void write_object(PickleWriter& pickle, const PickledObject& o, const std::string& where,
                  std::vector<torch::Tensor>& storages) {
  using K = PickledObject::Kind;
  switch (o.kind) {
    case K::kNone: pickle.op('N'); return;
    case K::kBool: pickle.op(o.i ? '\x88' : '\x89'); return;
    case K::kInt: pickle.integer(o.i); return;
    case K::kFloat: {  // BINFLOAT: 8 bytes, big-endian
      uint64_t bits = 0;
      std::memcpy(&bits, &o.f, sizeof bits);
      pickle.op('G');
      for (int k = 7; k >= 0; --k) pickle.out.push_back(static_cast<char>((bits >> (8 * k)) & 0xff));
      return;
    }
    case K::kString: pickle.string(o.s); return;
    case K::kTensor: write_tensor(pickle, o.tensor, where, storages); return;
    case K::kTuple:
      pickle.op('(');
      for (const auto& item : o.items) write_object(pickle, item, where, storages);
      pickle.op('t');
      return;
    case K::kList:
      pickle.op(']');
      if (o.items.empty()) return;
      pickle.op('(');
      for (const auto& item : o.items) write_object(pickle, item, where, storages);
      pickle.op('e');  // APPENDS
      return;
    case K::kDict:
      pickle.op('}');
      if (o.entries.empty()) return;
      pickle.op('(');
      for (const auto& [key, value] : o.entries) {
        write_object(pickle, key, where, storages);
        write_object(pickle, value, where, storages);
      }
      pickle.op('u');  // SETITEMS
      return;
    case K::kBytes:
    case K::kObject:
      break;
  }
  throw InputError(where, "cannot write " + std::string(o.kind == K::kBytes ? "bytes" : "object " + o.s) +
                              " in a torch.save pickle of protocol 2");
}

// The zip through LibTorch's own writer (torch.save's), into a temporary file beside path, then fsynced and renamed.
void write_pickle_archive(const std::string& path, const PickleWriter& pickle,
                          const std::vector<torch::Tensor>& storages) {
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) throw InputError(path, std::string("cannot write: ") + std::strerror(errno));
  bool ok = true;
  try {
    caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, size_t n) -> size_t {
      if (n > 0 && std::fwrite(data, 1, n, f) != n) ok = false;
      return n;
    });
    writer.writeRecord("data.pkl", pickle.out.data(), pickle.out.size());
    writer.writeRecord("byteorder", "little", 6);
    for (size_t i = 0; i < storages.size(); ++i)
      writer.writeRecord("data/" + std::to_string(i), storages[i].data_ptr(),
                         static_cast<size_t>(storages[i].numel()) * storages[i].element_size());
    writer.writeEndOfFile();
  } catch (const c10::Error& e) {
    std::fclose(f);
    std::remove(tmp.c_str());
    throw InputError(path, std::string("cannot write the archive: ") + e.what_without_backtrace());
  }
  ok = ok && std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    throw InputError(path, "cannot write: " + why);
  }
  const std::string dir = std::filesystem::path(path).parent_path().string();
  fsync_directory(dir.empty() ? "." : dir);
}

}  // namespace

void save_pytorch_bin(const std::string& path, const NamedTensors& tensors) {
  // data.pkl: OrderedDict([(name, tensor), ...]).
  PickleWriter pickle;
  pickle.empty_ordered_dict();
  std::vector<torch::Tensor> storages;
  if (!tensors.empty()) {
    pickle.op('(');  // MARK
    for (const auto& [name, tensor] : tensors) {
      pickle.string(name);
      write_tensor(pickle, tensor, path + ": \"" + name + "\"", storages);
    }
    pickle.op('u');  // SETITEMS
  }
  pickle.op('.');  // STOP
  write_pickle_archive(path, pickle, storages);
}

void save_torch_pickle(const std::string& path, const PickledObject& root) {
  PickleWriter pickle;
  std::vector<torch::Tensor> storages;
  write_object(pickle, root, path, storages);
  pickle.op('.');  // STOP
  write_pickle_archive(path, pickle, storages);
}

}  // namespace tcpp::models
