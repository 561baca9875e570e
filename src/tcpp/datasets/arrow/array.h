// Arrow arrays: read-only column views over memory someone else keeps alive (a memory-mapped IPC file or a
// builder's buffers), and ArrayBuilder, which makes owned arrays row by row (as pyarrow's Array/ArrayBuilder).
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tcpp/core/json.h"
#include "tcpp/datasets/arrow/type.h"

namespace tcpp::datasets::arrow {

/// IEEE half precision <-> single precision (round to nearest even).
float half_to_float(uint16_t h);
uint16_t float_to_half(float f);

/// A read-only view of one Arrow array (one column of one record batch). Copying is cheap: the memory is
/// shared through keep_alive. Fixed-width buffer sizes are validated when the array is made (by the IPC
/// reader); variable-size offsets are checked at each access, so a hostile file cannot make a read go out
/// of bounds: string_value() and list_range() throw InputError naming where() instead.
class Array {
 public:
  Array() = default;

  const DataType& type() const { return type_; }
  int64_t length() const { return length_; }
  int64_t null_count() const { return null_count_; }
  /// Where this array comes from, for error messages: "data.arrow: column \"text\"".
  const std::string& where() const { return *where_; }

  bool is_null(int64_t i) const {
    return all_null_ || (validity_ && !((validity_[i >> 3] >> (i & 7)) & 1));
  }
  bool is_valid(int64_t i) const { return !is_null(i); }

  /// A fixed-width value of the array's own C++ type (T must match the type's byte width).
  template <typename T>
  T value(int64_t i) const {
    T v;
    std::memcpy(&v, values_ + i * static_cast<int64_t>(sizeof(T)), sizeof(T));
    return v;
  }
  bool bool_value(int64_t i) const { return (values_[i >> 3] >> (i & 7)) & 1; }
  /// Any integer or bool value widened to int64 (uint64 values above INT64_MAX wrap, as a C++ cast).
  int64_t int_value(int64_t i) const;
  /// Any numeric value as a double (float16 converted).
  double float_value(int64_t i) const;
  /// Bytes of a utf8/binary element (zero-copy).
  std::string_view string_value(int64_t i) const;
  /// [begin, end) of a list element inside values().
  std::pair<int64_t, int64_t> list_range(int64_t i) const;
  /// The child array of a list.
  const Array& values() const { return children_.at(0); }
  /// A struct member.
  const Array& child(size_t k) const { return children_.at(k); }
  size_t num_children() const { return children_.size(); }

  /// Element i as JSON: null, bool, integer, number, string, list as array, struct as object, binary as an
  /// array of byte values.
  Json to_json(int64_t i) const;
  /// Walk every offset of this array and its children; throw InputError at the first inconsistency.
  void validate_full() const;

  /// Raw buffers (for writers and zero-copy consumers). validity may be null (no nulls).
  const uint8_t* validity_data() const { return validity_; }
  const uint8_t* values_data() const { return values_; }  // values, bits, or offsets
  int64_t values_size() const { return values_size_; }
  const uint8_t* string_data() const { return data_; }
  int64_t string_data_size() const { return data_size_; }
  const std::vector<Array>& children() const { return children_; }

  /// Assemble a view. Callers (IPC reader, builder) have validated the sizes of fixed-width buffers.
  struct Parts {
    DataType type;
    int64_t length = 0;
    int64_t null_count = 0;
    const uint8_t* validity = nullptr;
    const uint8_t* values = nullptr;
    int64_t values_size = 0;
    const uint8_t* data = nullptr;
    int64_t data_size = 0;
    std::vector<Array> children;
    std::shared_ptr<const void> keep_alive;
    std::shared_ptr<const std::string> where;
  };
  static Array from_parts(Parts parts);

 private:
  int64_t offset_at(int64_t i) const;

  DataType type_;
  int64_t length_ = 0;
  int64_t null_count_ = 0;
  bool all_null_ = false;  // null type
  const uint8_t* validity_ = nullptr;
  const uint8_t* values_ = nullptr;
  int64_t values_size_ = 0;
  const uint8_t* data_ = nullptr;
  int64_t data_size_ = 0;
  std::vector<Array> children_;
  std::shared_ptr<const void> keep_alive_;
  std::shared_ptr<const std::string> where_ = std::make_shared<const std::string>("array");
};

/// The allocator of ArrayBuilder's byte buffers: as std::allocator, except that blocks of 2 MiB and more are mapped
/// on their own, 2 MiB aligned, with transparent huge pages asked for (MADV_HUGEPAGE). On the VMs this runs on a
/// first touch of a fresh 4 KiB page costs ~25 us (a 1024-token block of ids is one page), so a growing builder
/// spent more time in page faults than in copying; a huge page costs one fault per 2 MiB. Freed mappings are kept
/// (64 MiB at most, process-wide) for the next buffer of the same rounded size, whichever thread asks.
void* allocate_buffer(size_t bytes);
void deallocate_buffer(void* p, size_t bytes) noexcept;
/// Unmap the freed mappings kept for reuse (run_clm / run_mlm call it once the datasets are prepared, before
/// training). Returns the bytes released.
size_t release_buffer_cache() noexcept;
template <typename T>
struct BufferAllocator {
  using value_type = T;
  BufferAllocator() = default;
  template <typename U>
  BufferAllocator(const BufferAllocator<U>&) noexcept {}  // NOLINT: as std::allocator's rebinding constructor
  T* allocate(size_t n) { return static_cast<T*>(allocate_buffer(n * sizeof(T))); }
  void deallocate(T* p, size_t n) noexcept { deallocate_buffer(p, n * sizeof(T)); }
  friend bool operator==(const BufferAllocator&, const BufferAllocator&) { return true; }
  friend bool operator!=(const BufferAllocator&, const BufferAllocator&) { return false; }
};
using ByteBuffer = std::vector<uint8_t, BufferAllocator<uint8_t>>;

/// Build an owned array one element at a time. Nested values go to child(k) first, then close_list() /
/// close_struct() appends the parent element. Errors (wrong JSON type, integer out of range) throw InputError
/// without a location; callers that know the file and line catch and rethrow with it.
class ArrayBuilder {
 public:
  explicit ArrayBuilder(DataType type);

  const DataType& type() const { return type_; }
  int64_t length() const { return length_; }

  void append_null();
  void append_bool(bool v);
  /// Append to any integer column (range-checked) or float column.
  void append_int(int64_t v);
  void append_uint(uint64_t v);
  void append_double(double v);
  void append_string(std::string_view v);
  /// Append n integers at once: one copy when the column's type is that width (int32 / int64), else append_int
  /// each (range-checked).
  void append_ints(const int32_t* v, size_t n);
  void append_ints(const int64_t* v, size_t n);
  /// Child builder: the list's values (k = 0) or a struct member.
  ArrayBuilder& child(size_t k) { return children_.at(k); }
  /// Append a list element holding everything appended to child(0) since the previous element.
  void close_list();
  /// Append n list elements at once over what was appended to child(0) since the previous element: element i
  /// holds offsets[i + 1] - offsets[i] of those values (offsets has n + 1 entries, never decreasing, and
  /// offsets[n] - offsets[0] must be exactly the values appended since).
  void close_lists(const int64_t* offsets, size_t n);
  /// Append a valid struct element; each member must have had exactly one value appended.
  void close_struct();
  /// Append a JSON value converted to this column's type (null appends null).
  void append_json(const Json& v);
  void append_json(const OrderedJson& v);
  /// Copy element i of src (same type) into this builder.
  void append_from(const Array& src, int64_t i);

  /// Hand the built array over; the builder is left empty and reusable.
  Array finish();
  /// A view of the array built so far that borrows this builder's buffers (valid until the next append or
  /// reset()), and reset(): empty again, keeping the buffers' capacity. For writers that write each batch at once:
  /// no fresh (page-faulting) buffers per record batch.
  Array borrow() const;
  void reset();

 private:
  template <typename J>
  void append_json_impl(const J& v);
  void set_valid(bool valid);
  void set_valid_n(int64_t n);  // n valid elements
  template <typename T>
  void append_ints_impl(const T* v, size_t n, TypeId same_width);
  void push_offset(int64_t offset);
  template <typename T>
  void push_value(T v) {
    size_t n = values_.size();
    values_.resize(n + sizeof(T));
    std::memcpy(values_.data() + n, &v, sizeof(T));
  }

  DataType type_;
  int64_t length_ = 0;
  int64_t null_count_ = 0;
  ByteBuffer validity_;
  ByteBuffer values_;  // values, bool bits, or offsets
  ByteBuffer data_;    // string bytes
  std::vector<ArrayBuilder> children_;
};

}  // namespace tcpp::datasets::arrow
