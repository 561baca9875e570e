// Columnar batches for map functions and their conversions from and to Arrow arrays.
#include "tcpp/datasets/column.h"

#include <limits>
#include <ostream>
#include <stdexcept>

#include "tcpp/core/error.h"
#include "tcpp/datasets/type_inference.h"

namespace tcpp::datasets {

template <typename T>
void IntLists<T>::check_offsets(const std::vector<int64_t>& offsets, size_t max_values, bool exact) const {
  if (offsets.empty() || offsets[0] != 0)
    throw InputError("int lists: offsets must start at 0, got " + (offsets.empty() ? std::string("none") : std::to_string(offsets[0])));
  for (size_t i = 1; i < offsets.size(); ++i)
    if (offsets[i] < offsets[i - 1])
      throw InputError("int lists: offset " + std::to_string(i) + " (" + std::to_string(offsets[i]) +
                       ") is below the one before it (" + std::to_string(offsets[i - 1]) + ")");
  if (exact ? offsets.back() != static_cast<int64_t>(max_values) : offsets.back() > static_cast<int64_t>(max_values))
    throw InputError("int lists: the last offset (" + std::to_string(offsets.back()) + ") must " +
                     (exact ? "equal" : "be at most") + " the number of values (" + std::to_string(max_values) + ")");
}

template <typename T>
IntLists<T>::IntLists(std::vector<T> values, std::vector<int64_t> offsets) {
  check_offsets(offsets, values.size(), /*exact=*/true);
  auto v = std::make_shared<std::vector<T>>(std::move(values));
  own_ = v.get();
  data_ = v->data();
  size_ = v->size();
  owner_ = std::move(v);
  offsets_ = std::move(offsets);
}

template <typename T>
IntLists<T> IntLists<T>::borrow(std::shared_ptr<const void> owner, const T* values, std::vector<int64_t> offsets) {
  IntLists out;
  out.check_offsets(offsets, offsets.empty() ? 0 : static_cast<size_t>(std::max<int64_t>(0, offsets.back())), /*exact=*/true);
  out.owner_ = std::move(owner);
  out.data_ = values;
  out.size_ = static_cast<size_t>(offsets.back());
  out.offsets_ = std::move(offsets);
  return out;
}

template <typename T>
IntLists<T> IntLists<T>::regrouped(std::vector<int64_t> offsets) const {
  check_offsets(offsets, size_, /*exact=*/false);
  IntLists out(*this);  // shares the values
  out.size_ = static_cast<size_t>(offsets.back());
  out.offsets_ = std::move(offsets);
  return out;
}

template <typename T>
void IntLists<T>::own(size_t more) {
  if (offsets_.empty()) offsets_.push_back(0);  // moved from
  // A vector of ours holding exactly the values, and shared with nothing, may grow in place.
  if (own_ && owner_.use_count() == 1 && own_->size() == size_) {
    if (own_->capacity() - own_->size() < more) own_->reserve(std::max(own_->size() + more, 2 * own_->capacity()));
    return;
  }
  auto v = std::make_shared<std::vector<T>>();
  v->reserve(size_ + more);
  v->assign(data_, data_ + size_);
  own_ = v.get();
  data_ = v->data();
  owner_ = std::move(v);
}

template <typename T>
typename IntLists<T>::Row IntLists<T>::at(size_t i) const {
  if (i >= size()) throw std::out_of_range("int lists: row " + std::to_string(i) + " of " + std::to_string(size()));
  return (*this)[i];
}

template <typename T>
void IntLists<T>::append(const IntLists& other) {
  if (other.empty()) return;
  if (&other == this) {  // own() may move the values other reads from: read a (sharing) copy instead
    const IntLists same(other);
    return append(same);
  }
  if (empty()) {  // nothing to keep: share other's values
    *this = other;
    return;
  }
  own(other.size_);
  const int64_t shift = static_cast<int64_t>(size_);
  offsets_.reserve(offsets_.size() + other.size());
  for (size_t i = 1; i < other.offsets_.size(); ++i) offsets_.push_back(other.offsets_[i] + shift);
  own_->insert(own_->end(), other.data_, other.data_ + other.size_);
  data_ = own_->data();
  size_ = own_->size();
}

template class IntLists<int32_t>;
template class IntLists<int64_t>;

namespace {
template <typename T>
std::ostream& print_lists(std::ostream& os, const IntLists<T>& lists) {
  os << '[';
  for (size_t i = 0; i < lists.size(); ++i) {
    os << (i ? ", [" : "[");
    const auto row = lists[i];
    for (size_t k = 0; k < row.size(); ++k) os << (k ? ", " : "") << row[k];
    os << ']';
  }
  return os << ']';
}
}  // namespace

std::ostream& operator<<(std::ostream& os, const IntLists<int32_t>& lists) { return print_lists(os, lists); }
std::ostream& operator<<(std::ostream& os, const IntLists<int64_t>& lists) { return print_lists(os, lists); }

size_t Column::size() const {
  return std::visit([](const auto& v) { return v.size(); }, values_);
}

std::string Column::kind_name() const {
  return std::visit([](const auto& v) { return std::string(kind_name_of<std::decay_t<decltype(v)>>()); }, values_);
}

void Column::throw_wrong_kind(const char* wanted) const {
  throw InputError("column holds " + kind_name() + ", not " + wanted);
}

Json Column::json(size_t i) const {
  return std::visit(
      [i](const auto& v) -> Json {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, Int32Lists> || std::is_same_v<T, Int64Lists>) return Json(v.at(i).to_vector());
        else return Json(v.at(i));
      },
      values_);
}

Column& Batch::operator[](const std::string& name) {
  for (size_t i = 0; i < names_.size(); ++i)
    if (names_[i] == name) return columns_[i];
  names_.push_back(name);
  columns_.emplace_back();
  return columns_.back();
}

const Column& Batch::at(const std::string& name) const {
  for (size_t i = 0; i < names_.size(); ++i)
    if (names_[i] == name) return columns_[i];
  throw InputError("batch has no column \"" + name + "\" (columns: " + [&] {
    std::string s;
    for (const auto& n : names_) s += (s.empty() ? "" : ", ") + n;
    return s;
  }() + ")");
}

Column& Batch::at(const std::string& name) { return const_cast<Column&>(static_cast<const Batch*>(this)->at(name)); }

bool Batch::contains(const std::string& name) const {
  for (const auto& n : names_)
    if (n == name) return true;
  return false;
}

void Batch::erase(const std::string& name) {
  for (size_t i = 0; i < names_.size(); ++i)
    if (names_[i] == name) {
      names_.erase(names_.begin() + static_cast<std::ptrdiff_t>(i));
      columns_.erase(columns_.begin() + static_cast<std::ptrdiff_t>(i));
      return;
    }
}

size_t Batch::num_rows() const { return columns_.empty() ? 0 : columns_[0].size(); }

void Batch::check_lengths() const {
  for (size_t i = 1; i < columns_.size(); ++i)
    if (columns_[i].size() != columns_[0].size())
      throw InputError("batch column \"" + names_[i] + "\" has " + std::to_string(columns_[i].size()) +
                       " rows, column \"" + names_[0] + "\" has " + std::to_string(columns_[0].size()));
}

namespace {

bool has_nulls(const arrow::Array& a, int64_t begin, int64_t end) {
  if (a.null_count() == 0) return false;
  for (int64_t i = begin; i < end; ++i)
    if (a.is_null(i)) return true;
  return false;
}

// Rows [begin, end) of a list array as flat lists, the offsets rebased to 0: the values borrowed from the
// (validated, aligned) buffer when the widths match and keep_alive owns it, else copied in one go, or converted.
template <typename T>
IntLists<T> int_lists(const arrow::Array& a, int64_t begin, int64_t end, const std::shared_ptr<const void>& keep_alive) {
  const arrow::Array& values = a.values();
  const int64_t first = begin < end ? a.list_range(begin).first : 0;
  std::vector<int64_t> offsets;
  offsets.reserve(static_cast<size_t>(end - begin) + 1);
  offsets.push_back(0);
  int64_t last = first;
  for (int64_t i = begin; i < end; ++i) {
    last = a.list_range(i).second;  // validated offsets: row i starts where row i - 1 ends
    offsets.push_back(last - first);
  }
  const size_t n = static_cast<size_t>(last - first);
  std::vector<T> out;
  const bool same_width = (values.type().id == arrow::TypeId::kInt32 && std::is_same_v<T, int32_t>) ||
                          (values.type().id == arrow::TypeId::kInt64 && std::is_same_v<T, int64_t>);
  if (same_width && keep_alive) return IntLists<T>::borrow(keep_alive, reinterpret_cast<const T*>(values.values_data()) + first, std::move(offsets));
  if (same_width) {
    const T* typed = reinterpret_cast<const T*>(values.values_data()) + first;
    out.assign(typed, typed + n);
  } else if (values.type().id == arrow::TypeId::kInt8) {  // datasets' masks (attention_mask, ...): widened
    const auto* narrow = reinterpret_cast<const int8_t*>(values.values_data()) + first;
    out.assign(narrow, narrow + n);
  } else {
    out.resize(n);
    for (size_t k = 0; k < n; ++k) out[k] = static_cast<T>(values.int_value(first + static_cast<int64_t>(k)));
  }
  return IntLists<T>(std::move(out), std::move(offsets));
}

}  // namespace

Column column_from_array(const arrow::Array& a, int64_t begin, int64_t end, const std::shared_ptr<const void>& keep_alive) {
  const arrow::DataType& t = a.type();
  if (!has_nulls(a, begin, end)) {
    if (t.id == arrow::TypeId::kUtf8 || t.id == arrow::TypeId::kLargeUtf8) {
      Column::Strings out;
      out.reserve(static_cast<size_t>(end - begin));
      for (int64_t i = begin; i < end; ++i) out.emplace_back(a.string_value(i));
      return out;
    }
    if (t.is_integer() && t.id != arrow::TypeId::kUInt64) {
      Column::Int64s out;
      out.reserve(static_cast<size_t>(end - begin));
      for (int64_t i = begin; i < end; ++i) out.push_back(a.int_value(i));
      return out;
    }
    if (t.is_floating()) {
      Column::Doubles out;
      for (int64_t i = begin; i < end; ++i) out.push_back(a.float_value(i));
      return out;
    }
    if (t.is_list() && a.values().null_count() == 0) {
      const auto& item = t.value_type();
      if (item.id == arrow::TypeId::kInt8 || item.id == arrow::TypeId::kInt16 || item.id == arrow::TypeId::kInt32 ||
          item.id == arrow::TypeId::kUInt8 || item.id == arrow::TypeId::kUInt16)
        return int_lists<int32_t>(a, begin, end, keep_alive);
      if (item.id == arrow::TypeId::kInt64 || item.id == arrow::TypeId::kUInt32) return int_lists<int64_t>(a, begin, end, keep_alive);
    }
  }
  Column::Jsons out;
  for (int64_t i = begin; i < end; ++i) out.push_back(a.to_json(i));
  return out;
}

arrow::DataType column_arrow_type(const Column& column) {
  const auto& s = column.storage();
  if (std::holds_alternative<Column::Strings>(s)) return arrow::utf8();
  if (std::holds_alternative<Column::Int64s>(s)) return arrow::int64();
  if (std::holds_alternative<Column::Doubles>(s)) return arrow::float64();
  if (std::holds_alternative<Column::Int32Lists>(s)) return arrow::list(arrow::int32());
  if (std::holds_alternative<Column::Int64Lists>(s)) return arrow::list(arrow::int64());
  return infer_arrow_type(std::get<Column::Jsons>(s));
}

namespace {
template <typename Narrow, typename T>
bool all_fit(const IntLists<T>& lists) {
  if constexpr (sizeof(Narrow) >= sizeof(T)) return true;  // int32 values in int32: nothing to scan
  for (T v : lists.values())
    if (v < std::numeric_limits<Narrow>::min() || v > std::numeric_limits<Narrow>::max()) return false;
  return true;
}
}  // namespace

arrow::DataType column_arrow_type(const Column& column, const std::string& name) {
  const bool mask = name == "attention_mask" || name == "special_tokens_mask" || name == "token_type_ids";
  if (!mask && name != "input_ids") return column_arrow_type(column);
  return std::visit(
      [&](const auto& v) -> arrow::DataType {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, Column::Int32Lists> || std::is_same_v<T, Column::Int64Lists>) {
          if (mask && all_fit<int8_t>(v)) return arrow::list(arrow::int8());
          if (all_fit<int32_t>(v)) return arrow::list(arrow::int32());
        }
        return column_arrow_type(column);
      },
      column.storage());
}

arrow::DataType infer_arrow_type(const Column::Jsons& values) {
  InferredType t;
  for (size_t i = 0; i < values.size(); ++i) {
    std::string why;
    if (!unify_types(t, infer_type(values[i]), &why))
      throw InputError("row " + std::to_string(i) + ": values of different types (" + why + ")");
  }
  return to_arrow_type(t);
}

void append_column(const Column& column, arrow::ArrayBuilder& b) {
  std::visit(
      [&b](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, Column::Int32Lists> || std::is_same_v<T, Column::Int64Lists>) {
          // Flat lists: all values in one append, then the rows' offsets.
          if (!b.type().is_list())
            throw InputError("expected values of type " + b.type().to_string() + ", got " + Column(v).kind_name());
          b.child(0).append_ints(v.values().data(), v.values().size());
          b.close_lists(v.offsets().data(), v.size());
        } else {
          for (const auto& x : v) {
            if constexpr (std::is_same_v<T, Column::Strings>) b.append_string(x);
            else if constexpr (std::is_same_v<T, Column::Int64s>) b.append_int(x);
            else if constexpr (std::is_same_v<T, Column::Doubles>) b.append_double(x);
            else b.append_json(x);
          }
        }
      },
      column.storage());
}

}  // namespace tcpp::datasets
