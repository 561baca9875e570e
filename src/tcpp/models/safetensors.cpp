// safetensors reading (mmap, validated header) and writing (sorted, aligned, atomic), and sharded checkpoints.
#include "tcpp/models/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>
#include <regex>
#include <set>

#include <torch/torch.h>

#include "tcpp/core/error.h"
#include "tcpp/core/file.h"
#include "tcpp/core/strings.h"
#include "tcpp/models/pytorch_bin.h"

namespace tcpp::models {
namespace fs = std::filesystem;

// Owns one read-only file mapping (MAP_PRIVATE + PROT_WRITE: copy-on-write, the file is never modified).
class SafetensorsMapping {
 public:
  SafetensorsMapping(void* data, size_t size) : data_(data), size_(size) {}
  ~SafetensorsMapping() {
    if (data_ != nullptr && size_ > 0) ::munmap(data_, size_);
  }
  SafetensorsMapping(const SafetensorsMapping&) = delete;
  SafetensorsMapping& operator=(const SafetensorsMapping&) = delete;
  uint8_t* bytes() const { return static_cast<uint8_t*>(data_); }
  size_t size() const { return size_; }

 private:
  void* data_;
  size_t size_;
};

namespace {

// Header limit as the safetensors library (100 MB): a bigger one is a corrupt length field, not a real header.
constexpr uint64_t kMaxHeaderSize = 100'000'000;

struct DtypeInfo {
  const char* name;
  torch::Dtype dtype;
  int64_t size;
};

const std::vector<DtypeInfo>& dtype_table() {
  static const std::vector<DtypeInfo> table = {
      {"F64", torch::kFloat64, 8}, {"F32", torch::kFloat32, 4}, {"F16", torch::kFloat16, 2},
      {"BF16", torch::kBFloat16, 2}, {"I64", torch::kInt64, 8}, {"I32", torch::kInt32, 4},
      {"I16", torch::kInt16, 2},   {"I8", torch::kInt8, 1},     {"U8", torch::kUInt8, 1},
      {"BOOL", torch::kBool, 1},
  };
  return table;
}

const DtypeInfo* find_dtype(const std::string& name) {
  for (const auto& d : dtype_table())
    if (name == d.name) return &d;
  return nullptr;
}

SafetensorsEntry parse_entry(const std::string& where, const std::string& name, const Json& j) {
  std::string at = where + ": tensor \"" + name + "\"";
  if (!j.is_object()) throw InputError(at, "expected an object with dtype, shape, data_offsets, found " + j.dump());
  SafetensorsEntry e;
  auto dt = j.find("dtype");
  if (dt == j.end() || !dt->is_string()) throw InputError(at, "missing string \"dtype\"");
  e.dtype = dt->get<std::string>();
  const DtypeInfo* info = find_dtype(e.dtype);
  if (info == nullptr)
    throw InputError(at, "unsupported dtype \"" + e.dtype + "\" (expected F64, F32, F16, BF16, I64, I32, I16, I8, U8 or BOOL)");
  auto sh = j.find("shape");
  if (sh == j.end() || !sh->is_array()) throw InputError(at, "missing array \"shape\"");
  int64_t numel = 1;
  for (const auto& d : *sh) {
    if (!d.is_number_integer() || d.get<int64_t>() < 0)
      throw InputError(at, "\"shape\" must hold non-negative integers, found " + sh->dump());
    int64_t v = d.get<int64_t>();
    if (v != 0 && numel > (int64_t{1} << 50) / v) throw InputError(at, "\"shape\" " + sh->dump() + " is too large");
    numel *= v;
    e.shape.push_back(v);
  }
  auto off = j.find("data_offsets");
  if (off == j.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
      !(*off)[1].is_number_unsigned())
    throw InputError(at, "\"data_offsets\" must be two non-negative integers [begin, end]");
  e.begin = (*off)[0].get<int64_t>();
  e.end = (*off)[1].get<int64_t>();
  if (e.end < e.begin)
    throw InputError(at, "\"data_offsets\" [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                             "] ends before it begins");
  if (e.end - e.begin != numel * info->size)
    throw InputError(at, "\"data_offsets\" [" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "] span " +
                             std::to_string(e.end - e.begin) + " bytes, but " + e.dtype + " " + shape_string(e.shape) +
                             " needs " + std::to_string(numel * info->size));
  if (e.begin % info->size != 0)
    throw InputError(at, "\"data_offsets\" begin " + std::to_string(e.begin) + " is not aligned to the " +
                             std::to_string(info->size) + "-byte " + e.dtype + " element size");
  return e;
}

}  // namespace

std::string safetensors_dtype_name(torch::Dtype dtype) {
  for (const auto& d : dtype_table())
    if (d.dtype == dtype) return d.name;
  throw InputError(std::string("dtype ") + std::string(c10::toString(dtype)) + " cannot be stored in safetensors");
}

torch::Dtype safetensors_dtype_from_name(const std::string& name, const std::string& where) {
  const DtypeInfo* d = find_dtype(name);
  if (d == nullptr) throw InputError(where, "unsupported safetensors dtype \"" + name + "\"");
  return d->dtype;
}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw InputError(path, std::string("cannot open file (") + std::strerror(errno) + ")");
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    throw InputError(path, std::string("cannot stat file (") + std::strerror(err) + ")");
  }
  const auto file_size = static_cast<uint64_t>(st.st_size);
  void* data = nullptr;
  if (file_size > 0) {
    data = ::mmap(nullptr, file_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (data == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      throw InputError(path, std::string("cannot map file (") + std::strerror(err) + ")");
    }
  }
  ::close(fd);
  SafetensorsFile f;
  f.path_ = path;
  f.mapping_ = std::make_shared<SafetensorsMapping>(data, file_size);

  if (file_size < 8)
    throw InputError(path, "truncated safetensors file: " + std::to_string(file_size) +
                               " bytes, expected at least 8 for the header length");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | f.mapping_->bytes()[i];  // little-endian u64
  if (n > kMaxHeaderSize) throw InputError(path, "header length " + std::to_string(n) + " exceeds the 100 MB limit (not a safetensors file?)");
  if (n > file_size - 8)
    throw InputError(path, "truncated safetensors file: header length " + std::to_string(n) + " but only " +
                               std::to_string(file_size - 8) + " bytes follow");
  std::string header(reinterpret_cast<const char*>(f.mapping_->bytes() + 8), n);
  Json j;
  try {
    j = Json::parse(header);
  } catch (const Json::exception& e) {
    throw InputError(path, std::string("header is not valid JSON (") + e.what() + ")");
  }
  if (!j.is_object()) throw InputError(path, "header must be a JSON object");
  const uint64_t data_size = file_size - 8 - n;
  std::vector<std::pair<const std::string*, const SafetensorsEntry*>> by_offset;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it->is_object()) throw InputError(path, "\"__metadata__\" must be an object of strings");
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (!m->is_string()) throw InputError(path, "\"__metadata__\".\"" + m.key() + "\" must be a string");
        f.metadata_[m.key()] = m->get<std::string>();
      }
      continue;
    }
    SafetensorsEntry e = parse_entry(path, it.key(), *it);
    if (static_cast<uint64_t>(e.end) > data_size)
      throw InputError(path + ": tensor \"" + it.key() + "\"",
                       "\"data_offsets\" [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                           "] run past the end of the data (" + std::to_string(data_size) +
                           " bytes; truncated file?)");
    auto ins = f.entries_.emplace(it.key(), std::move(e));
    by_offset.emplace_back(&ins.first->first, &ins.first->second);
  }
  // As the safetensors library: the tensors tile the data section exactly, without overlaps or gaps.
  std::sort(by_offset.begin(), by_offset.end(), [](const auto& a, const auto& b) {
    return std::tie(a.second->begin, a.second->end) < std::tie(b.second->begin, b.second->end);
  });
  int64_t pos = 0;
  const std::string* prev = nullptr;
  for (const auto& [name, e] : by_offset) {
    if (e->begin < pos)
      throw InputError(path + ": tensor \"" + *name + "\"",
                       "\"data_offsets\" [" + std::to_string(e->begin) + ", " + std::to_string(e->end) +
                           "] overlap tensor \"" + (prev ? *prev : std::string()) + "\" (which ends at " +
                           std::to_string(pos) + ")");
    if (e->begin > pos)
      throw InputError(path + ": tensor \"" + *name + "\"",
                       "\"data_offsets\" begin " + std::to_string(e->begin) + " leaves a gap after byte " +
                           std::to_string(pos));
    pos = e->end;
    prev = name;
  }
  if (static_cast<uint64_t>(pos) != data_size)
    throw InputError(path, "the header describes " + std::to_string(pos) + " data bytes but the file holds " +
                               std::to_string(data_size));
  return f;
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  for (const auto& [name, e] : entries_) out.push_back(name);
  return out;
}

const SafetensorsEntry& SafetensorsFile::entry(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) throw InputError(path_, "no tensor named \"" + name + "\"");
  return it->second;
}

torch::Tensor SafetensorsFile::tensor(const std::string& name) const {
  const SafetensorsEntry& e = entry(name);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | mapping_->bytes()[i];
  uint8_t* p = mapping_->bytes() + 8 + n + e.begin;
  auto keep = mapping_;
  auto dtype = safetensors_dtype_from_name(e.dtype, path_);
  if (e.end == e.begin) return torch::empty(e.shape, torch::TensorOptions().dtype(dtype));
  return torch::from_blob(p, e.shape, [keep](void*) mutable { keep.reset(); },
                          torch::TensorOptions().dtype(dtype));
}

NamedTensors load_safetensors(const std::string& path) {
  auto f = SafetensorsFile::open(path);
  NamedTensors out;
  for (const auto& name : f.names()) out.emplace_back(name, f.tensor(name));
  return out;
}

namespace {

// Write to a temp file next to path, fsync, rename over path, fsync the folder (as core's write_file_atomic, for
// content produced piece by piece).
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::string path) : path_(std::move(path)) {
    fs::path target(path_);
    std::random_device rd;
    tmp_ = (target.parent_path() / ("." + target.filename().string() + ".tmp." + std::to_string(::getpid()) + "." +
                                    std::to_string(rd())))
               .string();
    fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) throw InputError(path_, std::string("cannot create file (") + std::strerror(errno) + ")");
  }
  ~AtomicFileWriter() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(tmp_.c_str());
  }
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(const void* data, size_t size) {
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
      ssize_t n = ::write(fd_, p, size);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw InputError(path_, std::string("write failed (") + std::strerror(errno) + ")");
      }
      p += n;
      size -= static_cast<size_t>(n);
    }
  }
  void commit() {
    if (::fsync(fd_) != 0) throw InputError(path_, std::string("fsync failed (") + std::strerror(errno) + ")");
    int rc = ::close(fd_);
    fd_ = -1;
    if (rc != 0) throw InputError(path_, std::string("close failed (") + std::strerror(errno) + ")");
    if (::rename(tmp_.c_str(), path_.c_str()) != 0)
      throw InputError(path_, std::string("rename failed (") + std::strerror(errno) + ")");
    committed_ = true;
    fsync_directory(fs::path(path_).parent_path().string());
  }

 private:
  std::string path_;
  std::string tmp_;
  int fd_ = -1;
  bool committed_ = false;
};

int64_t element_size(torch::Dtype dtype) { return static_cast<int64_t>(c10::elementSize(dtype)); }

int64_t tensor_bytes(const torch::Tensor& t) { return t.numel() * element_size(t.scalar_type()); }

}  // namespace

void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata) {
  std::vector<const std::pair<std::string, torch::Tensor>*> order;
  std::set<std::string> seen;
  for (const auto& nt : tensors) {
    if (nt.first == "__metadata__") throw InputError(path, "a tensor cannot be named \"__metadata__\"");
    if (!seen.insert(nt.first).second) throw InputError(path, "tensor \"" + nt.first + "\" given twice");
    if (!nt.second.defined()) throw InputError(path, "tensor \"" + nt.first + "\" is undefined");
    safetensors_dtype_name(nt.second.scalar_type());  // throws for unsupported dtypes
    order.push_back(&nt);
  }
  // Largest elements first keeps every tensor aligned to its element size; then by name, for a stable file.
  std::sort(order.begin(), order.end(), [](const auto* a, const auto* b) {
    int64_t ea = element_size(a->second.scalar_type()), eb = element_size(b->second.scalar_type());
    if (ea != eb) return ea > eb;
    return a->first < b->first;
  });
  Json header = Json::object();
  if (!metadata.empty()) {
    Json m = Json::object();
    for (const auto& [k, v] : metadata) m[k] = v;
    header["__metadata__"] = m;
  }
  int64_t offset = 0;
  for (const auto* nt : order) {
    int64_t bytes = tensor_bytes(nt->second);
    header[nt->first] = {{"dtype", safetensors_dtype_name(nt->second.scalar_type())},
                         {"shape", nt->second.sizes().vec()},
                         {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();  // nlohmann keeps object keys sorted
  text.append((8 - text.size() % 8) % 8, ' ');
  uint8_t len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>((static_cast<uint64_t>(text.size()) >> (8 * i)) & 0xff);
  AtomicFileWriter out(path);
  out.write(len, 8);
  out.write(text.data(), text.size());
  for (const auto* nt : order) {
    torch::Tensor t = nt->second.detach().to(torch::kCPU).contiguous();
    out.write(t.data_ptr(), static_cast<size_t>(tensor_bytes(t)));
  }
  out.commit();
}

int64_t parse_shard_size(const std::string& text) {
  static const std::regex re(R"(^\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]i?B)?\s*$)", std::regex::icase);
  std::smatch m;
  if (text.size() > 64 || !std::regex_match(text, m, re))  // short first: std::regex recurses per character
    throw InputError("max_shard_size", "expected a number of bytes or a size such as \"5GB\" or \"500MiB\", found " +
                                           quote(text));
  double v = std::stod(m[1].str());
  std::string unit = m[2].matched ? m[2].str() : "";
  for (auto& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  double mult = 1;
  const bool binary = unit.size() == 3;
  if (!unit.empty()) {
    int power = std::string("KMGT").find(unit[0]) + 1;
    for (int i = 0; i < power; ++i) mult *= binary ? 1024.0 : 1000.0;
  }
  return static_cast<int64_t>(v * mult);
}

std::vector<std::string> save_sharded_safetensors(const std::string& dir, const NamedTensors& tensors,
                                                  int64_t max_shard_size, bool safe_serialization) {
  const std::string single = safe_serialization ? kSafeWeightsName : kWeightsName;
  const std::string prefix = safe_serialization ? "model-" : "pytorch_model-";
  const std::string extension = safe_serialization ? ".safetensors" : ".bin";
  const std::string index_name = safe_serialization ? kSafeWeightsIndexName : kWeightsIndexName;
  auto write = [&](const std::string& path, const NamedTensors& shard) {
    if (safe_serialization) save_safetensors(path, shard);
    else save_pytorch_bin(path, shard);
  };
  fs::create_directories(dir);
  // As transformers' split_torch_state_dict_into_shards: greedy in state-dict order; a tensor bigger than the limit
  // gets a shard of its own.
  std::vector<NamedTensors> shards(1);
  int64_t current = 0, total = 0;
  for (const auto& nt : tensors) {
    int64_t bytes = tensor_bytes(nt.second);
    if (!shards.back().empty() && current + bytes > max_shard_size) {
      shards.emplace_back();
      current = 0;
    }
    shards.back().push_back(nt);
    current += bytes;
    total += bytes;
  }
  std::vector<std::string> written;
  std::set<std::string> keep;
  if (shards.size() == 1) {
    write((fs::path(dir) / single).string(), shards[0]);
    written.push_back(single);
  } else {
    Json weight_map = Json::object();
    auto pad5 = [](size_t i) {
      std::string s = std::to_string(i);
      return std::string(s.size() < 5 ? 5 - s.size() : 0, '0') + s;
    };
    for (size_t i = 0; i < shards.size(); ++i) {
      std::string name = prefix + pad5(i + 1) + "-of-" + pad5(shards.size()) + extension;
      write((fs::path(dir) / name).string(), shards[i]);
      for (const auto& nt : shards[i]) weight_map[nt.first] = name;
      written.push_back(name);
    }
    Json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
    write_file_atomic((fs::path(dir) / index_name).string(), dump_json_python(index, 2) + "\n");
    written.push_back(index_name);
  }
  // As save_pretrained: remove weight files of an earlier save that this one does not overwrite.
  keep.insert(written.begin(), written.end());
  static const std::regex stale(
      R"(^(model(-[0-9]{5}-of-[0-9]{5})?\.safetensors|pytorch_model(-[0-9]{5}-of-[0-9]{5})?\.bin)(\.index\.json)?$)");
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string name = e.path().filename().string();
    if (std::regex_match(name, stale) && !keep.count(name)) fs::remove(e.path());
  }
  return written;
}

namespace {

// A *.index.json's weight_map: the shard files in first-seen order, and the tensor names each holds.
struct ShardIndex {
  std::vector<std::string> files;
  std::map<std::string, std::vector<std::string>> names;
};

ShardIndex read_shard_index(const std::string& where) {
  Json index = read_json_file(where);
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
    throw InputError(where, "missing object \"weight_map\"");
  ShardIndex out;
  for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) {
    if (!it->is_string()) throw InputError(where, "\"weight_map\".\"" + it.key() + "\" must be a file name");
    std::string file = it->get<std::string>();
    if (file.find('/') != std::string::npos || file == "..")
      throw InputError(where, "\"weight_map\".\"" + it.key() + "\" names a file outside the folder: " + quote(file));
    if (!out.names.count(file)) out.files.push_back(file);
    out.names[file].push_back(it.key());
  }
  return out;
}

[[noreturn]] void missing_from_shard(const std::string& shard, const std::string& name, const char* index_name) {
  throw InputError(shard, "tensor \"" + name + "\" is listed for this shard in " + std::string(index_name) +
                              " but is not in the file");
}

}  // namespace

NamedTensors load_checkpoint_tensors(const std::string& dir) {
  // As transformers: safetensors first, then pytorch_model.bin, each single-file or sharded.
  const fs::path base(dir);
  if (fs::exists(base / kSafeWeightsName)) return load_safetensors((base / kSafeWeightsName).string());
  NamedTensors out;
  if (fs::exists(base / kSafeWeightsIndexName)) {
    ShardIndex index = read_shard_index((base / kSafeWeightsIndexName).string());
    for (const auto& file : index.files) {
      auto f = SafetensorsFile::open((base / file).string());
      for (const auto& name : index.names[file]) {
        if (!f.contains(name)) missing_from_shard(f.path(), name, kSafeWeightsIndexName);
        out.emplace_back(name, f.tensor(name));
      }
    }
    return out;
  }
  if (fs::exists(base / kWeightsName)) return load_pytorch_bin((base / kWeightsName).string());
  if (fs::exists(base / kWeightsIndexName)) {
    ShardIndex index = read_shard_index((base / kWeightsIndexName).string());
    for (const auto& file : index.files) {
      const std::string path = (base / file).string();
      std::map<std::string, torch::Tensor> shard;
      for (auto& [name, t] : load_pytorch_bin(path)) shard.emplace(name, t);
      for (const auto& name : index.names[file]) {
        auto it = shard.find(name);
        if (it == shard.end()) missing_from_shard(path, name, kWeightsIndexName);
        out.emplace_back(name, it->second);
      }
    }
    return out;
  }
  throw InputError(dir, std::string("no ") + kSafeWeightsName + ", " + kSafeWeightsIndexName + ", " + kWeightsName +
                            " or " + kWeightsIndexName + " found (expected a folder written by save_pretrained)");
}

}  // namespace tcpp::models
