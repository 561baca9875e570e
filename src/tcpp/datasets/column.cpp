// Columnar batches for map functions and their conversions from and to Arrow arrays.
#include "tcpp/datasets/column.h"

#include "tcpp/core/error.h"
#include "tcpp/datasets/type_inference.h"

namespace tcpp::datasets {

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
  return std::visit([i](const auto& v) -> Json { return Json(v.at(i)); }, values_);
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

template <typename T>
std::vector<std::vector<T>> int_lists(const arrow::Array& a, int64_t begin, int64_t end) {
  std::vector<std::vector<T>> out;
  out.reserve(static_cast<size_t>(end - begin));
  const arrow::Array& values = a.values();
  // Same-width values are copied straight from the (validated, aligned) buffer: no zero-filled row first.
  const bool same_width = (values.type().id == arrow::TypeId::kInt32 && std::is_same_v<T, int32_t>) ||
                          (values.type().id == arrow::TypeId::kInt64 && std::is_same_v<T, int64_t>);
  const T* typed = same_width ? reinterpret_cast<const T*>(values.values_data()) : nullptr;
  for (int64_t i = begin; i < end; ++i) {
    auto [b, e] = a.list_range(i);
    if (typed) {
      out.emplace_back(typed + b, typed + e);
      continue;
    }
    std::vector<T> row(static_cast<size_t>(e - b));
    for (int64_t k = b; k < e; ++k) row[static_cast<size_t>(k - b)] = static_cast<T>(values.int_value(k));
    out.push_back(std::move(row));
  }
  return out;
}

}  // namespace

Column column_from_array(const arrow::Array& a, int64_t begin, int64_t end) {
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
        return int_lists<int32_t>(a, begin, end);
      if (item.id == arrow::TypeId::kInt64 || item.id == arrow::TypeId::kUInt32) return int_lists<int64_t>(a, begin, end);
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
        for (const auto& x : v) {
          if constexpr (std::is_same_v<T, Column::Strings>) {
            b.append_string(x);
          } else if constexpr (std::is_same_v<T, Column::Int64s>) {
            b.append_int(x);
          } else if constexpr (std::is_same_v<T, Column::Doubles>) {
            b.append_double(x);
          } else if constexpr (std::is_same_v<T, Column::Jsons>) {
            b.append_json(x);
          } else {  // int lists
            b.child(0).append_ints(x.data(), x.size());
            b.close_list();
          }
        }
      },
      column.storage());
}

}  // namespace tcpp::datasets
