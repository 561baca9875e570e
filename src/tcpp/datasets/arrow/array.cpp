// Arrow array views and builders (as pyarrow's Array and ArrayBuilder).
#include "tcpp/datasets/arrow/array.h"
#include "tcpp/datasets/arrow/temporal.h"

#include <sys/mman.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <mutex>
#include <new>

#include "tcpp/core/check.h"
#include "tcpp/core/error.h"
#include "tcpp/datasets/builders/utf8.h"

namespace tcpp::datasets::arrow {

float half_to_float(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: renormalise
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while (!(mant & 0x400));
      bits = sign | static_cast<uint32_t>(127 - 15 - e) << 23 | (mant & 0x3ff) << 13;
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | mant << 13;
  } else {
    bits = sign | (exp + 127 - 15) << 23 | mant << 13;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t float_to_half(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000);
  uint32_t exp = (x >> 23) & 0xff;
  uint32_t mant = x & 0x7fffff;
  if (exp == 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);  // inf / nan
  int32_t e = static_cast<int32_t>(exp) - 127 + 15;
  if (e >= 31) return sign | 0x7c00;  // overflow to inf
  if (e <= 0) {                       // subnormal or zero
    if (e < -10) return sign;
    mant |= 0x800000;
    uint32_t shift = static_cast<uint32_t>(14 - e);
    uint32_t half = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1);
    uint32_t mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1))) ++half;
    return sign | static_cast<uint16_t>(half);
  }
  uint32_t half = static_cast<uint32_t>(e) << 10 | mant >> 13;
  uint32_t rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) ++half;  // may carry into the exponent: correct
  return sign | static_cast<uint16_t>(half);
}

// ---- Array -------------------------------------------------------------------------------------------

Array Array::from_parts(Parts p) {
  Array a;
  a.type_ = std::move(p.type);
  a.length_ = p.length;
  a.null_count_ = p.null_count;
  a.validity_ = p.null_count > 0 ? p.validity : nullptr;
  a.all_null_ = a.type_.id == TypeId::kNull;
  if (a.all_null_) a.null_count_ = a.length_;
  a.values_ = p.values;
  a.values_size_ = p.values_size;
  a.data_ = p.data;
  a.data_size_ = p.data_size;
  a.children_ = std::move(p.children);
  a.keep_alive_ = std::move(p.keep_alive);
  if (p.where) a.where_ = std::move(p.where);
  return a;
}

int64_t Array::offset_at(int64_t i) const {
  if (type_.id == TypeId::kLargeUtf8 || type_.id == TypeId::kLargeBinary || type_.id == TypeId::kLargeList)
    return value<int64_t>(i);
  return value<int32_t>(i);
}

int64_t Array::int_value(int64_t i) const {
  switch (type_.id) {
    case TypeId::kBool: return bool_value(i);
    case TypeId::kInt8: return value<int8_t>(i);
    case TypeId::kInt16: return value<int16_t>(i);
    case TypeId::kInt32: return value<int32_t>(i);
    case TypeId::kInt64: return value<int64_t>(i);
    case TypeId::kUInt8: return value<uint8_t>(i);
    case TypeId::kUInt16: return value<uint16_t>(i);
    case TypeId::kUInt32: return value<uint32_t>(i);
    case TypeId::kUInt64: return static_cast<int64_t>(value<uint64_t>(i));
    case TypeId::kDate32:
    case TypeId::kTime32: return value<int32_t>(i);
    case TypeId::kDate64:
    case TypeId::kTime64:
    case TypeId::kTimestamp:
    case TypeId::kDuration: return value<int64_t>(i);
    default:
      throw InputError(where(), "expected an integer column, got " + type_.to_string());
  }
}

double Array::float_value(int64_t i) const {
  switch (type_.id) {
    case TypeId::kFloat16: return half_to_float(value<uint16_t>(i));
    case TypeId::kFloat32: return value<float>(i);
    case TypeId::kFloat64: return value<double>(i);
    case TypeId::kUInt64: return static_cast<double>(value<uint64_t>(i));
    default: return static_cast<double>(int_value(i));
  }
}

std::string_view Array::string_value(int64_t i) const {
  TCPP_CHECK(type_.is_string_like(), "string_value() on ", type_.to_string());
  int64_t begin = offset_at(i), end = offset_at(i + 1);
  if (begin < 0 || end < begin || end > data_size_)
    throw InputError(where(), "row " + std::to_string(i) + ": string offsets [" + std::to_string(begin) + ", " +
                                  std::to_string(end) + ") outside the " + std::to_string(data_size_) +
                                  "-byte data buffer");
  return {reinterpret_cast<const char*>(data_) + begin, static_cast<size_t>(end - begin)};
}

std::pair<int64_t, int64_t> Array::list_range(int64_t i) const {
  TCPP_CHECK(type_.is_list(), "list_range() on ", type_.to_string());
  int64_t begin = offset_at(i), end = offset_at(i + 1);
  if (begin < 0 || end < begin || end > children_[0].length())
    throw InputError(where(), "row " + std::to_string(i) + ": list offsets [" + std::to_string(begin) + ", " +
                                  std::to_string(end) + ") outside the child array of length " +
                                  std::to_string(children_[0].length()));
  return {begin, end};
}

Json Array::to_json(int64_t i) const {
  if (is_null(i)) return nullptr;
  switch (type_.id) {
    case TypeId::kBool: return bool_value(i);
    case TypeId::kUInt64: return value<uint64_t>(i);
    case TypeId::kFloat16:
    case TypeId::kFloat32:
    case TypeId::kFloat64: return float_value(i);
    case TypeId::kUtf8:
    case TypeId::kLargeUtf8: {
      // Arrow requires valid UTF-8 here, but a file from elsewhere may break that; JSON cannot hold it.
      std::string_view s = string_value(i);
      if (size_t bad = builders::find_invalid_utf8(s); bad != std::string_view::npos)
        throw InputError(where(), "row " + std::to_string(i) + ": invalid UTF-8 at byte " + std::to_string(bad) +
                                      " of a string value");
      return std::string(s);
    }
    case TypeId::kBinary:
    case TypeId::kLargeBinary: {
      Json bytes = Json::array();
      for (unsigned char c : string_value(i)) bytes.push_back(static_cast<int>(c));
      return bytes;
    }
    case TypeId::kList:
    case TypeId::kLargeList: {
      auto [begin, end] = list_range(i);
      Json items = Json::array();
      for (int64_t k = begin; k < end; ++k) items.push_back(children_[0].to_json(k));
      return items;
    }
    case TypeId::kStruct: {
      Json obj = Json::object();
      for (size_t k = 0; k < children_.size(); ++k) obj[type_.children[k].name] = children_[k].to_json(i);
      return obj;
    }
    case TypeId::kDate32:
    case TypeId::kDate64:
    case TypeId::kTime32:
    case TypeId::kTime64:
    case TypeId::kTimestamp:
      try {
        return format_temporal(type_, int_value(i));
      } catch (const InputError& e) {
        throw InputError(where(), "row " + std::to_string(i) + ": " + e.what());
      }
    default: return int_value(i);  // integers; durations as their count of units
  }
}

void Array::validate_full() const {
  if (type_.is_string_like()) {
    for (int64_t i = 0; i < length_; ++i) string_value(i);
  } else if (type_.is_list()) {
    for (int64_t i = 0; i < length_; ++i) list_range(i);
  }
  for (const auto& c : children_) c.validate_full();
}

// ---- ArrayBuilder ------------------------------------------------------------------------------------

namespace {

bool uses_large_offsets(TypeId id) {
  return id == TypeId::kLargeUtf8 || id == TypeId::kLargeBinary || id == TypeId::kLargeList;
}

bool has_offsets(const DataType& t) { return t.is_string_like() || t.is_list(); }

struct OwnedBuffers {
  ByteBuffer validity, values, data;
};

constexpr size_t kHugePage = size_t{2} << 20;

// Under AddressSanitizer every buffer stays on the checked heap (overflows and leaks of big buffers are found too).
#if defined(__SANITIZE_ADDRESS__)
constexpr size_t kOwnMappingFrom = std::numeric_limits<size_t>::max();
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr size_t kOwnMappingFrom = std::numeric_limits<size_t>::max();
#else
constexpr size_t kOwnMappingFrom = kHugePage;
#endif
#else
constexpr size_t kOwnMappingFrom = kHugePage;
#endif

// Mappings freed by deallocate_buffer, kept for the next allocate_buffer of the same (2 MiB rounded) size, up to
// kCachedBytes in all. A fresh mapping's pages are new to the process: the kernel clears each huge page on its first
// touch, and on these VMs (virtio-balloon free page reporting: the host drops the pages its guest frees) that touch
// often faults in the host as well, ~0.4 GB/s against ~10 GB/s for memory in use. A map writes record batch after
// record batch of the same sizes (group_texts: 4 MiB of ids per column per 1000 blocks); map(num_proc=2)'s
// group_texts shards lost ~35 ms of system time per 8 MB of text to this before (perf: clear_page_erms).
class MappingCache {
 public:
  static constexpr size_t kCachedBytes = size_t{64} << 20;

  void* take(size_t size) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = free_.find(size);
    if (it == free_.end()) return nullptr;
    void* p = it->second;
    free_.erase(it);
    bytes_ -= size;
    return p;
  }
  size_t release() noexcept {
    std::multimap<size_t, void*> gone;
    {
      std::lock_guard<std::mutex> lock(mu_);
      gone.swap(free_);
      bytes_ = 0;
    }
    size_t bytes = 0;
    for (const auto& [size, p] : gone) ::munmap(p, size), bytes += size;
    return bytes;
  }
  // False when full: the caller unmaps.
  bool keep(void* p, size_t size) {
    std::lock_guard<std::mutex> lock(mu_);
    if (bytes_ + size > kCachedBytes) return false;
    free_.emplace(size, p);
    bytes_ += size;
    return true;
  }

 private:
  std::mutex mu_;
  std::multimap<size_t, void*> free_;
  size_t bytes_ = 0;
};

MappingCache& mapping_cache() {
  static auto* cache = new MappingCache();  // never destroyed: buffers may be freed by static destructors
  return *cache;
}

}  // namespace

void* allocate_buffer(size_t bytes) {
  if (bytes < kOwnMappingFrom) return ::operator new(bytes);
  const size_t size = (bytes + kHugePage - 1) & ~(kHugePage - 1);
  if (void* p = mapping_cache().take(size)) return p;
  // Map one huge page more than needed and unmap around the 2 MiB aligned part.
  void* raw = ::mmap(nullptr, size + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const auto base = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (base + kHugePage - 1) & ~(uintptr_t{kHugePage} - 1);
  if (aligned > base) ::munmap(raw, aligned - base);
  if (const size_t tail = base + size + kHugePage - (aligned + size); tail > 0) ::munmap(reinterpret_cast<void*>(aligned + size), tail);
  ::madvise(reinterpret_cast<void*>(aligned), size, MADV_HUGEPAGE);  // a hint: without THP, 4 KiB pages as before
  return reinterpret_cast<void*>(aligned);
}

size_t release_buffer_cache() noexcept { return mapping_cache().release(); }

void deallocate_buffer(void* p, size_t bytes) noexcept {
  if (!p) return;
  if (bytes < kOwnMappingFrom) {
    ::operator delete(p);
    return;
  }
  const size_t size = (bytes + kHugePage - 1) & ~(kHugePage - 1);
  bool kept = false;
  try {
    kept = mapping_cache().keep(p, size);
  } catch (...) {  // std::bad_alloc from the map's node, std::system_error from the lock: unmap instead
  }
  if (!kept) ::munmap(p, size);
}

ArrayBuilder::ArrayBuilder(DataType type) : type_(std::move(type)) {
  for (const auto& f : type_.children) children_.emplace_back(f.type);
  if (has_offsets(type_)) push_offset(0);
}

// The validity bitmap is written only from the first null on: until then every element is valid and validity_ stays
// empty (readers and the IPC writer ignore the bitmap while null_count is 0), so a column without nulls, the usual
// case (token ids: one bit per token), never touches it.
void ArrayBuilder::set_valid(bool valid) {
  if (null_count_ == 0) {
    if (valid) {
      ++length_;
      return;
    }
    // The first null: the bitmap of the elements so far, all valid.
    validity_.assign(static_cast<size_t>(length_ / 8), 0xff);
    if (length_ % 8 != 0) validity_.push_back(static_cast<uint8_t>((1u << (length_ % 8)) - 1));
  }
  if (static_cast<int64_t>(validity_.size()) * 8 <= length_) validity_.push_back(0);
  if (valid) validity_[length_ >> 3] |= static_cast<uint8_t>(1u << (length_ & 7));
  else ++null_count_;
  ++length_;
}

void ArrayBuilder::set_valid_n(int64_t n) {
  if (null_count_ == 0) {  // no bitmap yet (see set_valid)
    length_ += n;
    return;
  }
  const int64_t end = length_ + n;
  validity_.resize(static_cast<size_t>((end + 7) / 8), 0);
  int64_t i = length_;
  for (; i < end && (i & 7) != 0; ++i) validity_[static_cast<size_t>(i >> 3)] |= static_cast<uint8_t>(1u << (i & 7));
  for (; i + 8 <= end; i += 8) validity_[static_cast<size_t>(i >> 3)] = 0xff;
  for (; i < end; ++i) validity_[static_cast<size_t>(i >> 3)] |= static_cast<uint8_t>(1u << (i & 7));
  length_ = end;
}

namespace {
template <typename T>
bool fits(int64_t v) {
  return v >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
         (v < 0 || static_cast<uint64_t>(v) <= static_cast<uint64_t>(std::numeric_limits<T>::max()));
}
}  // namespace

template <typename T>
void ArrayBuilder::append_ints_impl(const T* v, size_t n, TypeId same_width) {
  if (type_.id == TypeId::kInt8) {  // datasets' masks: checked, then narrowed in one pass
    for (size_t k = 0; k < n; ++k)
      if (!fits<int8_t>(v[k])) append_int(static_cast<int64_t>(v[k]));  // throws the out-of-range error
    const size_t at = values_.size();
    values_.resize(at + n);
    for (size_t k = 0; k < n; ++k) values_[at + k] = static_cast<uint8_t>(static_cast<int8_t>(v[k]));
    set_valid_n(static_cast<int64_t>(n));
    return;
  }
  if (type_.id != same_width) {
    for (size_t k = 0; k < n; ++k) append_int(static_cast<int64_t>(v[k]));
    return;
  }
  if (n == 0) return;
  const auto* bytes = reinterpret_cast<const uint8_t*>(v);
  values_.insert(values_.end(), bytes, bytes + n * sizeof(T));  // one copy, no zero-fill first
  set_valid_n(static_cast<int64_t>(n));
}

void ArrayBuilder::append_ints(const int32_t* v, size_t n) { append_ints_impl(v, n, TypeId::kInt32); }
void ArrayBuilder::append_ints(const int64_t* v, size_t n) { append_ints_impl(v, n, TypeId::kInt64); }

void ArrayBuilder::push_offset(int64_t offset) {
  if (uses_large_offsets(type_.id)) {
    push_value<int64_t>(offset);
  } else {
    if (offset > std::numeric_limits<int32_t>::max())
      throw InputError(type_.to_string() + " column exceeds 2 GiB of data (use large_string / large_list)");
    push_value<int32_t>(static_cast<int32_t>(offset));
  }
}

void ArrayBuilder::append_null() {
  switch (type_.id) {
    case TypeId::kNull: break;
    case TypeId::kBool:
      if (static_cast<int64_t>(values_.size()) * 8 <= length_) values_.push_back(0);
      break;
    case TypeId::kStruct:
      for (auto& c : children_) c.append_null();
      break;
    case TypeId::kList:
    case TypeId::kLargeList: push_offset(children_[0].length()); break;
    case TypeId::kUtf8:
    case TypeId::kLargeUtf8:
    case TypeId::kBinary:
    case TypeId::kLargeBinary: push_offset(static_cast<int64_t>(data_.size())); break;
    default: values_.resize(values_.size() + type_.byte_width(), 0); break;
  }
  set_valid(false);
}

void ArrayBuilder::append_bool(bool v) {
  if (type_.id != TypeId::kBool) {
    if (type_.is_integer() || type_.is_floating()) return append_int(v ? 1 : 0);
    throw InputError("expected a value of type " + type_.to_string() + ", got a boolean");
  }
  if (static_cast<int64_t>(values_.size()) * 8 <= length_) values_.push_back(0);
  if (v) values_[length_ >> 3] |= static_cast<uint8_t>(1u << (length_ & 7));
  set_valid(true);
}

void ArrayBuilder::append_int(int64_t v) {
  auto out_of_range = [&] {
    return InputError("integer " + std::to_string(v) + " is out of range for " + type_.to_string());
  };
  switch (type_.id) {
    case TypeId::kInt8: if (!fits<int8_t>(v)) throw out_of_range(); push_value<int8_t>(static_cast<int8_t>(v)); break;
    case TypeId::kInt16: if (!fits<int16_t>(v)) throw out_of_range(); push_value<int16_t>(static_cast<int16_t>(v)); break;
    case TypeId::kInt32: if (!fits<int32_t>(v)) throw out_of_range(); push_value<int32_t>(static_cast<int32_t>(v)); break;
    case TypeId::kInt64: push_value<int64_t>(v); break;
    case TypeId::kUInt8: if (!fits<uint8_t>(v)) throw out_of_range(); push_value<uint8_t>(static_cast<uint8_t>(v)); break;
    case TypeId::kUInt16: if (!fits<uint16_t>(v)) throw out_of_range(); push_value<uint16_t>(static_cast<uint16_t>(v)); break;
    case TypeId::kUInt32: if (!fits<uint32_t>(v)) throw out_of_range(); push_value<uint32_t>(static_cast<uint32_t>(v)); break;
    case TypeId::kUInt64: if (v < 0) throw out_of_range(); push_value<uint64_t>(static_cast<uint64_t>(v)); break;
    case TypeId::kDate32:
    case TypeId::kTime32:
      if (!fits<int32_t>(v)) throw out_of_range();
      push_value<int32_t>(static_cast<int32_t>(v));
      break;
    case TypeId::kDate64:
    case TypeId::kTime64:
    case TypeId::kTimestamp:
    case TypeId::kDuration: push_value<int64_t>(v); break;
    case TypeId::kFloat16:
    case TypeId::kFloat32:
    case TypeId::kFloat64: return append_double(static_cast<double>(v));
    default: throw InputError("expected a value of type " + type_.to_string() + ", got an integer");
  }
  set_valid(true);
}

void ArrayBuilder::append_uint(uint64_t v) {
  if (type_.id == TypeId::kUInt64) {
    push_value<uint64_t>(v);
    set_valid(true);
    return;
  }
  if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    throw InputError("integer " + std::to_string(v) + " is out of range for " + type_.to_string());
  append_int(static_cast<int64_t>(v));
}

void ArrayBuilder::append_double(double v) {
  switch (type_.id) {
    case TypeId::kFloat16: push_value<uint16_t>(float_to_half(static_cast<float>(v))); break;
    case TypeId::kFloat32: push_value<float>(static_cast<float>(v)); break;
    case TypeId::kFloat64: push_value<double>(v); break;
    default: throw InputError("expected a value of type " + type_.to_string() + ", got a number");
  }
  set_valid(true);
}

void ArrayBuilder::append_string(std::string_view v) {
  if (!type_.is_string_like()) throw InputError("expected a value of type " + type_.to_string() + ", got a string");
  data_.insert(data_.end(), v.begin(), v.end());
  push_offset(static_cast<int64_t>(data_.size()));
  set_valid(true);
}

void ArrayBuilder::close_list() {
  TCPP_CHECK(type_.is_list(), "close_list() on ", type_.to_string());
  push_offset(children_[0].length());
  set_valid(true);
}

void ArrayBuilder::close_lists(const int64_t* offsets, size_t n) {
  TCPP_CHECK(type_.is_list(), "close_lists() on ", type_.to_string());
  if (n == 0) return;
  // The previous element's end: the last offset pushed.
  int64_t base = 0;
  if (uses_large_offsets(type_.id)) {
    std::memcpy(&base, values_.data() + values_.size() - sizeof(int64_t), sizeof(int64_t));
  } else {
    int32_t b32 = 0;
    std::memcpy(&b32, values_.data() + values_.size() - sizeof(int32_t), sizeof(int32_t));
    base = b32;
  }
  TCPP_CHECK(offsets[n] - offsets[0] == children_[0].length() - base, "close_lists(): offsets span ", offsets[n] - offsets[0],
             " values, but ", children_[0].length() - base, " were appended");
  const int64_t end = base + offsets[n] - offsets[0];
  const size_t width = uses_large_offsets(type_.id) ? sizeof(int64_t) : sizeof(int32_t);
  if (width == sizeof(int32_t) && end > std::numeric_limits<int32_t>::max())
    throw InputError(type_.to_string() + " column exceeds 2 GiB of data (use large_string / large_list)");
  const size_t at = values_.size();
  values_.resize(at + n * width);
  uint8_t* out = values_.data() + at;
  for (size_t i = 1; i <= n; ++i) {
    TCPP_CHECK(offsets[i] >= offsets[i - 1], "close_lists(): offset ", i, " decreases");
    const int64_t o = base + offsets[i] - offsets[0];
    if (width == sizeof(int64_t)) {
      std::memcpy(out + (i - 1) * width, &o, sizeof o);
    } else {
      const auto o32 = static_cast<int32_t>(o);
      std::memcpy(out + (i - 1) * width, &o32, sizeof o32);
    }
  }
  set_valid_n(static_cast<int64_t>(n));
}

void ArrayBuilder::close_struct() {
  TCPP_CHECK(type_.id == TypeId::kStruct, "close_struct() on ", type_.to_string());
  for (const auto& c : children_) TCPP_CHECK(c.length() == length_ + 1, "struct member appended unevenly");
  set_valid(true);
}

void ArrayBuilder::append_json(const Json& v) { append_json_impl(v); }
void ArrayBuilder::append_json(const OrderedJson& v) { append_json_impl(v); }

template <typename J>
void ArrayBuilder::append_json_impl(const J& v) {
  if (v.is_null()) return append_null();
  switch (type_.id) {
    case TypeId::kBool:
      if (!v.is_boolean()) break;
      return append_bool(v.template get<bool>());
    case TypeId::kUtf8:
    case TypeId::kLargeUtf8:
      if (!v.is_string()) break;
      return append_string(v.template get_ref<const std::string&>());
    case TypeId::kBinary:
    case TypeId::kLargeBinary:
      if (v.is_string()) return append_string(v.template get_ref<const std::string&>());
      if (v.is_array()) {
        std::string bytes;
        for (const auto& b : v) {
          if (!b.is_number_integer() || b.template get<int64_t>() < 0 || b.template get<int64_t>() > 255)
            throw InputError("expected bytes (integers 0..255), got " + b.dump());
          bytes.push_back(static_cast<char>(b.template get<int64_t>()));
        }
        return append_string(bytes);
      }
      break;
    case TypeId::kList:
    case TypeId::kLargeList:
      if (!v.is_array()) break;
      for (const auto& item : v) children_[0].append_json(item);
      return close_list();
    case TypeId::kStruct: {
      if (!v.is_object()) break;
      for (size_t k = 0; k < children_.size(); ++k) {
        auto it = v.find(type_.children[k].name);
        if (it == v.end()) children_[k].append_null();
        else children_[k].append_json(*it);
      }
      return close_struct();
    }
    default:
      if (v.is_string() && type_.is_temporal())
        return append_int(parse_temporal(type_, v.template get_ref<const std::string&>()));
      if (v.is_number_unsigned()) return append_uint(v.template get<uint64_t>());
      if (v.is_number_integer()) return append_int(v.template get<int64_t>());
      if (v.is_number_float()) {
        if (type_.is_integer()) {
          double d = v.template get<double>();
          if (d == std::floor(d) && std::fabs(d) < 9.2e18) return append_int(static_cast<int64_t>(d));
        }
        return append_double(v.template get<double>());
      }
      if (v.is_boolean() && !type_.is_floating()) break;
      break;
  }
  throw InputError("expected a value of type " + type_.to_string() + ", got " + v.dump(-1, ' ', false,
                                                                                        J::error_handler_t::replace));
}

void ArrayBuilder::append_from(const Array& src, int64_t i) {
  if (src.is_null(i)) return append_null();
  switch (type_.id) {
    case TypeId::kBool: return append_bool(src.bool_value(i));
    case TypeId::kFloat16:
    case TypeId::kFloat32:
    case TypeId::kFloat64: return append_double(src.float_value(i));
    case TypeId::kUInt64:
      return src.type().id == TypeId::kUInt64 ? append_uint(src.value<uint64_t>(i)) : append_int(src.int_value(i));
    case TypeId::kUtf8:
    case TypeId::kLargeUtf8:
    case TypeId::kBinary:
    case TypeId::kLargeBinary: return append_string(src.string_value(i));
    case TypeId::kList:
    case TypeId::kLargeList: {
      auto [begin, end] = src.list_range(i);
      for (int64_t k = begin; k < end; ++k) children_[0].append_from(src.values(), k);
      return close_list();
    }
    case TypeId::kStruct:
      for (size_t k = 0; k < children_.size(); ++k) children_[k].append_from(src.child(k), i);
      return close_struct();
    default: return append_int(src.int_value(i));
  }
}

Array ArrayBuilder::finish() {
  auto owned = std::make_shared<OwnedBuffers>();
  owned->validity = std::move(validity_);
  owned->values = std::move(values_);
  owned->data = std::move(data_);
  Array::Parts p;
  p.type = type_;
  p.length = length_;
  p.null_count = null_count_;
  p.validity = owned->validity.data();
  p.values = owned->values.data();
  p.values_size = static_cast<int64_t>(owned->values.size());
  p.data = owned->data.data();
  p.data_size = static_cast<int64_t>(owned->data.size());
  for (auto& c : children_) p.children.push_back(c.finish());
  p.keep_alive = std::move(owned);
  reset();  // children were reset by their own finish()
  return Array::from_parts(std::move(p));
}

Array ArrayBuilder::borrow() const {
  Array::Parts p;
  p.type = type_;
  p.length = length_;
  p.null_count = null_count_;
  p.validity = validity_.data();
  p.values = values_.data();
  p.values_size = static_cast<int64_t>(values_.size());
  p.data = data_.data();
  p.data_size = static_cast<int64_t>(data_.size());
  for (const auto& c : children_) p.children.push_back(c.borrow());
  return Array::from_parts(std::move(p));
}

void ArrayBuilder::reset() {
  for (auto& c : children_) c.reset();
  validity_.clear();
  values_.clear();
  data_.clear();
  length_ = 0;
  null_count_ = 0;
  if (has_offsets(type_)) push_offset(0);
}

}  // namespace tcpp::datasets::arrow
