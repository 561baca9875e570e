// Columnar batches handed to and returned by Dataset::map functions (the dict of lists HF passes with
// batched=True), with conversions from and to Arrow arrays.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <initializer_list>
#include <iosfwd>
#include <iterator>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "tcpp/core/json.h"
#include "tcpp/datasets/arrow/array.h"
#include "tcpp/datasets/arrow/type.h"

namespace tcpp::datasets {

/// Rows of integer lists stored flat, as Arrow stores a list column: every row's values one after another in
/// values(), row i being values()[offsets()[i], offsets()[i + 1]) (offsets() starts at 0 and ends at
/// values().size()). One buffer per column instead of one vector per row, so filling, concatenating and freeing a
/// batch allocate nothing per row. The values buffer is shared, never copied, by copies of the lists, by
/// regrouped() (group_texts' blocks) and by borrow() (a memory-mapped Arrow buffer read by Dataset::batch); the
/// first change to shared values copies them (copy on write). Rows read as views (Row), valid until the lists
/// change or are destroyed.
template <typename T>
class IntLists {
 public:
  /// One row's values: a view into the lists, comparable with std::vector<T>.
  class Row {
   public:
    using value_type = T;
    using iterator = const T*;
    using const_iterator = const T*;
    Row(const T* data, size_t size) : data_(data), size_(size) {}
    const T* begin() const { return data_; }
    const T* end() const { return data_ + size_; }
    const T* data() const { return data_; }
    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    const T& operator[](size_t k) const { return data_[k]; }
    std::vector<T> to_vector() const { return std::vector<T>(begin(), end()); }
    explicit operator std::vector<T>() const { return to_vector(); }
    friend bool operator==(const Row& a, const Row& b) { return a.size_ == b.size_ && std::equal(a.begin(), a.end(), b.begin()); }
    friend bool operator==(const Row& a, const std::vector<T>& b) { return a == Row(b.data(), b.size()); }
    friend bool operator==(const std::vector<T>& a, const Row& b) { return b == a; }
    friend bool operator!=(const Row& a, const Row& b) { return !(a == b); }
    friend bool operator!=(const Row& a, const std::vector<T>& b) { return !(a == b); }
    friend bool operator!=(const std::vector<T>& a, const Row& b) { return !(a == b); }

   private:
    const T* data_;
    size_t size_;
  };

  /// Iterates the rows (as Row values).
  class const_iterator {
   public:
    using iterator_category = std::random_access_iterator_tag;
    using value_type = Row;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = Row;
    const_iterator(const IntLists* lists, size_t i) : lists_(lists), i_(i) {}
    Row operator*() const { return (*lists_)[i_]; }
    Row operator[](difference_type k) const { return (*lists_)[i_ + static_cast<size_t>(k)]; }
    const_iterator& operator++() { return ++i_, *this; }
    const_iterator operator++(int) { const_iterator t = *this; ++i_; return t; }
    const_iterator& operator--() { return --i_, *this; }
    const_iterator& operator+=(difference_type k) { return i_ += static_cast<size_t>(k), *this; }
    const_iterator operator+(difference_type k) const { return const_iterator(lists_, i_ + static_cast<size_t>(k)); }
    difference_type operator-(const const_iterator& o) const { return static_cast<difference_type>(i_) - static_cast<difference_type>(o.i_); }
    bool operator==(const const_iterator& o) const { return i_ == o.i_; }
    bool operator!=(const const_iterator& o) const { return i_ != o.i_; }
    bool operator<(const const_iterator& o) const { return i_ < o.i_; }

   private:
    const IntLists* lists_;
    size_t i_;
  };
  using iterator = const_iterator;
  using value_type = Row;

  IntLists() = default;
  /// Rows from nested lists: IntLists<int32_t>{{1, 2}, {3}, {}}.
  IntLists(std::initializer_list<std::initializer_list<T>> rows) {
    for (const auto& r : rows) append_row(r.begin(), r.size());
  }
  IntLists(const std::vector<std::vector<T>>& rows) {  // NOLINT: implicit on purpose (from per-row vectors)
    reserve(rows.size(), 0);
    for (const auto& r : rows) append_row(r.data(), r.size());
  }
  /// Take a flat buffer and its offsets (rows + 1 entries, from 0 to values.size(), never decreasing); throws
  /// InputError naming the first bad offset.
  IntLists(std::vector<T> values, std::vector<int64_t> offsets);
  /// Lists over values owned elsewhere, not copied: owner keeps values[0, offsets.back()) alive and unchanged
  /// (e.g. a memory-mapped Arrow buffer). Offsets as above; throws InputError.
  static IntLists borrow(std::shared_ptr<const void> owner, const T* values, std::vector<int64_t> offsets);
  IntLists(const IntLists&) = default;  // shares the values
  IntLists& operator=(const IntLists&) = default;
  IntLists(IntLists&& o) noexcept { *this = std::move(o); }
  IntLists& operator=(IntLists&& o) noexcept {  // leaves o empty
    if (this != &o) {
      owner_ = std::move(o.owner_);
      own_ = o.own_;
      data_ = o.data_;
      size_ = o.size_;
      offsets_ = std::move(o.offsets_);
      o.own_ = nullptr;
      o.data_ = nullptr;
      o.size_ = 0;
      o.offsets_.clear();
    }
    return *this;
  }

  /// Rows.
  size_t size() const { return offsets_.empty() ? 0 : offsets_.size() - 1; }  // empty: moved from
  bool empty() const { return size() == 0; }
  Row operator[](size_t i) const {
    const auto b = static_cast<size_t>(offsets_[i]);
    return Row(data_ + b, static_cast<size_t>(offsets_[i + 1]) - b);
  }
  /// Row i; throws std::out_of_range past the last row.
  Row at(size_t i) const;
  const_iterator begin() const { return const_iterator(this, 0); }
  const_iterator end() const { return const_iterator(this, size()); }
  /// Every row's values, concatenated (a view, as a row).
  Row values() const { return Row(data_, size_); }
  /// rows + 1 offsets into values(): 0, then each row's end (none at all in lists moved from).
  const std::vector<int64_t>& offsets() const { return offsets_; }
  /// The first offsets.back() values cut into other rows (offsets as in the constructor, ending at most at
  /// values().size()), sharing this buffer: no copy. Throws InputError naming the first bad offset.
  IntLists regrouped(std::vector<int64_t> offsets) const;

  /// Reserve room for rows more rows holding values more values.
  void reserve(size_t rows, size_t values) {
    own(values);
    offsets_.reserve(offsets_.size() + rows);
  }
  /// Append a row of n values converted to T.
  template <typename U>
  void append_row(const U* v, size_t n) {
    own(n);
    own_->insert(own_->end(), v, v + n);  // converted while copied, no zero-fill first
    data_ = own_->data();
    size_ = own_->size();
    offsets_.push_back(static_cast<int64_t>(size_));
  }
  void push_back(const std::vector<T>& row) { append_row(row.data(), row.size()); }
  /// Append a row (it may be a row of these lists).
  void push_back(Row row) {
    if (row.data() >= data_ && row.data() < data_ + size_) return push_back(row.to_vector());
    append_row(row.data(), row.size());
  }
  /// Append a row built as std::vector<T>(args...): emplace_back(n, 1), emplace_back(first, last).
  template <typename... Args>
  void emplace_back(Args&&... args) {
    push_back(std::vector<T>(std::forward<Args>(args)...));
  }
  /// Append every row of other.
  void append(const IntLists& other);
  void clear() {
    owner_.reset();
    own_ = nullptr;
    data_ = nullptr;
    size_ = 0;
    offsets_.assign(1, 0);
  }

  friend bool operator==(const IntLists& a, const IntLists& b) {
    return a.size() == b.size() && (a.empty() || a.offsets_ == b.offsets_) && a.values() == b.values();
  }
  friend bool operator!=(const IntLists& a, const IntLists& b) { return !(a == b); }

 private:
  // Make the values a vector of our own that nothing else shares (copying shared or borrowed values), with room
  // for `more` values more; offsets_ gets its leading 0 if moved from.
  void own(size_t more);
  void check_offsets(const std::vector<int64_t>& offsets, size_t max_values, bool exact) const;

  std::shared_ptr<const void> owner_;  // keeps data_ alive: own_'s vector, or a borrowed buffer's owner
  std::vector<T>* own_ = nullptr;      // the values when they are a vector of ours (maybe shared by copies)
  const T* data_ = nullptr;            // the values
  size_t size_ = 0;
  std::vector<int64_t> offsets_ = {0};
};

extern template class IntLists<int32_t>;
extern template class IntLists<int64_t>;

/// Print as nested lists ([[1, 2], [3]]), for test failure messages.
std::ostream& operator<<(std::ostream& os, const IntLists<int32_t>& lists);
std::ostream& operator<<(std::ostream& os, const IntLists<int64_t>& lists);

/// One column of a batch. The typed alternatives cover the tokenize -> group_texts pipeline without boxing;
/// Json holds anything else (nulls, bools, structs, nested lists).
class Column {
 public:
  using Strings = std::vector<std::string>;
  using Int64s = std::vector<int64_t>;
  using Doubles = std::vector<double>;
  using Int32Lists = IntLists<int32_t>;  // flat: one values buffer + offsets (see IntLists)
  using Int64Lists = IntLists<int64_t>;
  using Jsons = std::vector<Json>;
  using Storage = std::variant<Strings, Int64s, Doubles, Int32Lists, Int64Lists, Jsons>;

  Column() = default;
  Column(Storage values) : values_(std::move(values)) {}  // NOLINT: implicit on purpose (batch["x"] = ids)
  Column(Strings v) : values_(std::move(v)) {}             // NOLINT
  Column(Int64s v) : values_(std::move(v)) {}              // NOLINT
  Column(Doubles v) : values_(std::move(v)) {}             // NOLINT
  Column(Int32Lists v) : values_(std::move(v)) {}          // NOLINT
  Column(Int64Lists v) : values_(std::move(v)) {}          // NOLINT
  Column(Jsons v) : values_(std::move(v)) {}               // NOLINT
  Column(const std::vector<std::vector<int32_t>>& v) : values_(Int32Lists(v)) {}  // NOLINT: stored flat
  Column(const std::vector<std::vector<int64_t>>& v) : values_(Int64Lists(v)) {}  // NOLINT: stored flat

  size_t size() const;
  template <typename T>
  bool holds() const { return std::holds_alternative<T>(values_); }
  /// The values as T; throws InputError naming the column's actual kind when it holds something else.
  template <typename T>
  const T& as() const {
    if (auto* p = std::get_if<T>(&values_)) return *p;
    throw_wrong_kind(kind_name_of<T>());
  }
  template <typename T>
  T& as() {
    if (auto* p = std::get_if<T>(&values_)) return *p;
    throw_wrong_kind(kind_name_of<T>());
  }
  /// Element i as JSON (any alternative).
  Json json(size_t i) const;
  /// "strings", "int64s", "doubles", "int32 lists", "int64 lists", "json values".
  std::string kind_name() const;
  const Storage& storage() const { return values_; }

 private:
  template <typename T>
  static const char* kind_name_of() {
    if constexpr (std::is_same_v<T, Strings>) return "strings";
    else if constexpr (std::is_same_v<T, Int64s>) return "int64s";
    else if constexpr (std::is_same_v<T, Doubles>) return "doubles";
    else if constexpr (std::is_same_v<T, Int32Lists>) return "int32 lists";
    else if constexpr (std::is_same_v<T, Int64Lists>) return "int64 lists";
    else return "json values";
  }
  [[noreturn]] void throw_wrong_kind(const char* wanted) const;

  Storage values_;
};

/// Named columns of equal length, in insertion order (the output column order of map).
/// batch["labels"] = batch.at("input_ids") is safe: adding a column never moves the others.
class Batch {
 public:
  /// The column called name, created empty if absent.
  Column& operator[](const std::string& name);
  /// The column called name; throws InputError listing the columns when absent.
  const Column& at(const std::string& name) const;
  Column& at(const std::string& name);
  bool contains(const std::string& name) const;
  void erase(const std::string& name);
  const std::vector<std::string>& names() const { return names_; }
  size_t num_columns() const { return names_.size(); }
  /// Rows (length of the first column; 0 when empty). check_lengths() verifies they agree.
  size_t num_rows() const;
  /// Throw InputError when the columns have different lengths.
  void check_lengths() const;

 private:
  std::vector<std::string> names_;
  std::deque<Column> columns_;  // a deque: adding a column keeps references to the others valid
};

/// Rows [begin, end) of an Arrow array as a Column, choosing the typed alternative when there are no nulls.
/// With keep_alive (an owner of the array's buffers), integer lists of the column's own width borrow its values
/// instead of copying them (IntLists::borrow); without, everything is copied.
Column column_from_array(const arrow::Array& array, int64_t begin, int64_t end,
                         const std::shared_ptr<const void>& keep_alive = nullptr);
/// Append values of column rows [begin, end) to builder (any type the values convert to).
void append_column(const Column& column, arrow::ArrayBuilder& builder);
/// The Arrow type a Column converts to: utf8, int64, double, list<int32>, list<int64>, or inferred from JSON.
arrow::DataType column_arrow_type(const Column& column);
/// The Arrow type a column is written as under its name, as datasets' ArrowWriter does (OptimizedTypedSequence):
/// integer lists named attention_mask, special_tokens_mask or token_type_ids as list<int8> and input_ids as
/// list<int32> when every value fits (otherwise the list's own type, where datasets falls back to int64); anything
/// else as column_arrow_type(column).
arrow::DataType column_arrow_type(const Column& column, const std::string& name);

/// Infer an Arrow type from JSON values (nulls skipped); see json_types.h for the rules.
arrow::DataType infer_arrow_type(const Column::Jsons& values);

}  // namespace tcpp::datasets
